"""Browser story of the cover and labels, at phone and desktop widths: Maya scrubs to a frame and makes it the
cover, then describes it, labels the video AI-generated and saves; Bob sees the label on the video page. The
editor passes axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from reelm.runtime import Runtime
from tests import live
from tests.clips import make_clip
from tests.conftest import make_account
from tests.factories import publish
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_accessibility import log_in, serious_violations
from tests.web.test_browser import Pages, press, shot

pages = test_browser.pages


@pytest.fixture
def live_server(runtime: Runtime, tmp_path: Path) -> Iterator[str]:
    server, base = live.start_server(runtime, tmp_path / "server.log")
    yield base
    live.stop(server)


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_cover_frame_alt_text_and_labels(
    client: httpx.AsyncClient, runtime: Runtime, pages: Pages, tmp_path: Path
) -> None:
    clip = make_clip(tmp_path, width=144, height=256, duration_s=2.0, audio=False)
    maya = await make_account(client, "maya")
    await make_account(client, "bob")
    video_id = await publish(client, runtime, maya, clip, caption="Jump")
    before = (await client.get(f"/api/v1/videos/{video_id}")).json()["poster_url"]

    creator = await pages.new()
    await log_in(creator, "maya")
    await creator.goto(f"/v/{video_id}")
    await press(creator, creator.get_by_test_id("cover-editor-toggle"))
    editor = creator.get_by_test_id("cover-editor")
    await editor.get_by_test_id("cover-at").fill("1.5")
    await expect(editor.get_by_test_id("cover-at-shown")).to_have_text("1.5 s")
    assert await serious_violations(creator) == []
    await shot(creator, "cover-editor")
    async with creator.expect_navigation():
        await press(creator, editor.get_by_test_id("cover-use-frame"))
    after = (await client.get(f"/api/v1/videos/{video_id}")).json()
    assert after["poster_url"] != before
    assert "/covers/" in after["poster_url"]

    await press(creator, creator.get_by_test_id("cover-editor-toggle"))
    await editor.get_by_test_id("cover-alt").fill("Maya in the air")
    await editor.get_by_test_id("edit-ai-generated").check()
    async with creator.expect_navigation():
        await press(creator, editor.get_by_test_id("cover-save"))
    saved = (await client.get(f"/api/v1/videos/{video_id}")).json()
    assert (saved["cover_alt"], saved["ai_generated"], saved["paid_partnership"]) == (
        "Maya in the air",
        True,
        False,
    )

    viewer = await pages.new()
    await log_in(viewer, "bob")
    await viewer.goto(f"/v/{video_id}")
    await expect(viewer.get_by_test_id("ai-generated").filter(visible=True).first).to_have_text(
        "AI-generated"
    )
    await viewer.goto("/@maya")
    tile = viewer.locator(f'[data-testid="grid-tile"][data-video-id="{video_id}"]')
    # The cover's alt text is part of the tile's name (its views are counted as people watch).
    await expect(tile).to_have_attribute("aria-label", re.compile(r"^Jump · Maya in the air · \d+ views?$"))
    assert pages.errors == []
