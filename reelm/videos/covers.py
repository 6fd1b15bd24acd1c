"""A video's cover: a frame its creator picks (the server takes it from the best rendition with the bounded
ffmpeg runner) or an image they upload (checked by decoding, as avatars are, and re-encoded, which drops any
metadata). Each new cover gets a new key (`videos/{id}/covers/{n}.jpg`), so covers are cached as immutable
like every other file of a video; the poster the transcode made stays until the video goes.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import av

from reelm import ffmpeg
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
_IMAGE_CODECS = frozenset({"png", "mjpeg", "webp", "gif", "bmp"})
_TIMEOUT_S = 30


def _reject(reason: str) -> Problem:
    return Problem(422, "image-rejected", "Image rejected", reason)


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


def _check_image(source: Path) -> None:
    size = source.stat().st_size
    if size == 0:
        raise _reject("The file is empty.")
    if size > MAX_COVER_BYTES:
        raise Problem(413, "too-large", "Image too large", "Covers may be at most 10 MB.")
    try:
        with av.open(str(source)) as container:
            stream = container.streams.video[0] if container.streams.video else None
            if stream is None or stream.codec_context.name not in _IMAGE_CODECS:
                raise _reject("This is not a PNG, JPEG, WebP or GIF image.")
            width, height = stream.codec_context.width, stream.codec_context.height
            next(container.decode(stream))
    except (av.FFmpegError, StopIteration, IndexError) as exc:
        raise _reject("The image could not be read.") from exc
    if not (64 <= width <= 8192 and 64 <= height <= 8192):
        raise _reject("The image must be between 64 and 8192 pixels on each side.")


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
    await asyncio.to_thread(_check_image, source)  # decoding must not stall the server's loop
    result = await ffmpeg.run(
        ["-i", str(source), "-vf", _FIT, "-frames:v", "1", "-q:v", "3", str(target)], timeout_s=_TIMEOUT_S
    )
    if result.returncode != 0 or not await asyncio.to_thread(_made, target):
        raise _reject("The image could not be converted.")


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
