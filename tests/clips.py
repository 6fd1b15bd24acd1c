"""Tiny media files for tests, made with the real ffmpeg.

Each helper writes one file into `directory` and returns its path. Everything comes from lavfi sources at very
low resolution/frame rate, so each file takes well under a second to make.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import struct
from pathlib import Path

import av
import numpy as np

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


def make_solid_clip(
    directory: Path,
    *,
    colour: str,
    width: int = 180,
    height: int = 320,
    duration_s: float = 1.5,
    audio: str | None = "tone",
    tone_hz: int = 440,
    name: str | None = None,
) -> Path:
    """One flat colour (an ffmpeg colour name), so a test can tell by a pixel which input a frame came from.

    `audio`: "tone" (a sine at `tone_hz`), "silence" (an audio track of digital silence) or None (no track).
    """
    out = directory / (name or f"{colour}.mp4")
    args = _lavfi(f"color=c={colour}:s={width}x{height}:r={FRAME_RATE}:d={duration_s}")
    if audio == "tone":
        args += _lavfi(f"sine=f={tone_hz}:d={duration_s}")
    elif audio == "silence":
        args += _lavfi(f"anullsrc=r=48000:cl=mono,atrim=end={duration_s}")
    if audio is not None:
        args += ["-c:a", "aac", "-b:a", "64k"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest"]
    _ffmpeg(*args, "-f", "mp4", str(out))
    return out


def make_stepped_tone_clip(
    directory: Path, *, gain_db: float, duration_s: float = 4.0, name: str = "stepped.mp4"
) -> Path:
    """A small clip whose tone is quiet for the first half and 12 dB louder for the second, then `gain_db`
    on the whole: a sound with a loudness range (as speech and music have), at a chosen loudness."""
    out = directory / name
    half = duration_s / 2
    level = f"volume='if(lt(t,{half}),0.25,1)':eval=frame,volume={gain_db}dB"
    args = [
        *_lavfi(f"color=c=gray:s=144x256:r=12:d={duration_s}"),
        *_lavfi(f"sine=f=440:d={duration_s},{level}"),
    ]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k"]
    _ffmpeg(*args, "-shortest", "-f", "mp4", str(out))
    return out


def make_colour_steps(
    directory: Path,
    *,
    colours: tuple[str, ...] = ("red", "yellow", "purple"),
    step_s: float = 1.0,
    width: int = 180,
    height: int = 320,
    name: str = "steps.mp4",
) -> Path:
    """Each colour for `step_s` seconds in turn, with a tone throughout: a frame's colour says when it was."""
    out = directory / name
    duration_s = step_s * len(colours)
    parts = "".join(
        f"color=c={c}:s={width}x{height}:r={FRAME_RATE}:d={step_s}[p{i}];" for i, c in enumerate(colours)
    )
    joined = "".join(f"[p{i}]" for i in range(len(colours)))
    args = [*_lavfi(f"sine=f=440:d={duration_s}"), "-filter_complex"]
    args += [f"{parts}{joined}concat=n={len(colours)}:v=1:a=0[v]", "-map", "[v]", "-map", "0:a"]
    args += ["-c:a", "aac", "-b:a", "64k"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    _ffmpeg(*args, "-f", "mp4", str(out))
    return out


def make_tone_file(directory: Path, *, tone_hz: int, duration_s: float = 4.0, name: str = "tone.m4a") -> Path:
    """An audio-only .m4a (AAC, 48 kHz stereo), shaped like a sound rendition."""
    out = directory / name
    args = [*_lavfi(f"sine=f={tone_hz}:d={duration_s}:sample_rate=48000"), "-ac", "2"]
    _ffmpeg(*args, "-c:a", "aac", "-b:a", "96k", "-f", "mp4", str(out))
    return out


# --- reading results back -------------------------------------------------------------------------


def frame_at(path: Path, at_s: float) -> np.ndarray:
    """The RGB picture (height x width x 3) of the first frame shown at or after `at_s`.

    Read in a thread of its own that ends with the call: PyAV keeps its RGB converter (with slice threads of
    its own) per thread, and a thread that kept one would hang every ffmpeg started later from another
    thread. reelm.ffmpeg's preexec_fn makes Python tidy up in the forked child, where freeing that converter
    waits forever for threads the child does not have.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_frame_at, path, at_s).result()


def _frame_at(path: Path, at_s: float) -> np.ndarray:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.time is not None and frame.time >= at_s - 1e-3:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"{path} has no frame at {at_s} s")


def looks_like(pixel: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    """Whether an RGB pixel is `colour`, give or take what YUV 4:2:0 and H.264 do to flat colours."""
    return all(abs(int(have) - want) <= tolerance for have, want in zip(pixel, colour, strict=True))


RED, GREEN, BLUE, YELLOW, BLACK = (255, 0, 0), (0, 128, 0), (0, 0, 255), (255, 255, 0), (0, 0, 0)


def audio_samples(path: Path) -> tuple[np.ndarray, int]:
    """The first audio stream decoded to mono floats, and its sample rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        mono = av.AudioResampler(format="fltp", layout="mono", rate=stream.rate)
        chunks = [
            out.to_ndarray()[0].astype(np.float64)
            for frame in container.decode(stream)
            for out in mono.resample(frame)
        ]
        chunks += [out.to_ndarray()[0].astype(np.float64) for out in mono.resample(None)]
        return np.concatenate(chunks), stream.rate


def dominant_hz(path: Path) -> float:
    """The strongest frequency of the first audio stream."""
    samples, rate = audio_samples(path)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(np.argmax(spectrum))])


def loudness_lufs(path: Path) -> float:
    """Integrated loudness of the first audio stream, as ffmpeg's EBU R128 meter (ebur128) measures it."""
    lines: list[str] = []

    def take(line: str) -> bool:
        lines.append(line)
        return True

    args = ["-i", str(path), "-map", "0:a:0", "-af", "ebur128=framelog=verbose", "-f", "null", "-"]

    async def measure() -> None:
        _, result = await ffmpeg.run_reading(
            args, _drain, timeout_s=_MAKE_TIMEOUT_S, log_level="info", take_log_line=take
        )
        result.raise_if_failed()

    asyncio.run(measure())
    # The summary's first "I:" line is the integrated loudness ("I: -14.0 LUFS").
    summary = lines[next(i for i, line in enumerate(lines) if line.rstrip().endswith("Summary:")) :]
    return float(next(line.split()[1] for line in summary if line.strip().startswith("I:")))


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(1 << 16):
        pass
