"""Accessibility and the shell at phone and desktop size, in Chromium.

- axe-core (the copy that the axe-playwright-python package bundles, so it runs offline) checks every page
  at both sizes: no serious or critical violation, each one named with its elements when there is.
- The feed's top bar at 390 px shows every control whole; the realm chip is not over the video and the
  unmute control is on it; "why this video" never covers the caption; the phone's tab bar has a bell with
  the unread count that opens the notifications; the footer links are in the desktop sidebar and at the
  foot of phone pages; the transparency log's tables never break a word.
- The feed by keyboard alone: arrows move and focus the video, Space pauses, m says the sound in the live
  region, l likes; with reduced motion a move jumps instead of scrolling smoothly.
- Screenshots of the top bar at 390 px and of the feed at both sizes are kept in build/screenshots (set
  REELM_SCREENSHOTS to keep them elsewhere) and compared with the previous run's: a generous share of the
  pixels may change (videos, fonts), a layout that moved fails. Delete the folder after a change of design.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from reelm.messages.policy import MessagingSettings
from reelm.runtime import Runtime
from tests import live
from tests.conftest import PASSWORD, make_account
from tests.factories import app_of, make_tiny_clip, publish
from tests.moderation.common import decide, make_staff, queue, report
from tests.sounds.test_sound_pages import plant_sound
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_browser import Pages
from tests.web.test_browser_inbox import SERVER_ENV

pages = test_browser.pages
AXE = files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")
SERIOUS = ("serious", "critical")
SCREENSHOTS = Path(os.environ.get("REELM_SCREENSHOTS", Path(__file__).parents[2] / "build" / "screenshots"))
# Share of pixels that may differ from the previous run's screenshot: the video frames and text
# rendering move a little; a control that moved or vanished changes far more.
MAX_CHANGED = 0.25


@pytest.fixture
def live_server(runtime: Runtime, tmp_path: Path) -> Iterator[str]:
    """A server on the test databases; videos are transcoded in-process, so no worker."""
    server, base = live.start_server(runtime, tmp_path / "server.log", extra_env=SERVER_ENV)
    yield base
    live.stop(server)


class World:
    """What the pages show: Maya's videos and sound, Alice's follow and message request, a case, a ruling."""

    def __init__(
        self, video: str, tag: str, conversation: str, case: str, statement: str, sound: str
    ) -> None:
        self.video = video
        self.sound = sound
        self.tag = tag
        self.conversation = conversation
        self.case = case
        self.statement = statement


@pytest.fixture
async def world(client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path) -> World:
    app_of(client).state.messaging.policy = MessagingSettings(min_account_age_hours=0)  # seconds-old accounts
    maya = await make_account(client, "maya")
    clip = make_tiny_clip(tmp_path)
    video = await publish(client, runtime, maya, clip, caption="Warm-up #stretch")
    await publish(client, runtime, maya, clip, caption="Cool-down #stretch")
    alice = await make_account(client, "alice")
    assert (await client.post("/api/v1/users/maya/follow", headers=alice.auth)).status_code == 200
    started = await client.post(
        "/api/v1/conversations",
        headers=alice.auth,
        json={"handles": ["maya"], "message": {"body": "Hi Maya, a question about your warm-up"}},
    )
    assert started.status_code == 201, started.text
    other = await publish(client, runtime, alice, clip, caption="Reported")
    assert (await report(client, maya, other)).status_code == 201
    assert (await report(client, alice, video)).status_code == 201
    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    cases = {c["content_id"]: c["id"] for c in (await queue(client, reviewer, "us")).json()["items"]}
    decided = await decide(client, reviewer, cases[other], action="label", label="Contains a claim")
    assert decided.status_code == 201, decided.text
    sound = await plant_sound(runtime, maya, video)  # the sound page, with the creator's rename
    return World(video, "stretch", started.json()["id"], cases[video], decided.json()["id"], sound)


async def log_in(page: Page, handle: str) -> None:
    await page.goto("/login")
    await page.locator("input[name=login]").fill(handle)
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.locator("main").get_by_role("button", name="Log in").click()
    await expect(page.locator("body")).to_have_attribute("data-viewer-handle", handle)


async def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations of the page as it is now, one line per element."""
    await page.evaluate(AXE)
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {' '.join(node['target'])}: "
        + " ".join(str(node.get("failureSummary") or "").split())
        for v in found
        if v["impact"] in SERIOUS
        for node in v["nodes"]
    ]


async def settled(page: Page, path: str) -> None:
    """The page loaded, and the feed's first video (or its empty state) is there."""
    await page.goto(path)
    if await page.locator("#feed[data-endpoint]").count():
        await expect(page.locator(".feed-item.is-active, #feed-empty:not([hidden])")).to_have_count(1)
    else:
        await page.wait_for_load_state("load")


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_every_page_passes_axe(pages: Pages, world: World) -> None:
    visitor = await pages.new()
    maya = await pages.new()
    await log_in(maya, "maya")
    reviewer = await pages.new()
    await log_in(reviewer, "rita")
    visits: list[tuple[Page, str]] = [
        (visitor, "/login"),
        (visitor, "/signup"),
        (visitor, "/"),
        (visitor, "/following"),
        (visitor, "/v/0"),  # the error page: no such video
        (visitor, f"/sound/{world.sound}"),
        *(
            (maya, path)
            for path in (
                "/",
                "/following",
                f"/v/{world.video}",
                "/@maya",
                f"/tag/{world.tag}",
                f"/sound/{world.sound}",
                f"/sound/{world.sound}/watch?start={world.video}",
                "/upload",
                "/inbox",
                f"/inbox/{world.conversation}",
                "/notifications",
                "/settings",
                "/log",
                "/transparency/us",
            )
        ),
        (reviewer, "/review"),
        (reviewer, f"/review/cases/{world.case}"),
        (reviewer, f"/statements/{world.statement}"),
    ]
    problems: list[str] = []
    for page, path in visits:
        await settled(page, path)
        problems += [f"{path}: {line}" for line in await serious_violations(page)]
        # A page wider than the screen makes phones zoom out, and fixed sheets then sit where taps miss.
        if await page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth"):
            problems.append(f"{path}: wider than the screen")
    assert problems == [], "axe-core found serious or critical violations:\n" + "\n".join(problems)


# ---- the shell ---------------------------------------------------------------------------------------


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


async def box(locator: Locator) -> dict[str, float]:
    found = await locator.bounding_box()
    assert found is not None, f"{locator} has no box (not displayed)"
    return {"x": found["x"], "y": found["y"], "width": found["width"], "height": found["height"]}


async def whole_controls(page: Page, container: Locator) -> list[str]:
    """Controls in `container` that are outside the viewport or whose text is cut (scrollWidth)."""
    clipped: list[str] = await container.evaluate(
        """(root) => {
            const width = document.documentElement.clientWidth;
            const cut = [];
            for (const el of [root, ...root.querySelectorAll("a, button, select, input")]) {
                const r = el.getBoundingClientRect();
                const name = (el.textContent || el.getAttribute("aria-label") || el.tagName).trim();
                if (r.width === 0 && r.height === 0) continue;  // not displayed
                if (r.left < -0.5 || r.right > width + 0.5) cut.push(`${name}: outside the viewport`);
                if (el.scrollWidth > el.clientWidth + 1) cut.push(`${name}: text cut`);
            }
            return cut;
        }"""
    )
    return clipped


async def compare_screenshot(browser: Browser, name: str, png: bytes) -> None:
    """Compare with the previous run's screenshot of the same name (if any), then keep this one."""
    kept = SCREENSHOTS / f"{name}.png"
    previous = await asyncio.to_thread(_swap, kept, png)
    if previous is None:
        return
    page = await browser.new_page()  # about:blank: no page's CSP stands between canvas and data URLs
    try:
        changed: float = await page.evaluate(
            """async ([a, b]) => {
                const load = (src) => new Promise((ok, fail) => {
                    const img = new Image(); img.onload = () => ok(img); img.onerror = fail; img.src = src;
                });
                const [one, two] = await Promise.all([load(a), load(b)]);
                if (one.width !== two.width || one.height !== two.height) return 1;
                const pixels = (img) => {
                    const canvas = document.createElement("canvas");
                    canvas.width = img.width; canvas.height = img.height;
                    const context = canvas.getContext("2d");
                    context.drawImage(img, 0, 0);
                    return context.getImageData(0, 0, img.width, img.height).data;
                };
                const [p, q] = [pixels(one), pixels(two)];
                let differ = 0;
                for (let i = 0; i < p.length; i += 4) {
                    const d = [0, 1, 2].reduce((sum, c) => sum + Math.abs(p[i + c] - q[i + c]), 0);
                    if (d > 48) differ += 1;
                }
                return differ / (p.length / 4);
            }""",
            [data_url(previous), data_url(png)],
        )
    finally:
        await page.close()
    assert changed <= MAX_CHANGED, (
        f"{name}: {changed:.0%} of the pixels changed since the previous run ({kept}); "
        "if the design changed on purpose, delete the old screenshots"
    )


def _swap(path: Path, png: bytes) -> bytes | None:
    """Write `png` at `path`; what was there before, if anything."""
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = path.read_bytes() if path.exists() else None
    path.write_bytes(png)
    return previous


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


async def still(page: Page) -> None:
    """Every video paused at its start, so that screenshots of two runs show the same frame."""
    await page.evaluate(
        """() => Promise.all([...document.querySelectorAll("video")].map((v) => {
            v.pause();
            if (!v.currentTime) return null;
            const seeked = new Promise((done) => v.addEventListener("seeked", done, { once: true }));
            v.currentTime = 0;
            return seeked;
        }))"""
    )


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_the_shell_at_every_size(pages: Pages, world: World) -> None:
    phone = pages.viewport == PHONE
    size = "phone" if phone else "desktop"
    page = await pages.new()
    await log_in(page, "maya")
    await settled(page, "/")
    active = page.locator(".feed-item.is-active")
    stage = await box(active.locator(".stage"))

    # The top bar: every control whole and inside the viewport (the ordering is a segmented control).
    top = page.get_by_test_id("feed-top")
    assert await whole_controls(page, top) == []
    modes = page.get_by_test_id("feed-mode").get_by_role("button")
    await expect(modes).to_have_text(["Personalised", "Popular", "Latest"])
    await expect(modes.first).to_have_attribute("aria-pressed", "true")

    # The realm chip is never over the video; the unmute control is on it.
    realm = page.locator(".nav .realm-badge")
    if await realm.is_visible():
        assert not overlap(await box(realm), stage)
    pill = active.locator(".unmute-pill")
    await expect(pill).to_be_visible()
    assert inside(await box(pill), stage)

    # "Why this video" never covers the caption.
    await active.get_by_test_id("why-button").click()
    bubble = active.locator(".why-bubble")
    await expect(bubble).to_be_visible()
    assert not overlap(await box(bubble), await box(active.locator(".caption")))
    await active.get_by_test_id("why-button").click()
    await expect(bubble).to_be_hidden()

    if not phone:  # the side column: who made the playing video, and why it is here
        handle = await active.locator(".caption-handle").text_content()
        await expect(page.get_by_test_id("side-creator")).to_contain_text(str(handle))
        await expect(page.get_by_test_id("side-why")).to_be_visible()

    await still(page)
    await compare_screenshot(pages.browser, f"feed-{size}", await page.screenshot())
    if phone:
        await compare_screenshot(pages.browser, "top-bar-phone", await top.screenshot())

    # The bell, with Alice's follow and message request unread, opens the notifications.
    bell = page.get_by_test_id("nav-notifications")
    await expect(bell).to_be_visible()
    await expect(bell.locator("[data-badge=notifications]")).to_have_text("2")
    await expect(bell).to_have_accessible_name(re.compile("Notifications"))
    await bell.click()
    await expect(page).to_have_url(f"{pages.base_url}/notifications")

    # The footer links: the sidebar's on desktops, the foot of the page on phones.
    footer = page.get_by_test_id("site-footer" if phone else "nav-footer")
    await expect(footer).to_be_visible()
    await footer.get_by_role("link", name="Transparency log").click()
    await expect(page).to_have_url(f"{pages.base_url}/log")

    # The log's tables: no word broken over two lines, the page no wider than the screen.
    cells = page.locator(".log-table td, .log-table th")
    assert await cells.count() > 0
    wrapped: list[str] = await cells.evaluate_all(
        """(cells) => cells.filter((cell) => {
            const range = document.createRange();
            range.selectNodeContents(cell);
            const height = range.getBoundingClientRect().height;
            return height >= 2 * parseFloat(getComputedStyle(cell).fontSize) * 1.2;  // two lines or more
        }).map((cell) => cell.textContent)"""
    )
    assert wrapped == []
    assert await page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_the_feed_by_keyboard(pages: Pages, world: World) -> None:
    page = await pages.new(reduced_motion="reduce")
    await log_in(page, "maya")
    await settled(page, "/")
    items = page.get_by_test_id("feed-item")
    await expect(items.nth(1)).to_be_attached()
    active = page.locator(".feed-item.is-active")
    await expect(active).to_have_attribute("aria-posinset", "1")

    # Reduced motion: a move lands at once, with no smooth scroll in between.
    landed: bool = await page.evaluate(
        """() => {
            const feed = document.getElementById("feed");
            const second = feed.querySelectorAll(".feed-item")[1];
            document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true }));
            return Math.abs(feed.scrollTop - second.offsetTop) < 2;
        }"""
    )
    assert landed
    await expect(active).to_have_attribute("aria-posinset", "2")
    await page.keyboard.press("k")
    await expect(active).to_have_attribute("aria-posinset", "1")
    await expect(active).to_be_focused()  # a screen reader reads the video that keyboard moved to
    await page.keyboard.press("ArrowDown")
    await expect(active).to_have_attribute("aria-posinset", "2")
    await expect(active).to_be_focused()

    await page.keyboard.press(" ")
    await expect(active.locator("video")).to_have_js_property("paused", True)
    await page.keyboard.press("m")
    toasts = page.locator("#toasts")
    await expect(toasts).to_have_attribute("role", "status")  # a live region: announced when it changes
    await expect(toasts.locator(".toast").last).to_have_text("Sound off")
    await page.keyboard.press("l")
    await expect(active.get_by_test_id("like-button")).to_have_attribute("aria-pressed", "true")
