"""Browser story of "Your reports" on the settings page, at phone and desktop widths.

Alice reports Maya's video and the accounts of Carol and Bob. A reviewer suspends Carol and takes no action
on Bob; the video waits. Her settings page lists the three, newest first: what (the video links to its
page), the reason's label, when, the status and, once decided, the outcome; only "no action" offers
"Appeal". Escape closes the appeal form and focus goes back; an empty reason shows the server's reason
beside the field, keeps what was typed and files nothing; a reason files the appeal, which the page says
and the API shows; after a reload the report says it was appealed and offers no second appeal. Someone
who reported nothing is told so.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, Response, expect

from reelm.runtime import Runtime
from tests.conftest import make_account
from tests.moderation.common import counts, decide, make_staff, queue
from tests.web import test_browser, test_browser_share
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_browser import Pages, press, shot, sign_up
from tests.web.test_browser_report import SCAMS, call, my_reports

# The fixtures of the browser, share and report stories: a server on the test databases (no worker) and a
# ready public video by Maya.
pages = test_browser.pages
live_server = test_browser_share.live_server
video_id = test_browser_share.video_id
sent = test_browser_share.sent

HATE = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
HARASSMENT = "STATEMENT_CATEGORY_CYBER_VIOLENCE"
REASON = "Bob keeps sending scam links <b>to everyone</b>; please look again."


def files_appeal(report_id: str) -> Any:
    return lambda r: r.url.endswith(f"/api/v1/reports/{report_id}/appeals") and r.request.method == "POST"


async def file_report(page: Page, content_type: str, content_id: str, category: str) -> dict[str, Any]:
    body = {
        "content_type": content_type,
        "content_id": content_id,
        "category": category,
        "explanation": f"Reported {content_type} for the settings page",
    }
    receipt: dict[str, Any] = await call(page, "POST", "/api/v1/reports", body)
    assert receipt["status"] == "received"
    return receipt


async def appeal(page: Page, item: Locator, report_id: str) -> Response:
    async with page.expect_response(files_appeal(report_id)) as answer:
        await press(page, item.get_by_test_id("appeal-submit"))
    return await answer.value


async def open_settings(page: Page) -> Locator:
    await page.goto("/settings/data")  # "Your reports" is in the data and audit section
    section = page.get_by_test_id("my-reports")
    await expect(section.get_by_role("heading", name="Your reports")).to_be_visible()
    await expect(section).to_have_attribute("aria-busy", "false")
    return section


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_my_reports_show_outcomes_and_appeal_no_action(
    client: httpx.AsyncClient, runtime: Runtime, video_id: str, pages: Pages
) -> None:
    bob = await make_account(client, "bob")
    carol = await make_account(client, "carol")
    alice = await pages.new()
    await sign_up(alice, "alice", "Alice Reports")
    video = await file_report(alice, "video", video_id, HATE)
    suspended = await file_report(alice, "account", carol.id, HARASSMENT)
    kept = await file_report(alice, "account", bob.id, SCAMS)

    # A reviewer suspends Carol and takes no action on Bob; the video is not decided yet.
    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    cases = {c["content_id"]: c["id"] for c in (await queue(client, reviewer, "us")).json()["items"]}
    decided = await decide(client, reviewer, cases[carol.id], action="suspend", suspend_days=7)
    assert decided.status_code == 201, decided.text
    decided = await decide(client, reviewer, cases[bob.id], action="no_action")
    assert decided.status_code == 201, decided.text
    listed = await my_reports(alice)
    assert [r["id"] for r in listed] == [kept["id"], suspended["id"], video["id"]]
    assert [(r["status"], r["outcome"]) for r in listed] == [
        ("decided", "no_action"),
        ("decided", "suspend"),
        ("received", None),
    ]

    # --- the list: newest first, with what, why, when, where it stands and the outcome -----------------
    section = await open_settings(alice)
    items = section.get_by_test_id("my-report")
    await expect(items).to_have_count(3)
    assert [await item.get_attribute("data-report-id") for item in await items.all()] == [
        r["id"] for r in listed
    ]
    await expect(section.get_by_test_id("my-reports-empty")).to_have_count(0)
    bob_item, carol_item, video_item = (items.nth(i) for i in range(3))

    await expect(bob_item.get_by_test_id("my-report-what")).to_have_text(f"Account {bob.id}")
    await expect(bob_item.get_by_test_id("my-report-reason")).to_have_text("Scam or fraud")
    await expect(bob_item.get_by_test_id("my-report-status")).to_have_text("Decided")
    await expect(bob_item.get_by_test_id("my-report-outcome")).to_have_text("No action taken")
    await expect(bob_item.get_by_test_id("my-report-filed").locator("time")).to_have_attribute(
        "datetime", listed[0]["received_at"]
    )
    await expect(bob_item).to_have_accessible_name(f"Account {bob.id}")

    await expect(carol_item.get_by_test_id("my-report-what")).to_have_text(f"Account {carol.id}")
    await expect(carol_item.get_by_test_id("my-report-reason")).to_have_text("Harassment or bullying")
    await expect(carol_item.get_by_test_id("my-report-status")).to_have_text("Decided")
    await expect(carol_item.get_by_test_id("my-report-outcome")).to_have_text("Account suspended")
    await expect(carol_item.get_by_test_id("my-report-appeal")).to_have_count(0)

    link = video_item.get_by_role("link", name=f"Video {video_id}")
    await expect(link).to_have_attribute("href", f"/v/{video_id}")
    await expect(video_item.get_by_test_id("my-report-reason")).to_have_text("Hate speech")
    await expect(video_item.get_by_test_id("my-report-status")).to_have_text("Received")
    await expect(video_item.get_by_test_id("my-report-outcome")).to_have_count(0)
    await expect(video_item.get_by_test_id("my-report-appeal")).to_have_count(0)
    await expect(section.get_by_test_id("my-report-appeal")).to_have_count(1)
    await section.scroll_into_view_if_needed()
    await shot(alice, "my-reports")

    # --- "Appeal" opens the form; Escape closes it, focus back on "Appeal", what was typed stays ---------
    button = bob_item.get_by_test_id("my-report-appeal")
    form = bob_item.get_by_test_id("appeal-form")
    reason = bob_item.get_by_test_id("appeal-reason")
    await expect(button).to_have_attribute("aria-expanded", "false")
    await expect(form).to_be_hidden()
    await press(alice, button)
    await expect(form).to_be_visible()
    await expect(reason).to_be_focused()
    await expect(bob_item.get_by_label("Why should we look again?")).to_be_visible()
    await reason.fill("A first thought")
    await alice.keyboard.press("Escape")
    await expect(form).to_be_hidden()
    await expect(button).to_be_focused()
    await expect(button).to_have_attribute("aria-expanded", "false")
    await press(alice, button)
    await expect(reason).to_have_value("A first thought")
    await press(alice, bob_item.get_by_test_id("appeal-cancel"))
    await expect(form).to_be_hidden()
    await expect(button).to_be_focused()

    # --- an empty reason: the server's reason beside the field, what was typed stays, nothing is filed ----
    before = await counts(runtime, "us")
    await press(alice, button)
    await reason.fill("   ")
    refused = await appeal(alice, bob_item, kept["id"])
    assert refused.status == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = await refused.json()
    assert [e["field"] for e in problem["errors"]] == ["reason"]
    assert sent(refused) == {"reason": "   "}
    error = bob_item.get_by_test_id("appeal-reason-error")
    await expect(error).to_be_visible()
    await expect(error).to_have_text(re.compile(re.escape(problem["errors"][0]["message"]), re.IGNORECASE))
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await expect(reason).to_be_focused()
    await expect(reason).to_have_value("   ")
    await expect(form).to_be_visible()
    assert await counts(runtime, "us") == before
    await shot(alice, "my-reports-appeal-invalid")

    # --- a reason: filed, the page says so, the API has it -------------------------------------------------
    await reason.fill(REASON)
    await expect(error).to_be_hidden()
    await expect(reason).not_to_have_attribute("aria-invalid", "true")
    filed = await appeal(alice, bob_item, kept["id"])
    assert filed.status == 201, await filed.text()
    assert sent(filed) == {"reason": REASON}
    created = await filed.json()
    done = bob_item.get_by_test_id("my-report-appealed")
    await expect(done).to_be_visible()
    await expect(done).to_contain_text("Appeal filed")
    await expect(done).to_have_attribute("role", "status")
    await expect(done).to_have_attribute("data-appeal-id", created["id"])
    await expect(done).to_be_focused()
    await expect(form).to_have_count(0)
    await expect(button).to_have_count(0)
    await shot(alice, "my-reports-appealed")
    after = await counts(runtime, "us")
    assert after["moderation_appeals"] == before["moderation_appeals"] + 1
    # The receipt says the outcome was appealed; the appeal itself is Alice's to read.
    receipt = await call(alice, "GET", f"/api/v1/reports/{kept['id']}")
    assert (receipt["status"], receipt["outcome"], receipt["appeal_state"]) == (
        "decided",
        "no_action",
        "open",
    )
    filed_appeal = await call(alice, "GET", f"/api/v1/moderation/appeals/{created['id']}")
    assert (filed_appeal["by_reporter"], filed_appeal["state"], filed_appeal["reason"]) == (
        True,
        "open",
        REASON,
    )
    assert filed_appeal["decision_id"] == created["decision_id"]

    # --- after a reload the report says it was appealed, and offers no second appeal -----------------------
    section = await open_settings(alice)
    bob_item = section.get_by_test_id("my-report").filter(has_text=f"Account {bob.id}")
    await expect(bob_item.get_by_test_id("my-report-appeal-state")).to_have_text(
        "Appealed · waiting for a second review"
    )
    await expect(bob_item.get_by_test_id("my-report-appeal")).to_have_count(0)
    assert await counts(runtime, "us") == after
    await expect(alice.locator(".my-reports b")).to_have_count(0)


async def test_someone_who_reported_nothing_is_told_so(pages: Pages) -> None:
    dora = await pages.new()
    await sign_up(dora, "dora", "Dora Quiet")
    section = await open_settings(dora)
    await expect(section.get_by_test_id("my-reports-empty")).to_have_text("You have not reported anything.")
    await expect(section.get_by_test_id("my-report")).to_have_count(0)
    await expect(section.get_by_test_id("my-reports-list")).to_have_count(0)
    assert await my_reports(dora) == []
