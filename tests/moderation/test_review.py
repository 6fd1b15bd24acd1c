"""Review: Cedar-gated queues and cases, decisions and their effects, statements, appeals, orders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Row, select

from reelm.audit.service import LEGAL_ORDER, MODERATION_DECISION, STAFF_ACCESS, pseudonym
from reelm.crossrealm.views import public_videos
from reelm.moderation.service import APPEAL_DECISION
from reelm.runtime import Runtime
from tests.conftest import TEST_SECRET, Account, make_account
from tests.factories import assert_problem, eventually, make_tiny_clip, publish
from tests.moderation.common import (
    API,
    CATEGORY,
    counts,
    decide,
    make_staff,
    moderation_entries,
    queue,
    report,
    video_row,
)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("review"))


async def projected(runtime: Runtime, reader: str, video_id: str) -> Row[Any] | None:
    async with runtime.databases.sessionmaker(reader)() as session:
        return (
            await session.execute(select(public_videos).where(public_videos.c.id == int(video_id)))
        ).first()


async def reported_case(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, *, caption: str = "fight"
) -> tuple[Account, Account, Account, str, str, str]:
    """A published video reported by alice: (creator, alice, reviewer, video id, case id, report id)."""
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip, caption=caption)
    alice = await make_account(client, "alice")
    filed = await report(client, alice, video_id)
    assert filed.status_code == 201, filed.text
    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    [case] = (await queue(client, reviewer, "us")).json()["items"]
    return creator, alice, reviewer, video_id, case["id"], filed.json()["id"]


async def test_removal_reaches_every_realm_with_a_statement_and_a_logged_decision(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator, alice, reviewer, video_id, case_id, report_id = await reported_case(client, runtime, clip)
    await eventually(lambda: _is_projected(runtime, "eu", video_id))

    detail = await client.get(f"{API}/moderation/cases/{case_id}", headers=reviewer.auth)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["content"]["caption"] == "fight"
    [seen] = body["reports"]
    assert seen["reporter_ref"] == pseudonym(TEST_SECRET, "us", int(alice.id))  # never the reporter's id
    assert "alice" not in detail.text
    [access] = await moderation_entries(runtime, "us", STAFF_ACCESS)
    assert access["details"]["decision"] == "allow"

    decided = await decide(client, reviewer, case_id)
    assert decided.status_code == 201, decided.text
    decision = decided.json()
    assert (decision["action"], decision["automated_decision"]) == (
        "remove",
        "AUTOMATED_DECISION_NOT_AUTOMATED",
    )
    video = await video_row(runtime, "us", video_id)
    assert (video.status, video.reject_code) == ("removed", "removed")
    await eventually(lambda: _is_gone(runtime, "eu", video_id))
    assert await projected(runtime, "us", video_id) is None

    receipt = (await client.get(f"{API}/reports/{report_id}", headers=alice.auth)).json()
    assert (receipt["status"], receipt["outcome"]) == ("decided", "remove")
    statement = await client.get(
        f"{API}/moderation/decisions/{decision['id']}/statement", headers=creator.auth
    )
    assert statement.status_code == 200, statement.text
    s = statement.json()
    assert s["terms_ground"] == "Terms 4.2: no graphic violence"
    assert s["automated_detection"] is False
    assert s["appeal_until"] is not None
    assert len(s["redress"]) == 3
    # Only the affected user (and reviewers) read the statement.
    assert_problem(
        await client.get(f"{API}/moderation/decisions/{decision['id']}/statement", headers=alice.auth),
        404,
        "not-found",
    )
    [entry] = await moderation_entries(runtime, "us", MODERATION_DECISION)
    assert entry["subject"] == pseudonym(TEST_SECRET, "us", int(creator.id))
    assert entry["actor"]["kind"] == "staff"
    assert entry["details"]["action"] == "remove"
    assert_problem(await decide(client, reviewer, case_id), 409, "case-closed")


async def _is_projected(runtime: Runtime, reader: str, video_id: str) -> bool:
    return await projected(runtime, reader, video_id) is not None


async def _is_gone(runtime: Runtime, reader: str, video_id: str) -> bool:
    return await projected(runtime, reader, video_id) is None


async def test_geo_restriction_label_and_age_flag_travel_with_the_projection(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    _, _, reviewer, video_id, case_id, _ = await reported_case(client, runtime, clip)
    decided = await decide(client, reviewer, case_id, action="geo_restrict", restricted_realms=["eu"])
    assert decided.status_code == 201, decided.text

    async def restricted() -> bool:
        row = await projected(runtime, "global", video_id)
        return row is not None and row.restricted_realms == ["eu"]

    await eventually(restricted)
    assert (await video_row(runtime, "us", video_id)).status == "ready"


async def test_bad_decisions_and_unauthorised_staff_change_nothing(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    _, alice, reviewer, video_id, case_id, _ = await reported_case(client, runtime, clip)
    before = await counts(runtime, "us")
    assert_problem(await decide(client, reviewer, case_id, action="explode"), 422, "invalid-request")
    assert_problem(await decide(client, reviewer, case_id, action="label"), 422, "invalid-request")
    assert_problem(await decide(client, reviewer, case_id, action="geo_restrict"), 422, "invalid-request")
    assert_problem(
        await decide(client, reviewer, case_id, action="geo_restrict", restricted_realms=["mars"]),
        422,
        "invalid-request",
    )
    assert_problem(
        await decide(client, reviewer, case_id, ground="DECISION_GROUND_ILLEGAL_CONTENT"),
        422,
        "invalid-request",
    )
    assert_problem(await decide(client, reviewer, case_id, facts=""), 422, "invalid-request")
    assert_problem(await decide(client, reviewer, case_id, suspend_days=3), 422, "invalid-request")
    assert_problem(await decide(client, reviewer, "999"), 404, "not-found")

    eu_reviewer = await make_staff(client, runtime, "eve", "reviewer", "eu", country="DE")
    auditor = await make_staff(client, runtime, "audrey", "auditor", "us")
    for outsider in (eu_reviewer, auditor):
        assert_problem(await decide(client, outsider, case_id), 403, "access-denied")
        assert_problem(await queue(client, outsider, "us"), 403, "access-denied")
    assert_problem(await decide(client, alice, case_id), 403, "not-staff")
    assert_problem(
        await client.get(f"{API}/moderation/cases/{case_id}", headers=eu_reviewer.auth), 403, "access-denied"
    )
    # The denied read of the case is logged like the allowed one.
    denials = [
        e for e in await moderation_entries(runtime, "us", STAFF_ACCESS) if e["details"]["decision"] == "deny"
    ]
    assert len(denials) == 1
    after = await counts(runtime, "us")
    assert after == before
    assert (await video_row(runtime, "us", video_id)).status == "ready"


async def test_appeals_go_to_another_reviewer_and_a_reversal_restores(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator, alice, reviewer, video_id, case_id, _ = await reported_case(client, runtime, clip)
    decision = (await decide(client, reviewer, case_id)).json()
    appeal_url = f"{API}/moderation/decisions/{decision['id']}/appeals"
    assert_problem(
        await client.post(appeal_url, headers=alice.auth, json={"reason": "not mine"}), 404, "not-found"
    )
    assert_problem(
        await client.post(appeal_url, headers=creator.auth, json={"reason": " "}), 422, "invalid-request"
    )
    filed = await client.post(appeal_url, headers=creator.auth, json={"reason": "It was staged for a film."})
    assert filed.status_code == 201, filed.text
    appeal = filed.json()
    assert_problem(
        await client.post(appeal_url, headers=creator.auth, json={"reason": "again"}), 409, "already-appealed"
    )

    decide_url = f"{API}/moderation/appeals/{appeal['id']}/decision"
    body = {"outcome": "reversed", "explanation": "Staged scene, clearly fictional."}
    assert_problem(await client.post(decide_url, headers=reviewer.auth, json=body), 403, "access-denied")
    other = await make_staff(client, runtime, "oscar", "reviewer", "us")
    reversed_ = await client.post(decide_url, headers=other.auth, json=body)
    assert reversed_.status_code == 200, reversed_.text
    assert reversed_.json()["state"] == "reversed"
    assert (await video_row(runtime, "us", video_id)).status == "ready"
    await eventually(lambda: _is_projected(runtime, "eu", video_id))
    [entry] = await moderation_entries(runtime, "us", APPEAL_DECISION)
    assert (entry["details"]["outcome"], entry["details"]["automated"]) == ("reversed", False)
    assert_problem(await client.post(decide_url, headers=other.auth, json=body), 409, "appeal-decided")


async def test_legal_order_is_applied_logged_and_kept_from_the_user_when_gagged(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip)
    operator = await make_staff(client, runtime, "otto", "operator", "us")
    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    order = {
        "authority": "District Court",
        "legal_basis": "Section 7 Act",
        "reference": "AZ 1/26",
        "scope": "Remove the video",
        "action": "remove",
        "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "targets": [{"content_type": "video", "content_id": video_id}],
        "notify_users": False,
    }
    url = f"{API}/moderation/realms/us/legal-orders"
    assert_problem(await client.post(url, headers=reviewer.auth, json=order), 403, "access-denied")
    bad = order | {"targets": [{"content_type": "video", "content_id": "42"}]}
    assert_problem(await client.post(url, headers=operator.auth, json=bad), 404, "not-found")
    assert (await counts(runtime, "us"))["moderation_legal_orders"] == 0
    recorded = await client.post(url, headers=operator.auth, json=order)
    assert recorded.status_code == 201, recorded.text
    [decision_id] = recorded.json()["decision_ids"]
    assert (await video_row(runtime, "us", video_id)).reject_reason == "This video is not available."
    statement_url = f"{API}/moderation/decisions/{decision_id}/statement"
    assert_problem(await client.get(statement_url, headers=creator.auth), 404, "not-found")
    assert (await client.get(statement_url, headers=reviewer.auth)).status_code == 200
    [entry] = await moderation_entries(runtime, "us", LEGAL_ORDER)
    assert entry["details"]["targets"] == 1
    assert "creator" not in str(entry)


async def test_transparency_report_and_database_export(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    _, _, reviewer, _, case_id, _ = await reported_case(client, runtime, clip)
    await decide(client, reviewer, case_id, facts="Fight shown, see @alice or mail a@b.org")
    report_json = (await client.get(f"{API}/moderation/realms/us/transparency-report")).json()
    assert report_json["notices_by_category"][CATEGORY] == 1
    assert report_json["actions_by_type"]["remove"] == 1
    assert report_json["share_automated"] == 0.0
    assert report_json["median_hours_to_action"] is not None
    csv_text = (
        await client.get(f"{API}/moderation/realms/us/transparency-report", params={"format": "csv"})
    ).text
    assert f"us,{report_json['start']},{report_json['end']},actions_by_type,remove,1" in csv_text
    assert_problem(
        await client.get(
            f"{API}/moderation/realms/us/transparency-report",
            params={"from": "2026-05-01", "to": "2026-01-01"},
        ),
        422,
        "invalid-request",
    )
    assert_problem(await client.get(f"{API}/moderation/realms/mars/transparency-report"), 404, "not-found")

    auditor = await make_staff(client, runtime, "audrey", "auditor", "us")
    export = await client.get(f"{API}/moderation/realms/us/transparency-db", headers=auditor.auth)
    assert export.status_code == 200, export.text
    [record] = export.json()["statements"]
    assert record["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert record["automated_detection"] == "No"
    assert record["puid"].startswith("reelm-us-")
    assert "@alice" not in record["decision_facts"]
    assert "a@b.org" not in record["decision_facts"]
    assert_problem(
        await client.get(f"{API}/moderation/realms/us/transparency-db", headers=reviewer.auth),
        403,
        "access-denied",
    )
