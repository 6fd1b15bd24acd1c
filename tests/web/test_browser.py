"""Browser stories: a real server and workers driven by Chromium, at a phone and a desktop viewport.

Each test is one whole story, because every test pays for its own server, workers and databases:
- a creator signs up, uploads two clips, and checks the profile, the video page and its hashtag;
- a viewer in the same realm watches, likes, comments and replies, follows, moves with the keyboard,
  shares, and sees the videos in Following; an anonymous visitor who presses like is sent to log in;
- a file that is not a video is refused with the server's reason, and nothing is published.

Set BROWSER_SCREENSHOTS=/some/dir to keep screenshots of the main screens.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Locator,
    Page,
    Response,
    Route,
    ViewportSize,
    expect,
)

from tests.clips import make_clip, make_not_a_video
from tests.conftest import PASSWORD
from tests.web.conftest import DESKTOP, PHONE

# Everything waits on auto-retrying assertions; transcoding gets the longest wait.
expect.set_options(timeout=20_000)
TRANSCODE_TIMEOUT_MS = 60_000

CAPTION = "Sunset over the bay #goldenhour <b>not bold</b>"
TAG = "goldenhour"
SCREENSHOTS = os.environ.get("BROWSER_SCREENSHOTS")


# ---- helpers -------------------------------------------------------------------------------------------


class Pages:
    """Opens browser contexts for one test, records uncaught page errors, and closes everything."""

    def __init__(self, browser: Browser, base_url: str, viewport: dict[str, int]) -> None:
        self.browser = browser
        self.base_url = base_url
        self.viewport = ViewportSize(width=viewport["width"], height=viewport["height"])
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []
        self.console: list[str] = []

    async def new(self, **options: Any) -> Page:
        phone = self.viewport == PHONE
        context = await self.browser.new_context(
            base_url=self.base_url,
            viewport=self.viewport,
            is_mobile=phone,
            has_touch=phone,
            locale="en-US",
            **options,
        )
        self.contexts.append(context)
        page = await context.new_page()

        def on_error(error: Error) -> None:
            self.errors.append(f"{page.url}: {error}")

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.console.append(f"{page.url}: {message.text}")

        page.on("pageerror", on_error)
        page.on("console", on_console)
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def pages(request: pytest.FixtureRequest, browser: Browser, live_server: str) -> AsyncIterator[Pages]:
    viewport = getattr(request, "param", DESKTOP)
    opened = Pages(browser, live_server, viewport)
    yield opened
    await opened.close()
    print("\n".join(["console errors (shown when a test fails):", *opened.console]))
    assert opened.errors == [], "uncaught errors in the pages"


def size_name(page: Page) -> str:
    return "phone" if page.viewport_size == PHONE else "desktop"


async def shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"browser-{size_name(page)}-{name}.png"))


async def sign_up(
    page: Page, handle: str, display_name: str, *, country: str = "US", realm: str = "us"
) -> None:
    """Sign up through the HTML form (by default in the US, so realm us); ends logged in on For You."""
    await page.goto("/signup")
    await page.locator("input[name=handle]").fill(handle)
    await page.locator("input[name=display_name]").fill(display_name)
    await page.locator("input[name=email]").fill(f"{handle}@example.org")
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.locator("select[name=country]").select_option(country)
    await page.get_by_role("button", name="Sign up").click()
    # A new account is first offered interests and creators to follow; skipping goes on to For You.
    await page.get_by_test_id("welcome-continue").click()
    await expect(page.locator("body")).to_have_attribute("data-viewer-handle", handle)
    await expect(page.locator("body")).to_have_attribute("data-realm", realm)
    assert urlsplit(page.url).path == "/"


async def upload(page: Page, clip: Path, caption: str, *, watch_progress: bool = False) -> str:
    """Post a clip through /upload and wait until it is Ready; returns the video id."""
    if urlsplit(page.url).path != "/upload":
        await page.goto("/upload")
    await page.get_by_test_id("upload-file").set_input_files(clip)
    await expect(page.locator("#preview")).to_be_visible()
    await page.get_by_test_id("upload-caption").fill(caption)

    released = asyncio.Event()

    async def hold(route: Route) -> None:
        # A tiny file on localhost is sent in an instant: hold the request until the progress was seen.
        await released.wait()
        await route.continue_()

    if watch_progress:
        await page.route("**/api/v1/videos", hold)
    async with page.expect_response(is_upload) as info:
        await page.get_by_test_id("upload-submit").click()
        if watch_progress:
            await expect(page.get_by_test_id("upload-progress")).to_be_visible()
            await expect(page.get_by_test_id("upload-submit")).to_have_text("Posting…")
            await expect(page.get_by_test_id("upload-status")).to_have_text("Uploading…")
            released.set()
    response = await info.value
    if watch_progress:
        await page.unroute("**/api/v1/videos", hold)
    assert response.status == 202, await response.text()
    video_id = (await response.json())["id"]

    status = page.get_by_test_id("upload-status")
    await expect(status).to_contain_text("Ready", timeout=TRANSCODE_TIMEOUT_MS)
    await expect(page.get_by_test_id("upload-progress")).to_be_hidden()
    await expect(status.get_by_role("link", name="View video")).to_have_attribute("href", f"/v/{video_id}")
    return str(video_id)


def is_upload(response: Response) -> bool:
    return response.url.endswith("/api/v1/videos") and response.request.method == "POST"


def feed_item(page: Page, video_id: str) -> Locator:
    return page.locator(f'[data-testid="feed-item"][data-video-id="{video_id}"]')


async def wait_playing(page: Page, item_selector: str = ".feed-item.is-active") -> None:
    """The item's <video> has a frame, is not paused, and its time moves."""
    await page.wait_for_function(
        """(sel) => {
            const v = document.querySelector(`${sel} video`);
            return Boolean(v) && !v.paused && v.readyState >= 2 && v.currentTime > 0;
        }""",
        arg=item_selector,
        timeout=20_000,
    )


async def press(page: Page, locator: Locator) -> None:
    """A tap on phones, a click on desktops."""
    if page.viewport_size == PHONE:
        await locator.tap()
    else:
        await locator.click()


# ---- the stories ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_creator_and_viewer_story(pages: Pages, tmp_path: Path) -> None:
    base = pages.base_url
    phone = pages.viewport == PHONE

    # --- the creator: sign up, upload, profile, video page, hashtag ------------------------------------
    creator = await pages.new()
    await sign_up(creator, "maya", "Maya Creates")
    first = await upload(
        creator, make_clip(tmp_path, width=180, height=320, duration_s=1.5), CAPTION, watch_progress=True
    )
    await shot(creator, "upload-ready")

    await creator.get_by_test_id("upload-status").get_by_role("link", name="Your profile").click()
    await expect(creator).to_have_url(f"{base}/@maya")
    tiles = creator.get_by_test_id("grid-tile")
    await expect(tiles).to_have_count(1)
    await expect(tiles.first).to_have_attribute("href", f"/v/{first}")

    await creator.goto(f"/v/{first}")
    meta = {
        name: await creator.locator(f'meta[property="og:{name}"]').get_attribute("content")
        for name in ("title", "image", "video", "url")
    }
    assert meta["title"] == "Maya Creates (@maya) on Reelm"
    assert meta["url"] == f"{base}/v/{first}"
    for name, kind in (("image", "image/"), ("video", "video/mp4")):
        url = meta[name]
        assert url is not None
        assert url.startswith(f"{base}/"), meta
        fetched = await creator.request.get(url)
        assert fetched.status == 200, (name, url)
        assert fetched.headers["content-type"].startswith(kind), fetched.headers
    html = await (await creator.request.get(f"/v/{first}")).text()
    assert "<b>not bold</b>" not in html

    # Phones show the caption over the video; desktops in the side panel beside it.
    captions = creator.locator(".feed-item .caption-text, .comments-intro .intro-caption")
    await expect(captions).to_have_count(2)
    await expect(captions.locator("b")).to_have_count(0)
    caption = captions.filter(visible=True)
    await expect(caption).to_have_count(1)
    await expect(caption).to_have_text(CAPTION)
    tag_link = caption.get_by_role("link", name=f"#{TAG}")
    await expect(tag_link).to_have_attribute("href", f"/tag/{TAG}")
    await wait_playing(creator)
    await shot(creator, "video-page")
    await tag_link.click()
    await expect(creator).to_have_url(f"{base}/tag/{TAG}")
    await expect(creator.get_by_test_id("grid-tile")).to_have_attribute("data-video-id", first)

    second = await upload(creator, make_clip(tmp_path, name="second.mp4"), "Second take")

    # --- the viewer: feed, playback, like, comments, follow, keyboard, share, Following -----------------
    viewer = await pages.new(permissions=["clipboard-read", "clipboard-write"])
    await sign_up(viewer, "leo", "Leo Watches")
    items = viewer.get_by_test_id("feed-item")
    await expect(items).to_have_count(2)
    await expect(feed_item(viewer, first)).to_be_attached()
    await expect(feed_item(viewer, second)).to_be_attached()
    top = await items.first.get_attribute("data-video-id")
    assert top in (first, second)
    active = viewer.locator(".feed-item.is-active")
    await expect(active).to_have_attribute("data-video-id", top)

    # The first tap turns the sound on and does not pause; the video keeps playing.
    await press(viewer, active.locator(".player"))
    await expect(viewer.locator(".feed-wrap .unmute-pill")).to_be_hidden()
    await wait_playing(viewer)
    await shot(viewer, "feed")

    card = feed_item(viewer, top)
    like = card.get_by_test_id("like-button")
    await expect(like).to_have_attribute("aria-pressed", "false")
    async with viewer.expect_response(lambda r: r.url.endswith(f"/videos/{top}/like")) as like_answer:
        await press(viewer, like)
    assert (await like_answer.value).ok  # the count below is shown at once, before the server answers
    await expect(card.get_by_test_id("like-count")).to_have_text("1")
    await expect(like).to_have_attribute("aria-pressed", "true")
    await viewer.reload()
    await expect(card.get_by_test_id("like-count")).to_have_text("1")
    await expect(card.get_by_test_id("like-button")).to_have_attribute("aria-pressed", "true")
    liked = top

    await press(viewer, card.get_by_test_id("comment-button"))
    drawer = viewer.get_by_test_id("comments")
    await expect(drawer).to_have_class(re.compile(r"\bis-open\b"))
    await expect(drawer.locator(".comments-state")).to_have_text("No comments yet. Start the conversation!")
    await drawer.get_by_test_id("comment-input").fill("Lovely colours")
    await drawer.get_by_test_id("comment-submit").click()
    comment = drawer.get_by_test_id("comment").filter(has_text="Lovely colours")
    await expect(comment).to_have_count(1)
    await comment.get_by_role("button", name="Reply to @leo").click()
    await expect(drawer.locator(".composer-reply")).to_contain_text("Replying to @leo")
    await drawer.get_by_test_id("comment-input").fill("Replying to myself")
    await drawer.get_by_test_id("comment-input").press("Enter")
    reply = comment.locator(".replies").get_by_test_id("comment")
    await expect(reply).to_have_text(re.compile("Replying to myself"))
    await expect(drawer.locator(".composer-reply")).to_be_hidden()
    await expect(drawer.get_by_test_id("comment")).to_have_count(2)
    await expect(card.get_by_test_id("comment-count")).to_have_text("2")
    await shot(viewer, "comments")
    await drawer.get_by_role("button", name="Close comments").click()
    await expect(drawer).not_to_have_class(re.compile(r"\bis-open\b"))

    # Follow: from the feed on phones, from the profile on desktops.
    if phone:
        follow = card.get_by_test_id("follow-button")
        await expect(follow).to_have_attribute("aria-pressed", "false")
        await press(viewer, follow)
        await expect(follow).to_have_attribute("aria-pressed", "true")
        await expect(viewer.locator(".toast").filter(has_text="Following @maya")).to_be_visible()
        await viewer.goto("/@maya")
    else:
        await viewer.goto("/@maya")
        await expect(viewer.get_by_test_id("follower-count")).to_have_text("0")
        await viewer.get_by_test_id("follow-button").click()
        await expect(viewer.get_by_test_id("follower-count")).to_have_text("1")
        await expect(viewer.locator(".toast").filter(has_text="Following @maya")).to_be_visible()
    await expect(viewer.get_by_test_id("follower-count")).to_have_text("1")
    await viewer.reload()
    await expect(viewer.get_by_test_id("follower-count")).to_have_text("1")
    await expect(viewer.get_by_test_id("follow-button")).to_have_attribute("aria-pressed", "true")
    await expect(viewer.get_by_test_id("follow-button")).to_have_text("Followed")
    await expect(viewer.get_by_test_id("grid-tile")).to_have_count(2)
    await shot(viewer, "profile")

    await viewer.goto("/following")
    await expect(items).to_have_count(2)
    await expect(items.first).to_have_attribute("data-video-id", second)  # newest first
    await expect(feed_item(viewer, first)).to_be_attached()

    # Keyboard: ArrowDown moves to the next video, which then plays.
    await viewer.goto("/")
    await expect(items).to_have_count(2)
    await expect(active).to_have_attribute("data-index", "0")
    top = await active.get_attribute("data-video-id")
    assert top in (first, second)
    below = second if top == first else first
    await wait_playing(viewer)
    await viewer.keyboard.press("ArrowDown")
    await expect(active).to_have_attribute("data-index", "1")
    await expect(active).to_have_attribute("data-video-id", below)
    await wait_playing(viewer)
    await expect(feed_item(viewer, top).locator("video")).to_have_js_property("paused", True)

    # Share the visible video: the share sheet's "Copy link", a toast, and its address on the clipboard.
    await press(viewer, active.get_by_test_id("share-button"))
    await press(viewer, viewer.get_by_test_id("share-sheet").get_by_test_id("share-copy-link"))
    await expect(viewer.locator(".toast").filter(has_text="Link copied")).to_be_visible()
    copied = await viewer.evaluate("navigator.clipboard.readText()")
    assert copied == f"{base}/v/{below}"
    await expect(active.get_by_test_id("share-button")).to_have_attribute("aria-label", "Share (1 share)")
    why = active.get_by_test_id("why-button")
    await press(viewer, why)
    await expect(why).to_have_attribute("aria-expanded", "true")
    await expect(active.locator(".why-bubble")).to_contain_text("Why you\u2019re seeing this")

    # --- an anonymous visitor: like sends them to log in, and back; the comments are still there -------
    visitor = await pages.new()
    await visitor.goto(f"/v/{liked}")
    await expect(visitor.locator("body")).not_to_have_attribute("data-viewer-handle", re.compile("."))
    await expect(visitor.get_by_test_id("like-count")).to_have_text("1")
    await press(visitor, visitor.get_by_test_id("like-button"))
    await expect(visitor).to_have_url(re.compile(r"/login\?"))
    assert parse_qs(urlsplit(visitor.url).query)["next"] == [f"/v/{liked}"]
    await visitor.locator("input[name=login]").fill("leo")
    await visitor.locator("input[name=password]").fill(PASSWORD)
    await visitor.get_by_role("button", name="Log in").click()
    await expect(visitor).to_have_url(f"{base}/v/{liked}")
    await expect(visitor.get_by_test_id("like-button")).to_have_attribute("aria-pressed", "true")
    await expect(visitor.get_by_test_id("comment-count")).to_have_text("2")
    await press(visitor, visitor.get_by_test_id("comment-button"))
    panel = visitor.get_by_test_id("comments")
    comment = panel.get_by_test_id("comment").filter(has_text="Lovely colours")
    await expect(comment).to_be_visible()
    await comment.get_by_role("button", name="View 1 reply").click()
    await expect(comment.locator(".replies").get_by_test_id("comment")).to_contain_text("Replying to myself")
    await shot(visitor, "video-page-comments")


async def test_a_file_that_is_not_a_video_is_refused(pages: Pages, tmp_path: Path) -> None:
    page = await pages.new()
    await sign_up(page, "maya", "Maya Creates")
    await page.goto("/upload")
    await page.get_by_test_id("upload-file").set_input_files(make_not_a_video(tmp_path))
    await page.get_by_test_id("upload-caption").fill("My shopping list")
    async with page.expect_response(is_upload) as info:
        await page.get_by_test_id("upload-submit").click()
    response = await info.value
    assert response.status == 422
    detail = (await response.json())["detail"]
    status = page.get_by_test_id("upload-status")
    await expect(status).to_have_text(f"The video was not accepted: {detail}")
    await expect(status).to_have_class(re.compile(r"\bis-error\b"))
    await expect(page.get_by_test_id("upload-submit")).to_be_enabled()  # free to choose another file
    await shot(page, "upload-rejected")

    await page.goto("/@maya")
    await expect(page.locator(".grid-empty")).to_be_visible()
    await expect(page.get_by_test_id("grid-tile")).to_have_count(0)
