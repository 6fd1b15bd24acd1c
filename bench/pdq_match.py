"""PDQ matching benchmark: one video's keyframe hashes against a 1,000,000-hash list.

    .venv/bin/python bench/pdq_match.py [--hashes 1000000] [--rounds 15] [--duration 30]

1. A clip is generated with ffmpeg (a Mandelbrot zoom, 720x1280, --duration seconds) and its keyframes are
   extracted and hashed as the transcode job would (`extract_keyframes`, default caps).
2. A seeded random list of --hashes PDQ hashes is written in pdq-photo-hasher's `hash,quality,filename`
   format, with near copies of the first keyframes planted at distances 5, 20, 31 (matches) and 32 (not a
   match); it is imported with `parse_hash_list` and indexed (`HashListMatcher`).
3. Rounds alternate the baseline, `brute_force_search` (every pair: numpy XOR + bitwise_count in blocks of
   rows), and the index (`HashIndex.search`), plus `HashListMatcher.match` end to end (hex to words, search,
   match records). Both searches must return the same pairs. p50 of the rounds is reported, for the clip's
   keyframes and for MAX_KEYFRAMES hashes (the keyframes topped up with random ones: the most one video has).
Target: matching one video's keyframes against 1,000,000 hashes in <= 100 ms on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reelm import ffmpeg
from reelm.moderation.hash_index import HashListMatcher, Matches, brute_force_search
from reelm.moderation.hash_lists import HashList, ListAction, parse_hash_list
from reelm.moderation.keyframes import MAX_KEYFRAMES, Keyframe, extract_keyframes
from reelm.moderation.pdq import PdqHash, words_from_hex

TARGET_MS = 100.0
CLIP_TIMEOUT_S = 600
WIDTH, HEIGHT = 720, 1280
PLANTED_DISTANCES = (5, 20, 31, 32)
SEED = 20261128
T = TypeVar("T")


def make_clip(directory: Path, duration_s: float) -> Path:
    out = directory / "clip.mp4"
    args = ["-f", "lavfi", "-i", f"mandelbrot=s={WIDTH}x{HEIGHT}:r=30,format=yuv420p", "-t", str(duration_s)]
    args += ["-c:v", "libx264", "-preset", "ultrafast", str(out)]
    ffmpeg.run_sync(args, timeout_s=CLIP_TIMEOUT_S).raise_if_failed()
    return out


def keyframes_of(duration_s: float) -> tuple[list[Keyframe], float]:
    with tempfile.TemporaryDirectory(prefix="reelm-bench-") as tmp:
        clip = make_clip(Path(tmp), duration_s)
        started = time.perf_counter()
        keyframes = asyncio.run(extract_keyframes(clip, width=WIDTH, height=HEIGHT, duration_s=duration_s))
        return keyframes, time.perf_counter() - started


def list_file(count: int, keyframes: list[Keyframe]) -> bytes:
    """`count` random hashes as pdq-photo-hasher lines, near copies of keyframes planted at random rows."""
    rng = np.random.default_rng(SEED)
    words = rng.integers(0, 2**64, size=(count, 4), dtype=np.uint64)
    rows = rng.choice(count, size=len(PLANTED_DISTANCES), replace=False)
    for row, distance, keyframe in zip(rows, PLANTED_DISTANCES, keyframes, strict=False):
        words[row] = words_from_hex([keyframe.hash.hex])[0]
        for bit in rng.choice(256, size=distance, replace=False):
            words[row, bit // 64] ^= np.uint64(1) << np.uint64(bit % 64)
    hexes = words.astype(">u8").tobytes().hex()
    return "".join(f"{hexes[i : i + 64]},100,img{i // 64}.jpg\n" for i in range(0, len(hexes), 64)).encode()


def timed(work: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def same(a: Matches, b: Matches) -> bool:
    return all(
        np.array_equal(x, y)
        for x, y in ((a.queries, b.queries), (a.rows, b.rows), (a.distances, b.distances))
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hashes", type=int, default=1_000_000, help="size of the hash list")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds of each variant (p50 reported)")
    parser.add_argument("--duration", type=float, default=30.0, help="clip length in seconds")
    options = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, numpy {np.__version__}")

    keyframes, extract_s = keyframes_of(options.duration)
    clip = f"a {options.duration:.0f} s {WIDTH}x{HEIGHT} clip"
    print(f"keyframes: {len(keyframes)} from {clip}, extracted and hashed in {extract_s:.2f} s")

    data = list_file(options.hashes, keyframes)
    parse_s, entries = timed(lambda: parse_hash_list(data))
    hash_list = HashList("bench", ListAction.HOLD, entries)
    print(f"list: {len(hash_list.entries):,} hashes, {len(data) / 1e6:.0f} MB file parsed in {parse_s:.2f} s")

    tracemalloc.start()
    build_s, matcher = timed(lambda: HashListMatcher([hash_list]))
    build_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    index = matcher.index
    mib = 2**20
    print(f"index build: {build_s * 1000:.0f} ms; size {index.nbytes / mib:.1f} MiB", end=" ")
    print(
        f"(hashes {index.words.nbytes / mib:.1f} MiB); peak allocated in the build {build_peak / mib:.1f} MiB"
    )

    matches = matcher.match([k.hash for k in keyframes])
    found = sorted(m.distance for m in matches)
    print(f"matches: distances {found} (planted at {PLANTED_DISTANCES}; 32 must not match)")
    # The same clip's keyframes, topped up with random hashes to MAX_KEYFRAMES: the most one video can bring.
    rng = np.random.default_rng(SEED + 1)
    filler = [PdqHash(bytes(rng.bytes(32)).hex(), 100) for _ in range(MAX_KEYFRAMES - len(keyframes))]
    print(f"{'queries':<28}{'variant':<36}{'p50 ms':>9}{'min ms':>9}{'max ms':>9}")
    for label, hashes in (
        (f"{len(keyframes)} keyframes (this clip)", [k.hash for k in keyframes]),
        (f"{MAX_KEYFRAMES} hashes (keyframe cap)", [k.hash for k in keyframes] + filler),
    ):
        report(label, measure(matcher, hashes, options.rounds))


def measure(matcher: HashListMatcher, hashes: list[PdqHash], rounds: int) -> dict[str, list[float]]:
    """Alternate the variants round by round, so that load from other work falls on all of them alike."""
    index, queries = matcher.index, words_from_hex([h.hex for h in hashes])
    times: dict[str, list[float]] = {
        "brute force (baseline)": [],
        "HashIndex.search": [],
        "HashListMatcher.match": [],
    }
    for _ in range(rounds):
        seconds, expected = timed(lambda: brute_force_search(index.words, queries))
        times["brute force (baseline)"].append(seconds * 1000)
        seconds, found = timed(lambda: index.search(queries))
        times["HashIndex.search"].append(seconds * 1000)
        if not same(found, expected):
            raise SystemExit("the index and brute force disagree")
        seconds, _ = timed(lambda: matcher.match(hashes))
        times["HashListMatcher.match"].append(seconds * 1000)
    return times


def report(label: str, times: dict[str, list[float]]) -> None:
    for variant, values in times.items():
        print(
            f"{label:<28}{variant:<36}{statistics.median(values):>9.2f}{min(values):>9.2f}{max(values):>9.2f}"
        )
    brute = statistics.median(times["brute force (baseline)"])
    index = statistics.median(times["HashIndex.search"])
    match = statistics.median(times["HashListMatcher.match"])
    print(f"{label:<28}index / brute force, p50: {index / brute:.4f} ({brute / index:.0f}x faster); ", end="")
    print(f"match p50 {match:.2f} ms (target <= {TARGET_MS:.0f} ms)")


if __name__ == "__main__":
    main()
