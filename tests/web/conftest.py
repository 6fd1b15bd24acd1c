"""Browser tests: a real server and worker, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from reelm.runtime import Runtime
from tests import live

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture
def live_server(runtime: Runtime, tmp_path: Path) -> Iterator[str]:
    """Base URL of a server process with one worker per realm, on the test databases."""
    server, base = live.start_server(runtime, tmp_path / "server.log")
    workers = [live.start_worker(runtime, realm, tmp_path / f"worker-{realm}.log") for realm in ("us", "eu")]
    yield base
    for process in [server, *workers]:
        live.stop(process)


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; browser tests skip without it (fail in CI)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing at /usr/bin/chromium; .ci/run installs it")
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright  # noqa: PLC0415 - only browser tests need it

    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield instance
        await instance.close()
