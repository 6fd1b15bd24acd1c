"""Synthetic demo videos: colourful, distinct per index, vertical 9:16 H.264 + AAC, made by ffmpeg in ~1 s."""

from __future__ import annotations

import re
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

from reelm import ffmpeg

FRAME_RATE = 30
# A clip takes about a second; far more means ffmpeg is stuck, and seeding should fail rather than hang.
_CLIP_TIMEOUT_S = 120
_FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
    Path("/usr/local/share/fonts/DejaVuSans-Bold.ttf"),
)
# Paths are put into the filter graph unescaped, so only plain characters are allowed (else: no text).
_FILTER_SAFE_PATH = re.compile(r"[\w./-]+")
_TITLE_CHARS_PER_LINE = 14


def _small(size: tuple[int, int], divisor: int) -> str:
    # Some sources are slow per pixel; rendering them smaller and upscaling keeps a clip around 1 s.
    width, height = size
    return f"{max(2, width // divisor)}x{max(2, height // divisor)}"


def _upscaled(size: tuple[int, int], flags: str) -> str:
    return f"scale={size[0]}:{size[1]}:flags={flags}"


def _testsrc2(size: tuple[int, int], index: int) -> str:
    return f"testsrc2=s={size[0]}x{size[1]}:r={FRAME_RATE},hue=h={index * 37 % 360}"


def _mandelbrot(size: tuple[int, int], index: int) -> str:
    source = f"mandelbrot=s={_small(size, 2)}:r={FRAME_RATE}:start_scale={2 + index % 3}"
    return f"{source},{_upscaled(size, 'bicubic')}"


def _life(size: tuple[int, int], index: int) -> str:
    colours = ("#ffcc00", "#00e5ff", "#ff4081", "#76ff03")
    return (
        f"life=s={_small(size, 4)}:r={FRAME_RATE}:seed={index}:ratio=0.25:mold=8"
        f":life_color={colours[index % len(colours)]}:death_color=#202040:mold_color=#402060,"
        + _upscaled(size, "neighbor")  # crisp cells
    )


def _cellauto(size: tuple[int, int], index: int) -> str:
    rules = (30, 90, 110, 150, 182)
    return (
        f"cellauto=s={_small(size, 4)}:r={FRAME_RATE}:rule={rules[index % len(rules)]}:seed={index}"
        # The automaton is black and white; colorize tints it per index.
        f":scroll=1,format=rgb24,colorize=hue={index * 53 % 360}:saturation=0.8:lightness=0.5,"
        + _upscaled(size, "neighbor")
    )


def _gradients(size: tuple[int, int], index: int) -> str:
    source = f"gradients=s={_small(size, 2)}:r={FRAME_RATE}:speed=0.03:seed={index}:n=4"
    return f"{source},{_upscaled(size, 'bicubic')}"


def _smptehdbars(size: tuple[int, int], index: int) -> str:
    # Static bars: a rotating hue gives them motion.
    return f"smptehdbars=s={size[0]}x{size[1]}:r={FRAME_RATE},hue=H=2*PI*t/5+{index}"


def _rgbtestsrc(size: tuple[int, int], index: int) -> str:
    return f"rgbtestsrc=s={size[0]}x{size[1]}:r={FRAME_RATE},hue=H=-2*PI*t/4+{index}:s=1.4"


_SOURCES: tuple[Callable[[tuple[int, int], int], str], ...] = (
    _testsrc2,
    _mandelbrot,
    _life,
    _cellauto,
    _gradients,
    _smptehdbars,
    _rgbtestsrc,
)


def _tone_hz(index: int) -> float:
    # Walk a two-octave scale from A3 in fifths, so neighbouring clips sound clearly different.
    return round(220.0 * 2 ** ((index * 7 % 24) / 12), 2)


def _find_font() -> Path | None:
    for candidate in _FONT_CANDIDATES:
        if candidate.is_file() and _FILTER_SAFE_PATH.fullmatch(str(candidate)):
            return candidate
    return None


def _title_filter(title: str, width: int, scratch: Path) -> str | None:
    font = _find_font()
    text_file = scratch / "title.txt"
    if font is None or not _FILTER_SAFE_PATH.fullmatch(str(text_file)):
        return None
    # Read from a file with expansion off: any title text is drawn literally, no filter escaping needed.
    text_file.write_text("\n".join(textwrap.wrap(title, _TITLE_CHARS_PER_LINE)[:4]), encoding="utf-8")
    size = max(12, width // 11)
    return (
        f"drawtext=fontfile={font}:textfile={text_file}:expansion=none:fontsize={size}:fontcolor=white"
        f":line_spacing={size // 4}:box=1:boxcolor=black@0.5:boxborderw={size // 2}"
        ":x=(w-text_w)/2:y=(h-text_h)/2"
    )


def generate_demo_clip(
    path: Path, *, index: int, width: int = 540, height: int = 960, duration_s: float = 6.0, title: str = ""
) -> None:
    """Write a demo MP4 to `path`; the picture source, colours and tone all vary with `index`.
    `title` is drawn large in the middle when a DejaVu font is installed, and silently left out otherwise."""
    width, height = width - width % 2, height - height % 2  # H.264 4:2:0 needs even sides
    source = _SOURCES[index % len(_SOURCES)]((width, height), index)
    with tempfile.TemporaryDirectory(prefix="reelm-demo-") as scratch:
        filters = [source, "format=yuv420p"]
        text = _title_filter(title, width, Path(scratch)) if title.strip() else None
        if text is not None:
            filters.append(text)
        args = ["-f", "lavfi", "-i", ",".join(filters)]
        args += ["-f", "lavfi", "-i", f"sine=frequency={_tone_hz(index)}:sample_rate=48000"]
        args += ["-t", f"{duration_s:.3f}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23"]
        args += ["-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", "-f", "mp4", str(path)]
        ffmpeg.run_sync(args, timeout_s=_CLIP_TIMEOUT_S).raise_if_failed()
