"""Staff roles require a second factor: a staff request from a session whose log-in used only a password is
refused with a problem that says what to do; once a factor was used, the role's powers are back."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from reelm.runtime import Runtime
from reelm.web.app import create_app
from tests.accounts.two_factor_helpers import API, code_at, enrol_totp
from tests.conftest import PASSWORD, make_account
from tests.factories import assert_problem
from tests.staff.common import make_staff


@pytest.fixture
async def strict(runtime: Runtime) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """The app as deployed: staff need a second factor (the test settings turn that off for other tests)."""
    strict_runtime = dataclasses.replace(
        runtime, settings=runtime.settings.model_copy(update={"staff_second_factor": True})
    )
    transport = httpx.ASGITransport(app=create_app(strict_runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield strict_runtime, client


async def test_staff_without_a_second_factor_are_refused(strict: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = strict
    otto = await make_staff(client, runtime, "otto", "operator")
    refused = await client.get(f"{API}/staff/policies", headers=otto.auth)
    body = assert_problem(refused, 403, "second-factor-required")
    assert "Security" in body["detail"]
    queue = await client.get(f"{API}/moderation/realms/us/queue", headers=otto.auth)
    assert_problem(queue, 403, "second-factor-required")
    switch = f"{API}/admin/realms/us/capabilities/upload"
    assert_problem(await client.get(switch, headers=otto.auth), 403, "second-factor-required")
    off = await client.put(switch, headers=otto.auth, json={"state": "off", "reason": "test", "notice": "x"})
    assert_problem(off, 403, "second-factor-required")
    switches = (await client.get(f"{API}/realms/us/capabilities")).json()["items"]
    assert {s["capability"]: s["state"] for s in switches}["upload"] == "on"  # unchanged

    # Someone without a role still hears only that staff are meant (the factor is not the point for them).
    plain = await make_account(client, "plain")
    assert_problem(await client.get(f"{API}/staff/policies", headers=plain.auth), 403, "not-staff")


async def test_staff_act_once_a_second_factor_was_used(strict: tuple[Runtime, httpx.AsyncClient]) -> None:
    runtime, client = strict
    otto = await make_staff(client, runtime, "otto", "operator")
    secret, _ = await enrol_totp(client, otto)
    # The session that confirmed the app proved it.
    assert (await client.get(f"{API}/staff/policies", headers=otto.auth)).status_code == 200

    # A new log-in with password and code gets a session that may act too.
    pending = (await client.post(f"{API}/sessions", json={"login": "otto", "password": PASSWORD})).json()
    done = await client.post(
        f"{API}/sessions/second-factor",
        json={"pending_token": pending["pending_token"], "code": code_at(secret, 1)},
    )
    assert done.status_code == 201, done.text
    fresh = {"Authorization": f"Bearer {done.json()['token']}"}
    assert (await client.get(f"{API}/staff/policies", headers=fresh)).status_code == 200
