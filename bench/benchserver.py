"""The app in a uvicorn process of its own, as the benchmarks run it (one worker, loopback only)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

HOST = "127.0.0.1"


def run_app(app: FastAPI, port: int) -> None:
    """Serve until SIGTERM (called in the child process)."""
    # uvicorn re-raises SIGTERM after its graceful shutdown; the default action would skip atexit, leaving
    # this process listed as a user of the embedded PostgreSQL, which would then outlive the benchmark.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(app, host=HOST, port=port, workers=1, log_level="warning", access_log=False)


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
