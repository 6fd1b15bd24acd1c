"""`reelm demo` stops everything it started: Ctrl-C in its terminal (SIGINT to the whole foreground process
group, its workers included) or SIGTERM from a process manager stops the web server, the workers and the
embedded PostgreSQL, exits 0, and leaves no process listed as a user of the database server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests import live

START_S = 300  # a fresh cluster, migrations, twelve accounts and one video on a busy machine


def _handle_holders(pgdata: Path) -> list[int]:
    handles = pgdata / ".handle_pids.json"
    text = handles.read_text().strip() if handles.exists() else ""
    return list(json.loads(text)) if text else []


def _postgres_of(pgdata: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and str(pgdata) in cmdline:
            found.append(process)
    return found


def _wait_until_everything_runs(demo: subprocess.Popen[bytes], base: str, pgdata: Path, log: Path) -> None:
    """Until the site answers and the demo and its three workers all use the database server."""
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if demo.poll() is not None:
            pytest.fail(f"the demo exited with {demo.returncode}:\n{log.read_text()[-3000:]}")
        workers = [c.pid for c in psutil.Process(demo.pid).children() if "worker" in c.cmdline()]
        holders = _handle_holders(pgdata)
        if len(workers) == 3 and set(holders) >= {demo.pid, *workers}:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.5)
    pytest.fail(f"the demo did not start in {START_S} s:\n{log.read_text()[-3000:]}")


@pytest.mark.parametrize(
    "how", ["ctrl-c", "sigterm"], ids=["ctrl-c-in-its-terminal", "sigterm-from-a-process-manager"]
)
def test_stopping_the_demo_stops_its_server_workers_and_database(tmp_path: Path, how: str) -> None:
    # Not under pytest's temporary root: run as root, the server runs as another user, and pytest makes its
    # root private (tests/conftest.py says more).
    data = Path(tempfile.mkdtemp(prefix="reelm-demo-stop-")) / "demo"
    pgdata = data.resolve() / "pg"
    port = live.free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "demo.log"
    command = [sys.executable, "-m", "reelm", "demo", "--data-dir", str(data), "--port", str(port)]
    with log.open("ab") as out:
        demo = subprocess.Popen(
            [*command, "--videos", "1"],
            env=live.external_env_minimal(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a shell gives a foreground job
        )
    started: list[psutil.Process] = []
    try:
        _wait_until_everything_runs(demo, base, pgdata, log)
        started = [*psutil.Process(demo.pid).children(recursive=True), *_postgres_of(pgdata)]
        assert _postgres_of(pgdata), "the embedded server runs while the demo does"
        if how == "ctrl-c":
            os.killpg(demo.pid, signal.SIGINT)  # what the terminal does: the demo and its workers get it
        else:
            demo.send_signal(signal.SIGTERM)
        code = demo.wait(timeout=120)
        output = log.read_text()
        assert code == 0, output[-3000:]
        assert "Stopped. Data is kept in" in output
        _, alive = psutil.wait_procs(started, timeout=30)
        assert alive == [], f"left running: {alive}\n{output[-3000:]}"
        assert _postgres_of(pgdata) == []
        assert _handle_holders(pgdata) == []
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        for process in [*started, *_postgres_of(pgdata)]:
            if process.is_running():
                process.kill()
        shutil.rmtree(data.parent, ignore_errors=True)
