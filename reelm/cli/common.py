"""What every `reelm` sub-command needs: settings from the environment and options, a runtime for a task."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console

from reelm.runtime import Runtime
from reelm.settings import Settings
from reelm.startup import start_runtime

T = TypeVar("T")
USAGE_ERROR = 2  # exit status for bad arguments or settings; nothing was changed

console = Console()


# `reelm demo` leaves this file in its data directory, so that every command pointed at that directory runs
# with demo settings without being told; a directory without it never falls back to demo settings.
DEMO_MARKER = "reelm-demo"


def data_dir_of(data_dir: Path | None) -> Path:
    """The data directory a command works on: its option, else REELM_DATA_DIR, else the default."""
    if data_dir is not None:
        return data_dir
    return Path(os.environ.get("REELM_DATA_DIR") or Settings.model_fields["data_dir"].default)


def load_settings(data_dir: Path | None, **overrides: object) -> Settings:
    """Settings from REELM_* variables, with command-line options taking precedence."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    marked = (data_dir_of(data_dir) / DEMO_MARKER).is_file()
    if marked and "demo" not in values and "REELM_DEMO" not in os.environ:
        values["demo"] = True
    try:
        return Settings(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        console.print(f"[red]Invalid settings:[/red] {exc}")
        raise typer.Exit(USAGE_ERROR) from exc


def with_runtime(
    settings: Settings, work: Callable[[Runtime], Awaitable[T]], *, realms: list[str] | None = None
) -> T:
    """Start a runtime (only `realms`' databases when given), run `work` on it, and close it again."""
    runtime = start_runtime(settings, realms=realms)

    async def run() -> T:
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    return asyncio.run(run())
