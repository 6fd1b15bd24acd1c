# ruff: noqa: E402 - the reelm imports follow the sys.path and warnings set-up below
"""Transparency log: append throughput, inclusion-proof latency, `audit verify` of a large log.

    .venv/bin/python bench/log.py [--entries 50000] [--rounds 2] [--proofs 2000]
                                  [--verify-entries 1000000] [--skip-verify]

Starts the embedded PostgreSQL in a temporary data dir (demo settings: the log key is kept there).

1. Append. Four writers (asyncio tasks) commit transactions of 50 `record_event` calls into the realm
   outboxes (us, eu, global in turn), as the requests of a busy server would. Each round has three phases
   of N events each:
   - outbox only (the baseline): the writers alone; the rows stay in the outboxes;
   - sequencer alone: `Sequencer.run_once(max_batch=4096)` in a loop drains those rows;
   - sequenced: the writers and the sequencer loop together in one event loop (the server runs its
     sequencer as a background task of the web process), timed from the first record until the last
     entry is integrated and its checkpoint published.
   The loop sleeps 5 ms when a run finds nothing (the server's loop sleeps `log_sequence_interval_s`).
2. Inclusion proofs. The app runs in a separate uvicorn process (one worker, its own sequencer off).
   GET /api/v1/log/proof/inclusion?index=i for random i, one keep-alive connection, one request at a
   time; every proof is checked against the signed checkpoint. Baseline: GET /log/vkey (constant text,
   no database) on the same server, in alternating blocks with the proofs. GET /healthz (a query on each
   of the four databases) is shown for reference. `merkle.inclusion_proof` is also timed in this process,
   with a fresh reader per proof (tiles read from disk, as the endpoint does) and with a warm one.
3. audit verify. The log is grown to --verify-entries with generated entries written straight into the
   log's object store, at the paths the sequencer writes: tiles from `tiles.build_tiles`, bundles from
   `tiles.encode_bundle`, then a checkpoint signed with the log key. Only the verification is timed.
   `reelm audit verify` runs as a subprocess from an empty state against the server, over HTTP on
   127.0.0.1. Baseline: the same bundles and level-0 tiles fetched by a plain concurrent loop (8 bundles
   at a time, as the verifier does), with no verification.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

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

from reelm.audit.service import STAFF_ACCESS, canonical, pseudonym, record_event
from reelm.runtime import Runtime
from reelm.settings import Settings
from reelm.startup import start_runtime
from reelm.storage import RealmStore
from reelm.transparency import merkle, tiles
from reelm.transparency.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from reelm.transparency.log import Sequencer
from reelm.transparency.models import LogCheckpoint
from reelm.transparency.note import Verifier
from reelm.transparency.witnessing import store_tile_reader
from reelm.web.app import create_app

ORIGIN = "bench.reelm/log"
WRITERS = 4
WRITE_BATCH = 50
MAX_BATCH = 4096
IDLE_S = 0.005
PROOF_BLOCK = 100
PROOF_PATH = "/api/v1/log/proof/inclusion?index={}"
VERIFY_CONCURRENCY = 8  # reelm.transparency.verify.CONCURRENCY: the baseline fetches as the verifier does
GROW_CHUNK = 65_536  # generated entries per step when growing the log (bounded memory)
WRITE_CONCURRENCY = 32
APPEND_TARGET = 5_000.0
PROOF_P99_TARGET_MS = 5.0
VERIFY_TARGET_S = 60.0
console = Console(width=max(Console().width, 120))  # not the 80 columns of a pipe: the tables must fit


def bench_settings(data_dir: Path) -> Settings:
    """The one place settings are built, so the bench process and the server process agree."""
    # The server's own sequencer stays off: in step 1 this process sequences, and in step 3 the served
    # store is grown behind the database's back, which a running sequencer must not extend.
    return Settings(demo=True, data_dir=data_dir, log_origin=ORIGIN, log_sequence_interval_s=0)


# --- measuring ------------------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds of this process and of PostgreSQL (postmaster, live backends, reaped backends)."""

    def __init__(self, postmaster_pid: int | None) -> None:
        self.postmaster = psutil.Process(postmaster_pid) if postmaster_pid else None

    def snapshot(self) -> tuple[float, float]:
        return time.process_time(), postgres_cpu_s(self.postmaster)


@dataclass
class Phase:
    name: str
    entries: int
    seconds: float
    own_cpu_s: float
    postgres_cpu_s: float
    runs: int = 0  # sequencer runs that integrated something

    @property
    def rate(self) -> float:
        return self.entries / self.seconds


async def timed_phase(name: str, entries: int, meter: CpuMeter, work: Awaitable[int]) -> Phase:
    """Time `work` (which returns the sequencer runs it made) with the CPU it and PostgreSQL spent."""
    cpu0, pg0 = meter.snapshot()
    started = time.perf_counter()
    runs = await work
    seconds = time.perf_counter() - started
    cpu1, pg1 = meter.snapshot()
    return Phase(name, entries, seconds, cpu1 - cpu0, pg1 - pg0, runs)


def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


# --- step 1: append ---------------------------------------------------------------------------------------


async def record_batch(runtime: Runtime, realm: str, indexes: range) -> None:
    """One transaction of a request that performs privileged actions and records them."""
    secret = runtime.settings.secret_key
    async with runtime.databases.transaction(realm) as session:
        for i in indexes:
            await record_event(
                session,
                realm=realm,
                event_type=STAFF_ACCESS,
                actor={"kind": "staff", "id": f"staff-{i % 40}", "role": "support", "realm": realm},
                details={"decision": "allow", "resource": f"user/{i}/profile", "ticket": f"T-{i // 7}"},
                subject=pseudonym(secret, realm, i % 5000),
            )


async def write_events(runtime: Runtime, first: int, count: int) -> int:
    """WRITERS concurrent writers record `count` events in transactions of WRITE_BATCH; returns 0 runs."""
    realms = runtime.settings.realm_names
    starts = iter(range(first, first + count, WRITE_BATCH))

    async def writer() -> None:
        for start in starts:  # shared: each writer takes the next batch when it is free
            realm = realms[(start // WRITE_BATCH) % len(realms)]
            await record_batch(runtime, realm, range(start, min(start + WRITE_BATCH, first + count)))

    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return 0


async def sequence(sequencer: Sequencer, count: int) -> int:
    """Run the sequencer until `count` entries are integrated; returns the runs that added entries."""
    added = runs = 0
    while added < count:
        n = await sequencer.run_once(MAX_BATCH)
        added += n
        runs += n > 0
        if n == 0:
            await asyncio.sleep(IDLE_S)
    return runs


async def write_and_sequence(runtime: Runtime, sequencer: Sequencer, first: int, count: int) -> int:
    _, runs = await asyncio.gather(write_events(runtime, first, count), sequence(sequencer, count))
    return runs


async def append_round(runtime: Runtime, sequencer: Sequencer, first: int, n: int) -> list[Phase]:
    meter = CpuMeter(runtime.server.get_pid() if runtime.server else None)
    outbox = await timed_phase("outbox only", n, meter, write_events(runtime, first, n))
    alone = await timed_phase("sequencer alone", n, meter, sequence(sequencer, n))
    both = await timed_phase("sequenced", n, meter, write_and_sequence(runtime, sequencer, first + n, n))
    return [outbox, alone, both]


async def append_bench(runtime: Runtime, n: int, rounds: int) -> list[list[Phase]]:
    sequencer = Sequencer(runtime)
    results = []
    for round_no in range(rounds):
        phases = await append_round(runtime, sequencer, round_no * 2 * n, n)
        for p in phases:
            print(f"round {round_no + 1} {p.name:16}: {p.rate:8.0f} entries/s ({p.seconds:.2f} s)")
        results.append(phases)
    return results


def append_report(rounds: list[list[Phase]]) -> dict[str, Phase]:
    best = {p.name: p for p in rounds[0]}
    for phases in rounds[1:]:
        best |= {p.name: p for p in phases if p.rate > best[p.name].rate}
    table = Table(title=f"Append ({len(rounds)} rounds, best of each)")
    for column in ("phase", "entries/s", "seconds", "runs entries/s", "batches", "CPU µs/entry: bench", "pg"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for name, p in best.items():
        table.add_row(
            name,
            f"{p.rate:,.0f}",
            f"{p.seconds:.2f}",
            " / ".join(f"{r.rate:,.0f}" for phases in rounds for r in phases if r.name == name),
            f"{p.runs} (avg {p.entries / p.runs:,.0f})" if p.runs else "-",
            f"{p.own_cpu_s / p.entries * 1e6:.0f}",
            f"{p.postgres_cpu_s / p.entries * 1e6:.0f}",
        )
    console.print(table)
    ratio = best["sequenced"].rate / best["outbox only"].rate
    console.print(
        f"sequenced / outbox only: {ratio:.3f}; sequenced {best['sequenced'].rate:,.0f} entries/s "
        f"({verdict(best['sequenced'].rate >= APPEND_TARGET)} target >= {APPEND_TARGET:,.0f}/s)"
    )
    return best


def verdict(met: bool) -> str:
    return "[green]meets[/]" if met else "[red]misses[/]"


# --- server process -------------------------------------------------------------------------------------


def serve(port: int, data_dir: Path) -> None:
    """--serve mode: the app in one uvicorn worker."""
    runtime = Runtime.start(bench_settings(data_dir))  # the parent migrated
    app = create_app(runtime, own_runtime=True)
    run_app(app, port)


# --- step 2: inclusion proofs -----------------------------------------------------------------------------


@dataclass
class Latencies:
    name: str
    seconds: list[float]

    def ms(self, pct: int) -> float:
        return percentile(self.seconds, pct) * 1000


def signed_checkpoint(client: httpx.Client, verifier: Verifier) -> Checkpoint:
    checkpoint, _ = open_checkpoint(client.get("/log/checkpoint").text, verifier)
    return checkpoint


def check_proof(response: httpx.Response, index: int, checkpoint: Checkpoint) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"proof of {index}: HTTP {response.status_code}: {response.text[:300]}")
    body = response.json()
    proof = [base64.b64decode(h) for h in body["proof"]]
    leaf = base64.b64decode(body["leaf_hash"])
    merkle.verify_inclusion(leaf, index, body["tree_size"], proof, checkpoint.root)


def timed_get(client: httpx.Client, path: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status_code}: {response.text[:300]}")
    return elapsed, response


def proof_block(client: httpx.Client, path: str, checkpoint: Checkpoint, rng: random.Random) -> list[float]:
    """PROOF_BLOCK requests of one kind; "proof" asks for proofs of random indexes and checks each one."""
    out = []
    for _ in range(PROOF_BLOCK):
        index = rng.randrange(checkpoint.size)
        elapsed, response = timed_get(client, PROOF_PATH.format(index) if path == "proof" else path)
        if path == "proof":
            check_proof(response, index, checkpoint)
        out.append(elapsed)
    return out


def proof_latencies(
    port: int, verifier: Verifier, requests: int, rng: random.Random
) -> tuple[Checkpoint, list[Latencies]]:
    """/log/vkey, proofs and /healthz in alternating blocks over one keep-alive connection."""
    results = [Latencies("/log/vkey", []), Latencies("proof", []), Latencies("/healthz", [])]
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
        checkpoint = signed_checkpoint(client, verifier)
        for lat in results:  # warm-up: the connection, the server's pools and caches
            proof_block(client, lat.name, checkpoint, rng)
        for _ in range(max(1, requests // PROOF_BLOCK)):
            for lat in results:
                lat.seconds += proof_block(client, lat.name, checkpoint, rng)
    results[1].name = "inclusion proof"
    return checkpoint, results


async def time_proofs(
    size: int, indexes: list[int], reader_for: Callable[[], tiles.TileHashReader]
) -> list[float]:
    out = []
    for index in indexes:
        started = time.perf_counter()
        await merkle.inclusion_proof(index, size, reader_for())
        out.append(time.perf_counter() - started)
    return out


async def in_process_proofs(store: RealmStore, size: int, indexes: list[int]) -> list[Latencies]:
    """The proof alone: a fresh reader per proof, as the endpoint builds one, and one warm reader."""
    fresh = await time_proofs(size, indexes, lambda: store_tile_reader(store, size))

    async def fetch(level: int, index: int, width: int) -> bytes:
        return await store.read("log/" + tiles.tile_path(level, index, width))

    # Big enough for every full tile of the tree, so the timed pass reads nothing from disk.
    warm = tiles.TileHashReader(fetch, size, tiles.TileCache(capacity=size // tiles.TILE_WIDTH + 16))
    await time_proofs(size, indexes, lambda: warm)
    hot = await time_proofs(size, indexes, lambda: warm)
    return [Latencies("in process, fresh reader", fresh), Latencies("in process, warm reader", hot)]


def proof_report(http: list[Latencies], local: list[Latencies], size: int) -> None:
    table = Table(title=f"Inclusion proofs, log of {size:,} entries (concurrency 1, keep-alive)")
    for column in ("request", "count", "p50 ms", "p90 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column == "request" else "right")
    for lat in http + local:
        table.add_row(
            lat.name,
            str(len(lat.seconds)),
            f"{lat.ms(50):.3f}",
            f"{lat.ms(90):.3f}",
            f"{lat.ms(99):.3f}",
            f"{max(lat.seconds) * 1000:.3f}",
        )
    console.print(table)
    base, proof = http[0], http[1]
    console.print(
        f"inclusion proof / {base.name} p99: {proof.ms(99) / base.ms(99):.2f}, p50: "
        f"{proof.ms(50) / base.ms(50):.2f}; proof p99 {proof.ms(99):.2f} ms "
        f"({verdict(proof.ms(99) <= PROOF_P99_TARGET_MS)} target <= {PROOF_P99_TARGET_MS:g} ms)"
    )


# --- step 3: audit verify ---------------------------------------------------------------------------------


def generated_entries(first: int, count: int) -> Iterator[bytes]:
    """Entries shaped like `record_event`'s (same keys, similar sizes), without the outbox round trip."""
    realms = ("us", "eu", "global")
    for i in range(first, first + count):
        realm = realms[i % 3]
        yield canonical(
            {
                "type": STAFF_ACCESS,
                "time": f"2026-11-28T00:{i // 60_000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}Z",
                "realm": realm,
                "actor": {"kind": "staff", "id": f"staff-{i % 40}", "role": "support", "realm": realm},
                "subject": f"{i % 5000:032x}",
                "details": {"decision": "allow", "resource": f"user/{i}/profile", "ticket": f"T-{i // 7}"},
            }
        )


async def put_all(store: RealmStore, objects: list[tuple[str, bytes]]) -> None:
    semaphore = asyncio.Semaphore(WRITE_CONCURRENCY)

    async def put(key: str, data: bytes) -> None:
        async with semaphore:
            await store.put_bytes(key, data)

    await asyncio.gather(*(put(key, data) for key, data in objects))


async def append_chunk(store: RealmStore, size: int, entries: list[bytes]) -> list[bytes]:
    """Write the tiles and bundles of `entries` appended to a tree of `size`; returns their leaf hashes."""
    leaves = [merkle.leaf_hash(e) for e in entries]
    partials = {
        level: await store.read("log/" + tiles.tile_path(level, index, width))
        for level, index, width in tiles.needed_partials(size, size + len(leaves))
    }
    objects = [("log/" + t.path, t.data) for t in tiles.build_tiles(size, leaves, partials)]
    first, carried = divmod(size, tiles.TILE_WIDTH)
    if carried:
        old = await store.read("log/" + tiles.entries_path(first, carried))
        entries = tiles.decode_bundle(old) + entries
    for offset in range(0, len(entries), tiles.TILE_WIDTH):
        chunk = entries[offset : offset + tiles.TILE_WIDTH]
        path = tiles.entries_path(first + offset // tiles.TILE_WIDTH, len(chunk))
        objects.append(("log/" + path, tiles.encode_bundle(chunk)))
    await put_all(store, objects)
    return leaves


async def grow_log(runtime: Runtime, sequencer: Sequencer, target: int) -> tuple[int, float]:
    """Extend the sequenced log to `target` entries in its store; returns (the sequenced size, seconds)."""
    started = time.perf_counter()
    async with runtime.databases.read(None) as session:
        latest = await session.scalar(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1))
    compact = merkle.CompactRange.from_bytes(latest.compact_range) if latest else merkle.CompactRange()
    sequenced = compact.size
    while compact.size < target:
        count = min(GROW_CHUNK, target - compact.size)
        compact.extend(
            await append_chunk(sequencer.store, compact.size, list(generated_entries(compact.size, count)))
        )
    if compact.size > sequenced:
        note = sign_checkpoint(Checkpoint(ORIGIN, compact.size, compact.root()), sequencer.signer)
        await sequencer.store.put_bytes("log/checkpoint", note.encode())
    return sequenced, time.perf_counter() - started


async def fetch_everything(base_url: str, size: int) -> tuple[float, float, int]:
    """The verifier's downloads without the verification: (seconds, CPU seconds of this process, bytes)."""
    semaphore = asyncio.Semaphore(VERIFY_CONCURRENCY)
    received = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def get(path: str) -> None:
            nonlocal received
            response = await client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path}: HTTP {response.status_code}")
            received += len(response.content)

        async def fetch(index: int, width: int) -> None:
            async with semaphore:
                await asyncio.gather(
                    get(tiles.entries_path(index, width)), get(tiles.tile_path(0, index, width))
                )

        started, cpu = time.perf_counter(), time.process_time()
        await get("checkpoint")
        bundles = range((size + tiles.TILE_WIDTH - 1) // tiles.TILE_WIDTH)
        await asyncio.gather(*(fetch(i, min(tiles.TILE_WIDTH, size - i * tiles.TILE_WIDTH)) for i in bundles))
        return time.perf_counter() - started, time.process_time() - cpu, received


def reelm_command() -> list[str]:
    script = Path(sys.executable).with_name("reelm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "reelm"]


@dataclass
class Command:
    seconds: float
    cpu_s: float
    output: str


def run_command(args: list[str]) -> Command:
    """Run a command to completion; its wall time and CPU (user + system, from the kernel's accounting)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} … exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return Command(seconds, cpu, done.stdout)


def audit_verify(base_url: str, vkey: str, state: Path, size: int) -> Command:
    state.unlink(missing_ok=True)  # from an empty state: every entry is downloaded and checked
    result = run_command(
        [*reelm_command(), "audit", "verify", "--url", base_url, "--state", str(state), "--vkey", vkey]
    )
    if f"{size} entries" not in result.output:
        raise RuntimeError(f"audit verify did not verify {size} entries:\n{result.output}")
    return result


@dataclass
class VerifyResult:
    size: int
    sequenced: int
    build_s: float
    fetch_s: float
    fetch_cpu_s: float
    fetch_bytes: int
    startup: Command
    verify: Command
    server_cpu_fetch_s: float
    server_cpu_verify_s: float


async def verify_bench(
    runtime: Runtime, server_pid: int, port: int, target: int, state: Path
) -> VerifyResult:
    sequencer = Sequencer(runtime)
    sequenced, build_s = await grow_log(runtime, sequencer, target)
    size = max(target, sequenced)
    base_url = f"http://{HOST}:{port}/log"
    startup = run_command([*reelm_command(), "audit", "verify", "--help"])  # interpreter and imports only
    cpu0 = process_cpu_s(psutil.Process(server_pid))
    fetch_s, fetch_cpu_s, fetched = await fetch_everything(base_url + "/", size)
    cpu1 = process_cpu_s(psutil.Process(server_pid))
    result = audit_verify(base_url, sequencer.signer.vkey, state, size)
    cpu2 = process_cpu_s(psutil.Process(server_pid))
    return VerifyResult(
        size, sequenced, build_s, fetch_s, fetch_cpu_s, fetched, startup, result, cpu1 - cpu0, cpu2 - cpu1
    )


def verify_report(r: VerifyResult) -> None:
    table = Table(title=f"audit verify of {r.size:,} entries from an empty state (HTTP on {HOST})")
    for column in ("what", "seconds", "entries/s", "client CPU s", "server CPU s"):
        table.add_column(column, justify="left" if column == "what" else "right")
    table.add_row(
        f"fetch only ({r.fetch_bytes / 2**20:.0f} MiB)",
        f"{r.fetch_s:.2f}",
        f"{r.size / r.fetch_s:,.0f}",
        f"{r.fetch_cpu_s:.1f}",
        f"{r.server_cpu_fetch_s:.1f}",
    )
    table.add_row(
        "reelm audit verify",
        f"{r.verify.seconds:.2f}",
        f"{r.size / r.verify.seconds:,.0f}",
        f"{r.verify.cpu_s:.1f}",
        f"{r.server_cpu_verify_s:.1f}",
    )
    table.add_row("reelm audit verify --help", f"{r.startup.seconds:.2f}", "-", f"{r.startup.cpu_s:.1f}", "-")
    console.print(table)
    console.print(
        f"verify / fetch only: {r.verify.seconds / r.fetch_s:.2f}; verify {r.verify.seconds:.1f} s "
        f"({verdict(r.verify.seconds <= VERIFY_TARGET_S)} target <= {VERIFY_TARGET_S:g} s). The first "
        f"{r.sequenced:,} entries came from the sequencer; the rest were generated into the store in "
        f"{r.build_s:.1f} s (not timed)."
    )


# --- main -------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=50_000, help="events per append phase")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the three append phases")
    parser.add_argument("--proofs", type=int, default=2_000, help="inclusion proofs requested over HTTP")
    parser.add_argument("--verify-entries", type=int, default=1_000_000, help="log size for audit verify")
    parser.add_argument("--skip-verify", action="store_true", help="skip step 3")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the proof indexes")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DATA_DIR"), help=argparse.SUPPRESS)
    return parser.parse_args()


async def with_runtime(runtime: Runtime, work: Callable[[], Awaitable[Any]]) -> Any:
    """Run `work`, then close the pools in the same event loop: their connections belong to that loop."""
    try:
        return await work()
    finally:
        await runtime.close()


def served_steps(options: argparse.Namespace, runtime: Runtime, data_dir: Path) -> None:
    """Steps 2 and 3, against the app served by a separate process."""
    rng = random.Random(options.seed)
    sequencer = Sequencer(runtime)
    port = free_port()
    server = start_server(Path(__file__).resolve(), port, data_dir)
    try:
        checkpoint, http = proof_latencies(
            port, Verifier.from_vkey(sequencer.signer.vkey), options.proofs, rng
        )
        size = checkpoint.size
        indexes = [rng.randrange(size) for _ in range(options.proofs)]
        local = asyncio.run(with_runtime(runtime, lambda: in_process_proofs(sequencer.store, size, indexes)))
        proof_report(http, local, size)
        if not options.skip_verify:
            state = data_dir.parent / "audit-state.json"
            result = asyncio.run(
                with_runtime(
                    runtime, lambda: verify_bench(runtime, server.pid, port, options.verify_entries, state)
                )
            )
            verify_report(result)
    finally:
        stop_server(server)


def bench(options: argparse.Namespace, data_dir: Path) -> None:
    runtime = start_runtime(bench_settings(data_dir))
    try:
        rounds = asyncio.run(
            with_runtime(runtime, lambda: append_bench(runtime, options.entries, options.rounds))
        )
        append_report(rounds)
        served_steps(options, runtime, data_dir)
        console.print(machine_note())
    finally:
        if runtime.server is not None:
            runtime.server.cleanup()  # the last handle: stops PostgreSQL before its directory is removed


def main() -> None:
    options = parse_args()
    if options.serve:
        serve(int(options.serve[0]), Path(options.serve[1]))
        return
    with tempfile.TemporaryDirectory(prefix="reelm-bench-log-") as tmp:
        bench(options, Path(tmp) / "data")


if __name__ == "__main__":
    main()
