"""Browser story of direct messages: two real pages exchange messages live, at phone and desktop widths.

Alice writes to Bob, who does not follow her: the message lands in his requests, with a badge and a
notification. Bob accepts and answers; Alice sees the answer, the typing indicator and "Seen" live.
Alice unsends a message and Bob sees it go; text that looks like HTML stays text; a long history
scrolls back; and a page whose WebSocket is blocked falls back to polling and still gets messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, WebSocketRoute, expect

from reelm.runtime import Runtime
from tests import live
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_browser import Pages, shot, sign_up

# Test accounts are seconds old: the account-age rule would keep Alice from writing to a stranger.
SERVER_ENV = {"REELM_MESSAGES_MIN_ACCOUNT_AGE_HOURS": "0", "REELM_MESSAGES_MESSAGES_PER_MINUTE": "1000"}
# The browser stories' fixture, used here too: its `live_server` is the one defined below.
pages = test_browser.pages
HTML_LOOKALIKE = '<img src=x onerror="document.body.dataset.pwned=1"> <b>bold?</b>'


@pytest.fixture
def live_server(runtime: Runtime, tmp_path: Path) -> Iterator[str]:
    """A server process on the test databases (messaging needs no worker)."""
    server, base = live.start_server(runtime, tmp_path / "server.log", extra_env=SERVER_ENV)
    yield base
    live.stop(server)


def thread_messages(page: Page) -> Locator:
    return page.get_by_test_id("message-list").get_by_test_id("message")


async def message_menu(page: Page, message: Locator) -> Locator:
    """Open a message's action menu as a person would: a long press on phones, the "⋯" button on desktops."""
    if page.viewport_size == PHONE:
        box = await message.locator(".bubble").bounding_box()
        assert box is not None
        at = {"clientX": box["x"] + box["width"] / 2, "clientY": box["y"] + box["height"] / 2}
        await message.locator(".bubble").dispatch_event(
            "pointerdown", {"pointerType": "touch", "isPrimary": True, **at}
        )
    else:
        await message.hover()
        await message.get_by_test_id("message-more").click()
    menu = message.get_by_test_id("message-menu")
    await expect(menu).to_be_visible()  # a long press opens it once held (the page's own timer)
    return menu


async def open_inbox(page: Page) -> None:
    await page.goto("/inbox")
    await expect(page.get_by_test_id("live-mode")).to_have_text("")
    loaded = page.get_by_test_id("inbox-empty").or_(page.get_by_test_id("conversation").first)
    await expect(loaded).to_be_visible()


async def send_message(page: Page, text: str) -> None:
    await page.get_by_test_id("message-input").fill(text)
    await page.get_by_test_id("message-send").click()
    await expect(thread_messages(page).filter(has_text=text).last).to_be_visible()


async def post_messages(page: Page, conversation_id: str, count: int) -> None:
    """Many messages at once, through the API as the page's own scripts call it."""
    await page.evaluate(
        """async ([id, count]) => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            for (let n = 0; n < count; n += 1) {
                const response = await fetch(`/api/v1/conversations/${id}/messages`, {
                    method: "POST",
                    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
                    body: JSON.stringify({body: `history ${n}`}),
                });
                if (!response.ok) throw new Error(await response.text());
            }
        }""",
        [conversation_id, count],
    )


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_two_people_message_each_other_live(pages: Pages) -> None:
    phone = pages.viewport == PHONE
    alice = await pages.new()
    await sign_up(alice, "alice", "Alice Writes")
    bob = await pages.new()
    await sign_up(bob, "bob", "Bob Reads")
    await open_inbox(bob)
    await expect(bob.get_by_test_id("inbox-empty")).to_contain_text("No conversations yet")

    # --- Alice starts a conversation; it lands in Bob's requests, live ----------------------------------
    await open_inbox(alice)
    await alice.get_by_test_id("new-message").click()
    await alice.get_by_test_id("new-message-to").fill("@bob")
    await alice.get_by_test_id("new-message-body").fill("Hi Bob! 👋")
    await alice.get_by_test_id("new-message-send").click()
    await expect(alice).to_have_url(re.compile(r"/inbox/\d+$"))
    conversation_id = alice.url.rsplit("/", 1)[1]
    await expect(thread_messages(alice)).to_have_count(1)
    await expect(thread_messages(alice).first).to_contain_text("Hi Bob! 👋")
    await shot(alice, "inbox-thread")

    inbox_badge = bob.get_by_test_id("nav-inbox").locator(".nav-badge")
    await expect(inbox_badge).to_have_text("1")
    await expect(bob.get_by_test_id("folder-requests").locator(".count-pill")).to_have_text("1")
    await bob.get_by_test_id("folder-requests").click()
    request = bob.get_by_test_id("conversation").filter(has_text="Alice Writes")
    await expect(request).to_contain_text("Hi Bob! 👋")
    await shot(bob, "inbox-requests")
    await request.click()
    await expect(bob).to_have_url(re.compile(rf"/inbox/{conversation_id}$"))
    await expect(bob.get_by_test_id("request-bar")).to_be_visible()
    await expect(thread_messages(bob)).to_have_count(1)
    await bob.get_by_test_id("accept").click()
    await expect(bob.get_by_test_id("request-bar")).to_be_hidden()
    await expect(inbox_badge).to_be_hidden()

    # --- Bob types and answers; Alice sees it all as it happens ------------------------------------------
    await bob.get_by_test_id("message-input").press_sequentially("Hey")
    await expect(alice.get_by_test_id("typing")).to_have_text("Bob Reads is typing…")
    await bob.get_by_test_id("message-input").fill("Hey Alice, nice to meet you")
    await bob.get_by_test_id("message-input").press("Enter")
    await expect(thread_messages(alice).filter(has_text="Hey Alice, nice to meet you")).to_be_visible()
    await expect(thread_messages(alice)).to_have_count(2)

    await send_message(alice, "Want to film something together?")
    await expect(thread_messages(bob).filter(has_text="Want to film something together?")).to_be_visible()
    await expect(alice.get_by_test_id("seen")).to_have_text("Seen")  # Bob's open page read it

    # Text that looks like HTML is shown as text.
    await send_message(alice, HTML_LOOKALIKE)
    shown = thread_messages(bob).filter(has_text="bold?")
    await expect(shown.locator(".bubble-text")).to_have_text(HTML_LOOKALIKE)
    await expect(shown.locator("img, b")).to_have_count(0)
    assert await bob.evaluate("document.body.dataset.pwned") is None

    # --- Unsend: the message goes for both --------------------------------------------------------------
    mine = thread_messages(alice).filter(has_text="Want to film something together?")
    menu = await message_menu(alice, mine)
    # Only what applies: one's own message can be unsent, and is not reported.
    await expect(menu.get_by_role("menuitem")).to_have_text(["Copy", "Unsend", "Delete for me"])
    await expect(menu.get_by_role("menuitem").first).to_be_focused()
    if not phone:  # the keyboard: arrows move, Escape closes and gives focus back
        await alice.keyboard.press("ArrowDown")
        await expect(menu.get_by_test_id("unsend")).to_be_focused()
        await alice.keyboard.press("Escape")
        await expect(menu).to_be_hidden()
        await expect(mine.get_by_test_id("message-more")).to_be_focused()
        await alice.keyboard.press("Enter")
        await expect(menu).to_be_visible()
    await test_browser.shot(alice, "inbox-message-menu")
    await menu.get_by_test_id("unsend").click()
    await expect(mine).to_have_count(0)
    await expect(thread_messages(alice).filter(has_text="You unsent a message")).to_have_count(1)
    await expect(thread_messages(bob).filter(has_text="Message unsent")).to_have_count(1)
    await expect(thread_messages(bob).filter(has_text="Want to film something together?")).to_have_count(0)
    await shot(bob, "inbox-conversation")

    # --- Bob's notifications --------------------------------------------------------------------------------
    await bob.goto("/notifications")
    notice = bob.get_by_test_id("notification").filter(has_text="@alice sent you a message request")
    await expect(notice).to_have_attribute("data-read", "false")
    await bob.get_by_test_id("mark-all-read").click()
    await expect(notice).to_have_attribute("data-read", "true")

    # --- A long history scrolls back -----------------------------------------------------------------------
    await post_messages(alice, conversation_id, 40)
    await bob.goto(f"/inbox/{conversation_id}")
    messages = thread_messages(bob)
    await expect(messages).to_have_count(30)
    await expect(messages.last).to_contain_text("history 39")
    await bob.get_by_test_id("thread-scroll").evaluate("node => { node.scrollTop = 0; }")
    await expect(messages).to_have_count(44)  # everything: 4 before the burst, 40 in it
    await expect(bob.locator(".thread-start")).to_be_visible()

    # --- Phones show one pane at a time; the back button returns to the list ---------------------------
    if phone:
        await expect(bob.get_by_test_id("conversation-list")).to_be_hidden()
        await bob.locator(".thread-back").click()
        await expect(bob).to_have_url(re.compile(r"/inbox$"))
        await expect(bob.get_by_test_id("conversation-list")).to_be_visible()
        await expect(bob.get_by_test_id("thread")).to_be_hidden()
    else:
        await expect(bob.get_by_test_id("conversation-list")).to_be_visible()


async def test_without_websockets_the_inbox_polls(pages: Pages) -> None:
    alice = await pages.new()
    await sign_up(alice, "alice", "Alice Writes")
    bob = await pages.new()
    await sign_up(bob, "bob", "Bob Reads")

    async def refuse(socket: WebSocketRoute) -> None:
        await socket.close(code=1011, reason="blocked by a proxy")

    await bob.route_web_socket(re.compile(r"/api/v1/live$"), refuse)
    await open_inbox(alice)
    await alice.get_by_test_id("new-message").click()
    await alice.get_by_test_id("new-message-to").fill("bob")
    await alice.get_by_test_id("new-message-body").fill("Are you there?")
    await alice.get_by_test_id("new-message-send").click()
    await expect(thread_messages(alice)).to_have_count(1)
    conversation_id = alice.url.rsplit("/", 1)[1]

    await bob.goto(f"/inbox/{conversation_id}")
    await expect(bob.get_by_test_id("live-mode")).to_contain_text("Live updates are unavailable")
    await expect(thread_messages(bob)).to_have_count(1)
    await send_message(alice, "Polling works too")
    await expect(thread_messages(bob).filter(has_text="Polling works too")).to_be_visible()
    await send_message(bob, "Got it")
    await expect(thread_messages(alice).filter(has_text="Got it")).to_be_visible()
