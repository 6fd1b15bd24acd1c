"""Browser story of a conversation across realms: two real pages, one person in us and one in eu.

Each realm's worker takes in what the other delivers (run here in the test's process, as `reelm worker`
runs it); each page hears of it live from its own realm's server. Alice writes to Erik, whose realm
files it under requests; he accepts and answers; then he blocks her, and her next message comes back
marked as not delivered.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, expect

from reelm.crossrealm.deliveries import keep_receiving
from reelm.runtime import Runtime
from reelm.worker import delivery_handlers
from tests.factories import transit_ready
from tests.web import test_browser_inbox
from tests.web.test_browser import Pages, sign_up
from tests.web.test_browser_inbox import open_inbox, thread_messages

pages = test_browser_inbox.pages
live_server = test_browser_inbox.live_server


@pytest.fixture
async def workers(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Each realm's receiving loop; test accounts are seconds old, so the account-age rule is off."""
    monkeypatch.setenv("REELM_MESSAGES_MIN_ACCOUNT_AGE_HOURS", "0")
    await transit_ready(runtime)
    loops = [
        asyncio.create_task(keep_receiving(runtime, r, delivery_handlers(runtime))) for r in ("us", "eu")
    ]
    yield
    for loop in loops:
        loop.cancel()


async def api(page: Page, method: str, path: str) -> int:
    """Call the JSON API as the page's own scripts do (cookie session, CSRF header); the status."""
    status: int = await page.evaluate(
        """async ([method, path]) => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const response = await fetch(path, {method, headers: {"X-CSRF-Token": csrf}});
            return response.status;
        }""",
        [method, path],
    )
    return status


async def test_a_conversation_between_two_realms(pages: Pages, workers: None) -> None:
    alice = await pages.new()
    await sign_up(alice, "alice", "Alice in US")
    erik = await pages.new()
    await sign_up(erik, "erik", "Erik in EU", country="SE", realm="eu")
    await open_inbox(erik)

    await open_inbox(alice)
    await alice.get_by_test_id("new-message").click()
    await alice.get_by_test_id("new-message-to").fill("@erik")
    await alice.get_by_test_id("new-message-body").fill("Hej Erik! 🇸🇪")
    await alice.get_by_test_id("new-message-send").click()
    await expect(alice).to_have_url(re.compile(r"/inbox/\d+$"))
    await expect(thread_messages(alice)).to_have_count(1)

    # It crossed to eu, where Erik does not follow Alice: a request, announced live on his page.
    await expect(erik.get_by_test_id("folder-requests").locator(".count-pill")).to_have_text("1")
    await erik.get_by_test_id("folder-requests").click()
    request = erik.get_by_test_id("conversation").filter(has_text="Alice in US")
    await expect(request).to_contain_text("Hej Erik! 🇸🇪")
    await request.click()
    await erik.get_by_test_id("accept").click()
    await expect(erik.get_by_test_id("request-bar")).to_be_hidden()
    await erik.get_by_test_id("message-input").fill("Hej Alice, greetings from Stockholm")
    await erik.get_by_test_id("message-input").press("Enter")
    await expect(thread_messages(alice).filter(has_text="greetings from Stockholm")).to_be_visible()
    await expect(thread_messages(alice)).to_have_count(2)

    # Erik blocks Alice, in his realm: her next message is refused there, and her page says so.
    assert await api(erik, "POST", "/api/v1/users/alice/block") == 200
    await alice.get_by_test_id("message-input").fill("Are you still there?")
    await alice.get_by_test_id("message-send").click()
    refused = thread_messages(alice).filter(has_text="Are you still there?")
    await expect(refused.get_by_test_id("refusal")).to_have_text(
        "Not delivered: this account can't be messaged."
    )
    await expect(thread_messages(erik).filter(has_text="Are you still there?")).to_have_count(0)


async def test_a_group_between_two_realms(pages: Pages, workers: None) -> None:
    alice = await pages.new()
    await sign_up(alice, "alice", "Alice in US")
    bob = await pages.new()
    await sign_up(bob, "bob", "Bob in US")
    erik = await pages.new()
    await sign_up(erik, "erik", "Erik in EU", country="SE", realm="eu")
    await open_inbox(erik)
    await open_inbox(bob)

    await open_inbox(alice)
    await alice.get_by_test_id("new-message").click()
    await alice.get_by_test_id("new-message-to").fill("@bob, @erik")
    await alice.get_by_test_id("new-message-body").fill("Hike on Sunday? 🥾")
    await alice.get_by_test_id("new-message-send").click()
    await expect(alice).to_have_url(re.compile(r"/inbox/\d+$"))

    # eu makes its own copy of the group when it arrives; Erik's page hears of it live.
    await expect(erik.get_by_test_id("folder-requests").locator(".count-pill")).to_have_text("1")
    await erik.get_by_test_id("folder-requests").click()
    request = erik.get_by_test_id("conversation").filter(has_text="Alice in US")
    await expect(request).to_contain_text("Bob in US")
    await expect(request).to_contain_text("Hike on Sunday?")
    await request.click()
    await erik.get_by_test_id("accept").click()
    await erik.get_by_test_id("message-input").fill("Ja! From Stockholm with love")
    await erik.get_by_test_id("message-input").press("Enter")

    # Both people of us see Erik's answer in us's copy.
    await bob.get_by_test_id("folder-requests").click()
    # Named by its people (the preview changes as messages arrive).
    await bob.get_by_test_id("conversation").filter(has_text="Erik in EU").click()
    for page in (alice, bob):
        await expect(thread_messages(page).filter(has_text="From Stockholm with love")).to_be_visible()
        await expect(thread_messages(page)).to_have_count(2)
