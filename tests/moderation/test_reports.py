"""Notices: receipts, grouping of duplicates, trusted flaggers first, rate limits and bad input."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reelm.moderation.reports import REPORTS_PER_HOUR
from reelm.runtime import Runtime
from tests.conftest import make_account
from tests.factories import assert_problem, make_tiny_clip, publish
from tests.moderation.common import API, CATEGORY, counts, make_staff, queue, report
from tests.web.test_security import browser_login


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("reports"))


async def test_a_report_gets_a_receipt_and_duplicates_join_one_case(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip, caption="street")
    alice = await make_account(client, "alice")
    visitor = await make_account(client, "visitor", country="DE")  # another realm reports a us video

    filed = await report(client, alice, video_id, legal_ground="Penal code 131")
    assert filed.status_code == 201, filed.text
    receipt = filed.json()
    assert (receipt["status"], receipt["realm"], receipt["content_id"]) == ("received", "us", video_id)
    assert receipt["trusted_flagger"] is False
    assert receipt["outcome"] is None

    again = await report(client, alice, video_id)
    assert assert_problem(again, 409, "already-reported")["report_id"] == receipt["id"]

    other = await report(client, visitor, video_id, category="STATEMENT_CATEGORY_SCAMS_AND_FRAUD")
    assert other.status_code == 201, other.text
    assert other.json()["realm"] == "us"  # stored where the content lives

    mine = await client.get(f"{API}/reports", headers=visitor.auth)
    assert [r["id"] for r in mine.json()["items"]] == [other.json()["id"]]
    one = await client.get(f"{API}/reports/{receipt['id']}", headers=alice.auth)
    assert one.json()["id"] == receipt["id"]
    # Someone else's report does not exist for you.
    assert_problem(await client.get(f"{API}/reports/{receipt['id']}", headers=visitor.auth), 404, "not-found")

    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    cases = (await queue(client, reviewer, "us")).json()["items"]
    assert len(cases) == 1
    assert cases[0]["report_count"] == 2
    assert (await counts(runtime, "us"))["moderation_reports"] == 2
    assert (await counts(runtime, "eu"))["moderation_reports"] == 0  # nothing kept in the reporter's realm


async def test_trusted_flaggers_cases_come_first(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    first = await publish(client, runtime, creator, clip)
    second = await publish(client, runtime, creator, clip)
    operator = await make_staff(client, runtime, "otto", "operator", "us")
    flagger = await make_account(client, "hotline")
    named = await client.put(
        f"{API}/moderation/realms/us/trusted-flaggers/hotline",
        headers=operator.auth,
        json={"name": "Hotline e.V."},
    )
    assert named.status_code == 200, named.text
    plain = await make_account(client, "plain")
    assert (
        await report(client, plain, first, category="STATEMENT_CATEGORY_PROTECTION_OF_MINORS")
    ).status_code == 201
    trusted = await report(client, flagger, second)
    assert trusted.json()["trusted_flagger"] is True
    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    items = (await queue(client, reviewer, "us")).json()["items"]
    assert [c["content_id"] for c in items] == [second, first]
    assert items[0]["trusted"] is True


async def test_bad_reports_change_nothing(client: httpx.AsyncClient, runtime: Runtime, clip: Path) -> None:
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip)
    private_id = await publish(client, runtime, creator, clip, visibility="private")
    alice = await make_account(client, "alice")
    before = await counts(runtime, "us")

    assert_problem(await report(client, alice, video_id, category="SPAM"), 422, "invalid-request")
    assert_problem(await report(client, alice, video_id, content_type="photo"), 422, "invalid-request")
    assert_problem(await report(client, alice, video_id, explanation="   "), 422, "invalid-request")
    assert_problem(await report(client, alice, video_id, explanation="x" * 2001), 422, "invalid-request")
    assert_problem(await report(client, alice, "12345"), 404, "not-found")
    assert_problem(await report(client, alice, "not-an-id"), 404, "not-found")
    assert_problem(await report(client, alice, private_id), 404, "not-found")  # cannot be seen by alice
    anonymous = await client.post(
        f"{API}/reports",
        json={"content_type": "video", "content_id": video_id, "category": CATEGORY, "explanation": "x"},
    )
    assert_problem(anonymous, 401, "login-required")
    assert await counts(runtime, "us") == before


async def test_report_spam_is_rate_limited(client: httpx.AsyncClient, runtime: Runtime, clip: Path) -> None:
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip)
    spammer = await make_account(client, "spammer")
    for _ in range(REPORTS_PER_HOUR):
        await report(client, spammer, video_id, category="SPAM")  # refused, but counted
    limited = await report(client, spammer, video_id)
    assert_problem(limited, 429, "rate-limited")
    assert "Retry-After" in limited.headers
    assert (await counts(runtime, "us"))["moderation_reports"] == 0


async def test_cookie_reports_need_the_csrf_token(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip)
    await make_account(client, "alice")
    token = await browser_login(client, "alice")
    body = {"content_type": "video", "content_id": video_id, "category": CATEGORY, "explanation": "x"}
    assert_problem(await client.post(f"{API}/reports", json=body), 403, "csrf")
    assert (await counts(runtime, "us"))["moderation_reports"] == 0
    accepted = await client.post(f"{API}/reports", json=body, headers={"x-csrf-token": token})
    assert accepted.status_code == 201, accepted.text
