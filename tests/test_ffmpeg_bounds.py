"""reelm.ffmpeg's bounds beyond the wall clock: a CPU-time budget, and no child outliving its parent."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from reelm import ffmpeg

# Encodes as fast as it can, for ever: CPU time grows at once.
BUSY = ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=30", "-c:v", "libx264", "-f", "null", "-"]
# A source that never ends, read at its native rate (-re): it runs on without using much CPU.
ENDLESS = ["-re", "-f", "lavfi", "-i", "testsrc2=s=16x16:r=1", "-f", "null", "-"]
PROJECT = Path(__file__).resolve().parent.parent


def ffmpeg_children(parent: psutil.Process) -> list[psutil.Process]:
    """Running ffmpeg processes below `parent` (imageio-ffmpeg's own `-version` check excluded)."""
    found = []
    for child in parent.children(recursive=True):
        try:
            if "ffmpeg" in child.name() and "-i" in child.cmdline() and not gone(child):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def gone(process: psutil.Process) -> bool:
    """Ended: no longer there, or a zombie nobody has reaped yet (it runs no more)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def within(seconds: float, condition: Callable[[], object], what: str) -> None:
    """Wait until `condition()` holds, failing after `seconds` (processes have no event to await)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, f"not within {seconds} s: {what}"
        await asyncio.sleep(0.05)


async def test_a_run_over_its_cpu_budget_is_killed() -> None:
    with pytest.raises(ffmpeg.FfmpegOverBudget) as caught:
        await ffmpeg.run(BUSY, timeout_s=600, cpu_budget_s=0.5)
    assert caught.value.budget_s == 0.5
    assert caught.value.used_s > 0.5
    assert "over its budget of 0.5 s" in str(caught.value)
    assert ffmpeg_children(psutil.Process()) == []


async def test_a_run_within_its_cpu_budget_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "frame.png"
    args = ["-f", "lavfi", "-i", "color=s=8x8", "-frames:v", "1", str(out)]
    assert await ffmpeg.run(args, timeout_s=60, cpu_budget_s=30) == ffmpeg.RunResult(0, "")
    assert out.exists()


async def test_the_wall_clock_still_bounds_a_run_within_its_cpu_budget() -> None:
    with pytest.raises(ffmpeg.FfmpegTimeout):
        await ffmpeg.run(ENDLESS, timeout_s=0.5, cpu_budget_s=600)
    assert ffmpeg_children(psutil.Process()) == []


def test_seconds_arg_rounds_up_to_the_millisecond() -> None:
    assert ffmpeg.seconds_arg(1.5) == "1.500"
    assert ffmpeg.seconds_arg(10.0001) == "10.001"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
async def test_ffmpeg_dies_with_a_parent_killed_by_sigkill(tmp_path: Path) -> None:
    # A parent that cannot clean up: SIGKILL gives it no chance to kill its child.
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(f"""
            import asyncio
            from reelm import ffmpeg
            asyncio.run(ffmpeg.run({ENDLESS!r}, timeout_s=600))
        """)
    )
    parent = await asyncio.create_subprocess_exec(sys.executable, str(script), cwd=PROJECT)
    try:
        process = psutil.Process(parent.pid)
        await within(60, lambda: ffmpeg_children(process), "the parent starts ffmpeg")
        (child,) = ffmpeg_children(process)
        # Its own process group: a terminal's Ctrl-C (sent to the parent's group) does not reach it.
        assert os.getpgid(child.pid) == child.pid
        parent.send_signal(signal.SIGKILL)
        await parent.wait()
        await within(5, lambda: gone(child), "ffmpeg ends with its parent")
    finally:
        if parent.returncode is None:
            parent.kill()
            await parent.wait()
