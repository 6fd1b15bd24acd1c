"""Direct conversations between people of two realms: a copy in each, deliveries between them.

alice lives in us, erik in eu. What crosses is checked where it lands: the recipient's copy is sealed
under the recipient's key, nothing rests in the sender's outbound schema, the rules of the recipient's
realm decide (requests, blocks, closed messages, account age) and a refusal comes back to the sender.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
from sqlalchemy import func, select, text, update

from reelm.accounts.models import User
from reelm.crossrealm.deliveries import keep_receiving, receive
from reelm.crossrealm.models import RealmFlow
from reelm.crossrealm.views import deliveries, public_profiles
from reelm.crypto.models import UserKey
from reelm.db import libpq_url
from reelm.departures.purge import purge_account
from reelm.messages.models import Conversation, ConversationPeer, Message
from reelm.runtime import Runtime
from reelm.worker import delivery_handlers
from tests.conftest import Account, make_account
from tests.factories import app_of, assert_problem, delivered, eventually, take_deliveries, transit_ready
from tests.messages.common import age_account, folder, history, live_client, send, serving, start
from tests.residency.test_residency import report_of, run_check, where


async def people_of_two_realms(client: httpx.AsyncClient, runtime: Runtime) -> tuple[Account, Account]:
    alice = await make_account(client, "alice")
    erik = await make_account(client, "erik", country="SE")
    assert (alice.realm, erik.realm) == ("us", "eu")
    for account in (alice, erik):  # old enough to message strangers
        await age_account(runtime, account, days=3)
    await transit_ready(runtime)
    for account, reader in ((alice, "eu"), (erik, "us")):
        await eventually(functools.partial(_public_in, runtime, reader, account))
    return alice, erik


async def _public_in(runtime: Runtime, realm: str, account: Account) -> bool:
    async with runtime.databases.sessionmaker(realm)() as session:
        found = await session.scalar(
            select(public_profiles.c.id).where(public_profiles.c.id == int(account.id))
        )
    return found is not None


async def _messages(runtime: Runtime, realm: str) -> list[Message]:
    async with runtime.databases.sessionmaker(realm)() as session:
        return list(await session.scalars(select(Message).order_by(Message.conversation_id, Message.seq)))


async def _waiting(runtime: Runtime, realm: str, source: str) -> int:
    """Rows of `source`'s deliveries held in `realm`'s database (its own outbound, or a copy)."""
    table = deliveries(source)
    async with runtime.databases.sessionmaker(realm)() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_conversation_across_realms_lives_in_both_and_crosses_sealed(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, erik = await people_of_two_realms(client, runtime)
    mine = await start(client, alice, "erik", body="hej 👋")
    assert mine["members"][0]["user"]["handle"] == "erik"
    # Nothing rests in the sender's outbound schema: written and removed in the sending transaction.
    assert await _waiting(runtime, "us", "us") == 0

    async def in_requests() -> bool:
        return len(await folder(client, erik, "requests")) == 1

    await delivered(runtime, in_requests)  # erik does not follow alice: a request, in eu's copy
    (theirs,) = await folder(client, erik, "requests")
    assert theirs["id"] != mine["id"]  # each realm numbers and names its own copy
    assert theirs["members"][0]["user"]["handle"] == "alice"
    assert theirs["last_message"]["body"] == "hej 👋"
    assert theirs["last_message"]["id"] == mine["last_message"]["id"]  # the message keeps its id
    (copy,) = await _messages(runtime, "eu")
    assert (copy.sender_id, copy.key_owner_id, copy.seq) == (int(alice.id), int(erik.id), 1)
    assert copy.body is not None
    assert b"hej" not in copy.body  # sealed under erik's key, in eu
    assert await _waiting(runtime, "eu", "us") == 0  # taken in: the copy of the delivery is gone
    notices = (await client.get("/api/v1/notifications", headers=erik.auth)).json()["items"]
    assert [n["kind"] for n in notices] == ["message_request"]
    assert notices[0]["actors"][0]["handle"] == "alice"

    # erik accepts and answers; alice's copy numbers the answer after her own message.
    accepted = await client.post(f"/api/v1/conversations/{theirs['id']}/accept", headers=erik.auth)
    assert accepted.status_code == 200, accepted.text
    answer = await send(client, erik, theirs["id"], "hi alice")

    async def answered() -> bool:
        return len((await history(client, alice, mine["id"]))["items"]) == 2

    await delivered(runtime, answered)
    items = (await history(client, alice, mine["id"]))["items"]
    assert [(m["seq"], m["body"], m["sender"]["handle"]) for m in items] == [
        (1, "hej 👋", "alice"),
        (2, "hi alice", "erik"),
    ]
    assert items[1]["id"] == answer["id"]

    # erik answered, so he read her message: alice sees it on her message, in her copy's numbering.
    async def seen() -> bool:
        conversation = (await client.get(f"/api/v1/conversations/{mine['id']}", headers=alice.auth)).json()
        return bool(conversation["members"][0]["last_read_seq"] == 1)

    await delivered(runtime, seen)
    # alice reads the answer: her read receipt crosses the other way.
    read = await client.post(f"/api/v1/conversations/{mine['id']}/read", headers=alice.auth, json={"seq": 2})
    assert read.status_code == 204

    async def seen_by_alice() -> bool:
        conversation = (await client.get(f"/api/v1/conversations/{theirs['id']}", headers=erik.auth)).json()
        return bool(conversation["members"][0]["last_read_seq"] == 2)

    await delivered(runtime, seen_by_alice)

    # alice unsends her first message: erik's copy erases it too.
    first = items[0]["id"]
    unsent = await client.post(
        f"/api/v1/conversations/{mine['id']}/messages/{first}/unsend", headers=alice.auth
    )
    assert unsent.status_code == 200, unsent.text

    async def erased() -> bool:
        page = await history(client, erik, theirs["id"])
        return any(m["id"] == first and m["unsent"] and m["body"] is None for m in page["items"])

    await delivered(runtime, erased)

    # Every crossing is counted where it arrived.
    async with runtime.databases.sessionmaker("eu")() as session:
        arrived = await session.scalar(
            select(func.sum(RealmFlow.rows)).where(
                RealmFlow.source_realm == "us",
                RealmFlow.relation == "deliveries",
                RealmFlow.operation == "INSERT",
            )
        )
    assert arrived == 3  # the message, her read receipt and the unsend (his answer went the other way)


async def test_the_recipients_realm_decides_and_its_refusal_comes_back(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, erik = await people_of_two_realms(client, runtime)
    blocked = await client.post("/api/v1/users/alice/block", headers=erik.auth)  # erik blocks someone of us
    assert blocked.status_code == 200, blocked.text
    mine = await start(client, alice, "erik", body="are you there?")  # us cannot know: it accepts

    async def refused() -> bool:
        refusal: str | None = (await history(client, alice, mine["id"]))["items"][0]["refusal"]
        return refusal == "blocked"

    await delivered(runtime, refused)
    assert await _messages(runtime, "eu") == []  # nothing of it was kept in eu
    assert await folder(client, erik, "requests") == []

    # Unblocked, but erik accepts messages only from people he follows.
    assert (await client.delete("/api/v1/users/alice/block", headers=erik.auth)).status_code == 200
    closed = await client.put(
        "/api/v1/me/message-settings", headers=erik.auth, json={"allow_from": "following"}
    )
    assert closed.status_code == 200
    second = await send(client, alice, mine["id"], "and now?")

    async def closed_refusal() -> bool:
        items = (await history(client, alice, mine["id"]))["items"]
        return any(m["id"] == second["id"] and m["refusal"] == "messages-closed" for m in items)

    await delivered(runtime, closed_refusal)

    # An account too new to message strangers is refused by the rules of the recipient's realm.
    await client.put("/api/v1/me/message-settings", headers=erik.auth, json={"allow_from": "everyone"})
    await age_account(runtime, alice, days=0)
    third = await send(client, alice, mine["id"], "third try")

    async def too_new() -> bool:
        items = (await history(client, alice, mine["id"]))["items"]
        return any(m["id"] == third["id"] and m["refusal"] == "account-too-new" for m in items)

    await delivered(runtime, too_new)


async def test_a_block_in_the_senders_realm_refuses_at_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, _ = await people_of_two_realms(client, runtime)
    assert (await client.post("/api/v1/users/erik/block", headers=alice.auth)).status_code == 200
    body = assert_problem(
        await client.post("/api/v1/conversations", headers=alice.auth, json={"handles": ["erik"]}),
        403,
        "blocked",
    )
    assert "@erik" in body["detail"]
    state = await client.get("/api/v1/users/erik/block", headers=alice.auth)
    assert state.json() == {"blocked": True}
    assert await _messages(runtime, "us") == []


async def test_follows_and_notices_cross_to_the_recipients_realm(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, erik = await people_of_two_realms(client, runtime)
    followed = await client.post("/api/v1/users/alice/follow", headers=erik.auth)
    assert followed.status_code == 200, followed.text

    async def told() -> bool:
        items = (await client.get("/api/v1/notifications", headers=alice.auth)).json()["items"]
        return [n["text"] for n in items] == ["@erik started following you"]

    await delivered(runtime, told)
    # A blocked person's notices are dropped where the blocker lives.
    await client.post("/api/v1/users/erik/block", headers=alice.auth)
    await client.delete("/api/v1/users/alice/follow", headers=erik.auth)
    await client.post("/api/v1/notifications/read-all", headers=alice.auth)
    await client.post("/api/v1/users/alice/follow", headers=erik.auth)
    await delivered(runtime, lambda: _nothing_waiting(runtime))
    unread = (await client.get("/api/v1/notifications", headers=alice.auth)).json()["items"]
    assert all(n["read"] for n in unread)


async def _nothing_waiting(runtime: Runtime) -> bool:
    return all([await _waiting(runtime, r, s) == 0 for r in ("us", "eu") for s in ("us", "eu") if r != s])


async def test_a_purged_account_is_forgotten_in_the_other_realm(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, _ = await people_of_two_realms(client, runtime)
    await start(client, alice, "erik", body="remember me?")

    async def arrived() -> bool:
        return len(await _messages(runtime, "eu")) == 1

    await delivered(runtime, arrived)
    async with runtime.databases.transaction("us") as session:
        await session.execute(
            update(User)
            .where(User.id == int(alice.id))
            .values(deletion_due_at=datetime.now(UTC) - timedelta(days=1))
        )
    assert await purge_account(runtime, "us", int(alice.id), datetime.now(UTC))

    async def forgotten() -> bool:
        return await _messages(runtime, "eu") == []

    await delivered(runtime, forgotten)
    async with runtime.databases.sessionmaker("eu")() as session:  # erik keeps the conversation itself
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 1


async def test_a_worker_takes_deliveries_in_as_they_arrive(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, _ = await people_of_two_realms(client, runtime)
    receiver = asyncio.create_task(keep_receiving(runtime, "eu", delivery_handlers(runtime)))
    try:
        await start(client, alice, "erik", body="live across realms")

        async def arrived() -> bool:  # nothing here takes deliveries in: the worker's LISTEN does
            return len(await _messages(runtime, "eu")) == 1

        await eventually(arrived)
    finally:
        receiver.cancel()


async def test_a_delivery_replayed_on_another_route_does_not_open(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, _ = await people_of_two_realms(client, runtime)
    mine = await start(client, alice, "erik", body="for eu only")
    await eventually(lambda: _copy_waiting(runtime))
    # Someone with access to eu's database relabels the delivery as coming from global: it must not open.
    async with runtime.databases.transaction("eu") as session:
        await session.execute(
            text(
                "INSERT INTO outbound_global.deliveries (id, to_realm, kind, sealed, created_at) "
                "SELECT id, to_realm, kind, sealed, created_at FROM outbound_us.deliveries"
            )
        )
        await session.execute(text("DELETE FROM outbound_us.deliveries"))
    await receive(runtime, "eu", delivery_handlers(runtime))
    assert await _messages(runtime, "eu") == []
    assert await _waiting(runtime, "eu", "global") == 1  # kept aside, never acted on
    await take_deliveries(runtime)  # nor did anything go back to us in its name
    assert (await history(client, alice, mine["id"]))["items"][0]["refusal"] is None


async def _copy_waiting(runtime: Runtime) -> bool:
    return await _waiting(runtime, "eu", "us") == 1


async def test_every_copy_stays_with_its_owner_and_deliveries_go_only_where_addressed(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, erik = await people_of_two_realms(client, runtime)
    mine = await start(client, alice, "erik", body="residency, please")
    await client.post("/api/v1/users/alice/follow", headers=erik.auth)  # a notice crosses to us
    await client.post("/api/v1/users/alice/block", headers=erik.auth)  # a block of someone of us, in eu

    async def refused() -> bool:
        refusal: str | None = (await history(client, alice, mine["id"]))["items"][0]["refusal"]
        return refusal == "blocked"

    await delivered(runtime, refused)
    await client.delete("/api/v1/users/alice/block", headers=erik.auth)
    await send(client, alice, mine["id"], "second try")

    carol = await make_account(client, "carol")
    await age_account(runtime, carol, days=3)
    await start(client, alice, "carol", "erik", body="a group across realms")  # peers, a sender's key in eu

    async def arrived() -> bool:
        return len(await _messages(runtime, "eu")) == 2

    await delivered(runtime, arrived)
    result = await run_check(runtime, "--json")
    assert result.exit_code == 0, result.output

    # Deliveries published whole, or to a realm other than the one the publication names, are caught.
    with psycopg.connect(libpq_url(runtime.databases.realm_urls["us"]), autocommit=True) as conn:
        conn.execute("CREATE PUBLICATION leak FOR TABLE outbound_us.deliveries")
        conn.execute(
            "CREATE PUBLICATION outbound_us_to_global2 FOR TABLE outbound_us.deliveries "
            "WHERE (to_realm = 'global') WITH (publish = 'insert')"
        )
        try:
            leaked = await run_check(runtime, "--json")
        finally:
            conn.execute("DROP PUBLICATION leak")
            conn.execute("DROP PUBLICATION outbound_us_to_global2")
    assert leaked.exit_code == 1, leaked.output
    found = where(report_of(leaked))
    assert ("us", "publication:leak:outbound_us.deliveries.sealed", "", "published") in found
    assert (
        "us",
        "publication:outbound_us_to_global2:outbound_us.deliveries.sealed",
        "",
        "published",
    ) in found
    assert not any("outbound_us_to_eu" in location for _, location, _, _ in found)


async def test_messages_wait_out_a_cut_link_and_arrive_once_in_order(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, erik = await people_of_two_realms(client, runtime)
    mine = await start(client, alice, "erik", body="message 0")

    async def first() -> bool:
        return len(await _messages(runtime, "eu")) == 1

    await delivered(runtime, first)
    # eu stops receiving from us (its database down, the network cut): us keeps accepting messages.
    eu = libpq_url(runtime.databases.realm_urls["eu"])
    with psycopg.connect(eu, autocommit=True) as conn:
        conn.execute("ALTER SUBSCRIPTION reelm_us_to_eu DISABLE")
    try:
        for n in range(1, 6):
            await send(client, alice, mine["id"], f"message {n}")
        await asyncio.sleep(0.5)
        assert len(await _messages(runtime, "eu")) == 1  # nothing crossed meanwhile
    finally:
        with psycopg.connect(eu, autocommit=True) as conn:
            conn.execute("ALTER SUBSCRIPTION reelm_us_to_eu ENABLE")

    async def all_there() -> bool:
        return len(await _messages(runtime, "eu")) == 6

    await delivered(runtime, all_there)  # the slot kept them: everything arrives, in order, once
    await take_deliveries(runtime)
    copies = await _messages(runtime, "eu")
    assert [m.seq for m in copies] == [1, 2, 3, 4, 5, 6]
    (theirs,) = await folder(client, erik, "requests")
    bodies = [m["body"] for m in (await history(client, erik, theirs["id"]))["items"]]
    assert bodies == [f"message {n}" for n in range(6)]


async def test_the_recipients_live_connection_gets_their_own_copy(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, erik = await people_of_two_realms(client, runtime)
    await client.post("/api/v1/users/alice/follow", headers=erik.auth)  # so it lands in his inbox
    mine = await start(client, alice, "erik", body="first")
    await delivered(runtime, lambda: _copies(runtime, 1))
    (theirs,) = await folder(client, erik)
    async with serving(app_of(client)) as host, live_client(host, erik) as live:
        await live.next("ready")
        # alice sends through this very process, with no live connection of her own: the process remembers
        # her copy's frame, and must not hand it to erik, whose copy has another conversation id.
        sent = await send(client, alice, mine["id"], "second")
        await delivered(runtime, lambda: _copies(runtime, 2))
        (received,) = await live.messages(1)
    assert (received["id"], received["conversation_id"], received["seq"]) == (sent["id"], theirs["id"], 2)
    assert received["body"] == "second"


async def _copies(runtime: Runtime, count: int) -> bool:
    return len(await _messages(runtime, "eu")) == count


async def test_a_group_across_realms_has_a_copy_in_each_and_converges(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, erik = await people_of_two_realms(client, runtime)
    bob = await make_account(client, "bob")
    kenji = await make_account(client, "kenji", country="JP")
    assert kenji.realm == "global"
    for account in (bob, kenji):
        await age_account(runtime, account, days=3)
    await eventually(lambda: _public_in(runtime, "us", kenji))
    await eventually(lambda: _public_in(runtime, "global", alice))

    # alice (us) starts a group with bob (us) and erik (eu); eu's copy is made when it arrives.
    group = await start(client, alice, "bob", "erik", body="Trip planning 🧭")
    assert sorted(m["user"]["handle"] for m in group["members"]) == ["bob", "erik"]

    async def erik_has_it() -> bool:
        return len(await folder(client, erik, "requests")) == 1

    await delivered(runtime, erik_has_it)
    (theirs,) = await folder(client, erik, "requests")
    assert theirs["kind"] == "group"
    assert sorted(m["user"]["handle"] for m in theirs["members"]) == ["alice", "bob"]
    assert theirs["last_message"]["body"] == "Trip planning 🧭"
    async with runtime.databases.sessionmaker("eu")() as session:  # sealed under the eu copy's own key
        (copy,) = list(await session.scalars(select(Message)))
        key = await session.get(UserKey, copy.conversation_id)
    assert (copy.sender_id, copy.key_owner_id) == (int(alice.id), None)
    assert key is not None
    assert key.wrapped_key is not None

    # erik accepts, renames it and answers; us's copy follows (title, message, erik's read mark).
    await client.post(f"/api/v1/conversations/{theirs['id']}/accept", headers=erik.auth)
    renamed = await client.patch(
        f"/api/v1/conversations/{theirs['id']}", headers=erik.auth, json={"title": "Alps"}
    )
    assert renamed.status_code == 200, renamed.text
    await send(client, erik, theirs["id"], "I know a hut")

    async def answered() -> bool:
        conversation = (await client.get(f"/api/v1/conversations/{group['id']}", headers=bob.auth)).json()
        page = await history(client, bob, group["id"])
        return conversation["title"] == "Alps" and [m["body"] for m in page["items"]][-1:] == ["I know a hut"]

    await delivered(runtime, answered)

    # alice adds kenji (global): global's copy is made, with what is said from then on.
    added = await client.post(
        f"/api/v1/conversations/{group['id']}/members", headers=alice.auth, json={"handles": ["kenji"]}
    )
    assert added.status_code == 200, added.text
    await send(client, alice, group["id"], "Welcome kenji")

    async def kenji_in() -> bool:
        items = await folder(client, kenji, "requests")
        return bool(items) and items[0]["last_message"] is not None

    await delivered(runtime, kenji_in)
    (kenjis,) = await folder(client, kenji, "requests")
    assert kenjis["title"] == "Alps"
    assert sorted(m["user"]["handle"] for m in kenjis["members"]) == ["alice", "bob", "erik"]
    assert [m["body"] for m in (await history(client, kenji, kenjis["id"]))["items"]] == ["Welcome kenji"]

    async def erik_sees_kenji() -> bool:
        conversation = (await client.get(f"/api/v1/conversations/{theirs['id']}", headers=erik.auth)).json()
        return "kenji" in [m["user"]["handle"] for m in conversation["members"]]

    await delivered(runtime, erik_sees_kenji)

    # erik leaves: the other copies drop him; his realm receives nothing more.
    assert (
        await client.delete(f"/api/v1/conversations/{theirs['id']}", headers=erik.auth)
    ).status_code == 204

    async def erik_gone() -> bool:
        conversation = (await client.get(f"/api/v1/conversations/{group['id']}", headers=alice.auth)).json()
        return "erik" not in [m["user"]["handle"] for m in conversation["members"]]

    await delivered(runtime, erik_gone)
    await send(client, bob, group["id"], "after erik")
    await delivered(runtime, lambda: _nothing_waiting(runtime))
    erik_page = await client.get(f"/api/v1/conversations/{theirs['id']}/messages", headers=erik.auth)
    assert erik_page.status_code == 404  # he left it: gone from his inbox, nothing new arrived
    kenji_bodies = [m["body"] for m in (await history(client, kenji, kenjis["id"]))["items"]]
    assert kenji_bodies == ["Welcome kenji", "after erik"]


async def test_a_purged_group_members_messages_go_in_the_other_realms(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, _ = await people_of_two_realms(client, runtime)
    bob = await make_account(client, "bob", country="SE")
    await age_account(runtime, bob, days=3)
    await eventually(lambda: _public_in(runtime, "us", bob))
    await start(client, alice, "bob", "erik", body="keep this?")

    async def arrived() -> bool:
        return len(await _messages(runtime, "eu")) == 1

    await delivered(runtime, arrived)
    async with runtime.databases.transaction("us") as session:
        await session.execute(
            update(User)
            .where(User.id == int(alice.id))
            .values(deletion_due_at=datetime.now(UTC) - timedelta(days=1))
        )
    assert await purge_account(runtime, "us", int(alice.id), datetime.now(UTC))

    async def forgotten() -> bool:
        return await _messages(runtime, "eu") == []

    await delivered(runtime, forgotten)
    async with runtime.databases.sessionmaker("eu")() as session:  # erik and bob keep their group
        conversation = await session.scalar(select(Conversation))
        assert conversation is not None
        peers = await session.scalar(select(func.count()).select_from(ConversationPeer))
    assert (conversation.kind, peers) == ("group", 0)


async def test_a_receiving_worker_that_loses_its_connection_catches_up(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice, _ = await people_of_two_realms(client, runtime)
    receiver = asyncio.create_task(keep_receiving(runtime, "eu", delivery_handlers(runtime)))
    try:
        await start(client, alice, "erik", body="before the cut")
        await eventually(lambda: _copies(runtime, 1))
        # The worker's LISTEN connection dies (a restarted database, a network cut) ...
        with psycopg.connect(libpq_url(runtime.databases.realm_urls["eu"]), autocommit=True) as conn:
            cut = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query = 'LISTEN reelm_deliveries' AND datname = current_database()"
            ).fetchall()
        assert cut  # this test's worker, and any a test before it left behind
        assert all(terminated for (terminated,) in cut)
        conversation = (await folder(client, alice))[0]["id"]
        await send(client, alice, conversation, "during the cut")
        # ... and what arrived meanwhile is taken in once it is back, with nothing else doing it here.
        await eventually(lambda: _copies(runtime, 2))
    finally:
        receiver.cancel()
