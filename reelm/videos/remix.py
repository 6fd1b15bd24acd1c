"""The media half of duets, stitches and watermarked downloads, and what every remix shares.

Each remix is one ffmpeg run: a pure builder makes its command line from described inputs (`Clip`, already
probed and accepted by `media.probe`) and checked parameters, and a small async runner runs it through
`reelm.ffmpeg` with a wall-clock limit and a CPU budget that grow with the work (`bounds_for`), as the
transcode's do. Bad parameters raise `RemixRejected` before anything is written; an ffmpeg run that fails
leaves no partial output behind. The audio remixes (sound renditions, waveforms, using a sound) are in
`reelm.videos.remix_audio`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import reelm.ffmpeg
from reelm.ffmpeg import seconds_arg
from reelm.text import HANDLE_RE
from reelm.videos import ffmpeg, media

# Like the transcode's (media._FFMPEG_*): only a stuck run or a starved machine gets near these.
_TIMEOUT_MIN_S = 120.0
_TIMEOUT_S_PER_OUTPUT_S = 10.0
# CPU time allowed per second of audio handled, over MediaLimits' base allowance: about ten times the
# costliest pass measured (loudnorm in dynamic mode, with its 192 kHz true-peak resampling, and AAC: 0.065 s a
# second; the linear pass 0.034, the ebur128 measure 0.006), as the transcode's is ten times x264's need.
_CPU_S_PER_AUDIO_S = 0.5
_DEFAULT_LIMITS = media.MediaLimits()
T = TypeVar("T")

STITCH_MAX_S = 5.0
STITCH_MIN_S = media.MIN_DURATION_S
# A source whose aspect differs from its cell by at most this share of its picture is cropped to fill the cell
# (a 2:3 phone clip in a 9:16 cell loses 16 %); further, it is letterboxed, so nothing important is cut.
_CROP_TOLERANCE = 0.2
_AREA_SCALE_FROM = 2.0  # see fit()
_FALLBACK_FPS = 30.0
AUDIO_RATE = 48000
AUDIO_ENCODE = ("-c:a", "aac", "-b:a", "128k", "-ar", str(AUDIO_RATE), "-ac", "2")
# The composed file is an upload the ladder transcodes again, so it is encoded a notch better than a rung
# (CRF 20 against 23), and with the ladder's 2 s keyframes, so a composition made straight at a rung's size
# can be segmented as one.
VIDEO_ENCODE = (
    *("-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-profile:v", "high", "-pix_fmt", "yuv420p"),
    *("-force_key_frames", f"expr:gte(t,n_forced*{ffmpeg.SEGMENT_S})"),
)
# Phones embed GPS location and device details in metadata: a remix is public, so drop it all.
CLEAN_OUTPUT = ("-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart", "-f", "mp4")


class RemixRejected(media.MediaRejected):
    """The remix cannot be made as asked; `code` is a stable machine id, `reason` a sentence for the
    creator. A MediaRejected, so a job that handles rejected media handles these too."""


class FontMissing(Exception):
    """No font file for the watermark: a deployment fault (install one), not the creator's."""


@dataclass(frozen=True)
class Clip:
    """A video file and what `media.probe` accepted of it (display size, accepted duration, audio)."""

    path: Path
    info: media.ProbeResult


@dataclass(frozen=True)
class Canvas:
    """The output picture: portrait 9:16, each side a multiple of 4 so that halves stay even."""

    width: int = 1080
    height: int = 1920


@dataclass(frozen=True)
class RemixOutput:
    path: Path
    duration_s: float
    width: int
    height: int


@dataclass(frozen=True)
class Bounds:
    timeout_s: float
    cpu_budget_s: float


# --- checks ---------------------------------------------------------------------------------------


def check_level(name: str, level: float) -> None:
    """An audio level is a linear gain from 0 (silent) to 1 (as recorded)."""
    if not math.isfinite(level) or not 0.0 <= level <= 1.0:
        raise RemixRejected("bad_level", f"The {name} level must be between 0 and 1, not {level:g}.")


def check_canvas(canvas: Canvas, limits: media.MediaLimits = _DEFAULT_LIMITS) -> None:
    width, height = canvas.width, canvas.height
    if width % 4 or height % 4 or width * 16 != height * 9:
        raise RemixRejected(
            "bad_canvas", f"A remix is 9:16 with sides divisible by 4; {width}x{height} is not."
        )
    if width < limits.min_side or height > limits.max_side:
        raise RemixRejected(
            "bad_canvas",
            f"A remix's sides must be between {limits.min_side} and {limits.max_side} pixels, "
            f"not {width}x{height}.",
        )


def check_stitch_range(start_s: float, end_s: float, original_duration_s: float) -> None:
    """The part of the original a stitch opens with: inside it, STITCH_MIN_S to STITCH_MAX_S long."""
    if not (math.isfinite(start_s) and math.isfinite(end_s)) or start_s < 0:
        raise RemixRejected("bad_range", "The stitched part must start at or after the beginning.")
    if end_s <= start_s:
        raise RemixRejected("bad_range", "The stitched part must end after it starts.")
    if end_s - start_s < STITCH_MIN_S:
        raise RemixRejected(
            "range_too_short", f"The stitched part must last at least {STITCH_MIN_S:g} seconds."
        )
    if end_s - start_s > STITCH_MAX_S + 1e-9:
        raise RemixRejected("range_too_long", f"A stitch can use at most {STITCH_MAX_S:g} seconds.")
    if end_s > original_duration_s + 1e-3:
        raise RemixRejected(
            "range_past_end",
            f"The stitched part ends at {end_s:.1f} s, after the video's end ({original_duration_s:.1f} s).",
        )


# --- bounds ---------------------------------------------------------------------------------------


def frame_rate(info: media.ProbeResult) -> float:
    """The rate a composition runs at: the remixer's own, at most the ladder's MAX_FPS."""
    return min(info.frame_rate or _FALLBACK_FPS, float(ffmpeg.MAX_FPS))


def bounds_for(
    *,
    output_s: float,
    decoded: Sequence[tuple[media.ProbeResult, float]] = (),
    encoded: tuple[Canvas, float] | None = None,
    audio_s: float = 0.0,
    limits: media.MediaLimits = _DEFAULT_LIMITS,
) -> Bounds:
    """The limits of one run: wall time from the output's length, CPU time from the pictures it decodes
    (each input for the seconds read of it), the pictures it encodes (canvas at a frame rate for output_s)
    and the audio it handles, at the transcode's rate per megapixel-frame (media.cpu_budget_s)."""
    megapixel_frames = sum(
        seconds * (info.frame_rate or _FALLBACK_FPS) * info.width * info.height / 1e6
        for info, seconds in decoded
    )
    if encoded is not None:
        canvas, fps = encoded
        megapixel_frames += output_s * fps * canvas.width * canvas.height / 1e6
    cpu_s = (
        limits.cpu_base_s + limits.cpu_s_per_megapixel_frame * megapixel_frames + _CPU_S_PER_AUDIO_S * audio_s
    )
    return Bounds(_TIMEOUT_MIN_S + _TIMEOUT_S_PER_OUTPUT_S * output_s, cpu_s)


async def run_to(
    args: Sequence[str],
    output: Path | None,
    bounds: Bounds,
    *,
    take_log_line: Callable[[str], bool] | None = None,
) -> None:
    """Run one remix writing `output` (None: a measuring run that writes nothing); whatever it fails with,
    `output` is left absent (no half-written file). `take_log_line` sees ffmpeg's log from level info on."""
    await run_reading(args, _drain, bounds, output=output, take_log_line=take_log_line)


async def run_reading(
    args: Sequence[str],
    read_stdout: Callable[[asyncio.StreamReader], Awaitable[T]],
    bounds: Bounds,
    *,
    output: Path | None = None,
    take_log_line: Callable[[str], bool] | None = None,
) -> T:
    """`reelm.ffmpeg.run_reading` within `bounds`, its failures turned into the remix's: media.MediaError
    for a timeout or a failed run (worth a retry), RemixRejected for a run over its CPU budget."""
    level = "error" if take_log_line is None else "info"
    try:
        value, result = await reelm.ffmpeg.run_reading(
            args,
            read_stdout,
            timeout_s=bounds.timeout_s,
            cpu_budget_s=bounds.cpu_budget_s,
            log_level=level,
            take_log_line=take_log_line,
        )
    except reelm.ffmpeg.FfmpegTimeout as exc:  # a slow or stuck machine: worth another try
        _remove(output)
        raise media.MediaError(str(exc)) from exc
    except reelm.ffmpeg.FfmpegOverBudget as exc:
        # Inputs already passed the probe, so this is a file far costlier to decode than its size and length
        # say; a retry would cost as much again.
        _remove(output)
        raise RemixRejected(
            "too_costly", "Making this remix took far more computing time than its length allows."
        ) from exc
    except BaseException:  # failed or cancelled (reelm.ffmpeg has killed the child): no partial file
        _remove(output)
        raise
    if result.returncode != 0:
        _remove(output)
        raise media.MediaError(f"ffmpeg exited with {result.returncode}:\n{result.stderr_tail}")
    return value


def _remove(output: Path | None) -> None:
    if output is not None:
        output.unlink(missing_ok=True)


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(1 << 16):
        pass


# --- filtergraph pieces ---------------------------------------------------------------------------

# av_get_token, which both levels of parsing use, takes a backslash to mean "the next character as is".
_OPTION_SPECIALS = frozenset("\\':= \t\n\r")
_GRAPH_SPECIALS = frozenset("\\'[],;:= \t\n\r")


def filter_value(text: str) -> str:
    """`text` as a filter option's value inside a -filter_complex graph, whatever characters it holds.

    A graph is parsed twice (ffmpeg-filters, "Notes on filtergraph escaping"): the graph splits filters at
    `[],;`, then each filter splits its options at `:` and `=`; each level removes one level of backslashes.
    """
    return _backslashed(_backslashed(text, _OPTION_SPECIALS), _GRAPH_SPECIALS)


def _backslashed(text: str, specials: frozenset[str]) -> str:
    return "".join(f"\\{char}" if char in specials else char for char in text)


def fit(info: media.ProbeResult, width: int, height: int) -> str:
    """Filters that put a source into a width x height box: cropped to fill it when the aspects are close
    (_CROP_TOLERANCE), else scaled to fit and letterboxed in black, centred either way.

    A source shrunk to half its size or less is averaged (flags=area) rather than filtered (swscale's bicubic
    default): as smooth at such ratios, and cheaper: scaling a 30 s 1080x1920 stream into a 180x320 duet half
    took 0.3 CPU s instead of 1.0 (over 3.5 s of decoding it; bench/remix.py's first playable duet).
    """
    source, box = info.width / info.height, width / height
    crop_share = 1 - min(source, box) / max(source, box)
    shrink = min(info.width / width, info.height / height) >= _AREA_SCALE_FROM
    flags = ":flags=area" if shrink else ""
    if crop_share <= _CROP_TOLERANCE:
        scaled = f"scale={width}:{height}:force_original_aspect_ratio=increase{flags}"
        return f"{scaled},crop={width}:{height},setsar=1"
    scaled = f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2{flags}"
    return f"{scaled},pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1"


def picture_branch(index: int, info: media.ProbeResult, width: int, height: int, fps: float) -> str:
    """Input `index`'s main video stream fitted into a box at `fps` (dropping frames before scaling them,
    duplicating after). `0:V` skips cover-art streams, as the probe and the ladder do."""
    rate = f"fps={fps:.3f}"
    boxed = fit(info, width, height)
    chain = f"{rate},{boxed}" if (info.frame_rate or _FALLBACK_FPS) > fps else f"{boxed},{rate}"
    return f"[{index}:V:0]{chain}"


def audio_branch(index: int | None, level: float, duration_s: float) -> str:
    """An audio branch of exactly `duration_s`: input `index`'s first audio stream at `level` (cut, or padded
    with silence), or silence where `index` is None. Always 48 kHz stereo, so branches mix and concatenate."""
    end = f"atrim=end={duration_s:.6f}"
    if index is None:
        return f"anullsrc=r={AUDIO_RATE}:cl=stereo,{end}"
    shape = f"aformat=sample_rates={AUDIO_RATE}:channel_layouts=stereo"
    return f"[{index}:a:0]{shape},volume={level:.4f},apad,{end}"


def mix(labels: Sequence[str], out: str) -> str:
    """Sum the branches as they are (their levels are the creator's choice, not amix's 1/n), with a limiter
    that keeps two loud branches from clipping; its delay is compensated (latency=1)."""
    inputs = "".join(f"[{label}]" for label in labels)
    limiter = "alimiter=limit=0.98:level=0:latency=1"
    return f"{inputs}amix=inputs={len(labels)}:duration=longest:normalize=0,{limiter}[{out}]"


# --- duet -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DuetParams:
    own_level: float = 1.0  # the remixer's audio
    original_level: float = 1.0
    canvas: Canvas = Canvas()


def duet_side_by_side(remix: media.ProbeResult, original: media.ProbeResult) -> bool:
    """Left/right halves for portrait (and square) sources; top/bottom as soon as one is landscape, which
    would be a thin strip in a half-width cell."""
    return remix.width <= remix.height and original.width <= original.height


def check_duet(params: DuetParams) -> None:
    check_level("own", params.own_level)
    check_level("original", params.original_level)
    check_canvas(params.canvas)


def duet_args(remix: Clip, original: Clip, output: Path, params: DuetParams) -> list[str]:
    """One filtergraph: the remixer's clip left (or top), the original right (or bottom), on a 9:16 canvas.

    The duet lasts as long as the remixer's clip. An original that is shorter stands still on its last frame
    and falls silent (looping would restart it mid-gesture, and its sound would repeat under the remixer's);
    a longer one is cut. Both sounds are mixed at the given levels; a clip without audio adds silence.
    """
    check_duet(params)
    duration_s = remix.info.duration_s
    original_s = min(original.info.duration_s, duration_s)
    canvas, fps = params.canvas, frame_rate(remix.info)
    if duet_side_by_side(remix.info, original.info):
        cell_w, cell_h, stack = canvas.width // 2, canvas.height // 2, "hstack"
    else:
        cell_w, cell_h, stack = canvas.width, canvas.height // 2, "vstack"
    freeze = ""
    if original_s < duration_s:
        freeze = f",tpad=stop_mode=clone:stop_duration={duration_s - original_s + 1:.3f}"
    graph = [
        picture_branch(0, remix.info, cell_w, cell_h, fps) + "[own]",
        picture_branch(1, original.info, cell_w, cell_h, fps) + freeze + "[theirs]",
        # shortest=1: the remixer's clip ends the duet (the original was frozen past its end).
        f"[own][theirs]{stack}=inputs=2:shortest=1,pad={canvas.width}:{canvas.height}:(ow-iw)/2:(oh-ih)/2,"
        "format=yuv420p[v]",
        audio_branch(0 if remix.info.has_audio else None, params.own_level, duration_s) + "[a0]",
        audio_branch(1 if original.info.has_audio else None, params.original_level, duration_s) + "[a1]",
        mix(["a0", "a1"], "a"),
    ]
    args = ["-t", seconds_arg(duration_s), "-i", str(remix.path)]
    args += ["-t", seconds_arg(original_s), "-i", str(original.path)]
    args += ["-filter_complex", ";".join(graph), "-map", "[v]", "-map", "[a]"]
    return [*args, *VIDEO_ENCODE, *AUDIO_ENCODE, "-t", seconds_arg(duration_s), *CLEAN_OUTPUT, str(output)]


async def duet(
    remix: Clip,
    original: Clip,
    output: Path,
    params: DuetParams = DuetParams(),
    *,
    limits: media.MediaLimits = _DEFAULT_LIMITS,
) -> RemixOutput:
    """Compose a duet into `output` (MP4, H.264 + AAC). Raises RemixRejected for bad parameters (nothing
    written), media.MediaError when ffmpeg fails or runs out of time (worth a retry)."""
    args = duet_args(remix, original, output, params)
    duration_s = remix.info.duration_s
    fps = frame_rate(remix.info)
    bounds = bounds_for(
        output_s=duration_s,
        decoded=[(remix.info, duration_s), (original.info, min(original.info.duration_s, duration_s))],
        encoded=(params.canvas, fps),
        audio_s=2 * duration_s,
        limits=limits,
    )
    await run_to(args, output, bounds)
    return RemixOutput(output, duration_s, params.canvas.width, params.canvas.height)


# --- stitch ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StitchParams:
    start_s: float  # the part of the original that opens the stitch
    end_s: float
    canvas: Canvas = Canvas()


def stitch_args(original: Clip, remix: Clip, output: Path, params: StitchParams) -> list[str]:
    """One filtergraph: the original from start_s to end_s, then the remixer's clip, each fitted to the
    canvas at the remixer's frame rate and joined by the concat filter; a part without audio is silent."""
    check_stitch_range(params.start_s, params.end_s, original.info.duration_s)
    check_canvas(params.canvas)
    part_s, remix_s = params.end_s - params.start_s, remix.info.duration_s
    canvas, fps = params.canvas, frame_rate(remix.info)
    graph = [
        # Each picture is cut to its part's length, so audio and video of a part end together and the
        # concat filter starts the next part on time.
        picture_branch(0, original.info, canvas.width, canvas.height, fps) + f",trim=end={part_s:.6f}[v0]",
        audio_branch(0 if original.info.has_audio else None, 1.0, part_s) + "[a0]",
        picture_branch(1, remix.info, canvas.width, canvas.height, fps) + f",trim=end={remix_s:.6f}[v1]",
        audio_branch(1 if remix.info.has_audio else None, 1.0, remix_s) + "[a1]",
        "[v0][a0][v1][a1]concat=n=2:v=1:a=1[vc][a]",
        "[vc]format=yuv420p[v]",
    ]
    # Seeking in the input (before -i) decodes from the keyframe before start_s and drops what precedes it,
    # so the part's timestamps start at 0 and nothing before it is filtered.
    args = ["-ss", f"{params.start_s:.6f}", "-t", seconds_arg(part_s), "-i", str(original.path)]
    args += ["-t", seconds_arg(remix_s), "-i", str(remix.path)]
    args += ["-filter_complex", ";".join(graph), "-map", "[v]", "-map", "[a]"]
    return [
        *args,
        *VIDEO_ENCODE,
        *AUDIO_ENCODE,
        "-t",
        seconds_arg(part_s + remix_s),
        *CLEAN_OUTPUT,
        str(output),
    ]


async def stitch(
    original: Clip,
    remix: Clip,
    output: Path,
    params: StitchParams,
    *,
    limits: media.MediaLimits = _DEFAULT_LIMITS,
) -> RemixOutput:
    """Make a stitch into `output` (MP4, H.264 + AAC). Raises RemixRejected for a bad range or canvas
    (nothing written), media.MediaError when ffmpeg fails or runs out of time."""
    args = stitch_args(original, remix, output, params)
    part_s = params.end_s - params.start_s
    duration_s = part_s + remix.info.duration_s
    bounds = bounds_for(
        output_s=duration_s,
        # Input seeking may decode up to a keyframe interval before start_s; a few seconds cover phones'.
        decoded=[(original.info, part_s + 5.0), (remix.info, remix.info.duration_s)],
        encoded=(params.canvas, frame_rate(remix.info)),
        audio_s=duration_s,
        limits=limits,
    )
    await run_to(args, output, bounds)
    return RemixOutput(output, duration_s, params.canvas.width, params.canvas.height)


# --- watermarked download -------------------------------------------------------------------------

# Where a sans-serif font lies on common systems; the first that exists is used. On Debian the first is
# fonts-dejavu-core, which fontconfig-config (and so libfontconfig1, which chromium and most desktop
# software depend on) pulls in as its first choice; the rest are its other choices and other systems' own.
FONT_CANDIDATES: tuple[Path, ...] = tuple(
    Path(p)
    for p in (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",  # Fedora
        "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",  # Arch
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
        "/usr/share/fonts/truetype/croscore/Arimo-Bold.ttf",
        "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
        "/usr/share/fonts/opentype/freefont/FreeSansBold.otf",
        "/usr/share/fonts/truetype/ttf-bitstream-vera/VeraBd.ttf",
        "/usr/share/fonts/opentype/urw-base35/NimbusSans-Bold.otf",
        "/usr/share/texmf/fonts/opentype/public/tex-gyre/texgyreheros-bold.otf",
        "/System/Library/Fonts/Supplemental/Arial Bold.ttf",  # macOS
        "/Library/Fonts/Arial.ttf",
    )
)
_PLATFORM_NAME_MAX = 32


def find_font(candidates: Sequence[Path] = FONT_CANDIDATES) -> Path:
    """The first candidate font file that exists; FontMissing, saying what to install, when none does."""
    for path in candidates:
        if path.is_file():
            return path
    raise FontMissing(
        "No font for the download watermark: install fonts-dejavu-core (Debian, Ubuntu) or pass a .ttf/.otf "
        "file as font_file. Looked for: " + ", ".join(str(p) for p in candidates)
    )


@dataclass(frozen=True)
class WatermarkParams:
    handle: str  # the creator's, as stored: lower case, without "@"
    platform: str = "Reelm"
    font_file: Path | None = None  # None: find_font()


def check_watermark(params: WatermarkParams) -> None:
    # fullmatch: the pattern's $ would let a final newline through.
    if not HANDLE_RE.fullmatch(params.handle):
        raise RemixRejected("bad_handle", "The watermark needs the creator's handle, like @some_name.")
    platform = params.platform
    if not platform or len(platform) > _PLATFORM_NAME_MAX or not platform.isprintable():
        raise RemixRejected(
            "bad_platform", f"The platform name must be 1 to {_PLATFORM_NAME_MAX} printable characters."
        )


def watermark_args(source: Clip, output: Path, params: WatermarkParams, font: Path) -> list[str]:
    """The video with the platform's name over "@handle" in its lower-left corner, white with a dark outline
    so it reads on any picture, sized to the picture's height; audio re-encoded as AAC (a fraction of the
    cost of the video, and a download must play everywhere)."""
    check_watermark(params)
    height = source.info.height
    size = max(12, round(height / 32))
    margin = max(8, round(height / 40))
    font_value = filter_value(str(font))

    def text(value: str, fontsize: int, y: str) -> str:
        # expansion=none: the text is drawn as written (no %{...} sequences), whatever it holds.
        return (
            f"drawtext=fontfile={font_value}:text={filter_value(value)}:expansion=none:fontsize={fontsize}"
            f":fontcolor=white:borderw={max(1, fontsize // 12)}:bordercolor=black@0.6:x={margin}:y={y}"
        )

    handle_y = f"h-th-{margin}"
    platform_y = f"h-{margin}-{size}-{round(size * 0.3)}-th"
    graph = f"[0:V:0]{text(params.platform, size, platform_y)},{text('@' + params.handle, size, handle_y)}"
    graph += ",format=yuv420p[v]"
    duration = seconds_arg(source.info.duration_s)
    args = ["-t", duration, "-i", str(source.path), "-filter_complex", graph, "-map", "[v]"]
    if source.info.has_audio:
        args += ["-map", "0:a:0", *AUDIO_ENCODE]
    return [*args, *VIDEO_ENCODE, "-t", duration, *CLEAN_OUTPUT, str(output)]


async def watermark(
    source: Clip,
    output: Path,
    params: WatermarkParams,
    *,
    limits: media.MediaLimits = _DEFAULT_LIMITS,
) -> RemixOutput:
    """A download of `source` with the watermark burned in, one ffmpeg pass. Raises RemixRejected for a bad
    handle or platform name and FontMissing when no font is found (nothing written either way),
    media.MediaError when ffmpeg fails."""
    check_watermark(params)
    font = params.font_file if params.font_file is not None else find_font()
    if not font.is_file():
        raise FontMissing(f"The watermark font {font} does not exist.")
    args = watermark_args(source, output, params, font)
    info = source.info
    canvas = Canvas(info.width, info.height)  # the same size out as in: only for the budget
    bounds = bounds_for(
        output_s=info.duration_s,
        decoded=[(info, info.duration_s)],
        encoded=(canvas, info.frame_rate or _FALLBACK_FPS),
        audio_s=info.duration_s,
        limits=limits,
    )
    await run_to(args, output, bounds)
    return RemixOutput(output, info.duration_s, info.width, info.height)
