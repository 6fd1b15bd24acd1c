# ruff: noqa: E402 - the reelm imports follow the sys.path and warnings set-up below
"""Feed throughput: authenticated For You pages against a bare endpoint of the same app, in the same run.

    .venv/bin/python bench/feed.py [--seconds 10] [--concurrency 16] [--videos 300]

Starts the embedded PostgreSQL in a temporary data dir, signs up creators and a viewer in realm "us", inserts
READY public videos (with renditions, no media: the feed only returns URLs) and logs the viewer in. The app is
served by uvicorn in a separate process (this script in --serve mode, one worker) with one extra route,
GET /bench/constant, returning constant JSON: the floor any request of this app pays. The load generator
alternates baseline and feed phases (baseline, feed, baseline, feed) and keeps the best throughput of each.
Every feed request opens a fresh scroll (no cursor) with a bearer token and must return 200 with 10 items.

Target: feed / baseline >= 0.30 in requests per second. On a small machine the client, uvicorn and PostgreSQL
share the CPUs, so the CPU each of them spends per request is reported as well.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
from rich.console import Console
from rich.table import Table
from sqlalchemy import update

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
from reelm.accounts.models import User
from reelm.accounts.service import do_log_in, do_sign_up
from reelm.runtime import Runtime
from reelm.settings import Settings
from reelm.social.models import VideoLike
from reelm.startup import start_runtime
from reelm.videos.models import Rendition, Video, VideoStatus, Visibility
from reelm.web.app import create_app

RATIO_TARGET = 0.30
ROUNDS = 2
WARMUP_S = 1.5
PAGE_SIZE = 10
REALM = "us"
CREATORS = 20
PASSWORD = "bench-password-0123"
BASELINE_PATH = "/bench/constant"
FEED_PATH = f"/api/v1/feed/for-you?limit={PAGE_SIZE}"
CONSTANT = {"items": [], "ok": True}
TAGS = ["dance", "cooking", "travel", "pets", "diy", "comedy", "music", "fitness", "tech", "art"]
# (name, width, height, bandwidth): a portrait ladder like the transcoder's; 2-4 rungs per video.
LADDER = [
    ("360p", 360, 640, 800_000),
    ("540p", 540, 960, 1_600_000),
    ("720p", 720, 1280, 3_000_000),
    ("1080p", 1080, 1920, 6_000_000),
]


def bench_settings(data_dir: Path) -> Settings:
    """The one place settings are built, so the seeding process and the server process agree."""
    return Settings(demo=True, data_dir=data_dir)


# --- seeding ---------------------------------------------------------------------------------------------


async def sign_up(runtime: Runtime, handle: str) -> User:
    email = f"{handle}@bench.example"
    return await do_sign_up(
        runtime, handle=handle, email=email, password=PASSWORD, country="US", display_name=None
    )


def make_renditions(rng: random.Random, video_id: int, duration_s: float) -> list[Rendition]:
    rungs = LADDER[: rng.randint(2, 4)]
    return [
        Rendition(
            video_id=video_id,
            name=name,
            width=width,
            height=height,
            bandwidth=bandwidth,
            average_bandwidth=int(bandwidth * 0.8),
            codecs="avc1.64001f,mp4a.40.2",
            mp4_key=f"videos/{video_id}/{name}/video.mp4",
            hls_key=f"videos/{video_id}/{name}/hls/index.m3u8",
            size_bytes=int(bandwidth / 8 * duration_s),
        )
        for name, width, height, bandwidth in rungs
    ]


def make_video(rng: random.Random, realm_code: int, owner_id: int, now: datetime) -> Video:
    published = now - timedelta(hours=rng.uniform(0, 72))
    created = published - timedelta(minutes=rng.uniform(1, 10))
    video_id = ids.new_id(realm_code, now_ms=int(created.timestamp() * 1000))
    duration_s = rng.uniform(5, 60)
    # Long-tailed views with engagement proportional to them, so the ranking has a real spread to sort.
    views = int(rng.lognormvariate(6, 2))
    likes = int(views * rng.uniform(0.0, 0.12))
    tags = rng.sample(TAGS, rng.randint(0, 3))
    video = Video(
        id=video_id,
        owner_id=owner_id,
        caption=" ".join(["Bench clip", *(f"#{t}" for t in tags)]),
        hashtags=tags,
        mentions=[],
        visibility=Visibility.PUBLIC,
        status=VideoStatus.READY,
        status_detail="",
        width=1080,
        height=1920,
        duration_s=duration_s,
        poster_key=f"videos/{video_id}/poster.jpg",
        created_at=created,
        published_at=published,
        like_count=likes,
        comment_count=int(likes * rng.uniform(0.0, 0.1)),
        share_count=int(likes * rng.uniform(0.0, 0.05)),
        view_count=views,
        original_key=f"videos/{video_id}/original",
        original_size=int(12_000_000 / 8 * duration_s),
    )
    video.renditions = make_renditions(rng, video_id, duration_s)
    return video


async def insert_videos(
    runtime: Runtime, rng: random.Random, creators: list[User], viewer: User, count: int
) -> None:
    code = runtime.settings.realm(REALM).code
    now = datetime.now(UTC)
    videos = [make_video(rng, code, rng.choice(creators).id, now) for _ in range(count)]
    async with runtime.databases.transaction(REALM) as session:
        session.add_all(videos)
        await session.flush()  # likes refer to the videos through a foreign key but no relationship
        # Some likes by the viewer, so liked_by_me is computed from real rows rather than always false.
        session.add_all(VideoLike(user_id=viewer.id, video_id=v.id) for v in rng.sample(videos, count // 10))
        for owner_id, published in Counter(v.owner_id for v in videos).items():
            await session.execute(update(User).where(User.id == owner_id).values(video_count=published))


async def seed(runtime: Runtime, rng: random.Random, videos: int) -> str:
    """Creators, a viewer, videos; returns the viewer's bearer token. Leaves no connection open."""
    try:
        creators = [await sign_up(runtime, f"creator{i:02d}") for i in range(CREATORS)]
        viewer = await sign_up(runtime, "viewer")
        await insert_videos(runtime, rng, creators, viewer, videos)
        token, _, _ = await do_log_in(
            runtime, login="viewer", password=PASSWORD, kind="api", ip=HOST, user_agent="bench/feed"
        )
        return token
    finally:
        await runtime.close()


# --- server process --------------------------------------------------------------------------------------


async def constant() -> dict[str, object]:
    return CONSTANT


def serve(port: int, data_dir: Path) -> None:
    """--serve mode: the app plus the baseline route, in one uvicorn worker."""
    # The parent already applied the migrations to this data dir.
    runtime = Runtime.start(bench_settings(data_dir))
    app = create_app(runtime, own_runtime=True)
    app.add_api_route(BASELINE_PATH, constant, methods=["GET"], include_in_schema=False)
    # First in the route table, so the baseline is the app's floor and route matching is charged to the feed.
    app.router.routes.insert(0, app.router.routes.pop())
    run_app(app, port)


# --- load ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    headers: dict[str, str]
    check: Callable[[httpx.Response], str | None]  # a description of what is wrong, or None


def check_constant(response: httpx.Response) -> str | None:
    if response.status_code != 200 or response.json() != CONSTANT:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    return None


def check_feed(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    items = response.json().get("items")
    if not isinstance(items, list) or len(items) != PAGE_SIZE:
        return f"expected {PAGE_SIZE} items, got {len(items) if isinstance(items, list) else items!r}"
    return None


class CpuMeter:
    """CPU seconds spent by the uvicorn process, by PostgreSQL (postmaster, backends) and by this client."""

    def __init__(self, server_pid: int, postmaster_pid: int | None) -> None:
        self.server = psutil.Process(server_pid)
        self.postmaster = psutil.Process(postmaster_pid) if postmaster_pid else None

    def snapshot(self) -> tuple[float, float, float]:
        return process_cpu_s(self.server), postgres_cpu_s(self.postmaster), time.process_time()

    def since(self, start: tuple[float, float, float]) -> tuple[float, float, float]:
        now = self.snapshot()
        server, postgres, client = (b - a for a, b in zip(start, now, strict=True))
        return server, postgres, client


@dataclass
class Phase:
    name: str
    elapsed_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    server_cpu_s: float = 0.0
    postgres_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_s)

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed_s

    def percentile_ms(self, pct: int) -> float:
        return statistics.quantiles(self.latencies_s, n=100, method="inclusive")[pct - 1] * 1000

    def cpu_ms_per_request(self, cpu_s: float) -> float:
        return cpu_s / self.requests * 1000


async def user(client: httpx.AsyncClient, target: Target, deadline: float, phase: Phase) -> None:
    """One simulated client: back-to-back requests until the deadline or the first error anywhere."""
    while time.perf_counter() < deadline and not phase.errors:
        started = time.perf_counter()
        try:
            response = await client.get(target.path, headers=target.headers)
            problem = target.check(response)
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if problem is not None:
            phase.errors.append(problem)
            return
        phase.latencies_s.append(time.perf_counter() - started)


async def run_phase(
    client: httpx.AsyncClient, target: Target, seconds: float, concurrency: int, meter: CpuMeter
) -> Phase:
    phase = Phase(target.name)
    cpu_start = meter.snapshot()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(user(client, target, deadline, phase) for _ in range(concurrency)))
    # Requests in flight at the deadline finish and count, so the elapsed time includes them.
    phase.elapsed_s = time.perf_counter() - started
    phase.server_cpu_s, phase.postgres_cpu_s, phase.client_cpu_s = meter.since(cpu_start)
    if phase.errors:
        raise RuntimeError(f"{target.name}: {len(phase.errors)} failed request(s), first: {phase.errors[0]}")
    return phase


async def load(port: int, token: str, options: argparse.Namespace, meter: CpuMeter) -> dict[str, list[Phase]]:
    baseline = Target("baseline", BASELINE_PATH, {}, check_constant)
    feed = Target("feed", FEED_PATH, {"Authorization": f"Bearer {token}"}, check_feed)
    limits = httpx.Limits(max_connections=options.concurrency, max_keepalive_connections=options.concurrency)
    runs: dict[str, list[Phase]] = {"baseline": [], "feed": []}
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", limits=limits, timeout=30) as client:
        # Warm-up: opens the keep-alive and database connections and fills the statement caches.
        for target in (baseline, feed):
            await run_phase(client, target, WARMUP_S, options.concurrency, meter)
        for round_no in range(1, ROUNDS + 1):
            for target in (baseline, feed):
                phase = await run_phase(client, target, options.seconds, options.concurrency, meter)
                runs[target.name].append(phase)
                print(f"round {round_no} {target.name:8}: {phase.rps:8.1f} req/s, {phase.requests} requests")
        size = len((await client.get(feed.path, headers=feed.headers)).content)
        print(f"feed page size: {size / 1024:.1f} KiB")
    return runs


# --- report ----------------------------------------------------------------------------------------------


def server_cpu_ms(phase: Phase) -> float:
    return phase.cpu_ms_per_request(phase.server_cpu_s + phase.postgres_cpu_s)


def results_table(runs: dict[str, list[Phase]], best: dict[str, Phase], seconds: float) -> Table:
    table = Table(
        title=f"Feed throughput (best of {ROUNDS} runs of {seconds:g} s)",
        caption=f"baseline: GET {BASELINE_PATH}; feed: GET {FEED_PATH} with a bearer token",
    )
    table.add_column("endpoint")
    for column in ("req/s", "p50 ms", "p99 ms", "runs req/s", "CPU ms/req: uvicorn", "postgres", "client"):
        table.add_column(column, justify="right")
    for name, phase in best.items():
        table.add_row(
            name,
            f"{phase.rps:.1f}",
            f"{phase.percentile_ms(50):.1f}",
            f"{phase.percentile_ms(99):.1f}",
            " / ".join(f"{p.rps:.0f}" for p in runs[name]),
            f"{phase.cpu_ms_per_request(phase.server_cpu_s):.2f}",
            f"{phase.cpu_ms_per_request(phase.postgres_cpu_s):.2f}",
            f"{phase.cpu_ms_per_request(phase.client_cpu_s):.2f}",
        )
    return table


def report(runs: dict[str, list[Phase]], options: argparse.Namespace) -> None:
    best = {name: max(phases, key=lambda p: p.rps) for name, phases in runs.items()}
    base, feed = best["baseline"], best["feed"]
    console = Console(width=max(Console().width, 120))  # not the 80 columns of a pipe: the table must fit
    console.print(results_table(runs, best, options.seconds))
    ratio = feed.rps / base.rps
    verdict = "[green]meets[/]" if ratio >= RATIO_TARGET else "[red]misses[/]"
    console.print(f"feed / baseline throughput: {ratio:.3f}  ({verdict} target >= {RATIO_TARGET:.2f})")
    # Throughput on a shared small machine depends on whatever else runs, the client included; the server-side
    # CPU a request costs depends much less on it, so its ratio is the steadier view of the same question.
    console.print(
        f"server CPU per request (uvicorn + postgres), baseline / feed: "
        f"{server_cpu_ms(base) / server_cpu_ms(feed):.3f}"
    )
    if base.cpu_ms_per_request(base.client_cpu_s) > server_cpu_ms(base):
        console.print(
            "note: the client spends more CPU per baseline request than the server, so the baseline "
            "is client-bound and the throughput ratio flatters the feed"
        )
    console.print(machine_note(f"concurrency {options.concurrency}", f"{options.videos} videos"))


# --- main ------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured phase")
    parser.add_argument("--concurrency", type=int, default=16, help="simultaneous clients")
    parser.add_argument("--videos", type=int, default=300, help="READY public videos in the realm")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the generated catalogue")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DATA_DIR"), help=argparse.SUPPRESS)
    return parser.parse_args()


def bench(options: argparse.Namespace, data_dir: Path) -> dict[str, list[Phase]]:
    runtime = start_runtime(bench_settings(data_dir))
    try:
        token = asyncio.run(seed(runtime, random.Random(options.seed), options.videos))
        port = free_port()
        server = start_server(Path(__file__).resolve(), port, data_dir)
        try:
            meter = CpuMeter(server.pid, runtime.server.get_pid() if runtime.server else None)
            return asyncio.run(load(port, token, options, meter))
        finally:
            stop_server(server)
    finally:
        if runtime.server is not None:
            runtime.server.cleanup()  # the last handle: stops PostgreSQL before its directory is removed


def main() -> None:
    options = parse_args()
    if options.serve:
        serve(int(options.serve[0]), Path(options.serve[1]))
        return
    with tempfile.TemporaryDirectory(prefix="reelm-bench-feed-") as tmp:
        runs = bench(options, Path(tmp) / "data")
    report(runs, options)


if __name__ == "__main__":
    main()
