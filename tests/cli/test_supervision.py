"""The workers `reelm demo` and `reelm serve --workers` run are supervised: restarted when they die, one set
per data directory, gone with their supervisor; a demo's data directory remembers that it is one."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from reelm.cli.common import DEMO_MARKER, load_settings
from reelm.cli.main import app as cli_app
from reelm.cli.workers import WorkersAlreadyRunningError, WorkerSupervisor
from reelm.runtime import Runtime
from reelm.scratch import scratch, sweep_scratch
from reelm.settings import DEMO_SECRET
from tests import clips, live
from tests.conftest import make_account
from tests.factories import upload


async def _transcode_status(runtime: Runtime) -> list[str]:
    async with runtime.databases.read("us") as session:
        jobs = "SELECT status::text FROM procrastinate_jobs WHERE task_name = 'transcode_video'"
        return list(await session.scalars(text(jobs)))


async def _wait_for(check: Callable[[], Awaitable[bool]], what: str, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            output = await asyncio.to_thread(log.read_text)
            pytest.fail(f"{what} did not happen; the workers wrote:\n{output[-3000:]}")
        await asyncio.sleep(0.2)


async def test_a_worker_killed_mid_job_is_restarted_and_the_job_finishes(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    alice = await make_account(client, "alice")
    # Long enough that the transcode is surely running when its worker is killed.
    video_id = await upload(client, alice, clips.make_clip(tmp_path, width=720, height=1280, duration_s=8.0))
    log = tmp_path / "workers.log"
    supervisor = WorkerSupervisor(
        runtime.settings, concurrency=1, env=live.external_env(runtime), log_path=log
    )
    supervisor.start()
    try:

        async def doing() -> bool:
            return await _transcode_status(runtime) == ["doing"]

        await _wait_for(doing, "the transcode starting", 120, log)
        first = supervisor.pid("us")
        os.kill(first, signal.SIGKILL)

        async def restarted() -> bool:
            return supervisor.restarts("us") == 1 and supervisor.pid("us") != first

        await _wait_for(restarted, "the worker's restart", 30, log)

        async def ready() -> bool:
            found = await client.get(f"/api/v1/videos/{video_id}", headers=alice.auth)
            return bool(found.json()["status"] == "ready") and await _transcode_status(runtime) == [
                "succeeded"
            ]

        # The restarted worker requeues the dead one's job once its heartbeat is stale (20 s), then runs it.
        await _wait_for(ready, "the job finishing", 240, log)
    finally:
        supervisor.stop()
    assert supervisor.restarts("eu") == 0  # only the killed worker was restarted


def test_one_set_of_workers_per_data_directory(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "data", demo=True)
    first = WorkerSupervisor(settings)
    first.claim()
    try:
        with pytest.raises(WorkersAlreadyRunningError):
            WorkerSupervisor(settings).claim()
    finally:
        first.stop()
    second = WorkerSupervisor(settings)
    second.claim()  # free again once the first has stopped
    second.stop()


_SUPERVISE = """
import json, sys, time
from pathlib import Path
from reelm.cli.workers import WorkerSupervisor
from reelm.settings import Settings
supervisor = WorkerSupervisor(Settings(data_dir=Path(sys.argv[1]), demo=True), concurrency=1)
supervisor.start()
print(json.dumps([supervisor.pid(r) for r in ("us", "eu", "global")]), flush=True)
time.sleep(600)
"""


def test_workers_go_when_their_supervisor_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _SUPERVISE, str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert parent.stdout is not None
        pids = json.loads(parent.stdout.readline())
        workers = [psutil.Process(pid) for pid in pids]
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        _, alive = psutil.wait_procs(workers, timeout=30)
        assert alive == [], f"workers outlived their supervisor: {alive}"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


def test_a_demo_data_directory_needs_no_production_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("REELM_")]:
        monkeypatch.delenv(name)
    demo_dir, other_dir = tmp_path / "demo", tmp_path / "production"
    demo_dir.mkdir()
    (demo_dir / DEMO_MARKER).write_text("made by `reelm demo`\n")
    settings = load_settings(demo_dir)
    assert settings.demo
    assert settings.secret_key == DEMO_SECRET
    # A folder without the marker never falls back to demo settings: it needs its secrets.
    refused = CliRunner().invoke(cli_app, ["realm", "status", "--data-dir", str(other_dir)])
    assert refused.exit_code == 2
    assert "REELM_SECRET_KEY must be set outside demo mode" in refused.output


def test_the_demo_refuses_a_folder_that_holds_other_data(tmp_path: Path) -> None:
    production = tmp_path / "production"
    production.mkdir()
    (production / "pg").mkdir()
    refused = CliRunner().invoke(cli_app, ["demo", "--data-dir", str(production)])
    assert refused.exit_code == 2
    assert "not a demo's" in refused.output
    assert not (production / DEMO_MARKER).exists()


def test_scratch_of_a_dead_process_is_removed_at_the_next_start(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = tmp_path / "tmp" / str(dead.pid)
    (left / "tmpabc").mkdir(parents=True)
    (left / "tmpabc" / "original").write_bytes(b"half a transcode")
    with scratch(tmp_path) as mine:
        (mine / "upload").write_bytes(b"in use")
        assert sweep_scratch(tmp_path) == 1
        assert not left.exists()
        assert (mine / "upload").read_bytes() == b"in use"  # a live process's work is left alone
    assert sweep_scratch(tmp_path) == 0
