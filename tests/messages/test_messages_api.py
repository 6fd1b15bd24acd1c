"""Conversations and messages through the JSON API: delivery into inbox or requests, reading, unsending,
safety rules, bad input, switches and limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from reelm.messages.messaging import Messaging
from reelm.messages.models import ConversationMember, Message
from reelm.messages.policy import MessagingSettings
from reelm.notifications.models import Notification
from reelm.realms.models import Capability
from reelm.realms.switches import Switchboard
from reelm.runtime import Runtime
from tests.conftest import make_account
from tests.factories import assert_problem
from tests.messages.common import (
    age_account,
    bare_account,
    folder,
    follow,
    history,
    make_video,
    message_rows,
    send,
    start,
)
from tests.realms.common import assert_capability_off, set_switch


async def test_a_direct_conversation_between_people_who_follow_each_other(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    await follow(runtime, bob, alice)  # bob follows alice: her message reaches his inbox

    started = await start(client, alice, "bob", body="Hi Bob 👋")
    cid = started["id"]
    assert started["kind"] == "direct"
    assert started["state"] == "accepted"
    assert [m["user"]["handle"] for m in started["members"]] == ["bob"]
    assert started["last_message"]["body"] == "Hi Bob 👋"
    second = await send(client, alice, cid, "Coffee later?")
    assert second["seq"] == 2

    (in_bob,) = await folder(client, bob)
    assert in_bob["id"] == cid
    assert in_bob["unread"] == 2
    assert in_bob["last_message"]["body"] == "Coffee later?"
    assert await folder(client, bob, "requests") == []
    unread = (await client.get("/api/v1/me/unread", headers=bob.auth)).json()
    assert unread == {"notifications": 0, "messages": 1, "requests": 0}

    page = await history(client, bob, cid)
    assert [m["body"] for m in page["items"]] == ["Hi Bob 👋", "Coffee later?"]
    assert [m["seq"] for m in page["items"]] == [1, 2]
    assert page["through_seq"] == 2
    assert page["items"][0]["sender"]["handle"] == "alice"

    read = await client.post(f"/api/v1/conversations/{cid}/read", headers=bob.auth, json={"seq": 2})
    assert read.status_code == 204, read.text
    assert (await folder(client, bob))[0]["unread"] == 0
    as_alice = (await client.get(f"/api/v1/conversations/{cid}", headers=alice.auth)).json()
    assert as_alice["members"][0]["last_read_seq"] == 2  # "Seen"

    # Starting again finds the same conversation.
    again = await start(client, bob, "alice", expect=200)
    assert again["id"] == cid


async def test_message_bodies_are_stored_encrypted(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob", body="the secret recipe"))["id"]
    async with runtime.databases.sessionmaker("us")() as session:
        stored = await session.scalar(select(Message.body).where(Message.conversation_id == int(cid)))
    assert stored is not None
    assert b"secret" not in stored
    assert (await history(client, bob, cid))["items"][0]["body"] == "the secret recipe"


async def test_strangers_land_in_requests_until_accepted(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob", body="Hello stranger"))["id"]

    assert await folder(client, bob) == []
    (request,) = await folder(client, bob, "requests")
    assert request["state"] == "request"
    assert request["last_message"]["body"] == "Hello stranger"
    unread = (await client.get("/api/v1/me/unread", headers=bob.auth)).json()
    assert unread == {"notifications": 1, "messages": 0, "requests": 1}
    (notice,) = (await client.get("/api/v1/notifications", headers=bob.auth)).json()["items"]
    assert notice["kind"] == "message_request"
    assert notice["text"] == "@alice sent you a message request"
    assert notice["url"] == f"/inbox/{cid}"

    # Reading a request tells its sender nothing.
    await client.post(f"/api/v1/conversations/{cid}/read", headers=bob.auth, json={"seq": 1})
    as_alice = (await client.get(f"/api/v1/conversations/{cid}", headers=alice.auth)).json()
    assert as_alice["members"][0]["last_read_seq"] is None

    accepted = await client.post(f"/api/v1/conversations/{cid}/accept", headers=bob.auth)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    assert [c["id"] for c in await folder(client, bob)] == [cid]
    assert await folder(client, bob, "requests") == []


async def test_replying_to_a_request_accepts_it(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob", body="Hello"))["id"]
    await send(client, bob, cid, "Hi!")
    assert [c["id"] for c in await folder(client, bob)] == [cid]


async def test_declining_a_request_and_deleting_a_conversation(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob", body="one"))["id"]
    declined = await client.delete(f"/api/v1/conversations/{cid}", headers=bob.auth)
    assert declined.status_code == 204, declined.text
    assert await folder(client, bob, "requests") == []
    assert_problem(
        await client.get(f"/api/v1/conversations/{cid}/messages", headers=bob.auth), 404, "not-found"
    )

    # A new message brings the conversation back, without the history that was deleted.
    await send(client, alice, cid, "two")
    (request,) = await folder(client, bob, "requests")
    assert request["id"] == cid
    assert [m["body"] for m in (await history(client, bob, cid))["items"]] == ["two"]
    assert [m["body"] for m in (await history(client, alice, cid))["items"]] == ["one", "two"]


async def test_only_members_see_a_conversation(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    await make_account(client, "bob")
    mallory = await make_account(client, "mallory")
    cid = (await start(client, alice, "bob", body="private"))["id"]
    mid = (await history(client, alice, cid))["items"][0]["id"]
    base = f"/api/v1/conversations/{cid}"
    attempts = [
        await client.get(base, headers=mallory.auth),
        await client.get(f"{base}/messages", headers=mallory.auth),
        await client.get(f"{base}/messages?after_seq=0", headers=mallory.auth),
        await client.post(f"{base}/messages", headers=mallory.auth, json={"body": "let me in"}),
        await client.post(f"{base}/read", headers=mallory.auth, json={"seq": 1}),
        await client.post(f"{base}/accept", headers=mallory.auth),
        await client.put(f"{base}/mute", headers=mallory.auth, json={"muted": True}),
        await client.delete(base, headers=mallory.auth),
        await client.post(f"{base}/messages/{mid}/unsend", headers=mallory.auth),
        await client.delete(f"{base}/messages/{mid}", headers=mallory.auth),
        await client.get("/api/v1/conversations/123/messages", headers=mallory.auth),
        await client.get("/api/v1/conversations/not-an-id", headers=mallory.auth),
    ]
    for response in attempts:
        assert_problem(response, 404, "not-found")
    assert_problem(await client.get(base), 401, "login-required")
    assert await message_rows(runtime) == 1


async def test_bad_messages_are_refused_and_change_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice = await make_account(client, "alice")
    await make_account(client, "bob")
    cid = (await start(client, alice, "bob"))["id"]
    url = f"/api/v1/conversations/{cid}/messages"
    refused = {
        "empty": await client.post(url, headers=alice.auth, json={"body": ""}),
        "blank": await client.post(url, headers=alice.auth, json={"body": "  \n "}),
        "oversized": await client.post(url, headers=alice.auth, json={"body": "x" * 2001}),
        "control": await client.post(url, headers=alice.auth, json={"body": "ring\x07ring"}),
        "not text": await client.post(url, headers=alice.auth, json={"body": ["a"]}),
        "bad video": await client.post(url, headers=alice.auth, json={"video_id": "12ab"}),
        "unknown video": await client.post(url, headers=alice.auth, json={"video_id": "123456"}),
        "bad key": await client.post(url, headers=alice.auth, json={"body": "x", "client_key": "no spaces!"}),
        "malformed": await client.post(
            url, headers=alice.auth | {"content-type": "application/json"}, content=b'{"body": '
        ),
    }
    for what, response in refused.items():
        body = assert_problem(response, 422, "invalid-request")
        assert body["detail"], what
    assert "2000" in refused["oversized"].json()["detail"]
    assert await message_rows(runtime) == 0
    assert (await client.get(f"/api/v1/conversations/{cid}", headers=alice.auth)).json()["last_seq"] == 0


async def test_starting_a_conversation_checks_who_and_how_many(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice = await make_account(client, "alice")
    await make_account(client, "bob")
    assert_problem(
        await client.post("/api/v1/conversations", headers=alice.auth, json={"handles": ["nobody_here"]}),
        404,
        "not-found",
    )
    assert_problem(
        await client.post("/api/v1/conversations", headers=alice.auth, json={"handles": ["alice"]}),
        422,
        "invalid-request",
    )
    assert_problem(
        await client.post("/api/v1/conversations", headers=alice.auth, json={"handles": []}),
        422,
        "invalid-request",
    )
    too_many = [f"user{i}" for i in range(32)]  # 32 others + the sender > 32
    assert_problem(
        await client.post("/api/v1/conversations", headers=alice.auth, json={"handles": too_many}),
        422,
        "invalid-request",
    )
    assert await message_rows(runtime) == 0


async def test_a_group_of_members_who_each_see_it_their_way(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    carol = await make_account(client, "carol")
    await follow(runtime, bob, alice)  # carol does not follow alice: for her it is a request
    group = await start(client, alice, "bob", "carol", body="Welcome, both")
    cid = group["id"]
    assert group["kind"] == "group"
    assert sorted(m["user"]["handle"] for m in group["members"]) == ["bob", "carol"]
    assert [c["id"] for c in await folder(client, bob)] == [cid]
    assert [c["id"] for c in await folder(client, carol, "requests")] == [cid]
    await send(client, bob, cid, "Thanks!")
    assert [m["body"] for m in (await history(client, carol, cid))["items"]] == ["Welcome, both", "Thanks!"]

    left = await client.delete(f"/api/v1/conversations/{cid}", headers=bob.auth)
    assert left.status_code == 204
    await send(client, alice, cid, "Bob left")
    assert await folder(client, bob) == []  # a group left stays left


async def test_a_group_is_named_and_grows_and_newcomers_see_only_what_follows(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    carol = await make_account(client, "carol")
    dave = await make_account(client, "dave")
    await follow(runtime, bob, alice)
    await follow(runtime, dave, alice)
    cid = (await start(client, alice, "bob", "carol", body="before dave"))["id"]

    renamed = await client.patch(
        f"/api/v1/conversations/{cid}", headers=bob.auth, json={"title": "  Trip 🏔️ "}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["title"] == "Trip 🏔️"
    assert (await client.get(f"/api/v1/conversations/{cid}", headers=carol.auth)).json()["title"] == "Trip 🏔️"

    added = await client.post(
        f"/api/v1/conversations/{cid}/members", headers=alice.auth, json={"handles": ["dave"]}
    )
    assert added.status_code == 200, added.text
    assert sorted(m["user"]["handle"] for m in added.json()["members"]) == ["bob", "carol", "dave"]
    await send(client, alice, cid, "welcome dave")
    assert [m["body"] for m in (await history(client, dave, cid))["items"]] == ["welcome dave"]
    assert [c["id"] for c in await folder(client, dave)] == [cid]  # dave follows alice: his inbox
    assert [m["body"] for m in (await history(client, bob, cid))["items"]] == ["before dave", "welcome dave"]

    # A request is no membership to act from; a direct conversation neither grows nor gets a name.
    assert_problem(
        await client.post(
            f"/api/v1/conversations/{cid}/members", headers=carol.auth, json={"handles": ["dave"]}
        ),
        403,
        "forbidden",
    )
    direct = (await start(client, alice, "bob"))["id"]
    assert_problem(
        await client.patch(f"/api/v1/conversations/{direct}", headers=alice.auth, json={"title": "us"}),
        422,
        "invalid-request",
    )
    assert_problem(
        await client.post(
            f"/api/v1/conversations/{direct}/members", headers=alice.auth, json={"handles": ["carol"]}
        ),
        422,
        "invalid-request",
    )
    # Someone not in it cannot rename it.
    outsider = await make_account(client, "olga")
    assert_problem(
        await client.patch(f"/api/v1/conversations/{cid}", headers=outsider.auth, json={"title": "mine"}),
        404,
        "not-found",
    )
    assert (await client.get(f"/api/v1/conversations/{cid}", headers=alice.auth)).json()["title"] == "Trip 🏔️"


async def test_a_group_holds_at_most_32_people(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    handles = [f"member{i:02d}" for i in range(32)]
    for handle in handles:
        await bare_account(runtime, handle)
    group = await start(client, alice, *handles[:31])
    assert len(group["members"]) == 31
    too_many = await client.post("/api/v1/conversations", headers=alice.auth, json={"handles": handles})
    assert_problem(too_many, 422, "invalid-request")
    cid = group["id"]
    await bare_account(runtime, "member32")
    grown = await client.post(
        f"/api/v1/conversations/{cid}/members", headers=alice.auth, json={"handles": ["member31", "member32"]}
    )
    assert_problem(grown, 422, "invalid-request")  # 32 people now; two more would make 34
    assert len((await client.get(f"/api/v1/conversations/{cid}", headers=alice.auth)).json()["members"]) == 31


async def test_unsend_removes_the_content_for_everyone(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob", body="oops, wrong chat"))["id"]
    first = (await history(client, alice, cid))["items"][0]
    url = f"/api/v1/conversations/{cid}/messages/{first['id']}/unsend"

    assert_problem(await client.post(url, headers=bob.auth), 403, "forbidden")
    unsent = await client.post(url, headers=alice.auth)
    assert unsent.status_code == 200, unsent.text
    event = unsent.json()
    assert (event["kind"], event["seq"], event["target_seq"]) == ("unsend", 2, 1)
    again = await client.post(url, headers=alice.auth)  # twice is once
    assert again.json()["seq"] == 2

    shown = (await history(client, bob, cid))["items"]
    assert [(m["seq"], m["unsent"], m["body"]) for m in shown] == [(1, True, None)]
    events = (await history(client, bob, cid, after_seq=0))["items"]
    assert [(m["seq"], m["kind"]) for m in events] == [(1, "message"), (2, "unsend")]
    async with runtime.databases.sessionmaker("us")() as session:
        stored = await session.get(Message, int(first["id"]))
    assert stored is not None
    assert stored.body is None


async def test_delete_for_me_hides_a_message_from_me_only(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob", body="keep"))["id"]
    gone = await send(client, alice, cid, "hide me")
    deleted = await client.delete(f"/api/v1/conversations/{cid}/messages/{gone['id']}", headers=bob.auth)
    assert deleted.status_code == 204, deleted.text
    assert [m["body"] for m in (await history(client, bob, cid))["items"]] == ["keep"]
    assert [m["body"] for m in (await history(client, alice, cid))["items"]] == ["keep", "hide me"]


async def test_history_pages_back_and_events_follow_a_number(
    client: httpx.AsyncClient, runtime: Runtime, messaging: Messaging
) -> None:
    messaging.policy = MessagingSettings(min_account_age_hours=0, messages_per_minute=100)
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob", body="m1"))["id"]
    for n in range(2, 8):
        await send(client, alice, cid, f"m{n}")
    latest = await history(client, bob, cid, limit=3)
    assert [m["body"] for m in latest["items"]] == ["m5", "m6", "m7"]
    assert latest["has_more"] is True
    older = await history(client, bob, cid, limit=3, before_seq=latest["items"][0]["seq"])
    assert [m["body"] for m in older["items"]] == ["m2", "m3", "m4"]
    oldest = await history(client, bob, cid, limit=3, before_seq=older["items"][0]["seq"])
    assert [m["body"] for m in oldest["items"]] == ["m1"]
    assert oldest["has_more"] is False

    missed = await history(client, bob, cid, after_seq=4, limit=2)
    assert [m["seq"] for m in missed["items"]] == [5, 6]
    assert (missed["has_more"], missed["through_seq"]) == (True, 6)
    rest = await history(client, bob, cid, after_seq=missed["through_seq"], limit=2)
    assert [m["seq"] for m in rest["items"]] == [7]
    assert (rest["has_more"], rest["through_seq"]) == (False, 7)
    assert_problem(
        await client.get(f"/api/v1/conversations/{cid}/messages?after_seq=1&before_seq=3", headers=bob.auth),
        422,
        "invalid-request",
    )


async def test_a_retried_send_with_the_same_key_is_stored_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice = await make_account(client, "alice")
    await make_account(client, "bob")
    cid = (await start(client, alice, "bob"))["id"]
    url = f"/api/v1/conversations/{cid}/messages"
    payload = {"body": "only once", "client_key": "k-0123456789"}
    first = await client.post(url, headers=alice.auth, json=payload)
    retry = await client.post(url, headers=alice.auth, json=payload)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert first.json()["id"] == retry.json()["id"]
    assert await message_rows(runtime) == 1


async def test_sharing_a_video(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    public = await make_video(runtime, bob)
    private = await make_video(runtime, alice, visibility="private")
    cid = (await start(client, alice, "bob"))["id"]
    url = f"/api/v1/conversations/{cid}/messages"
    shared = await client.post(url, headers=alice.auth, json={"video_id": public})
    assert shared.status_code == 201, shared.text
    assert (shared.json()["video_id"], shared.json()["body"]) == (public, None)
    with_text = await send(client, alice, cid, "look at this 😂", video_id=public)
    assert with_text["video_id"] == public
    # The sender's own private video cannot be watched by the others: refused.
    assert_problem(
        await client.post(url, headers=alice.auth, json={"video_id": private}), 422, "invalid-request"
    )
    assert await message_rows(runtime) == 2


async def test_blocking_stops_messages_both_ways(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob", body="hi"))["id"]
    blocked = await client.post("/api/v1/users/alice/block", headers=bob.auth)
    assert blocked.json() == {"blocked": True}
    assert (await client.get("/api/v1/users/alice/block", headers=bob.auth)).json() == {"blocked": True}

    for sender, to in ((alice, "bob"), (bob, "alice")):
        body = assert_problem(
            await client.post("/api/v1/conversations", headers=sender.auth, json={"handles": [to]}),
            403,
            "blocked",
        )
        assert "can't be messaged" in body["detail"]
    assert_problem(
        await client.post(
            f"/api/v1/conversations/{cid}/messages", headers=alice.auth, json={"body": "hello?"}
        ),
        403,
        "blocked",
    )
    assert_problem(await client.post("/api/v1/users/bob/block", headers=bob.auth), 422, "invalid-request")
    assert await message_rows(runtime) == 1

    await client.delete("/api/v1/users/alice/block", headers=bob.auth)
    await send(client, alice, cid, "friends again?")


async def test_the_recipients_settings_decide_who_may_write(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    url = "/api/v1/me/message-settings"
    assert (await client.get(url, headers=bob.auth)).json() == {"allow_from": "everyone"}

    assert (await client.put(url, headers=bob.auth, json={"allow_from": "nobody"})).status_code == 200
    body = assert_problem(
        await client.post("/api/v1/conversations", headers=alice.auth, json={"handles": ["bob"]}),
        403,
        "messages-closed",
    )
    assert body["detail"] == "@bob does not accept messages."

    await client.put(url, headers=bob.auth, json={"allow_from": "following"})
    assert_problem(
        await client.post("/api/v1/conversations", headers=alice.auth, json={"handles": ["bob"]}),
        403,
        "messages-closed",
    )
    await follow(runtime, bob, alice)
    started = await start(client, alice, "bob", body="you follow me now")
    assert started["state"] == "accepted"
    assert_problem(
        await client.put(url, headers=bob.auth, json={"allow_from": "anyone"}), 422, "invalid-request"
    )


async def test_new_accounts_may_write_only_to_their_followers(
    client: httpx.AsyncClient, runtime: Runtime, messaging: Messaging
) -> None:
    messaging.policy = MessagingSettings(min_account_age_hours=24)
    fresh = await make_account(client, "fresh")
    bob = await make_account(client, "bob")
    carol = await make_account(client, "carol")
    body = assert_problem(
        await client.post("/api/v1/conversations", headers=fresh.auth, json={"handles": ["bob"]}),
        403,
        "account-too-new",
    )
    assert "24 hours" in body["detail"]
    await follow(runtime, carol, fresh)
    await start(client, fresh, "carol", body="hi follower")  # someone who follows them is fine
    await age_account(runtime, fresh, days=2)
    await start(client, fresh, "bob", body="old enough now")
    assert [c["state"] for c in await folder(client, bob, "requests")] == ["request"]


async def test_messaging_switched_off_refuses_sending_but_not_reading(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob", body="before the order"))["id"]
    await set_switch(runtime, board, "us", "message", 0)

    assert_capability_off(
        await client.post(f"/api/v1/conversations/{cid}/messages", headers=alice.auth, json={"body": "x"}),
        Capability.MESSAGE,
        "us",
    )
    assert_capability_off(
        await client.post("/api/v1/conversations", headers=bob.auth, json={"handles": ["alice"]}),
        Capability.MESSAGE,
        "us",
    )
    assert [m["body"] for m in (await history(client, bob, cid))["items"]] == ["before the order"]
    assert await message_rows(runtime) == 1

    await set_switch(runtime, board, "us", "message", 100)
    await send(client, alice, cid, "service is back")


async def test_sending_is_rate_limited(
    client: httpx.AsyncClient, runtime: Runtime, messaging: Messaging
) -> None:
    messaging.policy = MessagingSettings(min_account_age_hours=0, messages_per_minute=3)
    alice = await make_account(client, "alice")
    await make_account(client, "bob")
    cid = (await start(client, alice, "bob"))["id"]
    for n in range(3):
        await send(client, alice, cid, f"n{n}")
    refused = await client.post(
        f"/api/v1/conversations/{cid}/messages", headers=alice.auth, json={"body": "n3"}
    )
    body = assert_problem(refused, 429, "rate-limited")
    assert refused.headers["retry-after"] == str(body["retry_after"])
    assert await message_rows(runtime) == 3


async def test_muted_conversations_leave_the_badge(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    await follow(runtime, bob, alice)
    cid = (await start(client, alice, "bob", body="ping"))["id"]
    assert (await client.get("/api/v1/me/unread", headers=bob.auth)).json()["messages"] == 1
    muted = await client.put(f"/api/v1/conversations/{cid}/mute", headers=bob.auth, json={"muted": True})
    assert muted.json() == {"muted": True}
    assert (await client.get("/api/v1/me/unread", headers=bob.auth)).json()["messages"] == 0
    assert (await folder(client, bob))[0]["muted"] is True


async def test_the_inbox_pages_through_conversations(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    for n in range(3):
        await make_account(client, f"friend{n}")
        await start(client, alice, f"friend{n}", body=f"hello {n}")
    first = (await client.get("/api/v1/conversations?limit=2", headers=alice.auth)).json()
    assert [c["members"][0]["user"]["handle"] for c in first["items"]] == ["friend2", "friend1"]
    rest = (
        await client.get(f"/api/v1/conversations?limit=2&cursor={first['next_cursor']}", headers=alice.auth)
    ).json()
    assert [c["members"][0]["user"]["handle"] for c in rest["items"]] == ["friend0"]
    assert rest["next_cursor"] is None
    assert_problem(
        await client.get("/api/v1/conversations?cursor=forged", headers=alice.auth), 400, "bad-cursor"
    )


async def test_retention_removes_old_messages_of_that_realm_only(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    from reelm.messages.tasks import expire_messages  # noqa: PLC0415 - the retention sweep, here only

    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob", body="old news"))["id"]
    await send(client, alice, cid, "fresh")
    async with runtime.databases.transaction("us") as session:
        await session.execute(
            update(Message).where(Message.seq == 1).values(created_at=datetime.now(UTC) - timedelta(days=40))
        )
    assert await expire_messages(runtime, "us", MessagingSettings(retention_days={"eu": 30})) == 0
    assert await expire_messages(runtime, "us", MessagingSettings(retention_days={"us": 30})) == 1
    assert [m["body"] for m in (await history(client, bob, cid))["items"]] == ["fresh"]


@pytest.mark.parametrize("kind", ["read", "accept"])
async def test_reading_and_accepting_are_idempotent(
    client: httpx.AsyncClient, runtime: Runtime, kind: str
) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    cid = (await start(client, alice, "bob", body="x"))["id"]
    for _ in range(2):
        if kind == "read":
            response = await client.post(
                f"/api/v1/conversations/{cid}/read", headers=bob.auth, json={"seq": 99}
            )
            assert response.status_code == 204
        else:
            response = await client.post(f"/api/v1/conversations/{cid}/accept", headers=bob.auth)
            assert response.status_code == 200
    async with runtime.databases.sessionmaker("us")() as session:
        member = await session.get(ConversationMember, (int(cid), int(bob.id)))
        notices = (await session.scalars(select(Notification))).all()
    assert member is not None
    if kind == "read":
        assert member.last_read_seq == 1  # never beyond the conversation's last number
    else:
        assert member.state == "accepted"
    assert len(notices) == 1
