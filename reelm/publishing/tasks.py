"""The transcode job of a realm's worker: screen a new upload, then transcode and publish it.

While it runs, the job checks every STOP_CHECK_S whether it should stop: when the video has been deleted (the
job removes what it stored meanwhile and ends without error), or when the realm's `upload` capability is off
for the video's uploader (the video waits, `processing`, and the job looks again every PAUSED_RECHECK_S). In
both cases the transcode is cancelled, which kills its ffmpeg children at once (reelm.ffmpeg). A worker asked
to stop cancels the job the same way, and procrastinate puts it back in the queue (reelm.jobs.MediaRetry).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from pathlib import Path
from typing import Any

from procrastinate.jobs import Job
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.jobs import MEDIA_QUEUE, MEDIA_RETRY, JobOptions, defer, job_app, realm_of, runtime_of
from reelm.moderation.screening import BLOCKED, screen_upload
from reelm.publishing.remix_notices import notify_remixed
from reelm.realms.models import Capability
from reelm.realms.service import get_switch
from reelm.realms.switches import decide
from reelm.runtime import Runtime
from reelm.sounds.making import MAKE_SOUND_TASK
from reelm.sounds.remixing import compose_remix
from reelm.videos.media import MediaRejected
from reelm.videos.models import Video, VideoStatus
from reelm.videos.service import TRANSCODE_TASK
from reelm.videos.transcode import reject, set_status, transcode

log = logging.getLogger(__name__)

# How often a running transcode checks whether it should stop: its ffmpeg children are gone within about this.
STOP_CHECK_S = 1.0
# How long a video whose uploads are switched off waits before its job looks again.
PAUSED_RECHECK_S = 15
PAUSED_DETAIL = "paused while uploads are suspended"


class Stop(enum.Enum):
    DELETED = "deleted"  # the video is gone (its creator deleted it, or the account was purged)
    UPLOAD_OFF = "upload off"  # the realm's `upload` capability does not admit its uploader now


async def _screen(
    runtime: Runtime, realm: str, video_id: int, source: Path, *, width: int, height: int, duration_s: float
) -> bool:
    screened = await screen_upload(
        runtime, realm, video_id, source, width=width, height=height, duration_s=duration_s
    )
    return screened != BLOCKED


async def _compose_and_transcode(runtime: Runtime, realm: str, video_id: int) -> None:
    """A remix is composed first (reelm.sounds.remixing): what is screened and published is the remix. A duet
    or stitch is published from its small preview first, then transcoded again from the full composition."""

    async def on_publish(session: AsyncSession, video_id: int) -> None:
        # In the publishing transaction: its sound is made after commit, and a remix's original creator is
        # notified with it.
        await defer(session, MAKE_SOUND_TASK, video_id=video_id)
        await notify_remixed(session, realm, video_id)

    try:
        previewed = await compose_remix(runtime, realm, video_id, preview=True)
        if previewed:
            await transcode(runtime, realm, video_id, _screen, on_publish)
        await compose_remix(runtime, realm, video_id)
    except MediaRejected as exc:
        await reject(runtime, realm, video_id, exc)
        return
    # After a preview, the full composition's poster replaces the preview's (taken at the preview's size).
    await transcode(runtime, realm, video_id, _screen, on_publish, new_poster=previewed)


async def reason_to_stop(runtime: Runtime, realm: str, video_id: int) -> Stop | None:
    """Why the transcode of this video must not go on now, if it must not."""
    async with runtime.databases.read(realm) as session:
        owner_id = await session.scalar(select(Video.owner_id).where(Video.id == video_id))
    if owner_id is None:
        return Stop.DELETED
    # The switch as uploads themselves are checked (a partial rollout by the uploader's bucket).
    if not decide(await get_switch(runtime, realm, Capability.UPLOAD), owner_id):
        return Stop.UPLOAD_OFF
    return None


async def _watch(runtime: Runtime, realm: str, video_id: int) -> Stop:
    while True:
        await asyncio.sleep(STOP_CHECK_S)
        try:
            reason = await reason_to_stop(runtime, realm, video_id)
        except Exception:  # a failed check is tried again at the next tick; the transcode goes on meanwhile
            log.warning("could not check whether the transcode of %s should stop", video_id, exc_info=True)
            continue
        if reason is not None:
            return reason


async def _transcode_until_stopped(runtime: Runtime, realm: str, video_id: int) -> Stop | None:
    """Transcode, unless a reason to stop comes first (then the transcode is cancelled and the reason
    returned). The transcode's own failure is raised."""
    work = asyncio.create_task(_compose_and_transcode(runtime, realm, video_id))
    watch = asyncio.create_task(_watch(runtime, realm, video_id))
    try:
        await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Also when this job is cancelled (its worker stopping): nothing returns before the transcode's ffmpeg
        # children are killed and reaped.
        work.cancel()
        watch.cancel()
        await asyncio.gather(work, watch, return_exceptions=True)
    if not work.cancelled():  # the transcode ended first, in success or failure
        work.result()
        return None
    return watch.result()


async def _forget(runtime: Runtime, realm: str, video_id: int) -> None:
    """What the job stored for a video deleted meanwhile (the deletion removed what existed then)."""
    with contextlib.suppress(OSError):  # unreferenced objects are safe; a later sweep may take them
        await runtime.storage.realm(realm).delete_prefix(f"videos/{video_id}")


async def _pause(runtime: Runtime, realm: str, video_id: int, job: Job) -> None:
    """Leave the video processing, and look again later, in the uploader's turn (same lock and priority)."""
    async with runtime.databases.transaction(realm) as session:
        video = await session.get(Video, video_id, with_for_update=True)
        if video is None:
            return
        video.status_detail = PAUSED_DETAIL
        options = JobOptions(lock=job.lock, priority=job.priority, schedule_in_s=PAUSED_RECHECK_S)
        await defer(session, TRANSCODE_TASK, options=options, video_id=video_id)


@job_app.task(name=TRANSCODE_TASK, queue=MEDIA_QUEUE, retry=MEDIA_RETRY, pass_context=True)
async def transcode_video(context: Any, video_id: int) -> None:
    runtime, realm = runtime_of(context), realm_of(context)
    try:
        stop = await reason_to_stop(runtime, realm, video_id)
        if stop is None:
            stop = await _transcode_until_stopped(runtime, realm, video_id)
    except Exception:
        # On the last attempt, tell the creator instead of leaving the video processing forever.
        if context.job.attempts + 1 >= MEDIA_RETRY.max_attempts:
            log.exception("transcode of %s failed for good", video_id)
            await set_status(
                runtime,
                realm,
                video_id,
                status=VideoStatus.REJECTED,
                reject_code="processing_failed",
                reject_reason="We could not process this video. Please try uploading it again.",
                status_detail="",
            )
            return
        raise
    if stop is Stop.DELETED:
        await _forget(runtime, realm, video_id)
    elif stop is Stop.UPLOAD_OFF:
        log.info("transcode of %s paused: uploads are off for its uploader", video_id)
        await _pause(runtime, realm, video_id, context.job)
