"""Statements without a session: a suspended account signs in to a restricted session that reaches only its
statement of reasons and appeal; everywhere else it is an anonymous visitor, and the API still refuses."""

from __future__ import annotations

import httpx

from reelm.runtime import Runtime
from tests.accounts.two_factor_helpers import API, code_at, enrol_totp
from tests.conftest import PASSWORD, make_account
from tests.factories import assert_problem
from tests.moderation.common import decide, make_staff, queue, report
from tests.web.test_security import login_page_csrf


async def _suspend(client: httpx.AsyncClient, runtime: Runtime, handle: str) -> str:
    """Reported and suspended through content review; returns the decision's id."""
    target = await make_account(client, handle)
    alice = await make_account(client, "alice")
    assert (await report(client, alice, target.id, content_type="account")).status_code == 201
    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    cases = {c["content_id"]: c["id"] for c in (await queue(client, reviewer, "us")).json()["items"]}
    decided = await decide(client, reviewer, cases[target.id], action="suspend", suspend_days=7)
    assert decided.status_code == 201, decided.text
    decision_id: str = decided.json()["id"]
    return decision_id


async def test_a_suspended_account_reaches_its_statement_only(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    decision_id = await _suspend(client, runtime, "creator")
    client.cookies.clear()
    csrf = await login_page_csrf(client)
    answer = await client.post("/login", data={"login": "creator", "password": PASSWORD, "csrf_token": csrf})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/statements/{decision_id}"
    assert "reelm_session" in client.cookies

    statement = await client.get(f"/statements/{decision_id}")
    assert statement.status_code == 200
    assert 'data-viewer-handle="creator"' not in (await client.get("/")).text  # a visitor elsewhere
    assert (await client.get("/upload")).status_code == 303
    assert (await client.get("/settings/security")).headers["location"].startswith("/login")
    # The statement's API answers this session too (it may appeal from there); the rest does not.
    appellant = await client.get(f"{API}/moderation/decisions/{decision_id}/statement")
    assert appellant.status_code == 200, appellant.text

    # The API's log-in still answers 403 with the statement's address (no restricted bearer token).
    refused = await client.post(f"{API}/sessions", json={"login": "creator", "password": PASSWORD})
    assert assert_problem(refused, 403, "account-suspended")["statement_url"] == f"/statements/{decision_id}"
    # A wrong password learns nothing of the suspension.
    client.cookies.clear()
    csrf = await login_page_csrf(client)
    wrong = await client.post(
        "/login", data={"login": "creator", "password": "not the one!", "csrf_token": csrf}
    )
    assert wrong.status_code == 401
    assert "suspended" not in wrong.text


async def test_a_suspended_account_with_two_factor_passes_both_steps_first(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    creator = await make_account(client, "creator")
    secret, _ = await enrol_totp(client, creator)
    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    alice = await make_account(client, "alice")
    assert (await report(client, alice, creator.id, content_type="account")).status_code == 201
    cases = {c["content_id"]: c["id"] for c in (await queue(client, reviewer, "us")).json()["items"]}
    decision_id = (await decide(client, reviewer, cases[creator.id], action="suspend")).json()["id"]

    # The password alone reveals nothing yet: the second step comes first.
    pending = await client.post(f"{API}/sessions", json={"login": "creator", "password": PASSWORD})
    assert pending.status_code == 202
    done = await client.post(
        f"{API}/sessions/second-factor",
        json={"pending_token": pending.json()["pending_token"], "code": code_at(secret, 1)},
    )
    assert assert_problem(done, 403, "account-suspended")["statement_url"] == f"/statements/{decision_id}"
