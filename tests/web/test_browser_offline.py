"""What works without the network: the API docs (Swagger UI from our own origin, under the CSP), and the
installable app (manifest, icons, a service worker that shows an offline page and never replays private
answers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, Route, expect

from reelm.runtime import Runtime
from tests import live
from tests.web import test_browser
from tests.web.test_browser import Pages

# The browser stories' fixture, used here too: its `live_server` is the one defined below.
pages = test_browser.pages


@pytest.fixture
def live_server(runtime: Runtime, tmp_path: Path) -> Iterator[str]:
    """A server process on the test databases; nothing here needs a worker."""
    server, base = live.start_server(runtime, tmp_path / "server.log")
    yield base
    live.stop(server)


async def only_this_server(page: Page, base_url: str) -> list[str]:
    """Abort every request to another host, as if offline but for our server; returns what was refused."""
    ours = urlsplit(base_url).netloc
    refused: list[str] = []

    async def route(request_route: Route) -> None:
        url = request_route.request.url
        if urlsplit(url).netloc == ours:
            await request_route.continue_()
        else:
            refused.append(url)
            await request_route.abort("internetdisconnected")

    await page.context.route("**/*", route)
    return refused


def csp_violations(pages: Pages) -> list[str]:
    return [line for line in pages.console if "Content Security Policy" in line]


async def test_the_api_docs_list_the_operations_with_only_our_server_reachable(pages: Pages) -> None:
    page = await pages.new()
    refused = await only_this_server(page, pages.base_url)
    answer = await page.goto("/api/v1/docs")
    assert answer is not None
    assert answer.status == 200
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    operation = page.locator(".opblock-summary-path").filter(has_text="/api/v1/feed/for-you")
    await expect(operation.first).to_be_visible()
    await expect(page.locator(".opblock")).not_to_have_count(0)
    # One operation opens, as a reader would open it.
    await operation.first.click()
    await expect(page.locator(".opblock-body").first).to_be_visible()
    assert refused == []
    assert csp_violations(pages) == []
