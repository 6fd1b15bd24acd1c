"""Tiny media files for tests, made with the real ffmpeg.

Each helper writes one file into `directory` and returns its path. Everything comes from lavfi sources at very
low resolution/frame rate, so each file takes well under a second to make.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

from reelm import ffmpeg

FRAME_RATE = 24
# Each file takes well under a second; a shared, busy machine may be many times slower, but never this slow.
_MAKE_TIMEOUT_S = 120


def _ffmpeg(*args: str) -> None:
    ffmpeg.run_sync(args, timeout_s=_MAKE_TIMEOUT_S).raise_if_failed()


def _lavfi(graph: str) -> list[str]:
    return ["-f", "lavfi", "-i", graph]


def _h264(*, width: int, height: int, duration_s: float, audio: bool, out: Path) -> None:
    args = _lavfi(f"testsrc2=s={width}x{height}:r={FRAME_RATE}:d={duration_s}")
    if audio:
        args += [*_lavfi(f"sine=f=440:d={duration_s}"), "-c:a", "aac", "-b:a", "64k"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest"]
    # The container is named explicitly so callers may pick any file name (content, not name, is what counts).
    args += ["-f", "mp4", str(out)]
    _ffmpeg(*args)


def make_clip(
    directory: Path,
    *,
    width: int = 180,
    height: int = 320,
    duration_s: float = 1.5,
    audio: bool = True,
    rotate_meta: int | None = None,
    name: str = "clip.mp4",
) -> Path:
    """A valid H.264 (+AAC) MP4. `rotate_meta` (degrees) adds display-rotation side data, as phones write it;
    with 90 or 270 the display size is height x width."""
    out = directory / name
    if rotate_meta is None:
        _h264(width=width, height=height, duration_s=duration_s, audio=audio, out=out)
        return out
    plain = directory / f"unrotated-{name}"
    _h264(width=width, height=height, duration_s=duration_s, audio=audio, out=plain)
    _ffmpeg("-display_rotation", str(rotate_meta), "-i", str(plain), "-c", "copy", "-f", "mp4", str(out))
    plain.unlink()
    return out


def make_hevc_10bit(directory: Path) -> Path:
    """HEVC Main 10 + AAC, as recent iPhones record: allowed, but must be converted to 8 bit."""
    out = directory / "hevc.mp4"
    args = [*_lavfi(f"testsrc2=s=180x320:r={FRAME_RATE}:d=1.5"), *_lavfi("sine=d=1.5")]
    args += ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1"]
    _ffmpeg(*args, "-x265-params", "log-level=error", "-c:a", "aac", str(out))
    return out


def make_vp9_webm(directory: Path) -> Path:
    """Landscape VP9 + Opus in WebM, as browsers' MediaRecorder writes."""
    out = directory / "clip.webm"
    args = [*_lavfi(f"testsrc2=s=320x180:r={FRAME_RATE}:d=1.5"), *_lavfi("sine=d=1.5")]
    args += ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"]
    _ffmpeg(*args, str(out))
    return out


def make_not_a_video(directory: Path) -> Path:
    out = directory / "clip.mp4"
    out.write_text("This is a shopping list, not a video.\n- milk\n- eggs\n")
    return out


def make_empty(directory: Path) -> Path:
    out = directory / "empty.mp4"
    out.write_bytes(b"")
    return out


def make_truncated(directory: Path) -> Path:
    """The first 30 % of a clip, like an upload cut off mid-way.

    ffmpeg writes the MP4 index (moov) at the END by default, so the cut removes it: the file still starts
    with an MP4 signature but cannot be opened, and probe() rejects it as corrupt_stream.
    """
    clip = make_clip(directory, name="whole.mp4")
    data = clip.read_bytes()
    clip.unlink()
    out = directory / "truncated.mp4"
    out.write_bytes(data[: len(data) * 3 // 10])
    return out


def make_corrupt(directory: Path) -> Path:
    """A clip whose container is intact but whose media data is garbage between 40 % and 60 %.

    The first frames still decode, so probe() accepts it; the damage only shows when the whole stream is
    decoded, i.e. transcode_rungs() must reject it as corrupt_stream.
    """
    clip = make_clip(directory, duration_s=3.0, name="corrupt.mp4")
    data = bytearray(clip.read_bytes())
    start, end = _mdat_payload(data)
    rng = random.Random(1234)  # fixed seed: the same damage on every run
    lo, hi = start + (end - start) * 4 // 10, start + (end - start) * 6 // 10
    data[lo:hi] = bytes(rng.randrange(256) for _ in range(hi - lo))
    clip.write_bytes(data)
    return clip


def _mdat_payload(data: bytes | bytearray) -> tuple[int, int]:
    """Byte range of the first top-level 'mdat' payload (32-bit box sizes, as ffmpeg writes small files)."""
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"mdat":
            return offset + 8, offset + size
        offset += size
    raise ValueError("no mdat box")


def make_image(directory: Path) -> Path:
    """A single PNG picture misnamed .mp4."""
    out = directory / "image.mp4"
    _ffmpeg(*_lavfi("testsrc2=s=180x320"), "-frames:v", "1", "-c:v", "png", "-f", "image2", str(out))
    return out


def make_audio_only(directory: Path) -> Path:
    out = directory / "audio_only.mp4"
    _ffmpeg(*_lavfi("sine=f=330:d=2"), "-c:a", "aac", str(out))
    return out


def make_unsupported_codec(directory: Path) -> Path:
    """MPEG-2 video in an MP4: a real video, but not a codec on the allow-list."""
    out = directory / "unsupported.mp4"
    _ffmpeg(*_lavfi(f"testsrc2=s=180x320:r={FRAME_RATE}:d=1.5"), "-c:v", "mpeg2video", str(out))
    return out


def make_tiny(directory: Path) -> Path:
    """64x64: a valid video below the default minimum side."""
    return make_clip(directory, width=64, height=64, audio=False, name="tiny.mp4")


def make_long(directory: Path, seconds: float) -> Path:
    """A long but cheap video: flat colour at 1 frame/s and the smallest acceptable size, no audio."""
    out = directory / "long.mp4"
    source = _lavfi(f"color=c=teal:s=144x256:r=1:d={seconds}")
    _ffmpeg(*source, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out))
    return out


def make_lying_duration(directory: Path, *, declared_s: float = 10.0, last_frame_s: float = 36_000.0) -> Path:
    """A tiny MP4 whose headers declare `declared_s` while its last frame is stamped at `last_frame_s`.

    Ten seconds at FRAME_RATE, the last frame moved to `last_frame_s` (10 hours by default): constant frame
    rate output of it would pad over 800,000 duplicate frames. Written without an edit list (which would hide
    the far frame), then the movie, track and media durations (mvhd, tkhd, mdhd) are set to `declared_s`.
    """
    out = directory / "lying.mp4"
    frames = 10 * FRAME_RATE
    moved = f"setpts='if(gte(N,{frames - 1}),{last_frame_s}/TB,PTS)'"
    args = [*_lavfi(f"testsrc2=s=144x256:r={FRAME_RATE}:d=10"), "-vf", moved, "-fps_mode", "passthrough"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-use_editlist", "0"]
    _ffmpeg(*args, "-f", "mp4", str(out))
    data = bytearray(out.read_bytes())
    _declare_duration(data, 0, len(data), declared_s, movie_timescale=None)
    out.write_bytes(data)
    return out


_MP4_CONTAINER_BOXES = {b"moov", b"trak", b"mdia"}


def _declare_duration(
    data: bytearray, start: int, end: int, seconds: float, movie_timescale: int | None
) -> int | None:
    """Overwrite the duration fields of the mvhd, tkhd and mdhd boxes between `start` and `end`, each in its
    own timescale (tkhd's is the movie's, from mvhd, which comes first in moov)."""
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body, stop = offset + 8, offset + size
        if kind in _MP4_CONTAINER_BOXES:
            movie_timescale = _declare_duration(data, body, stop, seconds, movie_timescale)
        elif kind in (b"mvhd", b"tkhd", b"mdhd"):
            version = data[body]
            field = body + 4 + (16 if version else 8)  # after version, flags, creation and modification times
            if kind == b"tkhd":
                field += 8  # track id and a reserved word
                timescale = movie_timescale
            else:
                (timescale,) = struct.unpack(">I", data[field : field + 4])
                field += 4
                if kind == b"mvhd":
                    movie_timescale = timescale
            assert timescale is not None, "tkhd before mvhd"
            struct.pack_into(">Q" if version else ">I", data, field, round(seconds * timescale))
        offset = stop
    return movie_timescale


def make_slow_to_transcode(directory: Path, *, seconds: int = 90) -> Path:
    """A video that one ffmpeg run takes many seconds to transcode, made in about a second: 360x640 (a
    one-rung ladder, so one encoder runs throughout) at 60 frames/s (as many as a rendition keeps), no audio;
    two encoded seconds repeated by stream copy."""
    piece, out = directory / "piece.mp4", directory / "slow.mp4"
    args = [*_lavfi("testsrc2=s=360x640:r=60:d=2"), "-c:v", "libx264", "-preset", "ultrafast", "-crf", "30"]
    _ffmpeg(*args, "-pix_fmt", "yuv420p", "-g", "60", "-f", "mp4", str(piece))
    _ffmpeg("-stream_loop", str(seconds // 2 - 1), "-i", str(piece), "-c", "copy", "-f", "mp4", str(out))
    piece.unlink()
    return out
