"""The transcode job of a realm's worker: screen a new upload, then transcode and publish it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from reelm.jobs import MEDIA_QUEUE, MEDIA_RETRY, job_app, realm_of, runtime_of
from reelm.moderation.screening import BLOCKED, screen_upload
from reelm.runtime import Runtime
from reelm.videos.models import VideoStatus
from reelm.videos.transcode import set_status, transcode

log = logging.getLogger(__name__)


async def _screen(
    runtime: Runtime, realm: str, video_id: int, source: Path, *, width: int, height: int, duration_s: float
) -> bool:
    screened = await screen_upload(
        runtime, realm, video_id, source, width=width, height=height, duration_s=duration_s
    )
    return screened != BLOCKED


@job_app.task(name="transcode_video", queue=MEDIA_QUEUE, retry=MEDIA_RETRY, pass_context=True)
async def transcode_video(context: Any, video_id: int) -> None:
    runtime, realm = runtime_of(context), realm_of(context)
    try:
        await transcode(runtime, realm, video_id, _screen)
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
