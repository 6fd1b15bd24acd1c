"""Browser story of captions, at phone and desktop widths.

Maya opens her video's captions editor, tries a broken SRT file (the line that breaks is named beside the
form), uploads a good one, then edits its text in the page. Bob watches: the player has a CC button, off until
he turns it on; his choice is remembered on the next visit, and off stays off too. The pages pass axe-core.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from reelm.runtime import Runtime
from tests import live
from tests.conftest import make_account
from tests.factories import make_tiny_clip, publish
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_accessibility import log_in, serious_violations
from tests.web.test_browser import Pages, press, shot

pages = test_browser.pages
GOOD = "1\n00:00:00,000 --> 00:00:01,000\nHello from Maya\n"
BROKEN = "1\n00:00:00,000 --> 00:00:00,500\nFine\n\n2\n00:00:00,600 -> 00:00:00,900\nBroken\n"


@pytest.fixture
def live_server(runtime: Runtime, tmp_path: Path) -> Iterator[str]:
    server, base = live.start_server(runtime, tmp_path / "server.log")
    yield base
    live.stop(server)


async def showing(page: Page) -> list[str]:
    """The languages of the page player's text tracks that are showing."""
    languages: list[str] = await page.evaluate(
        """() => [...document.querySelector('#single video').textTracks]
              .filter((t) => t.mode === 'showing').map((t) => t.language)"""
    )
    return languages


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_captions_upload_edit_and_cc_toggle(
    client: httpx.AsyncClient, runtime: Runtime, pages: Pages, tmp_path: Path
) -> None:
    clip = make_tiny_clip(tmp_path)
    maya = await make_account(client, "maya")
    await make_account(client, "bob")
    video_id = await publish(client, runtime, maya, clip, caption="Say hello")
    broken = tmp_path / "broken.srt"
    broken.write_text(BROKEN)
    good = tmp_path / "good.srt"
    good.write_text(GOOD)

    # --- Maya: a broken file is refused naming its line; a good one is taken -----------------------------
    creator = await pages.new()
    await log_in(creator, "maya")
    await creator.goto(f"/v/{video_id}")
    await press(creator, creator.get_by_test_id("captions-editor-toggle"))
    editor = creator.get_by_test_id("captions-editor")
    await editor.get_by_test_id("captions-language").fill("en")
    await editor.get_by_test_id("captions-file").set_input_files(broken)
    await press(creator, editor.get_by_test_id("captions-save"))
    await expect(editor.get_by_test_id("captions-error")).to_contain_text("Line 6")
    assert await serious_violations(creator) == []
    await shot(creator, "captions-error")
    await editor.get_by_test_id("captions-file").set_input_files(good)
    async with creator.expect_navigation():
        await press(creator, editor.get_by_test_id("captions-save"))
    tracks = creator.get_by_test_id("captions-tracks")
    await expect(tracks).to_contain_text("English (en)", use_inner_text=False)

    # Edited in the page: the WebVTT text, saved as the new revision.
    await press(creator, creator.get_by_test_id("captions-editor-toggle"))
    await press(creator, tracks.get_by_role("button", name="Edit captions: English"))
    text = editor.get_by_test_id("captions-text")
    await expect(text).to_have_value("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nHello from Maya\n")
    await text.fill("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nHello from Maya, edited\n")
    async with creator.expect_navigation():
        await press(creator, editor.get_by_test_id("captions-save"))
    listed = await client.get(f"/api/v1/videos/{video_id}/subtitles/en")
    assert "Hello from Maya, edited" in listed.json()["webvtt"]

    # --- Bob: CC off until he turns it on; the choice is remembered ---------------------------------------
    viewer = await pages.new()
    await log_in(viewer, "bob")
    await viewer.goto(f"/v/{video_id}")
    cc = viewer.get_by_test_id("captions-toggle")
    await expect(cc).to_have_attribute("aria-pressed", "false")
    await expect(cc).to_have_accessible_name("Captions")
    assert await showing(viewer) == []
    await press(viewer, cc)
    await expect(cc).to_have_attribute("aria-pressed", "true")
    assert await showing(viewer) == ["en"]
    assert await serious_violations(viewer) == []
    await shot(viewer, "captions-on")
    await viewer.reload()
    cc = viewer.get_by_test_id("captions-toggle")
    await expect(cc).to_have_attribute("aria-pressed", "true")
    assert await showing(viewer) == ["en"]
    await cc.focus()
    await viewer.keyboard.press("Enter")  # by keyboard too
    await expect(cc).to_have_attribute("aria-pressed", "false")
    await viewer.reload()
    await expect(viewer.get_by_test_id("captions-toggle")).to_have_attribute("aria-pressed", "false")
    assert await showing(viewer) == []
    assert pages.errors == []
