"""The operators' switch API and /admin page: who may read and change, and what a change records."""

from __future__ import annotations

import re

import httpx
import pytest

from reelm.cli import staff as staff_cli
from reelm.realms.models import Capability, RealmCapability
from reelm.realms.switches import Switchboard
from reelm.runtime import Runtime
from tests.conftest import PASSWORD, make_account
from tests.factories import assert_problem
from tests.realms.common import NOTICE, capability_entries, count
from tests.staff.common import make_staff

API = "/api/v1/admin/realms"
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


async def browser_login(client: httpx.AsyncClient, handle: str) -> str:
    """Log in through the form, leaving the session cookie; returns the page's CSRF token."""
    page = await client.get("/login")
    match = META_CSRF.search(page.text)
    assert match, "the page has no csrf-token meta tag"
    token = match.group(1)
    response = await client.post("/login", data={"login": handle, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text
    return token


async def test_reading_a_switch_needs_an_operator(client: httpx.AsyncClient, runtime: Runtime) -> None:
    plain = await make_account(client, "plain")
    auditor = await make_staff(client, runtime, "audrey", "auditor", "us")
    eu_operator = await make_staff(client, runtime, "otto", "operator", "eu", country="DE")
    url = f"{API}/us/capabilities/upload"

    assert_problem(await client.get(url), 401, "login-required")
    assert_problem(await client.get(url, headers=plain.auth), 403, "not-staff")
    assert_problem(await client.get(url, headers=auditor.auth), 403, "not-operator")
    read = await client.get(url, headers=eu_operator.auth)  # any operator may read; switches are public
    assert read.status_code == 200, read.text
    assert read.json() | {"changed_at": None} == {
        "realm": "us",
        "capability": "upload",
        "state": "on",
        "percent": 100,
        "notice": "",
        "changed_by": None,
        "changed_at": None,
        "reason": "",
    }
    assert_problem(
        await client.get(f"{API}/mars/capabilities/upload", headers=eu_operator.auth), 404, "not-found"
    )
    assert_problem(
        await client.get(f"{API}/us/capabilities/teleport", headers=eu_operator.auth), 404, "not-found"
    )


async def test_an_operator_of_the_realm_switches_and_the_change_is_logged(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    otto = await make_staff(client, runtime, "otto", "operator", "us")
    eu_operator = await make_staff(client, runtime, "eve", "operator", "eu", country="DE")
    url = f"{API}/us/capabilities/upload"
    body = {"state": "off", "notice": NOTICE, "reason": "Order 7 of the regulator"}

    assert_problem(await client.put(url, json=body, headers=eu_operator.auth), 403, "not-operator")
    assert await count(runtime, None, RealmCapability) == 0

    switched = await client.put(url, json=body, headers=otto.auth)
    assert switched.status_code == 200, switched.text
    assert (switched.json()["state"], switched.json()["changed_by"]) == ("off", f"staff:{otto.id}")
    assert not board.allowed("us", Capability.UPLOAD, int(otto.id))  # this process applies it at once
    (entry,) = await capability_entries(runtime)
    assert entry["actor"] == {"kind": "staff", "id": otto.id, "role": "operator", "staff_realm": "us"}
    assert entry["details"] == {
        "realm": "us",
        "capability": "upload",
        "state": "off",
        "percent": 0,
        "notice": NOTICE,
        "reason": "Order 7 of the regulator",
    }

    partial = await client.put(url, json={"state": "percent", "percent": 10}, headers=otto.auth)
    assert (partial.json()["state"], partial.json()["percent"], partial.json()["notice"]) == (
        "percent",
        10,
        NOTICE,  # those still left out keep reading why
    )
    public = await client.get("/api/v1/realms/us/capabilities")  # anyone may read the switches
    assert public.status_code == 200
    assert {i["capability"]: i["state"] for i in public.json()["items"]} == {
        c.value: ("percent" if c is Capability.UPLOAD else "on") for c in Capability
    }


@pytest.mark.parametrize(
    ("body", "status", "type_suffix"),
    [
        ({"state": "off"}, 422, "invalid-request"),  # no notice: people would not know why
        ({"state": "off", "notice": "   "}, 422, "invalid-request"),
        ({"state": "percent"}, 422, "invalid-request"),
        ({"state": "percent", "percent": 100}, 422, "invalid-request"),
        ({"state": "on", "percent": 50}, 422, "invalid-request"),
        ({"state": "paused", "notice": NOTICE}, 422, "invalid-request"),
        ({"state": "off", "notice": "x" * 501}, 422, "invalid-request"),
    ],
)
async def test_bad_changes_are_refused_and_change_nothing(
    client: httpx.AsyncClient, runtime: Runtime, body: dict[str, object], status: int, type_suffix: str
) -> None:
    otto = await make_staff(client, runtime, "otto", "operator", "us")
    response = await client.put(f"{API}/us/capabilities/watch", json=body, headers=otto.auth)
    assert_problem(response, status, type_suffix)
    assert await count(runtime, None, RealmCapability) == 0
    assert await capability_entries(runtime) == []


async def test_the_admin_page_is_for_operators(client: httpx.AsyncClient, runtime: Runtime) -> None:
    assert (await client.get("/admin")).headers["location"] == "/login?next=/admin"
    await make_account(client, "plain")
    await browser_login(client, "plain")
    refused = await client.get("/admin")
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]


async def test_an_operator_suspends_and_restores_from_the_admin_page(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    otto = await make_account(client, "otto")
    await staff_cli.grant(runtime, handle="otto", role="operator", realm="us")
    token = await browser_login(client, "otto")
    page = await client.get("/admin")
    assert page.status_code == 200
    assert 'action="/admin/realms/us"' in page.text
    assert 'action="/admin/realms/eu"' not in page.text  # an operator of us only

    form = {"action": "suspend", "capability": ["message", "comment"], "notice": NOTICE, "reason": "drill"}
    assert (await client.post("/admin/realms/us", data=form)).status_code == 403  # no CSRF token
    assert await count(runtime, None, RealmCapability) == 0
    missing = await client.post("/admin/realms/us", data=form | {"notice": "", "csrf_token": token})
    assert missing.status_code == 422
    assert "notice: is required" in missing.text
    assert await count(runtime, None, RealmCapability) == 0
    other = await client.post("/admin/realms/eu", data=form | {"csrf_token": token})
    assert other.status_code == 403
    assert await count(runtime, None, RealmCapability) == 0

    done = await client.post("/admin/realms/us", data=form | {"csrf_token": token})
    assert done.status_code == 303
    assert done.headers["location"] == "/admin?changed=us#realm-us"
    assert not board.allowed("us", Capability.COMMENT, 1)
    assert not board.allowed("us", Capability.MESSAGE, 1)
    shown = (await client.get(done.headers["location"])).text
    assert 'data-capability="comment" data-state="off"' in shown
    assert 'data-testid="realm-banner"' in shown  # otto's own realm is now limited

    restore = {"action": "restore", "capability": "all", "percent": "10", "csrf_token": token}
    assert (await client.post("/admin/realms/us", data=restore)).status_code == 303
    assert board.switch("us", Capability.WATCH).percent == 10
    entries = await capability_entries(runtime)
    assert [(e["details"]["capability"], e["details"]["state"]) for e in entries[:2]] == [
        ("comment", "off"),
        ("message", "off"),
    ]
    assert len(entries) == 2 + len(Capability)
    assert {e["actor"]["id"] for e in entries} == {otto.id}
