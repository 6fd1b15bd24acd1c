"""The one way reelm runs ffmpeg: transcodes, keyframes, avatars, demo clips, test clips and benchmarks.

Every child gets the same base arguments and a wall-clock limit (past it the child is killed and FfmpegTimeout
raised), and only the tail of its log is kept in memory. If the task awaiting it is cancelled the child is
killed, so no orphan keeps writing. Callers build the rest of the command line and decide what failures mean.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import imageio_ffmpeg

# A child process, not a terminal tool: no banner, no keyboard commands, no progress lines; outputs are ours.
_BASE_ARGS = ("-hide_banner", "-nostdin", "-nostats", "-y")
LOG_TAIL_LINES = 30
# ffmpeg's log lines are short; this only bounds what one pathological line can take (it is then dropped).
_LOG_LINE_LIMIT = 1 << 20
_READ_CHUNK = 1 << 16

T = TypeVar("T")


class FfmpegTimeout(Exception):
    """ffmpeg ran past its time limit and was killed."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(timeout_s)
        self.timeout_s = timeout_s

    def __str__(self) -> str:
        return f"ffmpeg ran longer than {self.timeout_s:g} s and was killed"


class FfmpegFailed(Exception):
    """ffmpeg exited with a non-zero status (raised by RunResult.raise_if_failed)."""


@dataclass(frozen=True)
class RunResult:
    returncode: int
    stderr_tail: str  # the last LOG_TAIL_LINES lines of ffmpeg's log

    def raise_if_failed(self) -> None:
        if self.returncode != 0:
            raise FfmpegFailed(f"ffmpeg exited with {self.returncode}:\n{self.stderr_tail}")


async def run(args: Sequence[str], *, timeout_s: float) -> RunResult:
    """Run ffmpeg with `args` (inputs, filters, output files) to completion, logging errors only."""
    _, result = await run_reading(args, _discard, timeout_s=timeout_s)
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
    log_level: str = "error",
    take_log_line: Callable[[str], bool] | None = None,
) -> tuple[T, RunResult]:
    """Run ffmpeg writing to `pipe:1`; `read_stdout` consumes that stream as it arrives, and what it returns
    is returned with the result.

    Each log line is offered to `take_log_line` first (e.g. to parse `showinfo` reports); the lines it takes
    (returns True for) stay out of the tail.
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
    )
    # Both are pipes, as asked above.
    assert proc.stdout is not None
    assert proc.stderr is not None
    deadline = asyncio.timeout(timeout_s)
    # Read alongside stdout: a full stderr pipe would stall ffmpeg, and with it stdout.
    log = asyncio.create_task(_read_log(proc.stderr, take_log_line))
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
        if isinstance(exc, TimeoutError) and deadline.expired():
            raise FfmpegTimeout(timeout_s) from None
        raise
    return output, RunResult(returncode, tail)


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
