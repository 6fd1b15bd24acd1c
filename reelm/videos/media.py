"""Uploads to streamable video: validate by content, plan an ABR ladder, transcode to MP4 + HLS.

Command lines and file inspection live in `reelm.videos.ffmpeg`, and every ffmpeg child runs through
`reelm.ffmpeg`; this module owns the decisions (what is acceptable, which rungs, what a failure means).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable, Iterator, Sequence
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
# Decoding a few frames proves the stream really decodes, without paying for the whole file.
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
# (bench/RESULTS.md), so only a stuck run, or a source far longer than its header claims, gets there.
_FFMPEG_MIN_S = 120.0
_FFMPEG_S_PER_SOURCE_S = 10.0


@dataclass(frozen=True)
class MediaLimits:
    max_bytes: int = 500 * 1024 * 1024
    max_duration_s: float = 600.0
    min_side: int = 144
    max_side: int = 4096


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
    duration_s: float
    video_codec: str  # e.g. "h264"
    frame_rate: float
    has_audio: bool


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
    duration_s = _duration_s(container, video)
    if duration_s > limits.max_duration_s:
        raise MediaRejected("too_long", f"Videos can be at most {limits.max_duration_s:g} seconds long.")
    if duration_s < MIN_DURATION_S:
        raise MediaRejected("too_short", f"Videos must be at least {MIN_DURATION_S:g} seconds long.")
    if _index_end(container) > size:
        raise MediaRejected("corrupt_stream", "The video file is incomplete. Please upload it again.")
    width, height = _display_size(container, video)
    rate = video.average_rate or video.guessed_rate
    return ProbeResult(
        width=width,
        height=height,
        duration_s=duration_s,
        video_codec=codec,
        frame_rate=float(rate) if rate else 0.0,
        has_audio=_has_usable_audio(container),
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


def _duration_s(container: InputContainer, video: VideoStream) -> float:
    if container.duration is not None:
        return container.duration / av.time_base
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    raise MediaRejected("corrupt_stream", "We could not tell how long this video is; it may be damaged.")


def _index_end(container: InputContainer) -> int:
    """Furthest byte the container's sample index points at; past the end of file means a cut-off upload."""
    return max(
        (entry.pos + entry.size for stream in container.streams for entry in stream.index_entries),
        default=0,
    )


def _display_size(container: InputContainer, video: VideoStream) -> tuple[int, int]:
    frames = list(_first_frames(container, video))
    if not frames:
        raise MediaRejected("corrupt_stream", "The video data is damaged and cannot be played.")
    frame = frames[0]
    width, height = frame.width, frame.height
    sar = video.sample_aspect_ratio
    if sar and sar != 1:  # anamorphic: pixels are not square, the picture is shown wider or narrower
        width = round(width * sar)
    if frame.rotation % 180 != 0:
        width, height = height, width
    return width, height


def _first_frames(container: InputContainer, video: VideoStream) -> Iterator[av.VideoFrame]:
    produced = 0
    for count, packet in enumerate(container.demux(video), start=1):
        for frame in video.decode(packet if packet.size else None):
            produced += 1
            yield frame
        if produced >= _FRAMES_TO_DECODE or count >= _PACKETS_TO_TRY:
            return


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


async def transcode_rungs(
    source: Path, p: ProbeResult, rungs: list[Rung], out_dir: Path, *, poster_path: Path | None = None
) -> list[RenditionOutput]:
    """One ffmpeg process (one decode) for all `rungs`, then an HLS remux of each, into out_dir/<rung.name>/.
    The optional JPEG poster is taken at the largest given rung's size."""
    if not rungs:
        return []
    largest = max(rungs, key=lambda r: r.width * r.height)
    poster = (poster_path, largest) if poster_path is not None else None
    return await _transcode(source, p, rungs, out_dir, poster)


async def _transcode(
    source: Path, p: ProbeResult, rungs: Sequence[Rung], out_dir: Path, poster: tuple[Path, Rung] | None
) -> list[RenditionOutput]:
    mp4s = [_prepare_rung_dir(out_dir, rung) / "video.mp4" for rung in rungs]
    hls_dirs = [mp4.parent / "hls" for mp4 in mp4s]
    poster_spec = None
    if poster is not None:
        at_s = min(_POSTER_AT_S, p.duration_s / 2)
        poster_spec = ffmpeg.PosterSpec(poster[0], poster[1].width, poster[1].height, at_s)
    timeout_s = _FFMPEG_MIN_S + _FFMPEG_S_PER_SOURCE_S * p.duration_s
    args = ffmpeg.ladder_args(source, rungs, mp4s, has_audio=p.has_audio, poster=poster_spec)
    _raise_for(await _run_ffmpeg(args, timeout_s), decoding=True)
    for hls_dir in hls_dirs:
        hls_dir.mkdir(exist_ok=True)
    _raise_for(await _run_ffmpeg(ffmpeg.hls_args(mp4s, hls_dirs), timeout_s), decoding=False)
    return [_describe(rung, mp4, hls) for rung, mp4, hls in zip(rungs, mp4s, hls_dirs, strict=True)]


def _prepare_rung_dir(out_dir: Path, rung: Rung) -> Path:
    rung_dir = out_dir / rung.name
    # A previous, longer attempt may have left extra segments that the new playlist would not list.
    shutil.rmtree(rung_dir / "hls", ignore_errors=True)
    rung_dir.mkdir(parents=True, exist_ok=True)
    return rung_dir


async def _run_ffmpeg(args: Sequence[str], timeout_s: float) -> reelm.ffmpeg.RunResult:
    try:
        return await reelm.ffmpeg.run(args, timeout_s=timeout_s)
    except reelm.ffmpeg.FfmpegTimeout as exc:  # a slow or stuck machine is not the creator's fault: retry
        raise MediaError(str(exc)) from exc


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
) -> list[RenditionOutput]:
    """Lowest rung + poster first, so the video can be published early, then the other rungs in one process.
    `on_ready` is awaited once per group, in that order; returns every output, lowest first."""
    rungs = plan_ladder(p)
    poster_path = out_dir / "poster.jpg"
    # The poster is one frame, so it is cheap to take it at the top rung's size already in the first pass.
    first = await _transcode(source, p, rungs[:1], out_dir, (poster_path, rungs[-1]))
    if len(rungs) == 1:
        await on_ready(first, poster_path)
        return first
    # Start the rest right away: it then overlaps with publishing the first rung (uploads, database).
    rest_task = asyncio.create_task(_transcode(source, p, rungs[1:], out_dir, None))
    try:
        await on_ready(first, poster_path)
        rest = await rest_task
    except BaseException:
        rest_task.cancel()  # kills its ffmpeg child
        await asyncio.gather(rest_task, return_exceptions=True)
        raise
    await on_ready(rest, None)
    return first + rest
