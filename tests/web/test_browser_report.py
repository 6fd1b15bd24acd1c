"""Browser story of reporting (notice and action, DSA Art. 16) at phone and desktop widths.

Bob writes to Alice and comments on Maya's video. Alice reports Bob's message from her inbox: without
saying what is wrong the server's reason shows beside the field, what she typed stays and nothing is
filed; with it, a toast thanks her, the sheet closes, focus goes back, and her reports list it; a second
report of the same message shows the server's "already reported" in the form. She then reports Maya's
video from the share sheet (with a legal ground), Bob's comment from the comments drawer and Bob's
account from his profile; her own comment and profile offer no "Report". Text that looks like HTML is
sent as typed and never becomes markup. A visitor who presses "Report" is sent to log in.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, Response, expect

from tests.conftest import make_account
from tests.web import test_browser, test_browser_share
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_browser import Pages, feed_item, press, shot, sign_up
from tests.web.test_browser_inbox import HTML_LOOKALIKE, message_menu, open_inbox, thread_messages

# The fixtures of the browser and share stories: a server on the test databases (no worker; messages
# from seconds-old accounts allowed) and a ready public video by Maya.
pages = test_browser.pages
live_server = test_browser_share.live_server
video_id = test_browser_share.video_id
sent = test_browser_share.sent

OPEN = re.compile(r"\bis-open\b")
THANKS = "Thanks — we received your report"
SCAMS = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"


def files_report(response: Response) -> bool:
    return response.url.endswith("/api/v1/reports") and response.request.method == "POST"


async def call(page: Page, method: str, path: str, body: Any = None) -> Any:
    """The API as the page's own scripts call it (its session cookie and CSRF token)."""
    return await page.evaluate(
        """async ([method, path, body]) => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const response = await fetch(path, {
                method,
                headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
                body: body === null ? undefined : JSON.stringify(body),
            });
            const text = await response.text();
            if (!response.ok) throw new Error(`${response.status} ${text}`);
            return text ? JSON.parse(text) : null;
        }""",
        [method, path, body],
    )


async def my_reports(page: Page) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await call(page, "GET", "/api/v1/reports"))["items"]
    return items


async def settled(sheet: Locator) -> None:
    """The sheet's slide in or out has ended (for screenshots; actions wait for stillness anyway)."""
    await sheet.evaluate("node => Promise.all(node.getAnimations().map((a) => a.finished))")


async def open_sheet(page: Page, opener: Locator, title: str, subject: str) -> Locator:
    await press(page, opener)
    sheet = page.get_by_test_id("report-sheet")
    await expect(sheet).to_have_class(OPEN)
    await settled(sheet)
    await expect(sheet).to_be_in_viewport()
    await expect(sheet.get_by_role("heading")).to_have_text(title)
    await expect(sheet.get_by_test_id("report-subject")).to_have_text(subject)
    return sheet


async def submit(page: Page, sheet: Locator) -> Response:
    async with page.expect_response(files_report) as answer:
        await press(page, sheet.get_by_test_id("report-submit"))
    return await answer.value


async def report(page: Page, sheet: Locator, reason: str, explanation: str, legal_ground: str = "") -> Any:
    """Choose a reason, say what is wrong, send: the receipt; the sheet closes with a thank-you."""
    await sheet.get_by_label(reason, exact=True).check()
    await sheet.get_by_test_id("report-explanation").fill(explanation)
    await sheet.get_by_test_id("report-legal-ground").fill(legal_ground)
    answer = await submit(page, sheet)
    assert answer.status == 201, await answer.text()
    await expect(page.locator(".toast").filter(has_text=THANKS).last).to_be_visible()
    await expect(sheet).not_to_have_class(OPEN)
    return sent(answer) | {"receipt": await answer.json()}


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_report_a_message_a_video_a_comment_and_an_account(video_id: str, pages: Pages) -> None:
    alice = await pages.new()
    await sign_up(alice, "alice", "Alice Reports")
    bob = await pages.new()
    await sign_up(bob, "bob", "Bob Bothers")
    bob_id = await bob.locator("body").get_attribute("data-viewer-id")
    comments_path = f"/api/v1/videos/{video_id}/comments"
    scam = {"handles": ["alice"], "message": {"body": "Send me 100€ now"}}
    await call(bob, "POST", "/api/v1/conversations", scam)
    bob_comment = await call(bob, "POST", comments_path, {"body": "You are all fools"})
    alice_comment = await call(alice, "POST", comments_path, {"body": "Nice light"})

    # --- Alice reports Bob's message from her inbox ----------------------------------------------------
    await open_inbox(alice)
    await alice.get_by_test_id("folder-requests").click()
    await alice.get_by_test_id("conversation").filter(has_text="Bob Bothers").click()
    message = thread_messages(alice).filter(has_text="Send me 100€ now")
    await expect(message).to_have_count(1)
    message_id = await message.get_attribute("data-id")
    report_message = (await message_menu(alice, message)).get_by_test_id("report-message")
    sheet = await open_sheet(alice, report_message, "Report message", "Message from @bob")
    await expect(sheet.get_by_test_id("report-reason")).to_have_count(9)

    # Nothing said about what is wrong: the server's reason beside the field; what was typed stays.
    await sheet.get_by_label("Scam or fraud", exact=True).check()
    await sheet.get_by_test_id("report-legal-ground").fill("Fraud Act 2006, s. 2")
    refused = await submit(alice, sheet)
    assert refused.status == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = await refused.json()
    assert [e["field"] for e in problem["errors"]] == ["explanation"]
    assert sent(refused)["content_type"] == "message"
    error = sheet.get_by_test_id("report-explanation-error")
    await expect(error).to_be_visible()
    await expect(error).to_have_text(re.compile(re.escape(problem["errors"][0]["message"]), re.IGNORECASE))
    await expect(sheet.get_by_test_id("report-explanation")).to_have_attribute("aria-invalid", "true")
    await expect(sheet.get_by_test_id("report-explanation")).to_be_focused()
    await expect(sheet).to_have_class(OPEN)
    await expect(sheet.get_by_label("Scam or fraud", exact=True)).to_be_checked()
    await expect(sheet.get_by_test_id("report-legal-ground")).to_have_value("Fraud Act 2006, s. 2")
    assert await my_reports(alice) == []
    await shot(alice, "report-sheet-invalid")

    # Said: filed, thanked, closed, focus back on "Report"; the text went as typed, never as markup.
    await sheet.get_by_test_id("report-explanation").fill(HTML_LOOKALIKE)
    await expect(error).to_be_hidden()
    answer = await submit(alice, sheet)
    assert answer.status == 201, await answer.text()
    assert sent(answer) == {
        "content_type": "message",
        "content_id": message_id,
        "category": SCAMS,
        "explanation": HTML_LOOKALIKE,
        "legal_ground": "Fraud Act 2006, s. 2",
    }
    receipt = await answer.json()
    await expect(alice.locator(".toast").filter(has_text=THANKS)).to_be_visible()
    await expect(sheet).not_to_have_class(OPEN)
    more = message.get_by_test_id("message-more")  # the menu closed; focus is back on what opened it
    await expect(more).to_be_focused()
    reports = await my_reports(alice)
    assert [(r["id"], r["content_type"], r["content_id"], r["category"], r["status"]) for r in reports] == [
        (receipt["id"], "message", message_id, SCAMS, "received")
    ]
    await expect(sheet.locator("img, b")).to_have_count(0)
    assert await alice.evaluate("document.body.dataset.pwned") is None

    # Again: the sheet starts empty after a report went through, and the server's "already reported" shows.
    report_message = (await message_menu(alice, message)).get_by_test_id("report-message")
    sheet = await open_sheet(alice, report_message, "Report message", "Message from @bob")
    await expect(sheet.get_by_test_id("report-explanation")).to_have_value("")
    await sheet.get_by_label("Scam or fraud", exact=True).check()
    await sheet.get_by_test_id("report-explanation").fill("Still at it")
    again = await submit(alice, sheet)
    assert again.status == 409
    await expect(sheet.get_by_test_id("report-error")).to_have_text((await again.json())["detail"])
    await expect(sheet.get_by_test_id("report-explanation")).to_have_value("Still at it")
    await alice.keyboard.press("Escape")
    await expect(sheet).not_to_have_class(OPEN)
    await expect(more).to_be_focused()
    assert len(await my_reports(alice)) == 1
    # Her own messages offer no "Report".
    await alice.get_by_test_id("message-input").fill("Who is this?")
    await alice.get_by_test_id("message-send").click()
    await expect(thread_messages(alice).filter(has_text="Who is this?")).to_have_count(1)
    await expect(thread_messages(alice).get_by_test_id("report-message")).to_have_count(1)

    # --- Maya's video, from the share sheet ---------------------------------------------------------------
    await alice.goto("/")
    card = feed_item(alice, video_id)
    await expect(card).to_be_visible()
    share = card.get_by_test_id("share-button")
    await press(alice, share)
    share_sheet = alice.get_by_test_id("share-sheet")
    report_video = share_sheet.get_by_test_id("share-report")
    await expect(share_sheet).to_have_class(OPEN)
    sheet = await open_sheet(alice, report_video, "Report video", "Video by @maya")
    await expect(share_sheet).not_to_have_class(OPEN)
    await alice.keyboard.press("Escape")  # closes the report sheet, focus back on the share button
    await expect(sheet).not_to_have_class(OPEN)
    await expect(share).to_be_focused()
    await press(alice, share)
    sheet = await open_sheet(alice, report_video, "Report video", "Video by @maya")
    await settled(share_sheet)
    await shot(alice, "report-sheet")
    video = await report(alice, sheet, "Hate speech", "Slurs at 0:01", "Volksverhetzung, § 130 StGB")
    assert video["content_type"] == "video"
    assert video["content_id"] == video_id
    assert video["category"] == "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    assert video["legal_ground"] == "Volksverhetzung, § 130 StGB"
    await expect(share).to_be_focused()

    # --- Bob's comment, from the comments drawer; hers has no "Report" -------------------------------------
    await press(alice, card.get_by_test_id("comment-button"))
    drawer = alice.get_by_test_id("comments")
    theirs = drawer.locator(f'[data-comment-id="{bob_comment["id"]}"]')
    mine = drawer.locator(f'[data-comment-id="{alice_comment["id"]}"]')
    await expect(theirs).to_be_visible()
    await expect(mine.get_by_test_id("comment-report")).to_have_count(0)
    report_comment = theirs.get_by_test_id("comment-report")
    sheet = await open_sheet(alice, report_comment, "Report comment", "Comment by @bob")
    comment = await report(alice, sheet, "Harassment or bullying", "Insults everyone")
    assert (comment["content_type"], comment["content_id"]) == ("comment", bob_comment["id"])
    assert comment["category"] == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    assert comment["legal_ground"] is None
    await expect(report_comment).to_be_focused()
    await settled(sheet)
    await shot(alice, "report-comment-done")
    await expect(drawer).to_have_class(OPEN)  # the drawer stays open under the sheet

    # --- Bob's account, from his profile; hers has no "Report" ---------------------------------------------
    await alice.goto("/@bob")
    sheet = await open_sheet(alice, alice.get_by_test_id("report-account"), "Report account", "@bob")
    account = await report(alice, sheet, "Something else", "Impersonates my friend")
    assert (account["content_type"], account["content_id"]) == ("account", bob_id)
    assert account["category"] == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    await alice.goto("/@alice")
    await expect(alice.locator(".profile-actions")).to_be_visible()
    await expect(alice.get_by_test_id("report-account")).to_have_count(0)

    reports = await my_reports(alice)
    assert sorted((r["content_type"], r["content_id"]) for r in reports) == sorted(
        [
            ("message", message_id),
            ("video", video_id),
            ("comment", bob_comment["id"]),
            ("account", bob_id),
        ]
    )
    assert all(r["status"] == "received" and r["outcome"] is None for r in reports)
    assert await my_reports(bob) == []


async def test_a_visitor_is_sent_to_log_in(client: httpx.AsyncClient, pages: Pages) -> None:
    await make_account(client, "maya")
    visitor = await pages.new()
    await visitor.goto("/@maya")
    await visitor.get_by_test_id("report-account").click()
    await expect(visitor).to_have_url(re.compile(r"/login\?next=%2F%40maya$"))
    await expect(visitor.get_by_test_id("report-sheet")).to_have_count(0)
