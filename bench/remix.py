"""Remix benchmark: reelm.videos.remix's runners against bare ffmpeg running the very same command lines.

    .venv/bin/python bench/remix.py [--duration 30] [--rounds 2]

Generates two 1080x1920 30 fps clips with audio (moving test patterns plus temporal noise at ~12 Mb/s, as
bench/transcode.py makes, so decoders and encoders get phone-like work) and a 60 s sound, then measures:

1. Duet composition at 1080x1920: `remix.duet` (reelm.ffmpeg with its time limit and CPU guard) against
   `subprocess.run` of the same arguments (`remix.duet_args`). Target: pipeline / bare <= 1.15.
2. A sound mixed into the 30 s upload (video stream-copied): `remix_audio.use_sound` against bare. Target:
   <= 1.10. Also timed: the same mix with the video encoded again, which is what copying saves.
3. First playable duet, as the worker makes it (reelm.publishing.tasks): the duet of the remixer's clip and
   the original's lowest rung (360x640, made beforehand as the transcode makes it), composed straight at the
   full composition's smallest rung (`remixing.preview_canvas`, 360x640), probed, and transcoded into that
   rung's MP4, HLS and poster (`media.build_ladder`), timed from the start to the rung complete, relative to
   the clip's length. Target: <= 0.3. For comparison, what it was before previews: the full 1080x1920 duet
   (measure 1) and then the first rung transcoded from it.

Each variant runs --rounds times, bare and pipeline alternating, and the best of each is kept. CPU is the user
+ system time of the ffmpeg children (RUSAGE_CHILDREN), which depends less than wall time on other load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reelm import ffmpeg as bounded
from reelm.sounds import remixing
from reelm.videos import media, remix, remix_audio

DUET_TARGET = 1.15
MIX_TARGET = 1.10
FIRST_PLAYABLE_TARGET = 0.3
# Only a stuck ffmpeg run gets near this, even for long --duration clips on a busy machine.
FFMPEG_TIMEOUT_S = 3600
# What reelm.ffmpeg puts before every command line (its _BASE_ARGS and log level), so bare runs do the same.
BARE_PREFIX = ("-hide_banner", "-nostdin", "-nostats", "-y", "-loglevel", "error")
SOUND_S = 60.0
SOUND_OFFSET_S = 10.0

console = Console()


@dataclass
class Timing:
    wall_s: float
    cpu_s: float  # user + system time of the ffmpeg children


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start, self.cpu_start = time.perf_counter(), _children_cpu_s()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self.start
        self.cpu_s = _children_cpu_s() - self.cpu_start

    def timing(self) -> Timing:
        return Timing(self.wall_s, self.cpu_s)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- inputs ---------------------------------------------------------------------------------------


async def _generate(args: Sequence[str], duration_s: float, progress: Progress, task: TaskID) -> None:
    """Run ffmpeg with -progress on stdout, moving the bar as it reports the time written."""

    async def follow(stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            key, _, value = line.decode().strip().partition("=")
            if key == "out_time_us" and value.isdigit():
                progress.update(task, completed=min(int(value) / 1e6, duration_s))

    _, result = await bounded.run_reading([*args, "-progress", "pipe:1"], follow, timeout_s=FFMPEG_TIMEOUT_S)
    result.raise_if_failed()
    progress.update(task, completed=duration_s)


def make_inputs(directory: Path, duration_s: float) -> tuple[Path, Path, Path]:
    own, original, sound = directory / "own.mp4", directory / "original.mp4", directory / "sound.m4a"
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "12M", "-maxrate", "12M", "-bufsize", "24M"]
    encode += ["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-shortest"]

    def clip_args(pattern: str, tone_hz: int, out: Path) -> list[str]:
        video = f"{pattern}=s=1080x1920:r=30:d={duration_s},noise=alls=8:allf=t"
        return [
            "-f",
            "lavfi",
            "-i",
            video,
            "-f",
            "lavfi",
            "-i",
            f"sine=f={tone_hz}:d={duration_s}",
            *encode,
            str(out),
        ]

    # A chord that changes every second: a sound with some movement, as music has.
    chord = f"sine=f=220:d={SOUND_S},volume='0.5+0.4*sin(2*PI*t)':eval=frame"
    sound_args = [
        "-f",
        "lavfi",
        "-i",
        chord,
        "-ac",
        "2",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-f",
        "mp4",
        str(sound),
    ]
    jobs = [
        ("remixer's clip (testsrc2)", clip_args("testsrc2", 440, own), duration_s),
        ("original (testsrc, shifted hue)", clip_args("testsrc", 660, original), duration_s),
        ("sound (60 s)", sound_args, SOUND_S),
    ]
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"))
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        for description, args, seconds in jobs:
            task = progress.add_task(f"generating {description}", total=seconds)
            asyncio.run(_generate(args, seconds, progress, task))
    return own, original, sound


# --- runs -----------------------------------------------------------------------------------------


def bare(args: Sequence[str]) -> Timing:
    command = [imageio_ffmpeg.get_ffmpeg_exe(), *BARE_PREFIX, *args]
    with Stopwatch() as watch:
        subprocess.run(command, check=True, timeout=FFMPEG_TIMEOUT_S, stdin=subprocess.DEVNULL)
    return watch.timing()


def pipeline(run: Callable[[], object]) -> Timing:
    with Stopwatch() as watch:
        run()
    return watch.timing()


class _FirstRungDone(Exception):
    """Stops media.build_ladder once its first rung is ready (the rest is not timed)."""


async def first_rung(source: Path, scratch: Path) -> None:
    """media.build_ladder until its first group (the lowest rung and the poster) is ready, as the transcode
    publishes it."""

    async def ready(_outputs: list[media.RenditionOutput], _poster: Path | None) -> None:
        raise _FirstRungDone

    info = await asyncio.to_thread(media.probe, source, media.MediaLimits())
    with contextlib.suppress(_FirstRungDone):
        await media.build_ladder(source, info, scratch / "ladder", ready)


async def first_playable(own: remix.Clip, original: remix.Clip, canvas: remix.Canvas, scratch: Path) -> None:
    """What the worker does before a duet is published: the preview composed, then its one rung."""
    preview = scratch / "duet-preview.mp4"
    await remix.duet(own, original, preview, remix.DuetParams(canvas=canvas))
    await first_rung(preview, scratch)


def best(runs: list[Timing]) -> Timing:
    return Timing(min(t.wall_s for t in runs), min(t.cpu_s for t in runs))


def _show(runs: list[Timing]) -> str:
    return " / ".join(f"{t.wall_s:.2f}" for t in runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=30.0, help="clip length in seconds")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each variant (best is kept)")
    options = parser.parse_args()
    rounds = range(options.rounds)
    console.print(f"cpus: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="reelm-bench-remix-") as tmp:
        scratch = Path(tmp)
        own_path, original_path, sound_path = make_inputs(scratch, options.duration)
        limits = media.MediaLimits()
        own = remix.Clip(own_path, media.probe(own_path, limits))
        original = remix.Clip(original_path, media.probe(original_path, limits))
        sound = remix_audio.Sound(sound_path, SOUND_S)
        console.print(f"clips: {own.info}\n       {original.info}")

        full = remix.DuetParams()
        duet_bare: list[Timing] = []
        duet_pipe: list[Timing] = []
        out = scratch / "duet.mp4"
        for _ in rounds:
            duet_bare.append(bare(remix.duet_args(own, original, out, full)))
            duet_pipe.append(pipeline(lambda: asyncio.run(remix.duet(own, original, out, full))))
            console.print(
                f"duet 1080x1920: bare {_show(duet_bare[-1:])} s, pipeline {_show(duet_pipe[-1:])} s"
            )

        mix = remix_audio.SoundMix(offset_s=SOUND_OFFSET_S, own_level=0.6, sound_level=1.0)
        mix_bare: list[Timing] = []
        mix_pipe: list[Timing] = []
        mix_encoded: list[Timing] = []
        out = scratch / "mixed.mp4"
        copy_args = remix_audio.use_sound_args(own, sound, out, mix)
        at = copy_args.index("copy")  # "-c:v copy" → what the same mix costs with the video encoded again
        encode_args = [*copy_args[: at - 1], *remix.VIDEO_ENCODE, *copy_args[at + 1 :]]
        # Short runs: more rounds, so one scheduling hiccup does not decide the ratio.
        for _ in range(3 * options.rounds):
            mix_bare.append(bare(copy_args))
            mix_pipe.append(pipeline(lambda: asyncio.run(remix_audio.use_sound(own, sound, out, mix))))
        for _ in rounds:
            mix_encoded.append(bare(encode_args))
        console.print(f"mix: bare {_show(mix_bare)} s; pipeline {_show(mix_pipe)} s")

        canvas = remixing.preview_canvas(own.info)
        assert canvas is not None, "a 1080x1920 composition has a smaller rung"
        # The preview reads the original's published lowest rung (remixing.plan_remix's preview_media_key).
        lowest = media.plan_ladder(original.info)[:1]
        [rung] = asyncio.run(media.transcode_rungs(original.path, original.info, lowest, scratch / "rungs"))
        published = remix.Clip(rung.mp4_path, media.probe(rung.mp4_path, limits))
        first: list[Timing] = []
        first_of_full: list[Timing] = []
        for _ in rounds:
            first.append(pipeline(lambda: asyncio.run(first_playable(own, published, canvas, scratch))))
            # Before previews: the first rung transcoded from the full duet (its composition is measure 1).
            first_of_full.append(pipeline(lambda: asyncio.run(first_rung(scratch / "duet.mp4", scratch))))
        console.print(
            f"duet preview at {canvas.width}x{canvas.height}, composed and transcoded: {_show(first)} s; "
            f"first rung of the full duet: {_show(first_of_full)} s"
        )

    report(options.duration, duet_bare, duet_pipe, mix_bare, mix_pipe, mix_encoded, first, first_of_full)
    console.print(f"load average at end: {os.getloadavg()[0]:.1f}")


def report(
    duration_s: float,
    duet_bare: list[Timing],
    duet_pipe: list[Timing],
    mix_bare: list[Timing],
    mix_pipe: list[Timing],
    mix_encoded: list[Timing],
    first: list[Timing],
    first_of_full: list[Timing],
) -> None:
    rows = [
        ("duet 1080x1920, bare ffmpeg", best(duet_bare)),
        ("duet 1080x1920, remix.duet", best(duet_pipe)),
        ("sound mix, bare ffmpeg", best(mix_bare)),
        ("sound mix, use_sound (copy)", best(mix_pipe)),
        ("sound mix, video re-encoded", best(mix_encoded)),
        ("duet preview, composed + rung", best(first)),
        ("first rung of the full duet", best(first_of_full)),
    ]
    for name, timing in rows:
        console.print(f"{name:<30} {timing.wall_s:8.2f} s wall {timing.cpu_s:8.2f} s cpu (best)")
    duet_ratio = best(duet_pipe).wall_s / best(duet_bare).wall_s
    mix_ratio = best(mix_pipe).wall_s / best(mix_bare).wall_s
    console.print(f"duet pipeline / bare, wall:    {duet_ratio:.3f}  (target <= {DUET_TARGET})")
    console.print(f"duet pipeline / bare, cpu:     {best(duet_pipe).cpu_s / best(duet_bare).cpu_s:.3f}")
    console.print(f"mix pipeline / bare, wall:     {mix_ratio:.3f}  (target <= {MIX_TARGET})")
    console.print(f"mix pipeline / bare, cpu:      {best(mix_pipe).cpu_s / best(mix_bare).cpu_s:.3f}")
    console.print(f"mix re-encoded / copied, wall: {best(mix_encoded).wall_s / best(mix_bare).wall_s:.1f}")
    first_share = best(first).wall_s / duration_s
    console.print(f"first playable / duration:     {first_share:.3f}  (target <= {FIRST_PLAYABLE_TARGET})")
    before = (best(duet_pipe).wall_s + best(first_of_full).wall_s) / duration_s
    console.print(f"before previews (full duet, then its first rung) / duration: {before:.3f}")


if __name__ == "__main__":
    main()
