"""Avatar images: validated by decoding, re-encoded to a square JPEG (which also drops any metadata)."""

from __future__ import annotations

from pathlib import Path

import av

from reelm import ffmpeg
from reelm.errors import Problem

MAX_AVATAR_BYTES = 5 * 1024 * 1024
AVATAR_SIZE = 320
_IMAGE_CODECS = frozenset({"png", "mjpeg", "webp", "gif", "bmp"})
_CONVERT_TIMEOUT_S = 30


def _reject(reason: str) -> Problem:
    return Problem(422, "image-rejected", "Image rejected", reason)


def make_avatar(source: Path, target: Path) -> None:
    size = source.stat().st_size
    if size == 0:
        raise _reject("The file is empty.")
    if size > MAX_AVATAR_BYTES:
        raise Problem(413, "too-large", "Image too large", "Avatars may be at most 5 MB.")
    try:
        with av.open(str(source)) as container:
            stream = container.streams.video[0] if container.streams.video else None
            if stream is None or stream.codec_context.name not in _IMAGE_CODECS:
                raise _reject("This is not a PNG, JPEG, WebP or GIF image.")
            width, height = stream.codec_context.width, stream.codec_context.height
            next(container.decode(stream))
    except (av.FFmpegError, StopIteration, IndexError) as exc:
        raise _reject("The image could not be read.") from exc
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise _reject("The image must be between 16 and 8192 pixels on each side.")
    side = AVATAR_SIZE
    crop = f"scale={side}:{side}:force_original_aspect_ratio=increase,crop={side}:{side}"
    result = ffmpeg.run_sync(
        ["-i", str(source), "-vf", crop, "-frames:v", "1", "-q:v", "3", str(target)],
        timeout_s=_CONVERT_TIMEOUT_S,
    )
    if result.returncode != 0 or not target.exists():
        raise _reject("The image could not be converted.")
