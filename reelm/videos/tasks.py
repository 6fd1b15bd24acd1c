"""The download job of a realm's worker: make a video's watermarked download (reelm.videos.downloads)."""

from __future__ import annotations

import logging
from typing import Any

from reelm.jobs import MEDIA_QUEUE, MEDIA_RETRY, job_app, realm_of, runtime_of
from reelm.videos import media, remix
from reelm.videos.downloads import DOWNLOAD_TASK, make_download, mark_failed

log = logging.getLogger(__name__)


@job_app.task(name=DOWNLOAD_TASK, queue=MEDIA_QUEUE, retry=MEDIA_RETRY, pass_context=True)
async def watermark_download(context: Any, video_id: int) -> None:
    runtime, realm = runtime_of(context), realm_of(context)
    try:
        await make_download(runtime, realm, video_id)
    except (media.MediaRejected, remix.FontMissing):
        # Another try would fail the same way (a rendition the probe refuses, a run over its CPU budget, no
        # font installed): say so to the requests now.
        log.exception("the download of %s cannot be made", video_id)
        await mark_failed(runtime, realm, video_id)
    except Exception:
        # A failed run or a storage hiccup is worth the retries; after the last one, requests say so
        # instead of waiting for ever.
        if context.job.attempts + 1 >= MEDIA_RETRY.max_attempts:
            log.exception("the download of %s failed for good", video_id)
            await mark_failed(runtime, realm, video_id)
            return
        raise
