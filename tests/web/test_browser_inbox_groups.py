"""Browser story of a group: named and joined from the conversation's options, seen live by the others.

Alice starts a group with Bob and Carol from the New message dialog. She names it, and Bob's open page
shows the name as it changes. Adding someone who does not exist says so and adds nobody; adding Dave
puts the group, named, in his requests, where he sees only what is said after he joined. A name that
looks like HTML stays text.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.web import test_browser_inbox
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_browser import Pages, shot, sign_up
from tests.web.test_browser_inbox import open_inbox, send_message, thread_messages

pages = test_browser_inbox.pages
live_server = test_browser_inbox.live_server
WEEKEND = "Weekend 🏕️"
HTML_TITLE = "<b>x</b>"


async def conversation_action(page: Page, testid: str) -> None:
    """Click one of the open conversation's options (on phones they sit behind the ⋯ button)."""
    more = page.get_by_test_id("thread-more")
    if await more.is_visible():
        await more.click()
    await page.get_by_test_id(testid).click()


async def member_count(page: Page, conversation_id: str) -> int:
    """How many others the API lists in the conversation, read as the page's own scripts read it."""
    count: int = await page.evaluate(
        """async (id) => {
            const response = await fetch(`/api/v1/conversations/${id}`);
            return (await response.json()).members.length;
        }""",
        conversation_id,
    )
    return count


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_a_group_is_named_and_grows(pages: Pages) -> None:
    phone = pages.viewport == PHONE
    alice = await pages.new()
    await sign_up(alice, "alice", "Alice Plans")
    bob = await pages.new()
    await sign_up(bob, "bob", "Bob Reads")
    carol = await pages.new()
    await sign_up(carol, "carol", "Carol Camps")
    dave = await pages.new()
    await sign_up(dave, "dave", "Dave Late")

    # --- Alice starts a group: several handles in the New message dialog -------------------------------
    await open_inbox(alice)
    await alice.get_by_test_id("new-message").click()
    await alice.get_by_test_id("new-message-to").fill("@bob, @carol")
    await alice.get_by_test_id("new-message-body").fill("Camping on Saturday?")
    await alice.get_by_test_id("new-message-send").click()
    await expect(alice).to_have_url(re.compile(r"/inbox/\d+$"))
    conversation_id = alice.url.rsplit("/", 1)[1]
    title = alice.get_by_test_id("thread-title")
    await expect(title).to_have_text("Bob Reads, Carol Camps")
    await expect(alice.get_by_test_id("thread-members")).to_be_hidden()  # unnamed: the title is the members

    await open_inbox(bob)
    await bob.get_by_test_id("folder-requests").click()
    await bob.get_by_test_id("conversation").filter(has_text="Camping on Saturday?").click()
    await bob.get_by_test_id("accept").click()
    await expect(bob.get_by_test_id("request-bar")).to_be_hidden()
    await send_message(bob, "Count me in")
    await expect(thread_messages(alice)).to_have_count(2)

    # --- Alice names it; Escape cancels, Enter saves; Bob's open page follows live ----------------------
    await conversation_action(alice, "rename-group")
    field = alice.get_by_test_id("group-title-input")
    await expect(field).to_be_focused()
    await expect(field).to_have_value("")
    await field.fill("Never mind")
    await field.press("Escape")
    await expect(alice.get_by_test_id("rename-form")).to_have_count(0)
    await expect(title).to_have_text("Bob Reads, Carol Camps")

    await conversation_action(alice, "rename-group")
    await field.fill(WEEKEND)
    await field.press("Enter")
    await expect(alice.get_by_test_id("rename-form")).to_have_count(0)
    await expect(title).to_have_text(WEEKEND)
    await expect(alice.get_by_test_id("thread-members")).to_have_text("Bob Reads, Carol Camps")
    await expect(bob.get_by_test_id("thread-title")).to_have_text(WEEKEND)
    await expect(bob.get_by_test_id("thread-members")).to_have_text("Alice Plans, Carol Camps")
    if not phone:  # phones show the list or the thread, not both
        await expect(alice.get_by_test_id("conversation").filter(has_text=WEEKEND)).to_be_visible()
        await bob.get_by_test_id("folder-inbox").click()  # accepted, the group moved to his messages
        await expect(bob.get_by_test_id("conversation").filter(has_text=WEEKEND)).to_be_visible()
    await shot(bob, "inbox-group-named")

    # --- Someone who does not exist: the detail, the form stays, nobody is added -------------------------
    await open_inbox(dave)
    await dave.get_by_test_id("folder-requests").click()
    await expect(dave.get_by_test_id("inbox-empty")).to_contain_text("No message requests")

    await conversation_action(alice, "add-people")
    people = alice.get_by_test_id("add-people-input")
    await expect(people).to_be_focused()
    await people.fill("@dave, @nobody_here")
    await alice.get_by_test_id("group-form-submit").click()
    error = alice.get_by_test_id("group-form-error")
    await expect(error).to_have_text("No such user: @nobody_here.")
    await expect(people).to_have_value("@dave, @nobody_here")
    assert await member_count(alice, conversation_id) == 2
    await expect(alice.get_by_test_id("thread-members")).to_have_text("Bob Reads, Carol Camps")
    await shot(alice, "inbox-group-add-error")

    # --- Dave joins: the group lands named in his requests, without what was said before ----------------
    await people.fill("@dave")
    await alice.get_by_test_id("group-form-submit").click()
    await expect(alice.get_by_test_id("add-people-form")).to_have_count(0)
    await expect(alice.get_by_test_id("thread-members")).to_have_text("Bob Reads, Carol Camps, Dave Late")
    assert await member_count(alice, conversation_id) == 3

    # The group shows in his requests at once (live: they were open), then with the next message.
    request = dave.get_by_test_id("conversation").filter(has_text=WEEKEND)
    await expect(request).to_be_visible()
    await send_message(alice, "Welcome Dave! Bring a tent")
    await expect(request).to_contain_text("Welcome Dave! Bring a tent")
    await request.click()
    await expect(dave).to_have_url(re.compile(rf"/inbox/{conversation_id}$"))
    await expect(dave.get_by_test_id("thread-title")).to_have_text(WEEKEND)
    await expect(dave.get_by_test_id("thread-members")).to_have_text("Alice Plans, Bob Reads, Carol Camps")
    await expect(dave.get_by_test_id("request-bar")).to_be_visible()
    await expect(dave.locator(".thread-start")).to_be_visible()  # all of his history has loaded
    await expect(thread_messages(dave)).to_have_count(1)
    await expect(thread_messages(dave).first).to_contain_text("Welcome Dave! Bring a tent")
    await expect(thread_messages(dave).filter(has_text="Camping on Saturday?")).to_have_count(0)
    await expect(thread_messages(dave).filter(has_text="Count me in")).to_have_count(0)
    await send_message(alice, "See you Saturday")
    await expect(thread_messages(dave).filter(has_text="See you Saturday")).to_be_visible()
    await expect(thread_messages(dave)).to_have_count(2)
    await expect(thread_messages(bob)).to_have_count(4)
    await shot(dave, "inbox-group-joined")

    # --- A name that looks like HTML is shown as text ------------------------------------------------------
    await conversation_action(alice, "rename-group")
    await expect(field).to_have_value(WEEKEND)
    await field.fill(HTML_TITLE)
    await alice.get_by_test_id("group-form-submit").click()
    for page in (alice, bob, dave):
        await expect(page.get_by_test_id("thread-title")).to_have_text(HTML_TITLE)
        await expect(page.get_by_test_id("thread-title").locator("b")).to_have_count(0)
    if not phone:
        named = bob.get_by_test_id("conversation").filter(has_text=HTML_TITLE)
        await expect(named.locator(".conversation-name")).to_have_text(HTML_TITLE)
        await expect(named.locator("b")).to_have_count(0)
