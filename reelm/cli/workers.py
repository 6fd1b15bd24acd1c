"""The worker processes that `reelm demo` and `reelm serve --workers` run beside the web server, supervised
as a process manager would: one per realm, restarted with back-off when one dies, never two sets on one data
directory, and none left behind when this process dies, even by SIGKILL."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from reelm.settings import Settings

log = logging.getLogger(__name__)

LOCK_FILE = "workers.lock"
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
# A worker that ran this long before dying is restarted at once again: it was not crashing in a loop.
HEALTHY_AFTER_S = 60.0
STOP_WAIT_S = 15.0
POLL_S = 0.5
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class WorkersAlreadyRunningError(Exception):
    """Another process already runs the workers of this data directory."""


SUPERVISOR_ENV = "REELM_SUPERVISOR_PID"


def die_with_supervisor() -> None:
    """Called first thing by a supervised worker: the kernel sends it SIGTERM when its supervisor dies (even
    by SIGKILL), and the worker stops as it would for an operator. Done in the worker itself rather than
    between fork and exec, which is unsafe in a supervisor that runs threads."""
    supervisor = os.environ.get(SUPERVISOR_ENV)
    if not supervisor or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != int(supervisor):  # it died before the request took effect
        sys.exit(1)


@dataclass
class _Worker:
    realm: str
    process: subprocess.Popen[bytes]
    started: float
    backoff_s: float = FIRST_BACKOFF_S
    restarts: int = 0


@dataclass
class WorkerSupervisor:
    settings: Settings
    log_level: str = "info"
    concurrency: int = 2
    # The workers' environment (this process's when None): the settings below are added to it.
    env: dict[str, str] | None = None
    # Where the workers write their logs (this process's output when None).
    log_path: Path | None = None
    _workers: dict[str, _Worker] = field(default_factory=dict)
    _lock: IO[str] | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _watcher: threading.Thread | None = None

    def claim(self) -> None:
        """Lock the data directory's workers for this process (held until `stop`, or this process's end)."""
        if self._lock is not None:
            return
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        lock = (self.settings.data_dir / LOCK_FILE).open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise WorkersAlreadyRunningError(str(self.settings.data_dir.resolve())) from None
        self._lock = lock

    def start(self) -> None:
        """Start one worker per realm (claiming the data directory first), and watch them from a thread."""
        self.claim()
        for realm in self.settings.realm_names:
            self._workers[realm] = _Worker(realm, self._spawn(realm), time.monotonic())
        self._watcher = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
        self._watcher.start()

    def restarts(self, realm: str) -> int:
        return self._workers[realm].restarts

    def pid(self, realm: str) -> int:
        return self._workers[realm].process.pid

    def stop(self) -> None:
        """SIGTERM every worker (each requeues what it was doing), SIGKILL those still there after a while."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join()
        processes = [w.process for w in self._workers.values()]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT_S
        for process in processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _spawn(self, realm: str) -> subprocess.Popen[bytes]:
        env = dict(os.environ if self.env is None else self.env)
        env["REELM_DATA_DIR"] = str(self.settings.data_dir.resolve())
        env["REELM_DEMO"] = "true" if self.settings.demo else "false"
        env["REELM_SECRET_KEY"] = self.settings.secret_key
        env[SUPERVISOR_ENV] = str(os.getpid())
        with contextlib.ExitStack() as files:
            out = files.enter_context(self.log_path.open("ab")) if self.log_path is not None else None
            return self._popen(realm, env, out)

    def _popen(self, realm: str, env: dict[str, str], out: IO[bytes] | None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "reelm",
                "worker",
                "--realm",
                realm,
                "--log-level",
                self.log_level,
                "--concurrency",
                str(self.concurrency),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
        )

    def _watch(self) -> None:
        while not self._stopping.wait(POLL_S):
            for worker in self._workers.values():
                code = worker.process.poll()
                if code is None or self._stopping.is_set():
                    continue
                ran_s = time.monotonic() - worker.started
                if ran_s >= HEALTHY_AFTER_S:
                    worker.backoff_s = FIRST_BACKOFF_S
                log.warning(
                    "worker of realm %s exited with %s after %.0f s; restarting in %.0f s",
                    worker.realm,
                    code,
                    ran_s,
                    worker.backoff_s,
                )
                if self._stopping.wait(worker.backoff_s):
                    return
                worker.process = self._spawn(worker.realm)
                worker.started = time.monotonic()
                worker.restarts += 1
                worker.backoff_s = min(MAX_BACKOFF_S, worker.backoff_s * 2)
