"""Low-level plumbing for `reelm.videos.media`: ffmpeg command lines (run by `reelm.ffmpeg`), file inspection.

Nothing here decides what a failure *means* (rejected upload or retryable error); `media` does that from the
facts reported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import av

from reelm.ffmpeg import RunResult, seconds_arg

SEGMENT_S = 2
PLAYLIST = "index.m3u8"
# ffmpeg's exit status when the share of undecodable packets exceeds -max_error_rate.
_EXIT_DECODE_ERRORS = 69

_PRESET = "veryfast"
_CRF = "23"
MAX_FPS = 60  # renditions never have more frames per second than this (-fpsmax)
# Far above the frames in one segment at MAX_FPS, so x264 never adds a keyframe of its own between the forced
# ones (that would split segments differently per rung).
_GOP_FRAMES = 2 * SEGMENT_S * MAX_FPS
_AAC_OBJECT_TYPES = {"LC": 2, "HE-AAC": 5, "HE-AACv2": 29}
_HLS_OPTIONS = (
    *("-f", "hls", "-hls_time", str(SEGMENT_S), "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4"),
    *("-hls_fmp4_init_filename", "init.mp4", "-hls_flags", "independent_segments"),
)


class RungSettings(Protocol):
    """What an encode needs of a ladder rung (`reelm.videos.media.Rung`, which decides the values)."""

    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def video_bitrate(self) -> int: ...
    @property
    def audio_bitrate(self) -> int: ...


def input_damaged(result: RunResult) -> bool:
    """ffmpeg stopped because the input could not be decoded or opened (not a fault of ours)."""
    unopenable = "Error opening input" in result.stderr_tail and "Invalid data found" in result.stderr_tail
    return result.returncode == _EXIT_DECODE_ERRORS or (result.returncode != 0 and unopenable)


@dataclass(frozen=True)
class PosterSpec:
    path: Path
    width: int
    height: int
    at_s: float


def ladder_args(
    source: Path,
    rungs: Sequence[RungSettings],
    mp4_paths: Sequence[Path],
    *,
    has_audio: bool,
    poster: PosterSpec | None,
    duration_s: float,
) -> list[str]:
    """One decode feeding every rung (and the poster) through a split, each rung a separate faststart MP4.

    `duration_s` caps the input read and every output written (`-t`), so timestamps past it cost nothing.
    """
    cap = ["-t", seconds_arg(duration_s)]
    # Any undecodable packet fails the run (_EXIT_DECODE_ERRORS) instead of publishing glitched video.
    args = ["-max_error_rate", "0", *cap, "-i", str(source)]
    args += ["-filter_complex", _filter_graph(rungs, poster)]
    for index, (rung, mp4) in enumerate(zip(rungs, mp4_paths, strict=True)):
        args += _rung_output_args(index, rung, mp4, has_audio=has_audio, cap=cap)
    if poster is not None:
        # -update 1: each selected frame overwrites the file, so the last one (see _filter_graph) is kept.
        args += [
            *cap,
            "-map",
            "[poster]",
            "-update",
            "1",
            "-c:v",
            "mjpeg",
            "-q:v",
            "3",
            "-f",
            "image2",
            str(poster.path),
        ]
    return args


def _filter_graph(rungs: Sequence[RungSettings], poster: PosterSpec | None) -> str:
    branches = len(rungs) + (1 if poster else 0)
    # 0:V skips cover-art "video" streams, matching what probe() accepted as the video.
    labels = "".join(f"[s{i}]" for i in range(branches))
    parts = [f"[0:V:0]split={branches}{labels}"]
    parts += [f"[s{i}]scale={r.width}:{r.height},setsar=1[v{i}]" for i, r in enumerate(rungs)]
    if poster is not None:
        # The first frame, then the first at/after at_s: a stream shorter than its header claims (cut-off
        # recordings) still gets a poster. Selecting before scaling means at most two frames are scaled.
        first_then_at = f"eq(n,0)+gte(t,{poster.at_s:.3f})*lt(prev_selected_t,{poster.at_s:.3f})"
        parts.append(
            f"[s{len(rungs)}]select='{first_then_at}',scale={poster.width}:{poster.height},setsar=1[poster]"
        )
    return ";".join(parts)


def _rung_output_args(
    index: int, rung: RungSettings, mp4: Path, *, has_audio: bool, cap: list[str]
) -> list[str]:
    args = [*cap, "-map", f"[v{index}]"]
    args += ["-c:v", "libx264", "-preset", _PRESET, "-profile:v", "high", "-pix_fmt", "yuv420p"]
    # Capped CRF: easy content stays small, busy content is held at the rung's maxrate.
    args += ["-crf", _CRF, "-maxrate", str(rung.video_bitrate), "-bufsize", str(2 * rung.video_bitrate)]
    # Keyframes exactly every SEGMENT_S seconds and nowhere else, so every rung segments identically.
    args += ["-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_S})", "-sc_threshold", "0"]
    args += ["-g", str(_GOP_FRAMES), "-fpsmax", str(MAX_FPS)]
    if has_audio:
        args += ["-map", "0:a:0", "-c:a", "aac", "-b:a", str(rung.audio_bitrate), "-ac", "2"]
    # Phones embed GPS location and device details in metadata; renditions are public, so drop it all.
    args += ["-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart", str(mp4)]
    return args


def hls_args(mp4_paths: Sequence[Path], hls_dirs: Sequence[Path], *, duration_s: float) -> list[str]:
    """Remux (no re-encode) every MP4 into its own fMP4 HLS VOD playlist, all in one process, each output
    capped to `duration_s` (`-t`) like the encode that made the MP4s."""
    cap = ["-t", seconds_arg(duration_s)]
    args: list[str] = []
    for mp4 in mp4_paths:
        args += ["-i", str(mp4)]
    for index, hls_dir in enumerate(hls_dirs):
        # '%' in a directory name would otherwise be read as part of the segment number pattern.
        pattern = str(hls_dir).replace("%", "%%") + "/seg_%05d.m4s"
        args += [*cap, "-map", str(index), "-c", "copy", *_HLS_OPTIONS]
        args += ["-hls_segment_filename", pattern, str(hls_dir / PLAYLIST)]
    return args


def looks_like_video_container(path: Path) -> bool:
    """Whether the file starts like a common video container (MP4/MOV, Matroska/WebM, AVI, FLV, MPEG-TS)."""
    with path.open("rb") as f:
        head = f.read(189)
    return (
        head[4:8] == b"ftyp"
        or head.startswith(b"\x1a\x45\xdf\xa3")  # EBML
        or (head.startswith(b"RIFF") and head[8:12] == b"AVI ")
        or head.startswith(b"FLV")
        or (len(head) == 189 and head[0] == head[188] == 0x47)  # two TS packets' sync bytes
    )


def segment_bandwidth(hls_dir: Path) -> tuple[int, int]:
    """(peak, average) bits/s over the media segments listed in the playlist, as HLS defines BANDWIDTH."""
    peak, total_bits, total_s = 0, 0, 0.0
    for duration_s, name in _playlist_segments(hls_dir / PLAYLIST):
        bits = (hls_dir / name).stat().st_size * 8
        total_bits += bits
        total_s += duration_s
        if duration_s > 0:
            peak = max(peak, math.ceil(bits / duration_s))
    average = math.ceil(total_bits / total_s) if total_s > 0 else 0
    return peak, average


def _playlist_segments(playlist: Path) -> list[tuple[float, str]]:
    segments: list[tuple[float, str]] = []
    duration_s: float | None = None
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            duration_s = float(line.removeprefix("#EXTINF:").split(",", 1)[0])
        elif line and not line.startswith("#") and duration_s is not None:
            segments.append((duration_s, line))
            duration_s = None
    return segments


@dataclass(frozen=True)
class RenditionInfo:
    codecs: str
    frame_rate: float


def inspect_rendition(mp4: Path) -> RenditionInfo:
    """RFC 6381 codec string and frame rate read back from what x264/aac actually wrote."""
    with av.open(str(mp4)) as container:
        video = container.streams.video[0]
        codecs = [_avc1_codec(video.codec_context.extradata)]
        if container.streams.audio:
            object_type = _AAC_OBJECT_TYPES.get(container.streams.audio[0].profile or "LC", 2)
            codecs.append(f"mp4a.40.{object_type}")
        rate = video.average_rate or video.guessed_rate
        if not rate:  # the master playlist's FRAME-RATE needs it
            raise ValueError("rendition has no frame rate")
        return RenditionInfo(",".join(codecs), float(rate))


def _avc1_codec(avcc: bytes | None) -> str:
    # avcC record: version 1, then profile_idc, constraint flags, level_idc: the three bytes RFC 6381 wants.
    if not avcc or len(avcc) < 4 or avcc[0] != 1:
        raise ValueError("rendition has no avcC decoder configuration")
    return "avc1." + avcc[1:4].hex()
