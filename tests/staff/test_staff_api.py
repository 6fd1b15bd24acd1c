"""Staff access through the JSON API: justifications, approvals and the gated, logged read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from reelm import ids
from reelm.audit.service import JUSTIFICATION, STAFF_ACCESS, pseudonym
from reelm.runtime import Runtime
from reelm.staff.models import AccessJustification
from reelm.staff.policy import default_engine
from tests.conftest import TEST_SECRET, make_account
from tests.factories import assert_problem
from tests.staff.common import (
    API,
    REALMS,
    approve,
    justifications,
    make_staff,
    new_justification,
    outbox,
    outbox_bytes,
    read_protected,
    request_justification,
    row_counts,
)


async def staff_access_entries(runtime: Runtime, realm: str) -> list[dict[str, Any]]:
    return await outbox(runtime, realm, STAFF_ACCESS)


async def expire(runtime: Runtime, realm: str, justification_id: str) -> None:
    async with runtime.databases.transaction(realm) as session:
        await session.execute(
            update(AccessJustification)
            .where(AccessJustification.id == int(justification_id))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )


# --- the happy path ---------------------------------------------------------------------------------------


async def test_support_with_approved_justification_reads_after_one_logged_allow(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    samira = await make_account(client, "samira")
    sue = await make_staff(client, runtime, "sue", "support")
    otto = await make_staff(client, runtime, "otto", "operator")

    created = await request_justification(client, sue, "@Samira", reason="Ticket 4711: cannot log in")
    assert created.status_code == 201, created.text
    pending = created.json()
    assert (pending["status"], pending["purpose"], pending["subject_realm"]) == ("pending", "support", "us")
    assert (pending["requester_id"], pending["requester_realm"]) == (sue.id, "us")
    assert pending["approver_id"] is None
    assert pending["expires_at"] is None

    approved = await approve(client, otto, pending["id"])
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["approver_id"]) == ("approved", otto.id)
    expires = datetime.fromisoformat(body["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=1)
    assert body["approved_at"] == body["decided_at"]

    assert await staff_access_entries(runtime, "us") == []  # nothing read yet
    read = await read_protected(client, sue, "samira", justification_id=pending["id"])
    assert read.status_code == 200, read.text
    data = read.json()
    assert (data["email"], data["country"], data["handle"], data["realm"]) == (
        "samira@example.org",
        "US",
        "samira",
        "us",
    )
    assert data["user_id"] == samira.id
    assert data["justification_id"] == pending["id"]
    assert data["policy_hash"] == default_engine().policy_hash
    (session,) = data["sessions"]  # make_account logged in once
    assert session["kind"] == "api"
    assert session["ip"] == "127.0.0.1"
    assert session["user_agent"].startswith("python-httpx/")

    (entry,) = await staff_access_entries(runtime, "us")
    assert entry["type"] == STAFF_ACCESS
    assert entry["realm"] == "us"
    assert entry["actor"] == {"kind": "staff", "id": sue.id, "role": "support", "staff_realm": "us"}
    assert entry["subject"] == pseudonym(TEST_SECRET, "us", int(samira.id))
    assert entry["details"] == {
        "action": "ReadProtected",
        "purpose": "support",
        "justification": pending["id"],
        "decision": "allow",
        "policies": ["support-reads-own-realm-with-approved-justification"],
        "policy_hash": default_engine().policy_hash,
    }
    # Request and approval are logged too; no entry anywhere names the subject or carries the reason.
    kinds = [
        (e["type"], e["details"]["action"], e["details"]["decision"]) for e in await outbox(runtime, "us")
    ]
    assert kinds == [
        (JUSTIFICATION, "RequestJustification", "allow"),
        (JUSTIFICATION, "ApproveJustification", "allow"),
        (STAFF_ACCESS, "ReadProtected", "allow"),
    ]
    for realm in (*REALMS, None):
        for raw in await outbox_bytes(runtime, realm):
            for secret in (b"samira", b"example.org", samira.id.encode(), b"4711", b"cannot log in"):
                assert secret not in raw, (realm, raw)


async def test_approval_lasts_as_long_as_the_setting_says(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_account(client, "samira")
    sue = await make_staff(client, runtime, "sue", "support")
    otto = await make_staff(client, runtime, "otto", "operator")
    runtime.settings.staff_justification_hours = 2
    justification_id = await new_justification(client, sue, "samira")
    body = (await approve(client, otto, justification_id)).json()
    expires = datetime.fromisoformat(body["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(hours=2))) < timedelta(minutes=1)


# --- denials ------------------------------------------------------------------------------------------------


async def test_reads_without_a_valid_justification_are_denied_and_logged(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    samira = await make_account(client, "samira")
    await make_account(client, "pat")
    sue = await make_staff(client, runtime, "sue", "support")
    otto = await make_staff(client, runtime, "otto", "operator")

    pending = await new_justification(client, sue, "samira")
    expired = await new_justification(client, sue, "samira")
    assert (await approve(client, otto, expired)).status_code == 200
    await expire(runtime, "us", expired)
    for_samira = await new_justification(client, sue, "samira")
    assert (await approve(client, otto, for_samira)).status_code == 200
    rejected = await new_justification(client, sue, "samira")
    refused = await client.post(f"{API}/justifications/{rejected}/reject", headers=otto.auth)
    assert refused.status_code == 200, refused.text
    assert (refused.json()["status"], refused.json()["approved_at"]) == ("rejected", None)
    unknown = str(ids.new_id(1))

    attempts = [
        ("samira", "support", None),  # no justification
        ("samira", "support", pending),
        ("samira", "support", expired),
        ("samira", "support", rejected),
        ("pat", "support", for_samira),  # for another subject
        ("samira", "legal", for_samira),  # for another purpose
        ("samira", "support", unknown),  # no such justification
    ]
    for handle, purpose, justification_id in attempts:
        denied = await read_protected(client, sue, handle, purpose=purpose, justification_id=justification_id)
        problem = assert_problem(denied, 403, "access-denied")
        assert "samira@example.org" not in denied.text
        assert "logged" in problem["detail"]

    entries = await staff_access_entries(runtime, "us")
    assert [(e["details"]["decision"], e["details"]["justification"]) for e in entries] == [
        ("deny", j) for _, _, j in attempts
    ]
    assert {e["actor"]["id"] for e in entries} == {sue.id}
    assert entries[0]["subject"] == pseudonym(TEST_SECRET, "us", int(samira.id))
    assert all(e["details"]["policies"] == [] for e in entries)  # no permit matched: default deny

    # The valid one still works, and only for the right person and purpose.
    assert (await read_protected(client, sue, "samira", justification_id=for_samira)).status_code == 200


async def test_support_cannot_reach_another_realm(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_account(client, "dora", country="DE")
    sue = await make_staff(client, runtime, "sue", "support")
    denied = await request_justification(client, sue, "dora")
    assert_problem(denied, 403, "access-denied")
    (entry,) = await outbox(runtime, "eu")
    assert (entry["type"], entry["details"]["decision"], entry["details"]["justification"]) == (
        JUSTIFICATION,
        "deny",
        None,
    )
    assert entry["actor"]["staff_realm"] == "us"
    assert await justifications(runtime, "eu") == []
    assert_problem(await read_protected(client, sue, "dora"), 403, "access-denied")
    assert [e["details"]["decision"] for e in await staff_access_entries(runtime, "eu")] == ["deny"]


async def test_auditor_is_always_denied_protected_data_but_reads_policies_and_aggregates(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    samira = await make_account(client, "samira")
    audrey = await make_staff(client, runtime, "audrey", "auditor")
    otto = await make_staff(client, runtime, "otto", "operator")

    assert_problem(await request_justification(client, audrey, "samira"), 403, "access-denied")
    # Even holding an approved justification of their own (planted here), an auditor reads nothing.
    planted = ids.new_id(1)
    async with runtime.databases.transaction("us") as session:
        session.add(
            AccessJustification(
                id=planted,
                requester_id=int(audrey.id),
                requester_realm="us",
                subject_id=int(samira.id),
                purpose="support",
                reason="planted",
                status="approved",
                approver_id=int(otto.id),
                approved_at=datetime.now(UTC),
                expires_at=datetime.now(UTC) + timedelta(hours=1),
            )
        )
    for purpose in ("support", "legal", "safety", "security"):
        denied = await read_protected(
            client, audrey, "samira", purpose=purpose, justification_id=str(planted)
        )
        assert_problem(denied, 403, "access-denied")
    entries = await staff_access_entries(runtime, "us")
    assert len(entries) == 4
    for entry in entries:
        assert entry["details"]["decision"] == "deny"
        assert entry["actor"]["role"] == "auditor"
    assert entries[0]["details"]["policies"] == ["auditor-never-reads-protected-data"]

    policies = await client.get(f"{API}/policies", headers=audrey.auth)
    assert policies.status_code == 200, policies.text
    assert policies.json()["policy_hash"] == default_engine().policy_hash
    assert "auditor-never-reads-protected-data" in policies.json()["files"]["read_protected.cedar"]
    figures = await client.get(f"{API}/aggregates", headers=audrey.auth, params={"realm": "us"})
    assert figures.status_code == 200, figures.text
    assert figures.json()["justifications_by_status"] == {"pending": 0, "approved": 1, "rejected": 0}
    assert figures.json()["staff_by_role"] == {"operator": 1, "reviewer": 0, "support": 0, "auditor": 1}
    assert "samira" not in figures.text


async def test_reviewer_gets_no_protected_data(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_account(client, "samira")
    rita = await make_staff(client, runtime, "rita", "reviewer")
    assert_problem(await request_justification(client, rita, "samira"), 403, "access-denied")
    assert_problem(await read_protected(client, rita, "samira"), 403, "access-denied")
    assert_problem(
        await client.get(f"{API}/aggregates", headers=rita.auth, params={"realm": "us"}), 403, "access-denied"
    )
    assert [e["details"]["decision"] for e in await outbox(runtime, "us")] == ["deny", "deny"]


async def test_non_staff_get_a_plain_403_and_nothing_is_logged(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_account(client, "samira")
    mallory = await make_account(client, "mallory")
    before = await row_counts(runtime)
    for response in (
        await read_protected(client, mallory, "samira"),
        await request_justification(client, mallory, "samira"),
        await approve(client, mallory, str(ids.new_id(1))),
        await client.get(f"{API}/policies", headers=mallory.auth),
    ):
        assert_problem(response, 403, "not-staff")
    assert_problem(
        await client.get(f"{API}/users/samira/protected", params={"purpose": "support"}),
        401,
        "login-required",
    )
    assert await row_counts(runtime) == before


# --- approvals ----------------------------------------------------------------------------------------


async def test_an_operator_cannot_approve_their_own_justification(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_account(client, "samira")
    otto = await make_staff(client, runtime, "otto", "operator")
    olga = await make_staff(client, runtime, "olga", "operator")
    sue = await make_staff(client, runtime, "sue", "support")

    own = await new_justification(
        client, otto, "samira", purpose="security", reason="Account takeover report"
    )
    assert_problem(await approve(client, otto, own), 403, "access-denied")
    assert_problem(await approve(client, sue, own), 403, "access-denied")  # support decides nothing
    (stored,) = await justifications(runtime, "us")
    assert (stored.status, stored.approver_id, stored.expires_at) == ("pending", None, None)
    decisions = [e for e in await outbox(runtime, "us") if e["details"]["action"] == "ApproveJustification"]
    assert [(e["actor"]["id"], e["details"]["decision"]) for e in decisions] == [
        (otto.id, "deny"),
        (sue.id, "deny"),
    ]
    assert decisions[0]["details"]["policies"] == ["no-self-approval"]

    assert_problem(
        await read_protected(client, otto, "samira", purpose="security", justification_id=own),
        403,
        "access-denied",
    )
    assert (await approve(client, olga, own)).status_code == 200
    assert_problem(await approve(client, olga, own), 409, "justification-decided")
    read = await read_protected(client, otto, "samira", purpose="security", justification_id=own)
    assert read.status_code == 200, read.text
    (allow,) = [e for e in await staff_access_entries(runtime, "us") if e["details"]["decision"] == "allow"]
    assert allow["details"]["policies"] == ["operator-break-glass-with-approved-justification"]
    # Another staff member cannot ride on otto's justification.
    assert_problem(
        await read_protected(client, olga, "samira", purpose="security", justification_id=own),
        403,
        "access-denied",
    )


async def test_break_glass_across_realms_works_only_with_approval(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    dora = await make_account(client, "dora", country="DE")
    otto = await make_staff(client, runtime, "otto", "operator", "us")
    emil = await make_staff(client, runtime, "emil", "operator", "eu", country="DE")

    justification_id = await new_justification(
        client, otto, "dora", purpose="legal", reason="Court order 12/26"
    )
    assert runtime.settings.realm_of_id(int(justification_id)) == "eu"
    assert await justifications(runtime, "us") == []
    (stored,) = await justifications(runtime, "eu")
    assert (stored.requester_id, stored.requester_realm, stored.reason) == (
        int(otto.id),
        "us",
        "Court order 12/26",
    )

    assert_problem(await read_protected(client, otto, "dora", purpose="legal"), 403, "access-denied")
    assert_problem(
        await read_protected(client, otto, "dora", purpose="legal", justification_id=justification_id),
        403,
        "access-denied",
    )
    assert (await approve(client, emil, justification_id)).status_code == 200
    assert_problem(
        await read_protected(client, otto, "dora", purpose="support", justification_id=justification_id),
        403,
        "access-denied",
    )
    read = await read_protected(client, otto, "dora", purpose="legal", justification_id=justification_id)
    assert read.status_code == 200, read.text
    assert (read.json()["email"], read.json()["realm"]) == ("dora@example.org", "eu")

    entries = await staff_access_entries(runtime, "eu")
    assert [e["details"]["decision"] for e in entries] == ["deny", "deny", "deny", "allow"]
    assert {(e["realm"], e["actor"]["staff_realm"], e["subject"]) for e in entries} == {
        ("eu", "us", pseudonym(TEST_SECRET, "eu", int(dora.id)))
    }
    assert await staff_access_entries(runtime, "us") == []  # decisions stay with the subject's realm


# --- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "type_suffix", "field"),
    [
        ({"purpose": "curiosity"}, 422, "invalid-request", "purpose"),
        ({"reason": "x" * 501}, 422, "invalid-request", "reason"),
        ({"reason": ""}, 422, "invalid-request", "reason"),
        ({"reason": "bell\x07"}, 422, "invalid-request", "reason"),
        ({"subject_handle": "nobody"}, 404, "not-found", None),
    ],
)
async def test_bad_justification_requests_write_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    body: dict[str, str],
    status: int,
    type_suffix: str,
    field: str | None,
) -> None:
    await make_account(client, "samira")
    sue = await make_staff(client, runtime, "sue", "support")
    before = await row_counts(runtime)
    payload = {"subject_handle": "samira", "purpose": "support", "reason": "Ticket 1"} | body
    refused = await client.post(f"{API}/justifications", headers=sue.auth, json=payload)
    problem = assert_problem(refused, status, type_suffix)
    if field is not None:
        assert problem["detail"].startswith(f"{field}:"), problem
    assert await row_counts(runtime) == before


async def test_bad_reads_and_approvals_write_nothing(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_account(client, "samira")
    sue = await make_staff(client, runtime, "sue", "support")
    otto = await make_staff(client, runtime, "otto", "operator")
    before = await row_counts(runtime)

    bad_purpose = await client.get(
        f"{API}/users/samira/protected", headers=sue.auth, params={"purpose": "fun"}
    )
    assert assert_problem(bad_purpose, 422, "invalid-request")["detail"].startswith("purpose:")
    bad_id = await read_protected(client, sue, "samira", justification_id="abc")
    assert assert_problem(bad_id, 422, "invalid-request")["detail"].startswith("justification_id:")
    assert_problem(await read_protected(client, sue, "nobody"), 404, "not-found")
    assert_problem(await approve(client, otto, "12345"), 404, "not-found")
    assert_problem(await approve(client, otto, "not-an-id"), 404, "not-found")
    assert_problem(await approve(client, otto, str(ids.new_id(2))), 404, "not-found")
    assert_problem(
        await client.get(f"{API}/aggregates", headers=otto.auth, params={"realm": "mars"}),
        422,
        "invalid-request",
    )
    assert await row_counts(runtime) == before
