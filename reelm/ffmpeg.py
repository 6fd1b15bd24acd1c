"""The one way reelm runs ffmpeg: transcodes, keyframes, avatars, demo clips, test clips and benchmarks.

Every child gets the same base arguments and a wall-clock limit (past it the child is killed and FfmpegTimeout
raised), optionally a CPU-time budget (past it the child is killed and FfmpegOverBudget raised), and only
the tail of its log is kept in memory. If the task awaiting it is cancelled the child is killed, so no orphan
keeps writing; on Linux the kernel also kills it should its parent die without a word (SIGKILL, OOM killer),
and it runs in a process group of its own, so a terminal's Ctrl-C reaches only the parent, which stops it.
Callers build the rest of the command line and decide what failures mean.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import math
import os
import signal
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import imageio_ffmpeg
import psutil

# A child process, not a terminal tool: no banner, no keyboard commands, no progress lines; outputs are ours.
_BASE_ARGS = ("-hide_banner", "-nostdin", "-nostats", "-y")
LOG_TAIL_LINES = 30
# ffmpeg's log lines are short; this only bounds what one pathological line can take (it is then dropped).
_LOG_LINE_LIMIT = 1 << 20
_READ_CHUNK = 1 << 16
# How often a child with a CPU budget has its CPU time read (a read of /proc/<pid>/stat). A child over budget
# is stopped within this much wall time, so it can overrun by at most this times its number of threads.
CPU_POLL_S = 0.1
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

T = TypeVar("T")


class FfmpegTimeout(Exception):
    """ffmpeg ran past its time limit and was killed."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(timeout_s)
        self.timeout_s = timeout_s

    def __str__(self) -> str:
        return f"ffmpeg ran longer than {self.timeout_s:g} s and was killed"


class FfmpegOverBudget(Exception):
    """ffmpeg used more CPU time than its budget and was killed."""

    def __init__(self, budget_s: float, used_s: float) -> None:
        super().__init__(budget_s, used_s)
        self.budget_s = budget_s
        self.used_s = used_s

    def __str__(self) -> str:
        return (
            f"ffmpeg used {self.used_s:.1f} s of CPU time, over its budget of {self.budget_s:g} s, "
            "and was killed"
        )


class FfmpegFailed(Exception):
    """ffmpeg exited with a non-zero status (raised by RunResult.raise_if_failed)."""


@dataclass(frozen=True)
class RunResult:
    returncode: int
    stderr_tail: str  # the last LOG_TAIL_LINES lines of ffmpeg's log

    def raise_if_failed(self) -> None:
        if self.returncode != 0:
            raise FfmpegFailed(f"ffmpeg exited with {self.returncode}:\n{self.stderr_tail}")


def seconds_arg(seconds: float) -> str:
    """A duration for `-t`, rounded up to the millisecond, so a cap at a stream's own length never cuts it."""
    return f"{math.ceil(seconds * 1000) / 1000:.3f}"


async def run(args: Sequence[str], *, timeout_s: float, cpu_budget_s: float | None = None) -> RunResult:
    """Run ffmpeg with `args` (inputs, filters, output files) to completion, logging errors only."""
    _, result = await run_reading(args, _discard, timeout_s=timeout_s, cpu_budget_s=cpu_budget_s)
    return result


def run_sync(args: Sequence[str], *, timeout_s: float) -> RunResult:
    """`run` for synchronous callers (demo seeding, avatars in a worker thread, test and benchmark clips).

    It runs on a private event loop in a helper thread, so it works whether or not the calling thread is
    running a loop of its own, and the child has exactly the bounds `run` gives it.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ffmpeg") as pool:
        return pool.submit(asyncio.run, run(args, timeout_s=timeout_s)).result()


async def run_reading(
    args: Sequence[str],
    read_stdout: Callable[[asyncio.StreamReader], Awaitable[T]],
    *,
    timeout_s: float,
    cpu_budget_s: float | None = None,
    log_level: str = "error",
    take_log_line: Callable[[str], bool] | None = None,
) -> tuple[T, RunResult]:
    """Run ffmpeg writing to `pipe:1`; `read_stdout` consumes that stream as it arrives, and what it returns
    is returned with the result.

    Each log line is offered to `take_log_line` first (e.g. to parse `showinfo` reports); the lines it takes
    (returns True for) stay out of the tail. With `cpu_budget_s`, the child's CPU time (user + system, all its
    threads) is read every CPU_POLL_S and the child is killed once it is over.
    """
    proc = await asyncio.create_subprocess_exec(
        imageio_ffmpeg.get_ffmpeg_exe(),
        *_BASE_ARGS,
        "-loglevel",
        log_level,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=_LOG_LINE_LIMIT,
        process_group=0,
        preexec_fn=_die_with_parent(os.getpid()),
    )
    # Both are pipes, as asked above.
    assert proc.stdout is not None
    assert proc.stderr is not None
    deadline = asyncio.timeout(timeout_s)
    # Read alongside stdout: a full stderr pipe would stall ffmpeg, and with it stdout.
    log = asyncio.create_task(_read_log(proc.stderr, take_log_line))
    guard = asyncio.create_task(_bound_cpu(proc, cpu_budget_s)) if cpu_budget_s is not None else None
    try:
        async with deadline:
            output = await read_stdout(proc.stdout)
            await _discard(proc.stdout)  # what the reader left, so ffmpeg never blocks on a full pipe
            tail = await log
            returncode = await proc.wait()
    except BaseException as exc:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        log.cancel()
        await asyncio.gather(log, return_exceptions=True)
        await _stop_guard(guard)
        if isinstance(exc, TimeoutError) and deadline.expired():
            raise FfmpegTimeout(timeout_s) from None
        raise
    used_s = await _stop_guard(guard)
    if used_s is not None:
        assert cpu_budget_s is not None  # the guard runs only with a budget
        raise FfmpegOverBudget(cpu_budget_s, used_s)
    return output, RunResult(returncode, tail)


async def _bound_cpu(proc: asyncio.subprocess.Process, budget_s: float) -> float | None:
    """Kill the child once its CPU time passes `budget_s`; return the CPU time it had used then."""
    try:
        process = psutil.Process(proc.pid)
        while proc.returncode is None:
            times = process.cpu_times()
            used_s = times.user + times.system
            if used_s > budget_s:
                with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                    proc.kill()
                return used_s
            await asyncio.sleep(CPU_POLL_S)
    except psutil.NoSuchProcess:  # it ended (and was reaped) between two reads
        pass
    return None


async def _stop_guard(guard: asyncio.Task[float | None] | None) -> float | None:
    """The CPU time at which the guard killed the child, or None (no guard, or the child ended in budget)."""
    if guard is None:
        return None
    if not guard.done():
        guard.cancel()
    (outcome,) = await asyncio.gather(guard, return_exceptions=True)
    return outcome if isinstance(outcome, float) else None


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """For Linux: a preexec_fn that has the kernel SIGKILL the child when the thread that started it ends.

    That thread is the event loop's (the worker's main thread, or `run_sync`'s helper thread, which waits for
    the child), so a parent killed with SIGKILL, which cannot clean up, still leaves no ffmpeg behind. It
    calls only `prctl` and `getppid` between fork and exec (no locks, no allocation worth the name).
    """
    if _prctl is None:
        return None
    prctl = _prctl

    def set_parent_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the signal was armed
            os._exit(1)

    return set_parent_death_signal


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # a libc without prctl: children are still killed on every other path
        return None
    return prctl


# Looked up once here, never in a freshly forked child.
_prctl = _load_prctl()


async def _discard(stream: asyncio.StreamReader) -> None:
    while await stream.read(_READ_CHUNK):
        pass


async def _read_log(stderr: asyncio.StreamReader, take_line: Callable[[str], bool] | None) -> str:
    tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
    while True:
        try:
            raw = await stderr.readline()
        except ValueError:  # longer than _LOG_LINE_LIMIT: asyncio has dropped what it buffered of the line
            tail.append("[an overlong log line was dropped]")
            continue
        if not raw:
            return "\n".join(tail)
        line = raw.decode(errors="replace").rstrip()
        if take_line is None or not take_line(line):
            tail.append(line)
