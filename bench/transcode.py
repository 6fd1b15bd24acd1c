"""Transcode benchmark: the worker's build_ladder against the bare ffmpeg commands for the same ladder.

    .venv/bin/python bench/transcode.py [--duration 30] [--rounds 2]

Generates a 1080x1920 clip with audio (moving test pattern plus temporal noise at ~12 Mb/s, so encoders get
phone-like work rather than flat synthetic frames), then alternates baseline and pipeline runs and keeps the
best of each. "First playable" is the time until build_ladder's first on_ready call (lowest rung + poster).
Targets: pipeline/bare <= 1.10, first playable <= 0.5 x clip duration. Wall-clock numbers suffer when other
work shares the CPUs, so the CPU seconds used by the ffmpeg children are reported as well.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reelm.ffmpeg import run_sync
from reelm.videos import ffmpeg, media

RATIO_TARGET = 1.10
# Only a stuck ffmpeg run gets near this, even for long --duration clips on a busy machine.
FFMPEG_TIMEOUT_S = 3600
FIRST_PLAYABLE_TARGET = 0.5


def make_source(directory: Path, duration_s: float) -> Path:
    out = directory / "source.mp4"
    video = f"testsrc2=s=1080x1920:r=30:d={duration_s},noise=alls=8:allf=t"
    args = ["-f", "lavfi", "-i", video, "-f", "lavfi", "-i", f"sine=f=440:d={duration_s}"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "12M", "-maxrate", "12M", "-bufsize", "24M"]
    args += ["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-shortest", str(out)]
    run_ffmpeg(args)
    return out


def run_ffmpeg(args: list[str]) -> None:
    run_sync(args, timeout_s=FFMPEG_TIMEOUT_S).raise_if_failed()


@dataclass
class Timing:
    wall_s: float
    cpu_s: float  # user + system time of the ffmpeg children
    first_playable_s: float | None = None


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start, self.cpu_start = time.perf_counter(), _children_cpu_s()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self.start
        self.cpu_s = _children_cpu_s() - self.cpu_start


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare(source: Path, probed: media.ProbeResult, out_dir: Path) -> Timing:
    """The same encode settings (same argument builder), as one plain ffmpeg run plus one HLS remux run."""
    rungs = media.plan_ladder(probed)
    mp4s = [out_dir / r.name / "video.mp4" for r in rungs]
    hls_dirs = [out_dir / r.name / "hls" for r in rungs]
    for hls_dir in hls_dirs:
        hls_dir.mkdir(parents=True, exist_ok=True)
    top = rungs[-1]
    poster = ffmpeg.PosterSpec(out_dir / "poster.jpg", top.width, top.height, 1.0)
    with Stopwatch() as watch:
        run_ffmpeg(
            ffmpeg.ladder_args(
                source, rungs, mp4s, has_audio=probed.has_audio, poster=poster, duration_s=probed.duration_s
            )
        )
        run_ffmpeg(ffmpeg.hls_args(mp4s, hls_dirs, duration_s=probed.duration_s))
    return Timing(watch.wall_s, watch.cpu_s)


def pipeline(source: Path, probed: media.ProbeResult, out_dir: Path) -> Timing:
    ready_at: list[float] = []

    async def on_ready(_outputs: list[media.RenditionOutput], _poster: Path | None) -> None:
        ready_at.append(time.perf_counter())

    with Stopwatch() as watch:
        asyncio.run(media.build_ladder(source, probed, out_dir, on_ready))
    return Timing(watch.wall_s, watch.cpu_s, ready_at[0] - watch.start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=30.0, help="clip length in seconds")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each variant (best is kept)")
    options = parser.parse_args()
    bare_runs: list[Timing] = []
    pipeline_runs: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="reelm-bench-") as tmp:
        scratch = Path(tmp)
        source = make_source(scratch, options.duration)
        probed = media.probe(source, media.MediaLimits())
        print(f"source: {probed}, {source.stat().st_size / 1e6:.1f} MB; cpus: {os.cpu_count()}")
        print("ladder:", ", ".join(f"{r.name} {r.width}x{r.height}" for r in media.plan_ladder(probed)))
        for round_no in range(1, options.rounds + 1):
            bare_runs.append(bare(source, probed, scratch / f"bare{round_no}"))
            pipeline_runs.append(pipeline(source, probed, scratch / f"pipeline{round_no}"))
            print(f"round {round_no}: bare {_show(bare_runs[-1])}; pipeline {_show(pipeline_runs[-1])}")
        work = media.megapixel_frames(probed, media.plan_ladder(probed))
    report(options.duration, bare_runs, pipeline_runs)
    # What media.cpu_budget_s allows per megapixel-frame should stay well above this.
    print(f"cpu per megapixel-frame:   {min(t.cpu_s for t in bare_runs) / work:.4f} s")


def _show(timing: Timing) -> str:
    text = f"{timing.wall_s:.2f} s wall, {timing.cpu_s:.2f} s cpu"
    if timing.first_playable_s is not None:
        text += f", first playable {timing.first_playable_s:.2f} s"
    return text


def report(duration_s: float, bare_runs: list[Timing], pipeline_runs: list[Timing]) -> None:
    bare_wall, bare_cpu = min(t.wall_s for t in bare_runs), min(t.cpu_s for t in bare_runs)
    pipe_wall, pipe_cpu = min(t.wall_s for t in pipeline_runs), min(t.cpu_s for t in pipeline_runs)
    first = min(t.first_playable_s or 0.0 for t in pipeline_runs)
    print(f"bare ffmpeg (best):        {bare_wall:.2f} s wall, {bare_cpu:.2f} s cpu")
    print(f"build_ladder (best):       {pipe_wall:.2f} s wall, {pipe_cpu:.2f} s cpu")
    print(f"first playable (best):     {first:.2f} s")
    print(f"pipeline / bare, wall:     {pipe_wall / bare_wall:.3f}  (target <= {RATIO_TARGET})")
    print(f"pipeline / bare, cpu:      {pipe_cpu / bare_cpu:.3f}")
    print(f"first playable / duration: {first / duration_s:.3f}  (target <= {FIRST_PLAYABLE_TARGET})")


if __name__ == "__main__":
    main()
