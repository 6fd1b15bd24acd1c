"""Reporting a direct message: only someone it was sent to may, the reviewers of the sender's realm see
that message (and only it), and removing it erases it in every copy, the other realm's included."""

from __future__ import annotations

from typing import Any

import httpx

from reelm.messages.policy import MessagingSettings
from reelm.runtime import Runtime
from tests.conftest import Account, make_account
from tests.factories import app_of, assert_problem, delivered
from tests.messages.common import follow, history, start
from tests.messages.test_across_realms import people_of_two_realms
from tests.moderation.common import API, decide, make_staff, queue, report

SPAM = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"


async def _case_of(
    client: httpx.AsyncClient, reviewer: Account, realm: str, message_id: str
) -> dict[str, Any]:
    items = (await queue(client, reviewer, realm)).json()["items"]
    (case,) = [c for c in items if c["content_id"] == message_id]
    detail = await client.get(f"{API}/moderation/cases/{case['id']}", headers=reviewer.auth)
    assert detail.status_code == 200, detail.text
    return dict(detail.json())


async def test_a_reported_message_is_shown_to_reviewers_and_removed_for_everyone(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    app_of(client).state.messaging.policy = MessagingSettings(min_account_age_hours=0)
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    mallory = await make_account(client, "mallory")
    await follow(runtime, bob, mallory)
    cid = (await start(client, mallory, "bob", body="Buy followers cheap at scam.example"))["id"]
    message_id = (await history(client, bob, cid))["items"][0]["id"]

    # Only someone it was sent to may report it: not its sender, not a stranger.
    assert_problem(
        await report(client, mallory, message_id, content_type="message", category=SPAM), 404, "not-found"
    )
    assert_problem(
        await report(client, alice, message_id, content_type="message", category=SPAM), 404, "not-found"
    )
    filed = await report(client, bob, message_id, content_type="message", category=SPAM, explanation="Spam")
    assert filed.status_code == 201, filed.text

    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    case = await _case_of(client, reviewer, "us", message_id)
    assert case["content"]["body"] == "Buy followers cheap at scam.example"
    assert "only the reported message" in case["content"]["note"]
    decided = await decide(client, reviewer, case["case"]["id"], category=SPAM, facts="Spam sent by DM.")
    assert decided.status_code == 201, decided.text
    for account in (bob, mallory):
        (shown,) = (await history(client, account, cid))["items"]
        assert (shown["unsent"], shown["body"]) == (True, None)


async def test_a_message_from_another_realm_is_reported_to_the_senders_realm(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, erik = await people_of_two_realms(client, runtime)
    mine = await start(client, alice, "erik", body="Send me your password")

    async def arrived() -> bool:
        items = (await client.get(f"{API}/conversations?folder=requests", headers=erik.auth)).json()["items"]
        return bool(items) and items[0]["last_message"] is not None

    await delivered(runtime, arrived)
    theirs = (await client.get(f"{API}/conversations?folder=requests", headers=erik.auth)).json()["items"][0]
    message_id = theirs["last_message"]["id"]
    filed = await report(
        client, erik, message_id, content_type="message", category=SPAM, explanation="Phishing"
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["realm"] == "us"  # the original lives with its sender, under us's rules

    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    case = await _case_of(client, reviewer, "us", message_id)
    assert case["content"]["body"] == "Send me your password"
    decided = await decide(client, reviewer, case["case"]["id"], category=SPAM, facts="Phishing by DM.")
    assert decided.status_code == 201, decided.text
    assert (await history(client, alice, mine["id"]))["items"][0]["unsent"] is True

    async def erased_in_eu() -> bool:
        (shown,) = (await history(client, erik, theirs["id"]))["items"]
        return bool(shown["unsent"]) and shown["body"] is None

    await delivered(runtime, erased_in_eu)
