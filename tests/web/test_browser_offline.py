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


async def controlled_page(pages: Pages) -> Page:
    """A page of the site once its service worker is installed and controls it."""
    page = await pages.new()
    await page.goto("/")
    assert await page.evaluate("navigator.serviceWorker.ready.then((r) => r.active.scriptURL)")
    await page.wait_for_function("navigator.serviceWorker.controller !== null")
    return page


async def test_the_installed_app_opens_offline_to_a_page_that_says_so(pages: Pages) -> None:
    page = await controlled_page(pages)
    manifest = await page.request.get(await page.locator("link[rel=manifest]").get_attribute("href") or "")
    assert manifest.ok
    assert manifest.headers["content-type"] == "application/manifest+json"
    assert (await manifest.json())["display"] == "standalone"

    await page.context.set_offline(True)
    await page.goto("/following")
    await expect(page.get_by_role("heading", name="You're offline")).to_be_visible()
    await expect(page.get_by_test_id("offline")).to_be_visible()
    # Its style came from the worker's cache: the dark page, not the browser's white default.
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(0, 0, 0)"

    await page.context.set_offline(False)
    await page.get_by_role("link", name="Try again").click()
    await expect(page.get_by_test_id("offline")).to_have_count(0)
    assert page.url.endswith("/login?next=/following")  # the real page again (it asks a visitor to log in)


async def test_api_answers_are_never_kept_for_offline_use(pages: Pages) -> None:
    page = await controlled_page(pages)
    online = await page.evaluate("fetch('/api/v1/feed/for-you').then((r) => r.status)")
    assert online == 200
    cached = await page.evaluate(
        """async () => {
            const urls = [];
            for (const name of await caches.keys()) {
                for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
            }
            return urls;
        }"""
    )
    assert any("/offline" in url for url in cached)
    assert not [url for url in cached if "/api/" in url or "/media/" in url], cached

    await page.context.set_offline(True)
    offline = await page.evaluate(
        "fetch('/api/v1/feed/for-you').then((r) => `answered ${r.status}`, () => 'failed')"
    )
    assert offline == "failed"
