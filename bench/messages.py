# ruff: noqa: E402 - the reelm imports follow the sys.path and warnings set-up below
"""Direct messages: delivery latency between two live clients under load, and memory per idle connection.

    .venv/bin/python bench/messages.py [--rate 200] [--seconds 10] [--idle 1000] [--gc-log]

Starts the embedded PostgreSQL in a temporary data dir, signs up Alice and Bob in realm "us", and inserts
`--idle` further accounts with API sessions (rows only: no password hashing). The app is served by uvicorn
in a separate process (this script in --serve mode, one worker, uvicorn's defaults), with one extra route,
POST /bench/constant, returning constant JSON.

1. Idle connections: the server's memory (RSS and USS) is read, `--idle` accounts each open a WebSocket to
   /api/v1/live and complete the hello, and the memory is read again; the difference per connection is
   reported. They stay open for the rest of the run.
2. Two rounds of: the socket baseline (a WebSocket ping answered by uvicorn, on an idle connection), then
   delivery with Alice sending `send` frames on her live connection. Both open loop at `--rate` per second
   for `--seconds`, after a warm-up of 200 messages.
3. Once: the HTTP baseline (POST /bench/constant), then delivery with Alice sending by POST
   /api/v1/conversations/{id}/messages, the UI's path without a live connection.
Latency = arrival at Bob's socket (or the "stored" answer to Alice) minus the message's scheduled send
time, so a client that falls behind shows in the figures. Every message must reach Bob's socket exactly
once and in order, or the run fails.

The server is started a second time for clients that offer permessage-deflate, as browsers do, to measure
what compression costs per idle connection. CPU per message is the uvicorn process's, PostgreSQL's
(postmaster and backends) and this client's over the measured phase, divided by the messages sent.
Target: delivery p99 <= 50 ms at 200 messages/s on 2 cores, with the idle connections held.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.console import Console
from rich.table import Table
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Importing the embedded PostgreSQL creates its lock, which warns when XDG_RUNTIME_DIR is unset (containers,
# CI): harmless, and the tests ignore it too. It fires at import, hence before the reelm imports.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

from benchserver import (
    HOST,
    free_port,
    machine_note,
    postgres_cpu_s,
    process_cpu_s,
    run_app,
    start_server,
    stop_server,
)

from reelm import ids
from reelm.accounts.models import AuthSession, HandleEntry, User
from reelm.accounts.service import do_log_in, do_sign_up
from reelm.runtime import Runtime
from reelm.settings import Settings
from reelm.startup import start_runtime
from reelm.web.app import create_app

REALM = "us"
PASSWORD = "bench-password-0123"
BASELINE_PATH = "/bench/constant"
CONSTANT: dict[str, object] = {"ok": True}
P99_TARGET_MS = 50.0
WARMUP_MESSAGES = 200
OPEN_BATCH = 50  # connections opened at once
GC_LOG_ENV = "REELM_BENCH_GC_LOG"  # tells the --serve process to print its long garbage collections
SERVER_ENV = {
    # Bench accounts are seconds old, and one sender writes far beyond a person's pace.
    "REELM_MESSAGES_MIN_ACCOUNT_AGE_HOURS": "0",
    "REELM_MESSAGES_MESSAGES_PER_MINUTE": "1000000",
}


def bench_settings(data_dir: Path) -> Settings:
    """The one place settings are built, so the seeding process and the server process agree."""
    return Settings(demo=True, data_dir=data_dir, log_sequence_interval_s=0)


# --- seeding ---------------------------------------------------------------------------------------------


@dataclass
class Seeded:
    alice: str  # bearer tokens
    bob: str
    idle: list[str]


async def seed(runtime: Runtime, idle: int) -> Seeded:
    try:
        tokens = []
        for handle in ("alice", "bob"):
            await do_sign_up(
                runtime,
                handle=handle,
                email=f"{handle}@bench.example",
                password=PASSWORD,
                country="US",
                display_name=None,
            )
            token, _, _ = await do_log_in(
                runtime, login=handle, password=PASSWORD, kind="api", ip=HOST, user_agent="bench/messages"
            )
            tokens.append(token)
        return Seeded(alice=tokens[0], bob=tokens[1], idle=await insert_idle_accounts(runtime, idle))
    finally:
        await runtime.close()


async def insert_idle_accounts(runtime: Runtime, count: int) -> list[str]:
    """Accounts that only connect: a handle, a user row and an API session each."""
    code = runtime.settings.realm(REALM).code
    expires = datetime.now(UTC) + timedelta(days=1)
    users, sessions, handles, tokens = [], [], [], []
    now_ms = time.time_ns() // 1_000_000
    for n in range(count):
        # One millisecond apart: ids minted in the same millisecond may collide (16 random bits).
        user_id = ids.new_id(code, now_ms=now_ms - count + n)
        token = f"{REALM}.{secrets.token_urlsafe(32)}"
        handle = f"idle{n:05d}"
        handles.append(HandleEntry(handle=handle, user_id=user_id, realm=REALM, state="active"))
        users.append(
            User(
                id=user_id,
                handle=handle,
                display_name=handle,
                email=b"-",
                email_index=f"i{user_id}".encode(),
                password_hash="-",
                country="US",
            )
        )
        sessions.append(
            AuthSession(
                token_hash=hashlib.sha256(token.encode()).digest(),
                user_id=user_id,
                kind="api",
                expires_at=expires,
            )
        )
        tokens.append(token)
    async with runtime.databases.transaction(None) as directory:
        directory.add_all(handles)
    async with runtime.databases.transaction(REALM) as session:
        session.add_all(users)
        await session.flush()  # sessions refer to the users
        session.add_all(sessions)
    return tokens


# --- server process --------------------------------------------------------------------------------------


_collection_started = 0.0


def log_slow_collections(phase: str, info: dict[str, int]) -> None:
    """--gc-log: the server prints every garbage collection that paused it for 10 ms or more."""
    global _collection_started  # noqa: PLW0603 - gc callbacks get no state of their own
    if phase == "start":
        _collection_started = time.perf_counter()
        return
    paused_ms = (time.perf_counter() - _collection_started) * 1000
    if paused_ms >= 10:
        print(f"server gc: generation {info['generation']} paused {paused_ms:.0f} ms", flush=True)


async def constant() -> dict[str, object]:
    return CONSTANT


def serve(port: int, data_dir: Path) -> None:
    """--serve mode: the app plus the baseline route, in one uvicorn worker."""
    os.environ.update(SERVER_ENV)  # read by the app's messaging settings
    runtime = Runtime.start(bench_settings(data_dir))
    app = create_app(runtime, own_runtime=True)
    app.add_api_route(BASELINE_PATH, constant, methods=["POST"], include_in_schema=False)
    app.router.routes.insert(0, app.router.routes.pop())
    if os.environ.get(GC_LOG_ENV):
        gc.callbacks.append(log_slow_collections)
    run_app(app, port)  # uvicorn's defaults: permessage-deflate is negotiated when a client offers it


# --- measuring -------------------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds of the uvicorn process, of PostgreSQL and of this client."""

    def __init__(self, server_pid: int, postmaster_pid: int | None) -> None:
        self.server = psutil.Process(server_pid)
        self.postmaster = psutil.Process(postmaster_pid) if postmaster_pid else None

    def snapshot(self) -> tuple[float, float, float]:
        return process_cpu_s(self.server), postgres_cpu_s(self.postmaster), time.process_time()

    def since(self, start: tuple[float, float, float]) -> tuple[float, float, float]:
        server, postgres, client = (b - a for a, b in zip(start, self.snapshot(), strict=True))
        return server, postgres, client


def memory(pid: int) -> tuple[int, int]:
    info = psutil.Process(pid).memory_full_info()
    return info.rss, info.uss


@dataclass
class Latencies:
    name: str
    sent: int = 0
    seconds: float = 0.0
    values_s: list[float] = field(default_factory=list)
    cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def pct_ms(self, pct: int) -> float:
        return statistics.quantiles(self.values_s, n=100, method="inclusive")[pct - 1] * 1000

    @property
    def rate(self) -> float:
        return self.sent / self.seconds


async def live(host: str, headers: dict[str, str], *, compression: str | None) -> ClientConnection:
    """A live connection that said hello and got `ready`."""
    connection = await connect(
        f"ws://{host}/api/v1/live",
        additional_headers=headers,
        compression=compression,
        proxy=None,
        open_timeout=60,
        ping_interval=None,  # the server pings; the client answers
    )
    await connection.send(json.dumps({"type": "hello", "cursors": []}))
    while json.loads(await connection.recv())["type"] != "ready":
        pass
    return connection


async def hold_idle(host: str, tokens: list[str], compression: str | None) -> list[ClientConnection]:
    held: list[ClientConnection] = []
    for start in range(0, len(tokens), OPEN_BATCH):
        batch = tokens[start : start + OPEN_BATCH]
        held += await asyncio.gather(
            *(live(host, {"Authorization": f"Bearer {t}"}, compression=compression) for t in batch)
        )
    return held


async def open_loop(
    rate: float, seconds: float, fire: Callable[[int, float], Coroutine[Any, Any, None]]
) -> tuple[int, float]:
    """Call `fire(n, scheduled_time)` at `rate` per second, on schedule whatever the answers take."""
    count = int(rate * seconds)
    started = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []
    for n in range(count):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(n, due)))
    await asyncio.gather(*tasks)
    return count, time.perf_counter() - started


async def http_baseline(client: httpx.AsyncClient, options: argparse.Namespace, meter: CpuMeter) -> Latencies:
    """The floor of an HTTP request to this app: POST /bench/constant, on the same schedule."""
    result = Latencies("HTTP baseline: POST /bench/constant")

    async def fire(_: int, due: float) -> None:
        response = await client.post(BASELINE_PATH)
        response.raise_for_status()
        result.values_s.append(time.perf_counter() - due)

    cpu = meter.snapshot()
    result.sent, result.seconds = await open_loop(options.rate, options.seconds, fire)
    result.cpu = meter.since(cpu)
    return result


async def socket_baseline(
    connection: ClientConnection, options: argparse.Namespace, meter: CpuMeter
) -> Latencies:
    """The floor of a live connection: a WebSocket ping answered by uvicorn, on the same schedule."""
    result = Latencies("socket baseline: ping/pong")

    async def fire(_: int, due: float) -> None:
        await (await connection.ping())
        result.values_s.append(time.perf_counter() - due)

    cpu = meter.snapshot()
    result.sent, result.seconds = await open_loop(options.rate, options.seconds, fire)
    result.cpu = meter.since(cpu)
    return result


class Sender:
    """Alice's way of sending: `send` frames on her live connection, or POST requests."""

    def __init__(self, via: str, client: httpx.AsyncClient, token: str, conversation_id: str) -> None:
        self.via = via
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}
        self.conversation_id = conversation_id
        self.connection: ClientConnection | None = None
        self.acks: dict[str, asyncio.Future[None]] = {}
        self.reading: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Sender:
        if self.via == "socket":
            self.connection = await live(self.client.base_url.netloc.decode(), self.headers, compression=None)
            self.reading = asyncio.create_task(self._read_acks())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.reading is not None:
            self.reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reading
        if self.connection is not None:
            await self.connection.close()

    async def _read_acks(self) -> None:
        assert self.connection is not None
        async for raw in self.connection:
            frame = json.loads(raw)
            if frame["type"] in {"sent", "send-failed"} and (
                waiting := self.acks.pop(frame["client_key"], None)
            ):
                if frame["type"] == "sent":
                    waiting.set_result(None)
                else:
                    waiting.set_exception(RuntimeError(f"send failed: {frame['problem']}"))

    async def send(self, body: str) -> None:
        """Returns once the server stored the message."""
        if self.connection is not None:
            ack = asyncio.get_running_loop().create_future()
            self.acks[body] = ack
            frame = {
                "type": "send",
                "conversation_id": self.conversation_id,
                "body": body,
                "client_key": body,
            }
            await self.connection.send(json.dumps(frame))
            await ack
            return
        url = f"/api/v1/conversations/{self.conversation_id}/messages"
        response = await self.client.post(url, headers=self.headers, json={"body": body})
        if response.status_code != 201:
            raise RuntimeError(f"send failed: HTTP {response.status_code} {response.text[:200]}")


async def delivery(
    client: httpx.AsyncClient, seeded: Seeded, options: argparse.Namespace, meter: CpuMeter, *, via: str
) -> tuple[Latencies, Latencies]:
    """Alice sends on schedule; Bob's socket must get each message once and in order."""
    alice = {"Authorization": f"Bearer {seeded.alice}"}
    started = await client.post("/api/v1/conversations", headers=alice, json={"handles": ["bob"]})
    started.raise_for_status()
    bob = await live(
        client.base_url.netloc.decode(), {"Authorization": f"Bearer {seeded.bob}"}, compression=None
    )
    arrivals: dict[str, float] = {}
    seqs: list[int] = []
    expected = int(options.rate * options.seconds)
    all_arrived = asyncio.Event()
    label = "warmup"
    nonce = secrets.token_hex(4)

    async def receive() -> None:
        async for raw in bob:
            frame = json.loads(raw)
            if frame["type"] == "message":
                arrivals[frame["message"]["body"]] = time.perf_counter()
                seqs.append(frame["message"]["seq"])
                if label == "measured" and len(arrivals) >= expected:
                    all_arrived.set()

    receiving = asyncio.create_task(receive())
    acked = Latencies(f"sent over {via}: stored, Alice told")
    delivered = Latencies(f"sent over {via}: at Bob's socket")
    scheduled: dict[str, float] = {}
    async with Sender(via, client, seeded.alice, started.json()["id"]) as sender:

        async def fire(n: int, due: float) -> None:
            body = f"{label}-{nonce}-{n:06d}"  # also the client key, which must be new for every message
            scheduled[body] = due
            await sender.send(body)
            acked.values_s.append(time.perf_counter() - due)

        try:
            await open_loop(options.rate, WARMUP_MESSAGES / options.rate, fire)
            await asyncio.sleep(1)
            arrivals.clear()
            scheduled.clear()
            acked.values_s.clear()
            warmed = len(seqs)
            expected_first = seqs[-1] + 1
            label = "measured"
            cpu = meter.snapshot()
            acked.sent, acked.seconds = await open_loop(options.rate, options.seconds, fire)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_arrived.wait(), timeout=10)
            delivered.cpu = acked.cpu = meter.since(cpu)
        finally:
            receiving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiving
            await bob.close()
    missing = set(scheduled) - set(arrivals)
    if missing:
        raise RuntimeError(f"{len(missing)} message(s) never reached Bob")
    if seqs[warmed:] != list(range(expected_first, expected_first + acked.sent)):
        raise RuntimeError("Bob's socket did not get every message exactly once and in order")
    delivered.sent, delivered.seconds = acked.sent, acked.seconds
    delivered.values_s = [arrivals[body] - due for body, due in scheduled.items()]
    return acked, delivered


@dataclass
class Run:
    compression: str | None
    idle: int
    rss_before: int = 0
    rss_after: int = 0
    uss_before: int = 0
    uss_after: int = 0
    phases: list[Latencies] = field(default_factory=list)

    @property
    def rss_per_connection(self) -> float:
        return (self.rss_after - self.rss_before) / self.idle

    @property
    def uss_per_connection(self) -> float:
        return (self.uss_after - self.uss_before) / self.idle


async def measure(
    port: int,
    seeded: Seeded,
    options: argparse.Namespace,
    meter: CpuMeter,
    *,
    compression: str | None,
    latency: bool,
) -> Run:
    host = f"{HOST}:{port}"
    run = Run(compression=compression, idle=len(seeded.idle))
    # Idle connections are dropped before uvicorn's 5 s keep-alive timeout can close one under a request.
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=f"http://{host}", limits=limits, timeout=30) as client:
        # The hub's listening connection and the first allocations are made before the first reading.
        warm = await live(host, {"Authorization": f"Bearer {seeded.alice}"}, compression=compression)
        await warm.close()
        await asyncio.sleep(0.5)
        run.rss_before, run.uss_before = memory(meter.server.pid)
        held = await hold_idle(host, seeded.idle, compression)
        await asyncio.sleep(1)
        run.rss_after, run.uss_after = memory(meter.server.pid)
        print(f"holding {len(held)} idle connections (compression: {compression or 'none'})", flush=True)
        try:
            if latency:
                for round_no in range(1, ROUNDS + 1):
                    run.phases.append(await socket_baseline(held[0], options, meter))
                    run.phases.extend(await delivery(client, seeded, options, meter, via="socket"))
                    print(f"round {round_no}: socket done", flush=True)
                run.phases.append(await http_baseline(client, options, meter))
                run.phases.extend(await delivery(client, seeded, options, meter, via="HTTP"))
                print("HTTP done", flush=True)
        finally:
            await asyncio.gather(*(c.close() for c in held))
    return run


ROUNDS = 2


# --- report ----------------------------------------------------------------------------------------------


def report(runs: list[Run], options: argparse.Namespace) -> None:
    console = Console(width=max(Console().width, 120))
    table = Table(
        title=f"Open loop at {options.rate:g}/s for {options.seconds:g} s, {runs[0].idle} idle sockets held"
    )
    table.add_column("phase")
    for column in (
        "sent/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "CPU ms/msg: uvicorn",
        "postgres",
        "client",
    ):
        table.add_column(column, justify="right")
    latency_run = runs[0]
    for phase in latency_run.phases:
        server, postgres, client = (c / phase.sent * 1000 for c in phase.cpu)
        table.add_row(
            phase.name,
            f"{phase.rate:.0f}",
            f"{phase.pct_ms(50):.1f}",
            f"{phase.pct_ms(95):.1f}",
            f"{phase.pct_ms(99):.1f}",
            f"{max(phase.values_s) * 1000:.1f}",
            f"{server:.2f}",
            f"{postgres:.2f}",
            f"{client:.2f}",
        )
    console.print(table)
    delivered = [p for p in latency_run.phases if p.name == "sent over socket: at Bob's socket"]
    floor = min(p.pct_ms(99) for p in latency_run.phases if p.name.startswith("socket baseline"))
    best = min(delivered, key=lambda p: p.pct_ms(99))
    verdict = "[green]meets[/]" if best.pct_ms(99) <= P99_TARGET_MS else "[red]misses[/]"
    console.print(
        f"delivery p99 (sent over the socket), best of {len(delivered)}: {best.pct_ms(99):.1f} ms "
        f"({verdict} target <= {P99_TARGET_MS:g} ms); "
        f"runs: {' / '.join(f'{p.pct_ms(99):.1f}' for p in delivered)} ms; "
        f"ratio to the ping/pong p99 of the same run: {best.pct_ms(99) / floor:.2f}"
    )
    over_http = [p for p in latency_run.phases if p.name == "sent over HTTP: at Bob's socket"]
    http_floor = [p for p in latency_run.phases if p.name.startswith("HTTP baseline")]
    if over_http and http_floor:
        console.print(
            f"delivery p99 (sent over HTTP, the fallback): {over_http[0].pct_ms(99):.1f} ms; "
            f"ratio to the HTTP baseline's p99: {over_http[0].pct_ms(99) / http_floor[0].pct_ms(99):.2f}"
        )
    for run in runs:
        offered = "offered (as browsers do)" if run.compression else "not offered"
        console.print(
            f"memory per idle connection, permessage-deflate {offered}: "
            f"{run.rss_per_connection / 1024:.1f} KiB RSS, {run.uss_per_connection / 1024:.1f} KiB USS "
            f"({run.idle} connections: RSS {run.rss_before / 2**20:.1f} -> {run.rss_after / 2**20:.1f} MiB)"
        )
    console.print(machine_note())


# --- main ------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rate", type=float, default=200.0, help="messages (and baseline requests) per second"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured phase")
    parser.add_argument("--idle", type=int, default=1000, help="idle WebSocket connections held")
    parser.add_argument(
        "--gc-log", action="store_true", help="the server prints garbage collections pausing it >= 10 ms"
    )
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DATA_DIR"), help=argparse.SUPPRESS)
    return parser.parse_args()


def bench(options: argparse.Namespace, data_dir: Path) -> list[Run]:
    if options.gc_log:
        os.environ[GC_LOG_ENV] = "1"  # inherited by the server process
    runtime = start_runtime(bench_settings(data_dir))
    runs = []
    try:
        seeded = asyncio.run(seed(runtime, options.idle))
        postmaster = runtime.server.get_pid() if runtime.server else None
        for compression, latency in ((None, True), ("deflate", False)):
            port = free_port()
            server = start_server(Path(__file__).resolve(), port, data_dir)
            try:
                meter = CpuMeter(server.pid, postmaster)
                runs.append(
                    asyncio.run(
                        measure(port, seeded, options, meter, compression=compression, latency=latency)
                    )
                )
            finally:
                stop_server(server)
    finally:
        if runtime.server is not None:
            runtime.server.cleanup()  # the last handle: stops PostgreSQL before its directory is removed
    return runs


def main() -> None:
    options = parse_args()
    if options.serve:
        serve(int(options.serve[0]), Path(options.serve[1]))
        return
    with tempfile.TemporaryDirectory(prefix="reelm-bench-messages-") as tmp:
        runs = bench(options, Path(tmp) / "data")
    report(runs, options)


if __name__ == "__main__":
    main()
