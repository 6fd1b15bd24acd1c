"""Keyframes of a video and their PDQ hashes, for matching against the realm's hash lists.

One ffmpeg process decodes the video and picks a frame every `interval` seconds (1 s, as vPDQ samples;
longer for long videos, so that regular picks fill at most half of `max_frames`) plus scene cuts at least half
an interval after the previous pick, so an image shown briefly between two picks is still seen. Every frame
is decoded, not only the codec's keyframes: where those fall is the uploader's choice, and must not decide
what moderation sees.

Picked frames arrive at their display size as raw RGB over a pipe, and `showinfo` reports their times on
stderr. They are not scaled down first, although PDQ reduces every image to 64 x 64: PDQ's blur depends on
the input size, and a 360x640 frame pre-scaled to 256x256 hashed up to 26 bits away from the frame itself
(measured), against 0-4 bits after an H.264 round trip at the display size. Only frames larger than
MAX_FRAME_SIDE are reduced (aspect kept), to bound memory and hashing time (~60 ms for 1080x1920).

Frames below MIN_QUALITY (flat, dark, faded) are dropped, as is a frame whose hash is within
NEAR_DUPLICATE_DISTANCE of the last one kept: a static shot yields one hash, not one per second.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelm import ffmpeg
from reelm.moderation.pdq import MIN_QUALITY, PdqHash, pdq_hash

MAX_KEYFRAMES = 30
SAMPLE_EVERY_S = 1.0
# ffmpeg's scene score (0-1, how much of the picture changed); 0.3 is the usual threshold for a cut.
SCENE_CHANGE = 0.3
MAX_FRAME_SIDE = 1920
# Hashes this close to the last kept one add nothing to a look-up. Well below MATCH_DISTANCE, so a list hash
# that would have matched a dropped frame is within a few bits of matching the kept one.
NEAR_DUPLICATE_DISTANCE = 6
_FRAME_TIME = re.compile(r"\bn:\s*\d+\s+pts:\s*-?\d+\s+pts_time:(\S+)")
# Every frame is decoded, usually many times faster than real time; past this ffmpeg is stuck.
_FFMPEG_MIN_S = 60.0
_FFMPEG_S_PER_SOURCE_S = 5.0


class KeyframeError(Exception):
    """ffmpeg could not extract frames from a file that passed the upload checks; the job should retry."""


@dataclass(frozen=True)
class Keyframe:
    time_s: float
    hash: PdqHash


async def extract_keyframes(
    path: Path, *, width: int, height: int, duration_s: float, max_frames: int = MAX_KEYFRAMES
) -> list[Keyframe]:
    """The distinct, usable keyframe hashes of the video at `path`, in time order.

    `width` and `height` (display size, after rotation) and `duration_s` are what the upload probe found.
    """
    picked = await _hash_picked_frames(path, _frame_size(width, height), duration_s, max_frames)
    keyframes: list[Keyframe] = []
    for time_s, hashed in picked:
        if hashed.quality < MIN_QUALITY:
            continue
        if keyframes and hashed.distance(keyframes[-1].hash) <= NEAR_DUPLICATE_DISTANCE:
            continue
        keyframes.append(Keyframe(time_s, hashed))
    return keyframes


def _frame_size(width: int, height: int) -> tuple[int, int]:
    shrink = min(1.0, MAX_FRAME_SIDE / max(width, height))
    return max(1, round(width * shrink)), max(1, round(height * shrink))


def _filter_graph(size: tuple[int, int], duration_s: float, max_frames: int) -> str:
    interval = max(SAMPLE_EVERY_S, duration_s / max(max_frames // 2, 1))
    since_last = "t-prev_selected_t"
    pick = (
        f"isnan(prev_selected_t)+gte({since_last},{interval:.3f})"
        f"+gt(scene,{SCENE_CHANGE})*gte({since_last},{interval / 2:.3f})"
    )
    # Naming the size (a no-op when it is already right) guarantees the byte length of every frame.
    width, height = size
    return f"select='gt({pick},0)',scale={width}:{height}:flags=area,format=rgb24,showinfo"


async def _hash_picked_frames(
    path: Path, size: tuple[int, int], duration_s: float, max_frames: int
) -> list[tuple[float, PdqHash]]:
    # Capped to the duration the probe accepted, whatever timestamps the file holds beyond it.
    args = ["-t", ffmpeg.seconds_arg(duration_s), "-i", str(path), "-an", "-sn", "-dn"]
    args += [
        "-vf",
        _filter_graph(size, duration_s, max_frames),
        "-fps_mode",
        "vfr",
        "-frames:v",
        str(max_frames),
    ]
    args += ["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
    times: list[float] = []

    def take_frame_time(line: str) -> bool:
        found = _FRAME_TIME.search(line) if "showinfo" in line else None
        if found:
            times.append(float(found[1]))
        return found is not None

    try:
        hashes, result = await ffmpeg.run_reading(
            args,
            lambda stdout: _hash_frames(stdout, size),
            timeout_s=_FFMPEG_MIN_S + _FFMPEG_S_PER_SOURCE_S * duration_s,
            log_level="info",  # the level showinfo reports at
            take_log_line=take_frame_time,
        )
    except ffmpeg.FfmpegTimeout as exc:
        raise KeyframeError(str(exc)) from exc
    if result.returncode != 0:
        raise KeyframeError(
            f"ffmpeg exited with {result.returncode}: " + result.stderr_tail.replace("\n", " | ")
        )
    if len(times) != len(hashes):
        raise KeyframeError(f"ffmpeg reported {len(times)} frame times for {len(hashes)} frames")
    return list(zip(times, hashes, strict=True))


async def _hash_frames(stdout: asyncio.StreamReader, size: tuple[int, int]) -> list[PdqHash]:
    """Hash each frame as it arrives, so only one frame is held at a time."""
    width, height = size
    hashes: list[PdqHash] = []
    while True:
        try:
            data = await stdout.readexactly(width * height * 3)
        except asyncio.IncompleteReadError as e:
            if e.partial:
                raise KeyframeError(f"ffmpeg stopped mid-frame ({len(e.partial)} bytes)") from None
            return hashes
        rgb = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
        # In a thread: tens of milliseconds of numpy per frame would otherwise stall the worker's event loop.
        hashes.append(await asyncio.to_thread(pdq_hash, rgb))
