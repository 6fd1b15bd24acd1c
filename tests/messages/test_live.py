"""Live delivery over WebSocket: between clients, across server processes, after reconnecting (in order,
exactly once), read receipts and typing, and who may connect at all.

The apps run in uvicorn inside the test's event loop, so they share the test databases; two apps on
one runtime stand for two server processes (each has its own hub and its own LISTEN connections).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from reelm.messages.messaging import Messaging
from reelm.messages.policy import MessagingSettings
from reelm.notifications.models import NotificationKind
from reelm.notifications.service import do_notify
from reelm.realms.switches import Switchboard
from reelm.runtime import Runtime
from reelm.web.app import create_app
from tests.conftest import make_account
from tests.factories import app_of
from tests.messages.common import follow, live_client, send, serving, start
from tests.realms.common import set_switch
from tests.web.test_security import browser_login


async def test_two_clients_exchange_messages_read_receipts_and_typing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    await follow(runtime, bob, alice)
    cid = (await start(client, alice, "bob"))["id"]
    async with serving(app_of(client)) as host, live_client(host, alice) as a, live_client(host, bob) as b:
        await a.next("ready")
        await b.next("ready")

        sent = await send(client, alice, cid, "Hello live 🎉")
        (received,) = await b.messages(1)
        assert received == sent  # the very message the sender got back, body decrypted
        assert (await a.messages(1))[0]["id"] == sent["id"]  # the sender's other devices hear it too

        await client.post(f"/api/v1/conversations/{cid}/read", headers=bob.auth, json={"seq": sent["seq"]})
        receipt = await a.next("read")
        assert receipt == {"type": "read", "conversation_id": cid, "user_id": bob.id, "seq": 1}

        await b.typing(cid)
        typing = await a.next("typing")
        assert typing == {"type": "typing", "conversation_id": cid, "user_id": bob.id}
        # Bob's own connection hears no echo of his typing.
        await send(client, alice, cid, "after typing")
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1].get("message", {}).get("body") != "after typing":
            seen.append(await b.next())
        assert [f["type"] for f in seen] == ["read", "message"]  # his own read, then the message

        await b.connection.send("not json")
        assert (await b.next("error"))["detail"] == "Unknown or malformed frame."


async def test_events_fan_out_across_server_processes(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob"))["id"]
    other_process = create_app(runtime)
    other_process.state.messaging.policy = MessagingSettings(min_account_age_hours=0)
    async with (
        serving(app_of(client)) as host_a,
        serving(other_process) as host_b,
        live_client(host_b, bob) as b,
        live_client(host_a, alice) as a,
    ):
        await b.next("ready")
        await a.next("ready")
        await send(client, alice, cid, "from process A")  # handled by A, Bob is on B
        assert (await b.messages(1))[0]["body"] == "from process A"
        assert other_process.state.messaging.hub.connections == 1


async def test_a_reconnecting_client_gets_what_it_missed_in_order_exactly_once(
    client: httpx.AsyncClient, runtime: Runtime, messaging: Messaging
) -> None:
    messaging.policy = MessagingSettings(min_account_age_hours=0, messages_per_minute=1000)
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob"))["id"]
    async with serving(app_of(client)) as host:
        async with live_client(host, bob, {cid: 0}) as b:
            await b.next("ready")
            for n in range(3):
                await send(client, alice, cid, f"live {n}")
            held = await b.messages(3)
        assert [m["seq"] for m in held] == [1, 2, 3]

        # Offline: four more messages and an unsend.
        missed = [await send(client, alice, cid, f"missed {n}") for n in range(4)]
        await client.post(
            f"/api/v1/conversations/{cid}/messages/{missed[0]['id']}/unsend", headers=alice.auth
        )

        async with live_client(host, bob, {cid: 3}) as b:
            caught_up = []
            while (frame := await b.next())["type"] != "ready":
                caught_up.append(frame["message"])
            assert [(m["seq"], m["kind"]) for m in caught_up] == [
                (4, "message"),
                (5, "message"),
                (6, "message"),
                (7, "message"),
                (8, "unsend"),
            ]
            assert caught_up[0]["unsent"] is True
            assert caught_up[0]["body"] is None
            assert caught_up[1]["body"] == "missed 1"
            await send(client, alice, cid, "live again")
            assert [m["seq"] for m in await b.messages(1)] == [9]


async def test_messages_sent_while_connecting_arrive_once_and_in_order(
    client: httpx.AsyncClient, runtime: Runtime, messaging: Messaging
) -> None:
    """The catch-up and the live stream overlap while a client connects; the client sees no seam."""
    messaging.policy = MessagingSettings(min_account_age_hours=0, messages_per_minute=1000)
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob"))["id"]
    total = 40

    under_way = asyncio.Event()

    async def keep_sending() -> None:
        for n in range(total):
            await send(client, alice, cid, f"m{n}")
            if n == 4:
                under_way.set()

    async with serving(app_of(client)) as host:
        sending = asyncio.create_task(keep_sending())
        await under_way.wait()
        async with live_client(host, bob, {cid: 2}) as b:
            seqs: list[int] = []
            while not seqs or seqs[-1] < total:
                frame = await b.next()
                if frame["type"] == "message":
                    seqs.append(frame["message"]["seq"])
            await sending
        assert seqs == list(range(3, total + 1))


async def test_notifications_reach_open_pages(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    async with serving(app_of(client)) as host, live_client(host, bob) as b:
        await b.next("ready")
        async with runtime.databases.transaction("us") as session:
            await do_notify(
                session, recipient_id=int(bob.id), kind=NotificationKind.FOLLOW, actor_id=int(alice.id)
            )
        assert await b.next() == {"type": "notifications"}


async def test_losing_the_database_notifications_makes_clients_reconnect(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_account(client, "alice")
    bob = await make_account(client, "bob")
    async with serving(app_of(client)) as host, live_client(host, bob) as b:
        await b.next("ready")
        async with runtime.databases.transaction("us") as session:
            await session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE query = 'LISTEN reelm_live' AND pid <> pg_backend_pid()"
                )
            )
        with pytest.raises(ConnectionClosed) as closed:
            await b.next()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1012  # service restart: reconnect and catch up
        # The hub listens again, and a new connection works.
        async with live_client(host, bob) as again:
            assert (await again.next())["type"] == "ready"


async def test_who_may_connect(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob", body="for alice and bob only"))["id"]
    mallory = await make_account(client, "mallory")
    csrf = await browser_login(client, "alice")
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    async with serving(app_of(client)) as host:
        url = f"ws://{host}/api/v1/live"
        for headers, origin in (
            ({}, None),  # no credentials
            ({"Authorization": "Bearer us.not-a-token"}, None),
            ({"Cookie": cookie}, None),  # a cookie without an Origin: not a browser page of ours
            ({"Cookie": cookie}, Origin("http://evil.example")),  # another site's page riding the cookie
        ):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url, additional_headers=headers, origin=origin, proxy=None):
                    pass
            assert refused.value.response.status_code == 403

        hello = {"type": "hello", "cursors": [{"conversation_id": cid, "seq": 0}]}
        async with connect(
            url, additional_headers={"Cookie": cookie}, origin=Origin("http://test"), proxy=None
        ) as ws:
            await ws.send(json.dumps(hello))  # a cookie session without its CSRF token
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1008
        async with connect(
            url, additional_headers={"Cookie": cookie}, origin=Origin("http://test"), proxy=None
        ) as ws:
            await ws.send(json.dumps(hello | {"csrf": csrf}))
            assert json.loads(await ws.recv())["message"]["body"] == "for alice and bob only"

        # Someone else's cursor yields nothing, and their typing reaches no one.
        async with live_client(host, mallory, {cid: 0}) as m, live_client(host, bob) as b:
            assert (await m.next())["type"] == "ready"
            await b.next("ready")
            await m.typing(cid)
            await send(client, alice, cid, "still private")
            assert (await b.next())["message"]["body"] == "still private"


async def test_sending_over_the_live_connection(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob"))["id"]
    async with serving(app_of(client)) as host, live_client(host, alice) as a, live_client(host, bob) as b:
        await a.next("ready")
        await b.next("ready")

        await a.connection.send(
            json.dumps(
                {
                    "type": "send",
                    "conversation_id": cid,
                    "body": "over the socket",
                    "client_key": "key-00000001",
                }
            )
        )
        sent = await a.next("sent")
        assert sent["client_key"] == "key-00000001"
        assert (sent["message"]["body"], sent["message"]["seq"]) == ("over the socket", 1)
        assert (await b.messages(1))[0] == sent["message"]

        # The same key again is the same message, as over HTTP.
        await a.connection.send(
            json.dumps(
                {
                    "type": "send",
                    "conversation_id": cid,
                    "body": "over the socket",
                    "client_key": "key-00000001",
                }
            )
        )
        assert (await a.next("sent"))["message"]["id"] == sent["message"]["id"]

        refused = {
            "empty": {"body": " "},
            "not theirs": {"body": "hi", "conversation_id": "123"},
            "too long": {"body": "x" * 2001},
        }
        for n, (what, fields) in enumerate(refused.items()):
            frame = {"type": "send", "conversation_id": cid, "client_key": f"bad-key-{n:04d}"} | fields
            await a.connection.send(json.dumps(frame))
            reply = await a.next()
            if what == "too long":  # the frame itself is invalid: no client key is read back
                assert reply == {"type": "error", "detail": "Unknown or malformed frame."}
                continue
            assert reply["type"] == "send-failed", what
            assert reply["client_key"] == f"bad-key-{n:04d}"
            assert reply["problem"]["status"] in {404, 422}, what

        await set_switch(runtime, board, "us", "message", 0)
        await a.connection.send(
            json.dumps({"type": "send", "conversation_id": cid, "body": "x", "client_key": "key-00000002"})
        )
        off = await a.next("send-failed")
        assert (off["problem"]["status"], off["problem"]["type"]) == (451, "/problems/capability-off")
    history = (await client.get(f"/api/v1/conversations/{cid}/messages", headers=bob.auth)).json()
    assert [m["body"] for m in history["items"]] == ["over the socket"]
