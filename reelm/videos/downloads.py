"""Watermarked downloads: a video as an MP4 with "Reelm" and the creator's @handle burned in, where the
creator allows downloads.

The file is made from the video's best rendition, never the original upload (which never leaves the realm's
bucket), by one ffmpeg pass (reelm.videos.remix.watermark) in the realm's worker, stored once in the realm's
bucket under `download_key` and served from there to every later downloader. A job rather than the request:
a video may be ten minutes long, and re-encoding that takes minutes of CPU that no HTTP request should hold
(nor a burst of first downloads take from the web process). `video_downloads` says where each stands, so a
client polls (202 with Retry-After) until the file is ready. The creator's permission is checked on every
request, so a download turned off is never served again, cached file or not.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import jobs
from reelm.accounts.models import User
from reelm.errors import Problem
from reelm.runtime import Runtime
from reelm.scratch import scratch
from reelm.videos import media, remix
from reelm.videos.models import DownloadState, Rendition, Video, VideoDownload, VideoStatus
from reelm.videos.service import media_limits

log = logging.getLogger(__name__)

DOWNLOAD_TASK = "watermark_download"  # registered by reelm.videos.tasks
# How soon a client should ask again while the file is being made (a short video takes seconds).
POLL_AFTER_S = 2
# A download that failed for good is not tried again before this (each try is a full encode).
RETRY_FAILED_AFTER = timedelta(minutes=10)


def download_key(video_id: int) -> str:
    """Where the watermarked file is kept: under the video's prefix, so deleting the video removes it, and
    outside the public media paths (reelm.web.media serves none of it: only the download route does)."""
    return f"videos/{video_id}/download/watermarked.mp4"


def best_rendition(video: Video) -> Rendition | None:
    """The largest rendition: the ladder adds the bigger rungs after the video is published, so this can
    change once, and a download made from a smaller one is then made again (`download_step`)."""
    return max(video.renditions, key=lambda r: (r.width * r.height, r.bandwidth), default=None)


def check_download_allowed(video: Video, viewer_id: int) -> None:
    """403 unless the creator allows downloads (the creator may always download their own video); 409 while
    the video is not published yet (only its creator sees it then)."""
    if video.owner_id != viewer_id and not video.allow_download:
        raise Problem(
            403,
            "download-not-allowed",
            "Downloads are off",
            "The creator doesn't allow downloads of this video.",
        )
    if video.status != VideoStatus.READY or best_rendition(video) is None:
        raise Problem(
            409,
            "video-not-ready",
            "Not ready yet",
            "This video can be downloaded once it is published.",
        )


class Step(StrEnum):
    SERVE = "serve"  # the file is ready
    WAIT = "wait"  # it is being made
    START = "start"  # it must be made (first time, a better rendition, or a failure long enough ago)
    FAILED = "failed"  # it could not be made, recently


@dataclass(frozen=True)
class DownloadPlan:
    step: Step
    rendition: str
    retry_after_s: int = POLL_AFTER_S


async def download_step(session: AsyncSession, video: Video, now: datetime) -> DownloadPlan:
    """What a request for the video's download should do now (nothing is changed: `do_start_download`
    does that, once the caller has counted the request against the viewer's limit)."""
    best = best_rendition(video)
    assert best is not None  # checked by check_download_allowed
    row = await session.get(VideoDownload, video.id, with_for_update=True)
    if row is None or row.rendition != best.name:
        return DownloadPlan(Step.START, best.name)
    if row.state == DownloadState.READY:
        return DownloadPlan(Step.SERVE, best.name)
    if row.state == DownloadState.PREPARING:
        return DownloadPlan(Step.WAIT, best.name)
    retry_at = (row.finished_at or row.requested_at) + RETRY_FAILED_AFTER
    if retry_at <= now:
        return DownloadPlan(Step.START, best.name)
    return DownloadPlan(Step.FAILED, best.name, retry_after_s=max(1, int((retry_at - now).total_seconds())))


async def do_start_download(session: AsyncSession, video_id: int, rendition: str, now: datetime) -> None:
    """Mark the download as being made from `rendition` and queue the job, in the request's transaction.

    Two requests at once may both queue a job: they share a lock, so they run one after the other, and the
    second finds the file made and does nothing (ffmpeg runs once).
    """
    values = {"state": DownloadState.PREPARING.value, "rendition": rendition, "requested_at": now}
    await session.execute(
        insert(VideoDownload)
        .values(video_id=video_id, size_bytes=None, finished_at=None, **values)
        .on_conflict_do_update(
            index_elements=[VideoDownload.video_id], set_={**values, "size_bytes": None, "finished_at": None}
        )
    )
    await jobs.defer(
        session, DOWNLOAD_TASK, options=jobs.JobOptions(lock=f"download:{video_id}"), video_id=video_id
    )


@dataclass(frozen=True)
class _Work:
    handle: str
    rendition: str
    mp4_key: str


async def _work_for(runtime: Runtime, realm: str, video_id: int) -> _Work | None:
    """What the job is to make, or None when there is nothing to do (made already, video gone)."""
    async with runtime.databases.read(realm) as session:
        row = await session.get(VideoDownload, video_id)
        video = await session.get(Video, video_id)
        if row is None or video is None or row.state != DownloadState.PREPARING:
            return None
        handle = await session.scalar(select(User.handle).where(User.id == video.owner_id))
        source = next((r for r in video.renditions if r.name == row.rendition), None)
    if handle is None or source is None:
        return None
    return _Work(handle, source.name, source.mp4_key)


async def make_download(runtime: Runtime, realm: str, video_id: int) -> None:
    """The job's work: watermark the rendition the row names and store the file, then mark it ready (unless
    the row changed meanwhile: a newer request's job makes it again). Raises what the watermark raises."""
    work = await _work_for(runtime, realm, video_id)
    if work is None:
        return
    store = runtime.storage.realm(realm)
    limits = media_limits(runtime.settings)
    with scratch(runtime.settings.data_dir) as folder:
        source, output = folder / "rendition.mp4", folder / "download.mp4"
        await store.download(work.mp4_key, source)
        info = await asyncio.to_thread(media.probe, source, limits)
        await remix.watermark(
            remix.Clip(source, info), output, remix.WatermarkParams(work.handle), limits=limits
        )
        size = output.stat().st_size
        await store.put_file(download_key(video_id), output)
    async with runtime.databases.transaction(realm) as session:
        done = await session.execute(
            update(VideoDownload)
            .where(
                VideoDownload.video_id == video_id,
                VideoDownload.state == DownloadState.PREPARING,
                VideoDownload.rendition == work.rendition,
            )
            .values(state=DownloadState.READY, size_bytes=size, finished_at=datetime.now(UTC))
            .returning(VideoDownload.video_id)
        )
        marked = done.first() is not None
        gone = not marked and await session.get(Video, video_id) is None
    if gone:  # deleted while the file was made: its deletion removed what existed then, not this
        await store.delete(download_key(video_id))


async def mark_failed(runtime: Runtime, realm: str, video_id: int) -> None:
    """The download could not be made: requests say so, and try again after RETRY_FAILED_AFTER."""
    async with runtime.databases.transaction(realm) as session:
        await session.execute(
            update(VideoDownload)
            .where(VideoDownload.video_id == video_id, VideoDownload.state == DownloadState.PREPARING)
            .values(state=DownloadState.FAILED, finished_at=datetime.now(UTC))
        )
