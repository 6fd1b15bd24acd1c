"""The processes the benchmarks measure: the app in a uvicorn process of its own, and PostgreSQL's CPU."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import uvicorn
from fastapi import FastAPI

HOST = "127.0.0.1"


def run_app(app: FastAPI, port: int) -> None:
    """Serve until SIGTERM (called in the child process)."""
    # uvicorn re-raises SIGTERM after its graceful shutdown; the default action would skip atexit, leaving
    # this process listed as a user of the embedded PostgreSQL, which would then outlive the benchmark.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # As `reelm serve` runs it (reelm/cli/main.py): no permessage-deflate on the live connections.
    uvicorn.run(
        app,
        host=HOST,
        port=port,
        workers=1,
        log_level="warning",
        access_log=False,
        ws_per_message_deflate=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(script: Path, port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    """Run `script --serve PORT DATA_DIR` and wait until the app answers /healthz."""
    command = [sys.executable, str(script), "--serve", str(port), str(data_dir)]
    server = subprocess.Popen(command)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with status {server.returncode}")
        try:
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError("server did not become healthy within 60 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    # SIGTERM lets uvicorn shut down and the child drop its handle on the embedded PostgreSQL.
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def process_cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def postgres_cpu_s(postmaster: psutil.Process | None) -> float:
    """CPU seconds of PostgreSQL: the postmaster, its live backends and the backends it has reaped."""
    if postmaster is None:
        return 0.0
    # Pools close surplus connections, so backends come and go during a phase: the postmaster reaps
    # them, which adds their time to its children_* counters; live backends are read one by one.
    times = postmaster.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for backend in postmaster.children():
        with contextlib.suppress(psutil.NoSuchProcess):  # exited since listed: reaped, counted above
            total += process_cpu_s(backend)
    return total


def machine_note(*extra: str, load_before: float | None = None) -> str:
    """The line every benchmark ends with: the machine's cores and load (shared machines are noisy)."""
    load = f"load average {os.getloadavg()[0]:.1f} (1 min, at the end)"
    if load_before is not None:
        load = f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (1 min)"
    return "; ".join([f"cpus: {os.cpu_count()}", load, *extra, f"python {sys.version.split()[0]}"])
