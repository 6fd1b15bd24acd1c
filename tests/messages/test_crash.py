"""A server process killed while messages pour in loses none that it answered for.

A message is answered 201 only after its transaction committed; the numbers it took commit with it.
So after a SIGKILL in the middle of a burst, every acknowledged message is stored, the conversation's
numbers have no hole, and a fresh process serves the same history.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
from sqlalchemy import select

from reelm.messages.models import Message
from reelm.runtime import Runtime
from tests import live
from tests.conftest import PASSWORD

SETTINGS = {"REELM_MESSAGES_MIN_ACCOUNT_AGE_HOURS": "0", "REELM_MESSAGES_MESSAGES_PER_MINUTE": "10000"}
BURST = 60


async def account(http: httpx.AsyncClient, handle: str) -> dict[str, str]:
    created = await http.post(
        "/api/v1/accounts",
        json={"handle": handle, "email": f"{handle}@example.org", "password": PASSWORD, "country": "US"},
    )
    assert created.status_code == 201, created.text
    session = await http.post("/api/v1/sessions", json={"login": handle, "password": PASSWORD})
    assert session.status_code == 201, session.text
    return {"Authorization": f"Bearer {session.json()['token']}"}


async def test_killing_a_server_mid_burst_loses_no_accepted_message(runtime: Runtime, tmp_path: Path) -> None:
    server, base = live.start_server(runtime, tmp_path / "server.log", extra_env=SETTINGS)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            alice = await account(http, "alice")
            await account(http, "bob")
            started = await http.post("/api/v1/conversations", headers=alice, json={"handles": ["bob"]})
            assert started.status_code == 201, started.text
            cid = started.json()["id"]
            url = f"/api/v1/conversations/{cid}/messages"

            acknowledged: list[dict[str, object]] = []
            enough = asyncio.Event()  # a few answered: time to pull the plug

            async def one(n: int) -> None:
                try:
                    response = await http.post(url, headers=alice, json={"body": f"burst {n}"})
                except httpx.TransportError:
                    return  # the process died before answering: not accepted, may or may not be stored
                if response.status_code == 201:
                    acknowledged.append(response.json())
                    if len(acknowledged) >= 5:
                        enough.set()

            sending = [asyncio.create_task(one(n)) for n in range(BURST)]
            await enough.wait()
            server.send_signal(signal.SIGKILL)
            await asyncio.gather(*sending)
            server.wait()
    finally:
        live.stop(server)

    assert 5 <= len(acknowledged) < BURST, "the kill should have landed in the middle of the burst"
    async with runtime.databases.sessionmaker("us")() as session:
        stored = {
            m.id: m for m in await session.scalars(select(Message).where(Message.conversation_id == int(cid)))
        }
    assert {int(str(m["id"])) for m in acknowledged} <= set(stored)
    assert sorted(m.seq for m in stored.values()) == list(range(1, len(stored) + 1))

    # A new process serves every acknowledged message, readable.
    server, base = live.start_server(runtime, tmp_path / "server2.log", extra_env=SETTINGS)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            page = await http.get(f"{url}?after_seq=0&limit=100", headers=alice)
    finally:
        live.stop(server)
    assert page.status_code == 200, page.text
    bodies = {m["id"]: m["body"] for m in page.json()["items"]}
    assert all(bodies[str(m["id"])] == m["body"] for m in acknowledged)
