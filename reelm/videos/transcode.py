"""Transcoding an upload: original → ladder of renditions + HLS + poster, publishing the lowest rung first.

A new upload is screened before anything of it is published; the screening is content review's
(reelm.moderation.screening), passed in by the job that runs this (reelm.publishing.tasks), so videos
need not know about review.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import User
from reelm.runtime import Runtime
from reelm.scratch import scratch
from reelm.storage import RealmStore
from reelm.videos import media
from reelm.videos.models import Rendition, Video, VideoStatus
from reelm.videos.service import media_limits
from reelm.videos.subtitles import tracks_of, with_subtitles

log = logging.getLogger(__name__)


class Screening(Protocol):
    """Screens a new upload before it is published: True to go on, False when it must go no further."""

    async def __call__(
        self,
        runtime: Runtime,
        realm: str,
        video_id: int,
        source: Path,
        *,
        width: int,
        height: int,
        duration_s: float,
    ) -> bool: ...


def rendition_prefix(video_id: int, rung: media.Rung) -> str:
    return f"videos/{video_id}/{rung.name}"


async def _upload_outputs(store: RealmStore, video_id: int, outputs: list[media.RenditionOutput]) -> None:
    for output in outputs:
        prefix = rendition_prefix(video_id, output.rung)
        await store.put_file(f"{prefix}/video.mp4", output.mp4_path)
        for part in sorted(output.hls_dir.iterdir()):
            await store.put_file(f"{prefix}/hls/{part.name}", part)


def _rendition_row(video_id: int, output: media.RenditionOutput) -> dict[str, Any]:
    prefix = rendition_prefix(video_id, output.rung)
    return {
        "video_id": video_id,
        "name": output.rung.name,
        "width": output.rung.width,
        "height": output.rung.height,
        "bandwidth": output.bandwidth,
        "average_bandwidth": output.average_bandwidth,
        "codecs": output.codecs,
        "mp4_key": f"{prefix}/video.mp4",
        "hls_key": f"{prefix}/hls/index.m3u8",
        "size_bytes": output.size_bytes,
    }


def master_playlist(renditions: list[Rendition], frame_rate: float) -> str:
    """HLS master playlist over every recorded rung of one video, at its frame rate.

    Every rung is encoded from the same source with the same frame-rate cap, so the frame rate of the rungs
    just made is also that of the rungs recorded by an earlier pass or attempt.
    """
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    # Lowest first. RFC 8216 sets no order (6.3.1: "This document does not specify the treatment of Variant
    # Streams by clients"), and players that start on the first variant listed then begin with the cheapest
    # rung, so playback starts fast and switches up as bandwidth allows.
    for r in sorted(renditions, key=lambda r: r.width * r.height):
        attributes = [
            f"BANDWIDTH={r.bandwidth}",
            f"AVERAGE-BANDWIDTH={r.average_bandwidth}",
            f"RESOLUTION={r.width}x{r.height}",
            f'CODECS="{r.codecs}"',
            f"FRAME-RATE={frame_rate:.3f}",  # RFC 8216 4.3.4.2: rounded to three decimal places
        ]
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attributes), f"{r.name}/hls/index.m3u8"]
    return "\n".join(lines) + "\n"


class OnPublish(Protocol):
    """What else happens when a video is published, in the same transaction (a job deferred there exists
    if and only if the video is published): reelm.publishing passes the sound's job."""

    async def __call__(self, session: AsyncSession, video_id: int) -> None: ...


class Publisher:
    """Stores each finished group of rungs and makes it visible, the first group publishing the video."""

    def __init__(
        self, runtime: Runtime, realm: str, video_id: int, on_publish: OnPublish | None = None
    ) -> None:
        self.runtime = runtime
        self.realm = realm
        self.video_id = video_id
        self.on_publish = on_publish

    async def __call__(self, outputs: list[media.RenditionOutput], poster: Path | None) -> None:
        store = self.runtime.storage.realm(self.realm)
        await _upload_outputs(store, self.video_id, outputs)
        if poster is not None:
            await store.put_file(f"videos/{self.video_id}/poster.jpg", poster)
        async with self.runtime.databases.transaction(self.realm) as session:
            rows = [_rendition_row(self.video_id, o) for o in outputs]
            statement = insert(Rendition).values(rows)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[Rendition.video_id, Rendition.name],
                    set_={c: statement.excluded[c] for c in rows[0] if c not in ("video_id", "name")},
                )
            )
            video = await session.get(Video, self.video_id, with_for_update=True)
            if video is None:  # deleted while processing
                return
            every = await session.scalars(select(Rendition).where(Rendition.video_id == self.video_id))
            playlist = master_playlist(list(every), max(o.frame_rate for o in outputs))
            # The captions' subtitle renditions stay listed as rungs are added (reelm.videos.subtitles).
            playlist = with_subtitles(playlist, await tracks_of(session, self.video_id))
            # Written inside the transaction: if storage fails, the new rungs are not recorded either.
            await store.put_bytes(f"videos/{self.video_id}/master.m3u8", playlist.encode())
            values: dict[str, Any] = {"status_detail": ""}
            if poster is not None:
                values["poster_key"] = f"videos/{self.video_id}/poster.jpg"
            if video.status == VideoStatus.PROCESSING:
                values |= {"status": VideoStatus.READY, "published_at": datetime.now(UTC)}
                await session.execute(
                    update(User).where(User.id == video.owner_id).values(video_count=User.video_count + 1)
                )
            await session.execute(update(Video).where(Video.id == self.video_id).values(**values))
            if "published_at" in values and self.on_publish is not None:
                await self.on_publish(session, self.video_id)


async def set_status(runtime: Runtime, realm: str, video_id: int, **values: Any) -> None:
    async with runtime.databases.transaction(realm) as session:
        await session.execute(update(Video).where(Video.id == video_id).values(**values))


async def reject(runtime: Runtime, realm: str, video_id: int, exc: media.MediaRejected) -> None:
    """The video cannot be published; its creator sees why."""
    log.info("video %s rejected: %s", video_id, exc.reason)
    await set_status(
        runtime,
        realm,
        video_id,
        status=VideoStatus.REJECTED,
        reject_code=exc.code,
        reject_reason=exc.reason,
        status_detail="",
    )


def _has_audio(codecs: str) -> bool:
    return "mp4a" in codecs  # the rungs' audio is AAC (RFC 6381: mp4a.40.2)


async def transcode(
    runtime: Runtime,
    realm: str,
    video_id: int,
    screen: Screening,
    on_publish: OnPublish | None = None,
    *,
    new_poster: bool = False,
) -> None:
    """Idempotent: a retry after a crash redoes only the rungs that are not recorded yet. `new_poster`: when
    rungs are added to a published video, take its poster again from this source (a remix's full
    composition, published first from its small preview)."""
    async with runtime.databases.transaction(realm) as session:
        video = await session.get(Video, video_id)
        if video is None or video.status == VideoStatus.REJECTED:
            return
        recorded = (
            await session.execute(
                select(Rendition.name, Rendition.codecs).where(Rendition.video_id == video_id)
            )
        ).all()
        key, was_ready, muted = video.original_key, video.status == VideoStatus.READY, video.audio_muted
    limits = media_limits(runtime.settings)
    with scratch(runtime.settings.data_dir) as tmp:
        source = tmp / "original"
        await runtime.storage.realm(realm).download(key, source)
        try:
            # In a thread: probing reads every packet of the file, which must not stall the worker's loop.
            probe = await asyncio.to_thread(media.probe, source, limits)
            # A rung is done unless its sound is not what the video's should be: a video whose sound was
            # taken down is transcoded again without it (reelm.sounds.takedown), and again with it if the
            # sound comes back.
            done = {
                name for name, codecs in recorded if _has_audio(codecs) == (probe.has_audio and not muted)
            }
            if muted:
                probe = dataclasses.replace(probe, has_audio=False)
            ladder = media.plan_ladder(probe)
            if not was_ready:
                # Before anything is published: the realm's hash lists and caption rules may hold the
                # video for review (it is transcoded, not published) or block it (nothing more is done).
                go_on = await screen(
                    runtime,
                    realm,
                    video_id,
                    source,
                    width=probe.width,
                    height=probe.height,
                    duration_s=probe.duration_s,
                )
                if not go_on:
                    return
            missing = [rung for rung in ladder if rung.name not in done]
            if not missing:
                return
            # The size and length of what is published: a remix's composed picture, not the clip uploaded.
            await set_status(
                runtime,
                realm,
                video_id,
                status_detail="transcoding",
                width=probe.width,
                height=probe.height,
                duration_s=probe.duration_s,
            )
            publisher = Publisher(runtime, realm, video_id, on_publish)
            out_dir = tmp / "out"
            if was_ready and ladder[0].name in done:
                poster = out_dir / "poster.jpg" if new_poster else None
                outputs = await media.transcode_rungs(
                    source, probe, missing, out_dir, poster_path=poster, limits=limits
                )
                await publisher(outputs, poster)
            else:
                await media.build_ladder(source, probe, out_dir, publisher, limits=limits)
        except media.MediaRejected as exc:
            await reject(runtime, realm, video_id, exc)
