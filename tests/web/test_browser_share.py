"""Browser story of sending a video from the feed's share sheet, at phone and desktop widths.

A ready public video is in For You. Alice opens its share sheet: a handle that does not exist shows the
server's reason and sends nothing; "@bob" with a note starts a conversation that carries the video; the
next time Bob is in her recent conversations, and one tap sends it again. Escape closes the sheet and
focus goes back to the share button. Bob finds both messages, with the video, in his inbox. A visitor
who is not logged in gets only "Copy link", which still copies and counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, Response, expect

from reelm.runtime import Runtime
from tests import live
from tests.conftest import make_account
from tests.factories import make_tiny_clip, publish
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_browser import Pages, feed_item, press, shot, sign_up
from tests.web.test_browser_inbox import SERVER_ENV, open_inbox, thread_messages

# The browser stories' fixture, used here too: its `live_server` is the one defined below.
pages = test_browser.pages
NOTE = "Look at this <b>one</b>"
OPEN = re.compile(r"\bis-open\b")


@pytest.fixture
def live_server(runtime: Runtime, tmp_path: Path) -> Iterator[str]:
    """A server process on the test databases (the video is transcoded in-process, so no worker)."""
    server, base = live.start_server(runtime, tmp_path / "server.log", extra_env=SERVER_ENV)
    yield base
    live.stop(server)


@pytest.fixture
async def video_id(client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path) -> str:
    """A ready public video by a third account, Maya."""
    maya = await make_account(client, "maya")
    return await publish(client, runtime, maya, make_tiny_clip(tmp_path), caption="Share me")


def starts_conversation(response: Response) -> bool:
    return response.url.endswith("/api/v1/conversations") and response.request.method == "POST"


def sent(response: Response) -> Any:
    """The JSON the page sent with the request that got this response."""
    body = response.request.post_data_json
    assert body is not None
    return body


def toast(page: Page, text: str) -> Locator:
    return page.locator(".toast").filter(has_text=text)


async def open_sheet(page: Page, share: Locator) -> Locator:
    await press(page, share)
    sheet = page.get_by_test_id("share-sheet")
    await expect(sheet).to_have_class(OPEN)
    await expect(sheet).to_be_in_viewport()
    return sheet


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_send_a_video_from_the_share_sheet(video_id: str, pages: Pages) -> None:
    alice = await pages.new()
    await sign_up(alice, "alice", "Alice Shares")
    bob = await pages.new()
    await sign_up(bob, "bob", "Bob Receives")

    card = feed_item(alice, video_id)
    await expect(card).to_be_visible()
    share = card.get_by_test_id("share-button")
    await expect(share).to_have_attribute("aria-label", "Share (0 shares)")
    sheet = await open_sheet(alice, share)
    await expect(sheet.get_by_test_id("share-copy-link")).to_be_visible()
    await expect(sheet.locator(".share-state")).to_contain_text("No conversations yet")
    await shot(alice, "share-sheet-empty")

    # --- a handle that does not exist: the problem's detail, the sheet stays, nothing is sent ----------
    handle = sheet.get_by_test_id("share-handle")
    await handle.fill("@nobody_here")
    async with alice.expect_response(starts_conversation) as answer:
        await press(alice, sheet.get_by_test_id("share-handle-send"))
    refused = await answer.value
    assert refused.status == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
    detail = (await refused.json())["detail"]
    assert "nobody_here" in detail
    await expect(alice.locator(".toast-error").filter(has_text=detail)).to_be_visible()
    await expect(sheet).to_have_class(OPEN)
    await expect(share).to_have_attribute("aria-label", "Share (0 shares)")

    # --- "@bob" with a note: a new conversation that carries the video ---------------------------------
    await handle.fill("@bob")
    await sheet.get_by_test_id("share-note").fill(NOTE)
    async with alice.expect_response(starts_conversation) as answer:
        await press(alice, sheet.get_by_test_id("share-handle-send"))
    started = await answer.value
    assert started.status == 201, await started.text()
    first = sent(started)
    assert first["handles"] == ["bob"]
    assert first["message"]["video_id"] == video_id
    assert first["message"]["body"] == NOTE
    assert re.fullmatch(r"[A-Za-z0-9_-]{8,64}", first["message"]["client_key"])
    conversation_id = (await started.json())["id"]
    await expect(toast(alice, "Sent to @bob")).to_be_visible()
    await expect(sheet).not_to_have_class(OPEN)
    await expect(share).to_be_focused()
    await expect(share).to_have_attribute("aria-label", "Share (1 share)")

    # --- again: Bob is a recent conversation now; Escape closes; one tap sends --------------------------
    sheet = await open_sheet(alice, share)
    await expect(sheet.get_by_test_id("share-note")).to_have_value("")
    recent = sheet.get_by_test_id("share-conversation")
    await expect(recent).to_have_count(1)
    await expect(recent).to_have_attribute("data-conversation-id", conversation_id)
    await expect(recent).to_contain_text("Bob Receives")
    await expect(recent).to_contain_text("@bob")
    await shot(alice, "share-sheet")
    await alice.keyboard.press("Escape")
    await expect(sheet).not_to_have_class(OPEN)
    await expect(share).to_be_focused()

    sheet = await open_sheet(alice, share)
    sends = f"/api/v1/conversations/{conversation_id}/messages"
    async with alice.expect_response(lambda r: r.url.endswith(sends)) as answer:
        await press(alice, recent)
    resent = await answer.value
    assert resent.status == 201, await resent.text()
    again = sent(resent)
    assert again["video_id"] == video_id
    assert again["body"] == ""
    assert again["client_key"] != first["message"]["client_key"]
    await expect(sheet).not_to_have_class(OPEN)
    await expect(share).to_have_attribute("aria-label", "Share (2 shares)")

    # --- Bob: a message request with the video, twice; the note stays text -------------------------------
    listed = await bob.request.get("/api/v1/conversations", params={"folder": "requests"})
    assert [c["id"] for c in (await listed.json())["items"]] == [conversation_id]
    history = await bob.request.get(f"/api/v1/conversations/{conversation_id}/messages")
    messages = (await history.json())["items"]
    assert [(m["sender"]["handle"], m["video_id"], m["body"]) for m in messages] == [
        ("alice", video_id, NOTE),
        ("alice", video_id, None),
    ]
    mine = await alice.request.get("/api/v1/conversations")
    assert [c["id"] for c in (await mine.json())["items"]] == [conversation_id]  # none for @nobody_here

    await open_inbox(bob)
    await bob.get_by_test_id("folder-requests").click()
    await bob.get_by_test_id("conversation").filter(has_text="Alice Shares").click()
    shown = thread_messages(bob)
    await expect(shown).to_have_count(2)
    videos = shown.get_by_test_id("shared-video")
    await expect(videos).to_have_count(2)
    for index in range(2):
        await expect(videos.nth(index)).to_have_attribute("href", f"/v/{video_id}")
        await expect(videos.nth(index)).to_contain_text("@maya")
    await expect(shown.first.locator(".bubble-text")).to_have_text(NOTE)
    await expect(shown.locator(".bubble-text b")).to_have_count(0)


async def test_a_visitor_only_copies_the_link(video_id: str, pages: Pages) -> None:
    visitor = await pages.new(permissions=["clipboard-read", "clipboard-write"])
    await visitor.goto("/")
    card = feed_item(visitor, video_id)
    await expect(card).to_be_visible()
    share = card.get_by_test_id("share-button")
    sheet = await open_sheet(visitor, share)
    await expect(sheet.get_by_test_id("share-handle")).to_have_count(0)
    await expect(sheet.get_by_test_id("share-conversations")).to_have_count(0)
    async with visitor.expect_response(lambda r: r.url.endswith(f"/videos/{video_id}/share")) as answer:
        await sheet.get_by_test_id("share-copy-link").click()
    assert (await answer.value).ok
    await expect(toast(visitor, "Link copied")).to_be_visible()
    assert await visitor.evaluate("navigator.clipboard.readText()") == f"{pages.base_url}/v/{video_id}"
    await expect(sheet).not_to_have_class(OPEN)
    await expect(share).to_be_focused()
    await expect(share).to_have_attribute("aria-label", "Share (1 share)")
