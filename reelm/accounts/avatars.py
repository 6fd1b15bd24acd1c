"""Avatar images: validated by decoding, re-encoded to a square JPEG (which also drops any metadata)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av

from reelm.errors import Problem
from reelm.videos.media import ffmpeg_exe

MAX_AVATAR_BYTES = 5 * 1024 * 1024
AVATAR_SIZE = 320
_IMAGE_CODECS = frozenset({"png", "mjpeg", "webp", "gif", "bmp"})


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
    result = subprocess.run(  # noqa: S603 - fixed arguments, the path is ours
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-i",
            str(source),
            "-vf",
            crop,
            "-frames:v",
            "1",
            "-q:v",
            "3",
            str(target),
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0 or not target.exists():
        raise _reject("The image could not be converted.")
