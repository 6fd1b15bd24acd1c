"""Browser story of discovery, at phone and desktop size: a viewer types in the search field, picks a
typeahead entry, opens a video result and moves to the next result in the vertical player, follows the
hashtag and finds its video in Following; at 390 px the phone top bar fits every control."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, expect

from tests.clips import make_clip
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_browser import Pages, feed_item, press, sign_up, upload

pages = test_browser.pages
ACTIVE = re.compile(r"\bis-active\b")
CONTROLS = ".site-search-open, .feed-tabs a, .feed-modes button, .realm-badge"


async def assert_top_bar_fits(page: Page) -> None:
    """Every visible control of the top of the feed lies inside the viewport, and no two overlap."""
    boxes = await page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter((n) => n.getClientRects().length && getComputedStyle(n).visibility !== 'hidden')
            .map((n) => { const r = n.getBoundingClientRect();
              return { name: n.className || n.textContent, x: r.x, y: r.y, w: r.width, h: r.height }; })""",
        CONTROLS,
    )
    size = page.viewport_size
    assert size is not None
    assert len(boxes) >= 6, boxes  # the search icon, two tabs, three orderings
    for box in boxes:
        assert box["x"] >= 0, box
        assert box["y"] >= 0, box
        assert box["x"] + box["w"] <= size["width"], box
        assert box["y"] + box["h"] <= size["height"], box
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = (
                a["x"] + a["w"] <= b["x"]
                or b["x"] + b["w"] <= a["x"]
                or a["y"] + a["h"] <= b["y"]
                or b["y"] + b["h"] <= a["y"]
            )
            assert apart, (a, b)


async def open_search(page: Page) -> None:
    """Phones and full-screen video show a search icon that opens the field; wide pages show the field."""
    opener = page.get_by_test_id("search-open")
    # Wait for the page to show one or the other: a look at a page still loading would skip the icon.
    shown = page.locator('[data-testid="search-open"]:visible, [data-testid="search-input"]:visible')
    await expect(shown.first).to_be_visible()
    # The icon is shown before its module script runs; a press before then would do nothing.
    await expect(page.locator("[data-site-search]")).to_have_attribute("data-ready", "true")
    if await opener.is_visible():
        await press(page, opener)


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_search_typeahead_swipe_and_follow_a_hashtag(pages: Pages, tmp_path: Path) -> None:
    phone = pages.viewport == PHONE
    creator = await pages.new()
    await sign_up(creator, "wavecreator", "Wave Creator")
    first = await upload(creator, make_clip(tmp_path, name="one.mp4"), "Morning swell #wavesurf")
    await creator.goto("/explore")  # the upload form starts afresh for the second clip
    second = await upload(creator, make_clip(tmp_path, name="two.mp4"), "Evening swell #wavesurf")

    page = await pages.new()
    await sign_up(page, "watcher", "Watcher")
    if phone:
        await assert_top_bar_fits(page)
    await open_search(page)  # For You: full-screen video, so at every size an icon opens the search
    field = page.get_by_test_id("search-input")
    await expect(field).to_be_visible()
    await field.fill("wavesu")
    hashtag = page.get_by_test_id("typeahead-hashtag").first
    await expect(hashtag).to_contain_text("#wavesurf")
    await expect(hashtag.locator("mark")).to_have_text("wavesu")
    # The keyboard walks the listbox: the hashtag is announced as the active option.
    await field.press("ArrowDown")
    await expect(field).to_have_attribute(
        "aria-activedescendant", await page.locator("[role=option]").first.get_attribute("id") or ""
    )
    await press(page, hashtag)
    await expect(page).to_have_url(f"{pages.base_url}/tag/wavesurf")

    # Enter opens the results; a poster opens the vertical player, which moves on to the next result.
    await open_search(page)
    await field.fill("wave")
    await field.press("Enter")
    await expect(page).to_have_url(f"{pages.base_url}/search?q=wave")
    results = page.get_by_test_id("result-video")
    await expect(results).to_have_count(2)
    await expect(page.locator("[data-testid=search-results] mark").first).to_be_visible()
    start = await results.first.get_attribute("data-video-id")
    other = second if start == first else first
    await press(page, results.first)
    await expect(page).to_have_url(f"{pages.base_url}/search/watch?q=wave&start={start}")
    assert start is not None
    await expect(feed_item(page, start)).to_have_class(ACTIVE)
    if phone:
        box = await page.locator("#feed").bounding_box()
        assert box is not None
        await page.mouse.wheel(0, box["height"])  # a swipe's scroll on a touch screen
    else:
        await page.keyboard.press("ArrowDown")
    await expect(feed_item(page, other)).to_have_class(ACTIVE)

    # Follow the hashtag from its page; its videos join Following (no creator followed).
    await page.goto("/tag/wavesurf")
    follow = page.get_by_test_id("follow-tag")
    await expect(follow).to_have_attribute("aria-pressed", "false")
    await press(page, follow)
    await expect(follow).to_have_attribute("aria-pressed", "true")
    await expect(follow).to_be_enabled()  # the server answered
    await expect(follow).to_have_attribute("aria-pressed", "true")
    await page.goto("/settings/hashtags")
    await expect(page.get_by_test_id("followed-hashtag")).to_contain_text("#wavesurf")
    await page.goto("/following")
    await expect(feed_item(page, first)).to_be_attached()
    await expect(feed_item(page, second)).to_be_attached()
    assert urlsplit(page.url).path == "/following"
