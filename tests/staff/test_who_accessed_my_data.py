"""A person sees the log entries about their own data, and only they do."""

from __future__ import annotations

import httpx

from reelm.runtime import Runtime
from reelm.transparency.log import Sequencer
from tests.conftest import make_account
from tests.staff.common import approve, make_staff, new_justification, read_protected


async def test_a_user_sees_who_accessed_their_data(client: httpx.AsyncClient, runtime: Runtime) -> None:
    samira = await make_account(client, "samira")
    bystander = await make_account(client, "bystander")
    sue = await make_staff(client, runtime, "sue", "support")
    otto = await make_staff(client, runtime, "otto", "operator")
    denied = await read_protected(client, sue, "samira")
    assert denied.status_code == 403
    justification = await new_justification(client, sue, "samira")
    assert (await approve(client, otto, justification)).status_code == 200
    assert (await read_protected(client, sue, "samira", justification_id=justification)).status_code == 200

    waiting = (await client.get("/api/v1/me/access-log", headers=samira.auth)).json()
    assert all(item["index"] is None for item in waiting)  # not sequenced yet, but already visible
    await Sequencer(runtime).run_once()
    logged = (await client.get("/api/v1/me/access-log", headers=samira.auth)).json()
    accesses = [i["entry"] for i in logged if i["entry"]["type"] == "staff.access"]
    assert [a["details"]["decision"] for a in accesses] == ["allow", "deny"]  # newest first
    assert all(i["index"] is not None for i in logged)
    assert {a["actor"]["role"] for a in accesses} == {"support"}

    assert (await client.get("/api/v1/me/access-log", headers=bystander.auth)).json() == []
    assert (await client.get("/api/v1/me/access-log")).status_code == 401

    page = await client.get("/settings", headers=samira.auth)
    assert page.status_code == 200
    assert page.text.count("<code>staff.access</code>") == 2
