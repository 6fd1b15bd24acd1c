"""Turning kinds of notification off: none of that kind is recorded for the person, nor counted or listed."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from reelm.notifications.models import Notification, NotificationKind
from reelm.notifications.service import do_notify
from reelm.runtime import Runtime
from tests.conftest import Account, make_account
from tests.factories import assert_problem


async def kinds_listed(client: httpx.AsyncClient, account: Account) -> list[str]:
    page = await client.get("/api/v1/notifications", headers=account.auth)
    assert page.status_code == 200, page.text
    return [n["kind"] for n in page.json()["items"]]


async def unread(client: httpx.AsyncClient, account: Account) -> int:
    counts = await client.get("/api/v1/me/unread", headers=account.auth)
    assert counts.status_code == 200, counts.text
    return int(counts.json()["notifications"])


async def stored(runtime: Runtime, account: Account) -> int:
    async with runtime.databases.read(account.realm) as session:
        count = await session.scalar(
            select(func.count()).select_from(Notification).where(Notification.recipient_id == int(account.id))
        )
    return int(count or 0)


async def test_every_kind_is_on_until_turned_off(client: httpx.AsyncClient) -> None:
    maya = await make_account(client, "maya")
    got = await client.get("/api/v1/me/notification-settings", headers=maya.auth)
    assert got.status_code == 200, got.text
    assert got.json()["kinds"] == {
        "like": True,
        "comment": True,
        "reply": True,
        "mention": True,
        "follow": True,
        "message_request": True,
        "duet": True,
        "stitch": True,
        "sound_used": True,
        "post_published": True,
    }
    turned = await client.put(
        "/api/v1/me/notification-settings", headers=maya.auth, json={"kinds": {"follow": False}}
    )
    assert turned.status_code == 200, turned.text
    assert turned.json()["kinds"]["follow"] is False
    assert turned.json()["kinds"]["like"] is True  # a kind left out keeps its setting
    again = await client.get("/api/v1/me/notification-settings", headers=maya.auth)
    assert again.json() == turned.json()


async def test_a_kind_turned_off_is_neither_recorded_nor_counted(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    maya = await make_account(client, "maya")
    ada, bo = await make_account(client, "ada"), await make_account(client, "bo")
    assert (await client.post("/api/v1/users/maya/follow", headers=ada.auth)).status_code == 200
    assert await unread(client, maya) == 1
    assert await kinds_listed(client, maya) == ["follow"]

    off = await client.put(
        "/api/v1/me/notification-settings", headers=maya.auth, json={"kinds": {"follow": False}}
    )
    assert off.status_code == 200, off.text
    # What arrived before no longer counts or shows; a new follow is not recorded at all.
    assert await unread(client, maya) == 0
    assert await kinds_listed(client, maya) == []
    before = await stored(runtime, maya)
    assert (await client.post("/api/v1/users/maya/follow", headers=bo.auth)).status_code == 200
    assert await stored(runtime, maya) == before
    assert await unread(client, maya) == 0

    # Other people's settings are theirs: ada still hears of maya's follow.
    assert (await client.post("/api/v1/users/ada/follow", headers=maya.auth)).status_code == 200
    assert await unread(client, ada) == 1

    on = await client.put(
        "/api/v1/me/notification-settings", headers=maya.auth, json={"kinds": {"follow": True}}
    )
    assert on.json()["kinds"]["follow"] is True
    assert await kinds_listed(client, maya) == ["follow"]  # the earlier group shows again
    assert await unread(client, maya) == 1


async def test_unknown_kinds_and_review_outcomes_cannot_be_turned_off(client: httpx.AsyncClient) -> None:
    maya = await make_account(client, "maya")
    for kinds in ({"review_outcome": False}, {"new_login": False}, {"nonsense": False}, {"like": "maybe"}):
        refused = await client.put(
            "/api/v1/me/notification-settings", headers=maya.auth, json={"kinds": kinds}
        )
        assert_problem(refused, 422, "invalid-request")
    got = await client.get("/api/v1/me/notification-settings", headers=maya.auth)
    assert all(got.json()["kinds"].values())
    anonymous = await client.get("/api/v1/me/notification-settings")
    assert_problem(anonymous, 401, "login-required")


async def test_remix_notices_follow_the_setting_of_their_kind(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    maya = await make_account(client, "maya")
    ada = await make_account(client, "ada")
    off = await client.put(
        "/api/v1/me/notification-settings", headers=maya.auth, json={"kinds": {"duet": False}}
    )
    assert off.status_code == 200, off.text
    async with runtime.databases.transaction(maya.realm) as session:
        for kind in (NotificationKind.DUET, NotificationKind.STITCH):
            await do_notify(session, recipient_id=int(maya.id), kind=kind, actor_id=int(ada.id), object_id=7)
    assert await kinds_listed(client, maya) == ["stitch"]
