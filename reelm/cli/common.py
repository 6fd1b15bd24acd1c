"""What every `reelm` sub-command needs: settings from the environment and options, a runtime for a task."""

from __future__ import annotations

import asyncio
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


def load_settings(data_dir: Path | None, **overrides: object) -> Settings:
    """Settings from REELM_* variables, with command-line options taking precedence."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
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
