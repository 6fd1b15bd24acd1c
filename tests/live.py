"""Real server and worker processes for tests that kill them or drive them with a browser."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from reelm.runtime import Runtime


def external_env(runtime: Runtime) -> dict[str, str]:
    """Settings that point a child process at the test databases and the test's object folders."""
    realms = [
        {
            **realm.model_dump(),
            "database_url": runtime.databases.realm_urls[realm.name],
            "storage_url": (runtime.settings.data_dir.resolve() / "objects" / realm.name).as_uri(),
        }
        for realm in runtime.settings.realms
    ]
    for realm in runtime.settings.realms:
        runtime.keys.realm(realm.name)  # provisioned here, as an operator would; the child may not create
    env = dict(os.environ)
    env.update(
        {
            "REELM_DATA_DIR": str(runtime.settings.data_dir.resolve()),
            "REELM_KEY_DIR": str(runtime.settings.realm_key_root.resolve()),
            "REELM_SECRET_KEY": runtime.settings.secret_key,
            "REELM_DIRECTORY_URL": runtime.databases.directory_url,
            "REELM_REALMS": json.dumps(realms),
            "REELM_DEMO": "false",
            "REELM_LOG_SIGNING_KEY": runtime.settings.log_signing_key or "",
            "REELM_LOG_ORIGIN": runtime.settings.log_origin or "",
            "REELM_LOG_SEQUENCE_INTERVAL_S": str(runtime.settings.log_sequence_interval_s),
        }
    )
    return env


def external_env_minimal() -> dict[str, str]:
    """The environment for commands that need no database (the auditor's and the witness's)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("REELM_")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "reelm", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def start_server(
    runtime: Runtime, log: Path, *, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = external_env(runtime) | {"REELM_BASE_URL": base} | (extra_env or {})
    process = start(["serve", "--host", "127.0.0.1", "--port", str(port)], env, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_worker(runtime: Runtime, realm: str, log: Path) -> subprocess.Popen[bytes]:
    return start(["worker", "--realm", realm, "--concurrency", "1"], external_env(runtime), log)
