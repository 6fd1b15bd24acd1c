"""A video's cover: a frame its creator picks (the server takes it from the best rendition with the bounded
ffmpeg runner) or an image they upload (checked by decoding, as avatars are, and re-encoded, which drops any
metadata). Each new cover gets a new key (`videos/{id}/covers/{n}.jpg`), so covers are cached as immutable
like every other file of a video; the poster the transcode made stays until the video goes.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from reelm import ffmpeg
from reelm.accounts.avatars import check_image, image_rejected
from reelm.errors import Problem
from reelm.storage import RealmStore
from reelm.videos.models import Video, VideoStatus

MAX_COVER_BYTES = 10 * 1024 * 1024
MAX_ALT_CHARS = 250
# A cover fits the largest rung, 1080 x 1920 either way round, and is never enlarged.
_FIT = (
    "scale=w='min(iw,if(gt(iw,ih),1920,1080))':h='min(ih,if(gt(iw,ih),1080,1920))'"
    ":force_original_aspect_ratio=decrease"
)
_TIMEOUT_S = 30


def check_coverable(video: Video) -> None:
    if video.status != VideoStatus.READY or not video.renditions:
        raise Problem(
            409, "video-processing", "Still processing", "Choose a cover once the video is processed."
        )


def check_frame_time(video: Video, at_s: float) -> None:
    if video.duration_s is not None and at_s > video.duration_s:
        raise Problem(
            422,
            "invalid-request",
            "The request is not valid",
            f"at_s: must be within the video (at most {video.duration_s:.2f} s)",
            errors=[{"field": "at_s", "message": "is past the end of the video"}],
        )


def _made(target: Path) -> bool:
    return target.exists() and target.stat().st_size > 0


async def frame_cover(source: Path, at_s: float, target: Path) -> None:
    """The frame at `at_s` of a rendition, as a JPEG."""
    result = await ffmpeg.run(
        [
            "-ss",
            ffmpeg.seconds_arg(at_s),
            "-i",
            str(source),
            "-frames:v",
            "1",
            "-vf",
            _FIT,
            "-q:v",
            "3",
            str(target),
        ],
        timeout_s=_TIMEOUT_S,
    )
    if result.returncode != 0 or not await asyncio.to_thread(_made, target):
        raise Problem(422, "frame-unavailable", "No frame there", "No frame could be taken at that time.")


async def image_cover(source: Path, target: Path) -> None:
    """An uploaded image, checked and re-encoded as a JPEG."""
    await asyncio.to_thread(  # decoding must not stall the server's loop
        check_image, source, max_bytes=MAX_COVER_BYTES, too_large="Covers may be at most 10 MB.", min_side=64
    )
    result = await ffmpeg.run(
        ["-i", str(source), "-vf", _FIT, "-frames:v", "1", "-q:v", "3", str(target)], timeout_s=_TIMEOUT_S
    )
    if result.returncode != 0 or not await asyncio.to_thread(_made, target):
        raise image_rejected("The image could not be converted.")


def best_rendition_key(video: Video) -> str:
    """The largest rendition's MP4: the sharpest frames the platform holds (the original stays private)."""
    best = max(video.renditions, key=lambda r: r.width * r.height)
    return best.mp4_key


async def do_set_cover(store: RealmStore, video: Video, image: Path) -> None:
    """Store the new cover under a key of its own and make it the video's poster (the caller holds the row
    lock and commits; the object is written first, so a failure leaves the old cover in place)."""
    key = f"videos/{video.id}/covers/{time.time_ns() // 1_000_000}.jpg"
    await store.put_file(key, image)
    video.poster_key = key
