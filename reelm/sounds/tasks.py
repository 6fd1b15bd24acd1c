"""The sound job of a realm's worker: a published video's audio becomes a sound (reelm.sounds.making)."""

from __future__ import annotations

import logging
from typing import Any

from reelm.jobs import MEDIA_QUEUE, MEDIA_RETRY, job_app, realm_of, runtime_of
from reelm.sounds import audio
from reelm.sounds.making import MAKE_SOUND_TASK, make_sound
from reelm.videos import media

log = logging.getLogger(__name__)


@job_app.task(name=MAKE_SOUND_TASK, queue=MEDIA_QUEUE, retry=MEDIA_RETRY, pass_context=True)
async def make_video_sound(context: Any, video_id: int) -> None:
    runtime, realm = runtime_of(context), realm_of(context)
    try:
        await make_sound(runtime, realm, video_id)
    except (media.MediaRejected, audio.AudioUnreadable):
        # The rendition's sound cannot be read (another try would fail alike): the video keeps no sound.
        log.warning("the sound of video %s cannot be made", video_id, exc_info=True)
