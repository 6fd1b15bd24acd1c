"""reelm.ffmpeg, the one runner of ffmpeg, against the real binary."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psutil
import pytest

from reelm import ffmpeg

# A source that never ends: read at its native rate (-re), one frame a second.
ENDLESS = ["-re", "-f", "lavfi", "-i", "testsrc2=s=16x16:r=1", "-f", "null", "-"]


def ffmpeg_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "ffmpeg" in p.name()]


async def test_run_writes_the_output_it_is_given(tmp_path: Path) -> None:
    out = tmp_path / "frame.png"
    result = await ffmpeg.run(["-f", "lavfi", "-i", "color=s=8x8", "-frames:v", "1", str(out)], timeout_s=60)
    assert result == ffmpeg.RunResult(0, "")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_a_failure_reports_exit_status_and_log(tmp_path: Path) -> None:
    result = await ffmpeg.run(["-i", str(tmp_path / "missing.mp4"), str(tmp_path / "out.mp4")], timeout_s=60)
    assert result.returncode != 0
    assert "No such file or directory" in result.stderr_tail
    with pytest.raises(ffmpeg.FfmpegFailed, match="No such file or directory"):
        result.raise_if_failed()


async def test_stdout_is_read_as_it_arrives() -> None:
    async def frames(stdout: asyncio.StreamReader) -> list[bytes]:
        return [await stdout.readexactly(4) for _ in range(3)]

    args = ["-f", "lavfi", "-i", "color=c=white:s=2x2", "-frames:v", "3"]
    args += ["-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]
    read, result = await ffmpeg.run_reading(args, frames, timeout_s=60)
    assert read == [b"\xff" * 4] * 3
    assert result.returncode == 0


async def test_only_the_tail_of_the_log_is_kept_and_taken_lines_stay_out_of_it() -> None:
    seen: list[str] = []

    def is_frame_report(line: str) -> bool:
        return "showinfo" in line and " n:" in line

    def take_frame_report(line: str) -> bool:
        seen.append(line)
        return is_frame_report(line)

    args = ["-f", "lavfi", "-i", "testsrc2=s=16x16:r=10:d=10", "-vf", "showinfo", "-f", "null", "-"]
    _, result = await ffmpeg.run_reading(
        args, lambda stdout: stdout.read(), timeout_s=60, log_level="info", take_log_line=take_frame_report
    )
    kept = [line for line in seen if not is_frame_report(line)]
    assert len(seen) - len(kept) == 100  # one report per frame
    assert len(kept) > ffmpeg.LOG_TAIL_LINES
    assert result.stderr_tail.splitlines() == kept[-ffmpeg.LOG_TAIL_LINES :]


async def test_a_run_past_its_time_limit_is_killed() -> None:
    with pytest.raises(ffmpeg.FfmpegTimeout, match=r"longer than 0\.5 s"):
        await ffmpeg.run(ENDLESS, timeout_s=0.5)
    assert ffmpeg_children() == []


async def test_cancelling_the_awaiting_task_kills_ffmpeg() -> None:
    task = asyncio.create_task(ffmpeg.run(ENDLESS, timeout_s=600))
    # Nothing signals "ffmpeg has started", so watch our own child processes.
    while not ffmpeg_children() and not task.done():  # noqa: ASYNC110 - polling a child process, which has no event to await
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ffmpeg_children() == []


async def test_run_sync_works_inside_a_running_event_loop(tmp_path: Path) -> None:
    out = tmp_path / "frame.png"
    result = ffmpeg.run_sync(["-f", "lavfi", "-i", "color=s=8x8", "-frames:v", "1", str(out)], timeout_s=60)
    assert result.returncode == 0
    assert out.exists()
    with pytest.raises(ffmpeg.FfmpegTimeout):
        ffmpeg.run_sync(ENDLESS, timeout_s=0.5)
    assert ffmpeg_children() == []
