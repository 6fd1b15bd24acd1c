"""Transcode benchmark: the worker's build_ladder against the bare ffmpeg commands for the same ladder.

    .venv/bin/python bench/transcode.py [--duration 30] [--rounds 2]

Generates a 1080x1920 clip with audio (moving test pattern plus temporal noise at ~12 Mb/s, so the encoders get
phone-like work instead of flat synthetic frames), then alternates baseline and pipeline runs and keeps the best
of each. "First playable" is the time until build_ladder's first on_ready call (lowest rung + poster done).
Targets: pipeline/bare <= 1.10, first playable <= 0.5 x clip duration.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reelm.videos import ffmpeg, media  # noqa: E402  (needs the path set above when run as a script)

RATIO_TARGET = 1.10
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
    command = [media.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    subprocess.run(command, check=True)


def bare(source: Path, probed: media.ProbeResult, out_dir: Path) -> float:
    """The same encode settings (same argument builder), as one plain ffmpeg run plus one HLS remux run."""
    rungs = media.plan_ladder(probed)
    mp4s = [out_dir / r.name / "video.mp4" for r in rungs]
    hls_dirs = [out_dir / r.name / "hls" for r in rungs]
    for hls_dir in hls_dirs:
        hls_dir.mkdir(parents=True, exist_ok=True)
    top = rungs[-1]
    poster = ffmpeg.PosterSpec(out_dir / "poster.jpg", top.width, top.height, 1.0)
    start = time.perf_counter()
    run_ffmpeg(ffmpeg.ladder_args(source, rungs, mp4s, has_audio=probed.has_audio, poster=poster))
    run_ffmpeg(ffmpeg.hls_args(mp4s, hls_dirs))
    return time.perf_counter() - start


@dataclass
class PipelineTiming:
    total_s: float
    first_playable_s: float


def pipeline(source: Path, probed: media.ProbeResult, out_dir: Path) -> PipelineTiming:
    ready_at: list[float] = []

    async def on_ready(outputs: list[media.RenditionOutput], poster: Path | None) -> None:
        ready_at.append(time.perf_counter())

    start = time.perf_counter()
    asyncio.run(media.build_ladder(source, probed, out_dir, on_ready))
    end = time.perf_counter()
    return PipelineTiming(end - start, ready_at[0] - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=30.0, help="clip length in seconds")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each variant (best is kept)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reelm-bench-") as tmp:
        scratch = Path(tmp)
        source = make_source(scratch, options.duration)
        probed = media.probe(source, media.MediaLimits())
        print(f"source: {probed}, {source.stat().st_size / 1e6:.1f} MB; cpus: {os.cpu_count()}")
        print("ladder:", ", ".join(f"{r.name} {r.width}x{r.height}" for r in media.plan_ladder(probed)))
        bare_runs: list[float] = []
        pipeline_runs: list[PipelineTiming] = []
        for round_no in range(options.rounds):
            bare_runs.append(bare(source, probed, scratch / f"bare{round_no}"))
            pipeline_runs.append(pipeline(source, probed, scratch / f"pipeline{round_no}"))
            print(
                f"round {round_no + 1}: bare {bare_runs[-1]:.2f} s, pipeline {pipeline_runs[-1].total_s:.2f} s "
                f"(first playable {pipeline_runs[-1].first_playable_s:.2f} s)"
            )
    report(options.duration, min(bare_runs), pipeline_runs)


def report(duration_s: float, best_bare: float, pipeline_runs: list[PipelineTiming]) -> None:
    best_total = min(t.total_s for t in pipeline_runs)
    best_first = min(t.first_playable_s for t in pipeline_runs)
    ratio, first_share = best_total / best_bare, best_first / duration_s
    print(f"bare ffmpeg (best):          {best_bare:.2f} s")
    print(f"build_ladder (best):         {best_total:.2f} s")
    print(f"first playable (best):       {best_first:.2f} s")
    print(f"pipeline / bare:             {ratio:.3f}  (target <= {RATIO_TARGET})")
    print(f"first playable / duration:   {first_share:.3f}  (target <= {FIRST_PLAYABLE_TARGET})")


if __name__ == "__main__":
    main()
