"""Uploads to streamable video: validate by content, plan an ABR ladder, transcode to MP4 + HLS.

Command lines and file inspection live in `reelm.videos.ffmpeg`, and every ffmpeg child runs through
`reelm.ffmpeg`; this module owns the decisions (what is acceptable, which rungs, what a failure means).
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
from av.container import InputContainer
from av.stream import Disposition
from av.video.stream import VideoStream

import reelm.ffmpeg
from reelm.videos import ffmpeg

ALLOWED_VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"})
MIN_DURATION_S = 0.5
_FRAMES_TO_DECODE = 3
_PACKETS_TO_TRY = 60
_POSTER_AT_S = 1.0
# (short edge, video maxrate, audio bitrate) — vertical short video, capped-CRF so these are ceilings.
_LADDER = (
    (360, 700_000, 64_000),
    (480, 1_200_000, 96_000),
    (720, 2_500_000, 128_000),
    (1080, 4_500_000, 128_000),
)
_SMALL_RUNG_MIN_BITRATE = 150_000
# Each ffmpeg child is killed past this: the full 1080p ladder takes about 0.9 s per source second
# (bench/RESULTS.md), so only a stuck run or a starved machine gets there.
_FFMPEG_MIN_S = 120.0
_FFMPEG_S_PER_SOURCE_S = 10.0
# Frames may run this far past the duration the file declares (rounding, B-frame reordering without an edit
# list); further, the headers understate what decoding the file costs, and it is rejected.
_DURATION_SLACK_S = 1.0
_DURATION_SLACK_SHARE = 0.02


@dataclass(frozen=True)
class MediaLimits:
    max_bytes: int = 500 * 1024 * 1024
    max_duration_s: float = 600.0
    min_side: int = 144
    max_side: int = 4096
    # Phones record slow motion at 240 frames/s; the transcode keeps at most 60 of them per second.
    max_frame_rate: float = 240.0
    # The CPU time (user + system, every thread) one ffmpeg run of a transcode may use: a fixed allowance plus
    # this much per megapixel of every frame decoded and every frame encoded (see `cpu_budget_s`).
    cpu_base_s: float = 60.0
    cpu_s_per_megapixel_frame: float = 0.1

    @property
    def max_frames(self) -> int:
        """The most video frames a file may hold: the longest video at the highest frame rate."""
        return math.ceil(self.max_duration_s * self.max_frame_rate)


_DEFAULT_LIMITS = MediaLimits()


class MediaRejected(Exception):
    """The input is not acceptable; `code` is a stable machine id, `reason` a sentence for the creator."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(code, reason)  # both in args, so the exception survives pickling
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


class MediaError(Exception):
    """Unexpected failure (e.g. ffmpeg crashed for reasons unrelated to the input); the job should retry."""


@dataclass(frozen=True)
class ProbeResult:
    width: int  # display width, after applying rotation metadata (phones record rotated)
    height: int  # display height
    # What will be decoded: the span of the video stream's own timestamps (or the declared duration, where the
    # frames stop earlier, as in recordings whose picture stood still); every ffmpeg run is capped to it.
    duration_s: float
    video_codec: str  # e.g. "h264"
    frame_rate: float
    has_audio: bool
    frames: int = 0  # video packets (frames) in the file, counted while probing; 0: not counted


# --- probe ----------------------------------------------------------------------------------------


def probe(path: Path, limits: MediaLimits) -> ProbeResult:
    """Validate by content (never by file name); describe the video; bad input raises only MediaRejected."""
    size = _file_size(path)
    if size == 0:
        raise MediaRejected("empty_file", "The uploaded file is empty.")
    if size > limits.max_bytes:
        mib = limits.max_bytes // (1024 * 1024)
        raise MediaRejected("too_large", f"The file is larger than the {mib} MB limit.")
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except av.FFmpegError as exc:
        raise _unreadable(path) from exc
    with container:
        try:
            result = _inspect(container, size, limits)
        except av.FFmpegError as exc:
            raise MediaRejected("corrupt_stream", "The video data is damaged and cannot be played.") from exc
    _check_dimensions(result, limits)
    return result


def _file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError as exc:  # the job's own input went missing: not the creator's fault
        raise MediaError(f"cannot read {path}: {exc}") from exc


def _unreadable(path: Path) -> MediaRejected:
    # A recognisable container that will not open is a damaged upload; anything else never was a video.
    if ffmpeg.looks_like_video_container(path):
        return MediaRejected(
            "corrupt_stream", "The video file is incomplete or damaged. Please upload it again."
        )
    return MediaRejected("not_a_video", "This file is not a video we can read.")


def _inspect(container: InputContainer, size: int, limits: MediaLimits) -> ProbeResult:
    if container.format.name == "image2" or container.format.name.endswith("_pipe"):
        raise MediaRejected("not_a_video", "This is a still image, not a video.")
    video = _main_video_stream(container)
    # PyAV leaves codec_context unset when no decoder exists for the stream (unknown or mangled codec id).
    codec = video.codec_context.name if video.codec_context is not None else "an unknown codec"
    if codec not in ALLOWED_VIDEO_CODECS:
        raise MediaRejected(
            "unsupported_codec", f"Videos encoded as {codec} are not supported; use H.264, HEVC, VP9 or AV1."
        )
    declared_s = _declared_duration_s(container, video)
    if declared_s is not None:  # cheap to refuse before reading any frame
        _check_duration(declared_s, limits)
    if _index_end(container) > size:
        raise MediaRejected("corrupt_stream", "The video file is incomplete. Please upload it again.")
    scan = _scan_video(container, video, limits)
    duration_s = _accepted_duration_s(declared_s, scan.span_s, limits)
    if scan.frames > duration_s * limits.max_frame_rate + 1:
        raise MediaRejected(
            "too_many_frames",
            f"The video has {scan.frames} frames in {duration_s:.1f} seconds; at most "
            f"{limits.max_frame_rate:g} frames per second are supported.",
        )
    width, height = _display_size(video, scan.first_frame)
    rate = video.average_rate or video.guessed_rate
    return ProbeResult(
        width=width,
        height=height,
        duration_s=duration_s,
        video_codec=codec,
        frame_rate=float(rate) if rate else 0.0,
        has_audio=_has_usable_audio(container),
        frames=scan.frames,
    )


def _main_video_stream(container: InputContainer) -> VideoStream:
    # Audio files carry cover art as a one-picture "video" stream; that is not a video.
    for stream in container.streams.video:
        if not stream.disposition & Disposition.attached_pic:
            return stream
    raise MediaRejected("not_a_video", "This file has no video track.")


def _has_usable_audio(container: InputContainer) -> bool:
    # Transcoding maps the first audio track; one without a decoder (mangled header) is left out, not fatal.
    audio = container.streams.audio
    return bool(audio) and audio[0].codec_context is not None


def _declared_duration_s(container: InputContainer, video: VideoStream) -> float | None:
    """The duration the headers declare: a claim, which _accepted_duration_s checks against the frames."""
    if container.duration is not None:
        return float(container.duration / av.time_base)
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    return None


def _check_duration(duration_s: float, limits: MediaLimits) -> None:
    if duration_s > limits.max_duration_s:
        raise MediaRejected("too_long", f"Videos can be at most {limits.max_duration_s:g} seconds long.")


@dataclass(frozen=True)
class _Scan:
    first_frame: av.VideoFrame | None
    frames: int  # video packets with data
    span_s: float | None  # from the earliest timestamp to the end of the latest packet; None without any


def _scan_video(container: InputContainer, video: VideoStream, limits: MediaLimits) -> _Scan:
    """Demux every packet of the video stream (no decoding, but of the first few frames): how many there are
    and how far their timestamps run is what a transcode will decode, whatever the headers say.

    Reading stops past `limits.max_frames` packets, so a file of countless tiny frames costs a bounded scan.
    """
    decoded: list[av.VideoFrame] = []
    frames = 0
    start: int | None = None
    end: int | None = None
    for packet in container.demux(video):
        if packet.size:  # not the empty packet that ends the stream
            frames += 1
            if frames > limits.max_frames:
                raise MediaRejected(
                    "too_many_frames",
                    f"The video has more than {limits.max_frames} frames, more than a "
                    f"{limits.max_duration_s:g}-second video can have.",
                )
            timestamp = packet.pts if packet.pts is not None else packet.dts
            if timestamp is not None:
                start = timestamp if start is None else min(start, timestamp)
                stop = timestamp + max(packet.duration or 0, 0)
                end = stop if end is None else max(end, stop)
        # Decoding a few frames proves the stream really decodes, without paying for the whole file.
        if len(decoded) < _FRAMES_TO_DECODE and frames <= _PACKETS_TO_TRY:
            decoded.extend(video.decode(packet if packet.size else None))
    span_s = None
    if start is not None and end is not None and video.time_base is not None:
        span_s = float((end - start) * video.time_base)
    return _Scan(decoded[0] if decoded else None, frames, span_s)


def _accepted_duration_s(declared_s: float | None, span_s: float | None, limits: MediaLimits) -> float:
    """How long the video is, for every limit and every ffmpeg run: the frames' span, checked against the
    headers' claim.

    Frames that run past the declared duration are rejected (a file declaring 10 s whose last frame is stamped
    at 10 hours would have constant-frame-rate output pad a million duplicates). Frames that stop earlier are
    accepted, at the declared duration: a screen recording whose picture stood still has its last frame long
    before its sound ends, and that costs nothing more to transcode.
    """
    if span_s is None and declared_s is None:
        raise MediaRejected("corrupt_stream", "We could not tell how long this video is; it may be damaged.")
    if span_s is not None and declared_s is not None:
        slack_s = max(_DURATION_SLACK_S, _DURATION_SLACK_SHARE * declared_s)
        if span_s > declared_s + slack_s:
            raise MediaRejected(
                "duration_mismatch",
                f"The file says the video lasts {declared_s:.1f} seconds, but its frames run for "
                f"{span_s:.1f} seconds; it may be damaged. Please export it again.",
            )
    duration_s = max(d for d in (declared_s, span_s) if d is not None)
    _check_duration(duration_s, limits)
    if duration_s < MIN_DURATION_S:
        raise MediaRejected("too_short", f"Videos must be at least {MIN_DURATION_S:g} seconds long.")
    return duration_s


def _index_end(container: InputContainer) -> int:
    """Furthest byte the container's sample index points at; past the end of file means a cut-off upload."""
    return max(
        (entry.pos + entry.size for stream in container.streams for entry in stream.index_entries),
        default=0,
    )


def _display_size(video: VideoStream, frame: av.VideoFrame | None) -> tuple[int, int]:
    if frame is None:
        raise MediaRejected("corrupt_stream", "The video data is damaged and cannot be played.")
    width, height = frame.width, frame.height
    sar = video.sample_aspect_ratio
    if sar and sar != 1:  # anamorphic: pixels are not square, the picture is shown wider or narrower
        width = round(width * sar)
    if frame.rotation % 180 != 0:
        width, height = height, width
    return width, height


def _check_dimensions(result: ProbeResult, limits: MediaLimits) -> None:
    if (
        min(result.width, result.height) < limits.min_side
        or max(result.width, result.height) > limits.max_side
    ):
        raise MediaRejected(
            "bad_dimensions",
            f"The video is {result.width}x{result.height}; each side must be between "
            f"{limits.min_side} and {limits.max_side} pixels.",
        )


# --- ladder ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rung:
    name: str  # "1080p", "720p", "480p", "360p" (by SHORT edge), or e.g. "240p" for tiny sources
    width: int  # even; keeps the source aspect ratio
    height: int
    video_bitrate: int  # bits/s target (maxrate)
    audio_bitrate: int


def plan_ladder(p: ProbeResult) -> list[Rung]:
    """Rungs from {1080, 720, 480, 360} by short edge, never larger than the source; lowest first.
    If the source short edge is below 360, a single rung at the source size (rounded down to even)."""
    source_short = min(p.width, p.height)
    rungs = [_rung(p, short, video, audio) for short, video, audio in _LADDER if short <= source_short]
    return rungs or [_small_rung(p)]


def _rung(p: ProbeResult, short: int, video_bitrate: int, audio_bitrate: int) -> Rung:
    source_short, source_long = min(p.width, p.height), max(p.width, p.height)
    # Nearest even long edge keeps the aspect ratio best, but never past the source's own (even) size.
    long = min(2 * round(source_long * short / source_short / 2), _floor_even(source_long))
    width, height = (short, long) if p.width <= p.height else (long, short)
    return Rung(f"{short}p", width, height, video_bitrate, audio_bitrate)


def _small_rung(p: ProbeResult) -> Rung:
    width, height = _floor_even(p.width), _floor_even(p.height)
    base_short, base_video, base_audio = _LADDER[0]
    # Scale the lowest rung's bitrate by pixel count (a 9:16 frame of the base rung's short edge).
    area_share = width * height / (base_short * base_short * 16 / 9)
    video_bitrate = max(_SMALL_RUNG_MIN_BITRATE, round(base_video * area_share))
    return Rung(f"{min(width, height)}p", width, height, video_bitrate, base_audio)


def _floor_even(value: int) -> int:
    return value - value % 2


# --- transcode ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenditionOutput:
    rung: Rung
    mp4_path: Path  # faststart MP4 (H.264 High profile + AAC-LC if the source has audio)
    hls_dir: Path  # "index.m3u8" (VOD), "init.mp4" and fMP4 segments "seg_00000.m4s"...
    bandwidth: int  # peak bits/s measured from the produced segments
    average_bandwidth: int
    codecs: str  # RFC 6381, from the actual profile/level, e.g. "avc1.64001f,mp4a.40.2"
    size_bytes: int  # of the MP4
    frame_rate: float  # of the rendition, for FRAME-RATE in the master playlist


def megapixel_frames(p: ProbeResult, rungs: Sequence[Rung]) -> float:
    """The most work one ladder run over `rungs` can be: every source frame decoded (and split) at the
    source's size, plus at most MAX_FPS frames a second of the accepted duration encoded at each rung's
    size."""
    decoded = p.frames or math.ceil(p.duration_s * max(p.frame_rate, 1.0))
    encoded = p.duration_s * ffmpeg.MAX_FPS
    return (decoded * p.width * p.height + encoded * sum(r.width * r.height for r in rungs)) / 1_000_000


def cpu_budget_s(p: ProbeResult, rungs: Sequence[Rung], limits: MediaLimits) -> float:
    """The CPU time one ladder run over `rungs` may use, from the accepted duration and the sizes involved.

    x264 `veryfast` with decoding and scaling takes under 0.01 CPU-second per megapixel-frame (bench/
    transcode.py prints the rate), so the default allows ten times that: room for slower CPUs and busy
    content, while a file crafted to cost far more than its length and size is stopped at a bound those set.
    """
    return limits.cpu_base_s + limits.cpu_s_per_megapixel_frame * megapixel_frames(p, rungs)


async def transcode_rungs(
    source: Path,
    p: ProbeResult,
    rungs: list[Rung],
    out_dir: Path,
    *,
    poster_path: Path | None = None,
    limits: MediaLimits = _DEFAULT_LIMITS,
) -> list[RenditionOutput]:
    """One ffmpeg process (one decode) for all `rungs`, then an HLS remux of each, into out_dir/<rung.name>/.
    The optional JPEG poster is taken at the largest given rung's size."""
    if not rungs:
        return []
    largest = max(rungs, key=lambda r: r.width * r.height)
    poster = (poster_path, largest) if poster_path is not None else None
    return await _transcode(source, p, rungs, out_dir, poster, limits)


async def _transcode(
    source: Path,
    p: ProbeResult,
    rungs: Sequence[Rung],
    out_dir: Path,
    poster: tuple[Path, Rung] | None,
    limits: MediaLimits,
) -> list[RenditionOutput]:
    mp4s = [_prepare_rung_dir(out_dir, rung) / "video.mp4" for rung in rungs]
    hls_dirs = [mp4.parent / "hls" for mp4 in mp4s]
    poster_spec = None
    if poster is not None:
        at_s = min(_POSTER_AT_S, p.duration_s / 2)
        poster_spec = ffmpeg.PosterSpec(poster[0], poster[1].width, poster[1].height, at_s)
    timeout_s = _FFMPEG_MIN_S + _FFMPEG_S_PER_SOURCE_S * p.duration_s
    # Every run is capped to the accepted duration, whatever timestamps the file holds beyond it.
    args = ffmpeg.ladder_args(
        source, rungs, mp4s, has_audio=p.has_audio, poster=poster_spec, duration_s=p.duration_s
    )
    _raise_for(await _run_ffmpeg(args, timeout_s, cpu_budget_s(p, rungs, limits)), decoding=True)
    for hls_dir in hls_dirs:
        hls_dir.mkdir(exist_ok=True)
    # A remux copies packets: the fixed allowance is far more than it takes.
    remux = ffmpeg.hls_args(mp4s, hls_dirs, duration_s=p.duration_s)
    _raise_for(await _run_ffmpeg(remux, timeout_s, limits.cpu_base_s), decoding=False)
    return [_describe(rung, mp4, hls) for rung, mp4, hls in zip(rungs, mp4s, hls_dirs, strict=True)]


def _prepare_rung_dir(out_dir: Path, rung: Rung) -> Path:
    rung_dir = out_dir / rung.name
    # A previous, longer attempt may have left extra segments that the new playlist would not list.
    shutil.rmtree(rung_dir / "hls", ignore_errors=True)
    rung_dir.mkdir(parents=True, exist_ok=True)
    return rung_dir


async def _run_ffmpeg(args: Sequence[str], timeout_s: float, cpu_budget_s: float) -> reelm.ffmpeg.RunResult:
    try:
        return await reelm.ffmpeg.run(args, timeout_s=timeout_s, cpu_budget_s=cpu_budget_s)
    except reelm.ffmpeg.FfmpegTimeout as exc:  # a slow or stuck machine is not the creator's fault: retry
        raise MediaError(str(exc)) from exc
    except reelm.ffmpeg.FfmpegOverBudget as exc:
        # CPU time hardly depends on how busy the machine is, so a retry would cost as much again: the file
        # itself is far costlier to decode than its length and size allow.
        raise MediaRejected(
            "too_costly",
            "Processing this video took far more computing time than a video of its length and size "
            "should; it may be damaged. Please export it again.",
        ) from exc


def _raise_for(result: reelm.ffmpeg.RunResult, *, decoding: bool) -> None:
    if result.returncode == 0:
        return
    if decoding and ffmpeg.input_damaged(result):
        raise MediaRejected("corrupt_stream", "Part of the video data is damaged and cannot be decoded.")
    raise MediaError(f"ffmpeg exited with {result.returncode}:\n{result.stderr_tail}")


def _describe(rung: Rung, mp4: Path, hls_dir: Path) -> RenditionOutput:
    try:
        info = ffmpeg.inspect_rendition(mp4)
        peak, average = ffmpeg.segment_bandwidth(hls_dir)
    except (av.FFmpegError, OSError, ValueError) as exc:  # our own output is unreadable: retry, don't reject
        raise MediaError(f"cannot inspect rendition {mp4}: {exc}") from exc
    return RenditionOutput(
        rung=rung,
        mp4_path=mp4,
        hls_dir=hls_dir,
        bandwidth=peak,
        average_bandwidth=average,
        codecs=info.codecs,
        size_bytes=mp4.stat().st_size,
        frame_rate=info.frame_rate,
    )


async def build_ladder(
    source: Path,
    p: ProbeResult,
    out_dir: Path,
    on_ready: Callable[[list[RenditionOutput], Path | None], Awaitable[None]],
    *,
    limits: MediaLimits = _DEFAULT_LIMITS,
) -> list[RenditionOutput]:
    """Lowest rung + poster first, so the video can be published early, then the other rungs in one process.
    `on_ready` is awaited once per group, in that order; returns every output, lowest first."""
    rungs = plan_ladder(p)
    poster_path = out_dir / "poster.jpg"
    # The poster is one frame, so it is cheap to take it at the top rung's size already in the first pass.
    first = await _transcode(source, p, rungs[:1], out_dir, (poster_path, rungs[-1]), limits)
    if len(rungs) == 1:
        await on_ready(first, poster_path)
        return first
    # Start the rest right away: it then overlaps with publishing the first rung (uploads, database).
    rest_task = asyncio.create_task(_transcode(source, p, rungs[1:], out_dir, None, limits))
    try:
        await on_ready(first, poster_path)
        rest = await rest_task
    except BaseException:
        rest_task.cancel()  # kills its ffmpeg child
        await asyncio.gather(rest_task, return_exceptions=True)
        raise
    await on_ready(rest, None)
    return first + rest
