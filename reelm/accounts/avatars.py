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


def image_rejected(reason: str) -> Problem:
    return Problem(422, "image-rejected", "Image rejected", reason)


def check_image(source: Path, *, max_bytes: int, too_large: str, min_side: int) -> None:
    """An uploaded image (avatar or video cover) is one of the formats we take, decodes, and is neither
    tiny nor huge; a Problem says which it is not. Blocking: decodes the first frame."""
    size = source.stat().st_size
    if size == 0:
        raise image_rejected("The file is empty.")
    if size > max_bytes:
        raise Problem(413, "too-large", "Image too large", too_large)
    try:
        with av.open(str(source)) as container:
            stream = container.streams.video[0] if container.streams.video else None
            if stream is None or stream.codec_context.name not in _IMAGE_CODECS:
                raise image_rejected("This is not a PNG, JPEG, WebP or GIF image.")
            width, height = stream.codec_context.width, stream.codec_context.height
            next(container.decode(stream))
    except (av.FFmpegError, StopIteration, IndexError) as exc:
        raise image_rejected("The image could not be read.") from exc
    if not (min_side <= width <= 8192 and min_side <= height <= 8192):
        raise image_rejected(f"The image must be between {min_side} and 8192 pixels on each side.")


def make_avatar(source: Path, target: Path) -> None:
    check_image(source, max_bytes=MAX_AVATAR_BYTES, too_large="Avatars may be at most 5 MB.", min_side=16)
    side = AVATAR_SIZE
    crop = f"scale={side}:{side}:force_original_aspect_ratio=increase,crop={side}:{side}"
    result = ffmpeg.run_sync(
        ["-i", str(source), "-vf", crop, "-frames:v", "1", "-q:v", "3", str(target)],
        timeout_s=_CONVERT_TIMEOUT_S,
    )
    if result.returncode != 0 or not target.exists():
        raise image_rejected("The image could not be converted.")
