"""Notifications: `do_notify` as other domains call it, grouping, unread counts, marking read, the page."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select

from reelm.i18n import translations
from reelm.notifications.models import Notification, NotificationKind
from reelm.notifications.service import do_notify, sentence
from reelm.runtime import Runtime
from reelm.safety.models import UserBlock
from tests.conftest import Account, make_account
from tests.factories import assert_problem
from tests.web.test_security import browser_login

VIDEO = 1_234_567_890  # any id: notifications do not look the object up


async def notify(
    runtime: Runtime,
    recipient: Account,
    kind: NotificationKind,
    actor: Account | None,
    object_id: int | None = VIDEO,
) -> None:
    """As another domain would, inside its own transaction."""
    async with runtime.databases.transaction(recipient.realm) as session:
        await do_notify(
            session,
            recipient_id=int(recipient.id),
            kind=kind,
            actor_id=int(actor.id) if actor is not None else None,
            object_id=object_id,
        )


async def listed(client: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/notifications", headers=account.auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def unread(client: httpx.AsyncClient, account: Account) -> int:
    count: int = (await client.get("/api/v1/me/unread", headers=account.auth)).json()["notifications"]
    return count


async def test_likes_on_one_video_are_grouped_until_read(client: httpx.AsyncClient, runtime: Runtime) -> None:
    creator = await make_account(client, "creator")
    fans = [await make_account(client, f"fan{n}") for n in range(4)]
    for fan in fans:
        await notify(runtime, creator, NotificationKind.LIKE, fan)
    await notify(runtime, creator, NotificationKind.LIKE, fans[0])  # liking again counts once

    (group,) = await listed(client, creator)
    assert group["text"] == "@fan3 and 3 others liked your video"  # the latest first
    assert group["actor_count"] == 4
    assert [a["handle"] for a in group["actors"]] == ["fan3", "fan2"]
    assert group["url"] == f"/v/{VIDEO}"
    assert group["read"] is False
    assert await unread(client, creator) == 1

    read = await client.post(f"/api/v1/notifications/{group['id']}/read", headers=creator.auth)
    assert read.status_code == 204, read.text
    assert await unread(client, creator) == 0

    # After reading, the next like starts a new group.
    await notify(runtime, creator, NotificationKind.LIKE, fans[1])
    latest, earlier = await listed(client, creator)
    assert latest["text"] == "@fan1 liked your video"
    assert (latest["read"], earlier["read"]) == (False, True)


async def test_kinds_and_objects_group_separately(client: httpx.AsyncClient, runtime: Runtime) -> None:
    creator = await make_account(client, "creator")
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")
    await notify(runtime, creator, NotificationKind.LIKE, alice, VIDEO)
    await notify(runtime, creator, NotificationKind.LIKE, alice, VIDEO + 1)
    await notify(runtime, creator, NotificationKind.COMMENT, bob, VIDEO)
    await notify(runtime, creator, NotificationKind.FOLLOW, alice, None)
    await notify(runtime, creator, NotificationKind.FOLLOW, bob, None)
    shown = [(n["text"], n["url"]) for n in await listed(client, creator)]
    assert shown == [
        ("@bob and @alice started following you", "/@bob"),
        ("@bob commented on your video", f"/v/{VIDEO}"),
        ("@alice liked your video", f"/v/{VIDEO + 1}"),
        ("@alice liked your video", f"/v/{VIDEO}"),
    ]
    assert await unread(client, creator) == 4


async def test_nothing_for_ones_own_acts_or_from_blocked_accounts(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    creator = await make_account(client, "creator")
    troll = await make_account(client, "troll")
    await notify(runtime, creator, NotificationKind.LIKE, creator)
    async with runtime.databases.transaction("us") as session:
        session.add(UserBlock(blocker_id=int(creator.id), blocked_id=int(troll.id)))
    await notify(runtime, creator, NotificationKind.MENTION, troll)
    assert await listed(client, creator) == []


async def test_review_outcomes_have_no_actor(client: httpx.AsyncClient, runtime: Runtime) -> None:
    creator = await make_account(client, "creator")
    await notify(runtime, creator, NotificationKind.REVIEW_OUTCOME, None)
    (notice,) = await listed(client, creator)
    assert notice["text"] == "A decision was made about your video"
    assert notice["actors"] == []


async def test_a_notification_belongs_to_its_recipient(client: httpx.AsyncClient, runtime: Runtime) -> None:
    creator = await make_account(client, "creator")
    fan = await make_account(client, "fan")
    await notify(runtime, creator, NotificationKind.LIKE, fan)
    (notice,) = await listed(client, creator)
    for path in (f"/api/v1/notifications/{notice['id']}/read", "/api/v1/notifications/nope/read"):
        assert_problem(await client.post(path, headers=fan.auth), 404, "not-found")
    assert await unread(client, creator) == 1
    assert_problem(await client.get("/api/v1/notifications"), 401, "login-required")

    everything = await client.post("/api/v1/notifications/read-all", headers=creator.auth)
    assert everything.status_code == 204
    assert await unread(client, creator) == 0


async def test_the_list_pages_through(client: httpx.AsyncClient, runtime: Runtime) -> None:
    creator = await make_account(client, "creator")
    fan = await make_account(client, "fan")
    for n in range(5):
        await notify(runtime, creator, NotificationKind.LIKE, fan, VIDEO + n)
    first = (await client.get("/api/v1/notifications?limit=3", headers=creator.auth)).json()
    rest = (
        await client.get(f"/api/v1/notifications?limit=3&cursor={first['next_cursor']}", headers=creator.auth)
    ).json()
    urls = [n["url"] for n in first["items"] + rest["items"]]
    assert urls == [f"/v/{VIDEO + n}" for n in reversed(range(5))]
    assert rest["next_cursor"] is None


async def test_the_page_lists_them_escaped_and_marks_all_read(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    creator = await make_account(client, "creator")
    fan = await make_account(client, "fan")
    await notify(runtime, creator, NotificationKind.LIKE, fan)
    anonymous = await client.get("/notifications")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/notifications"

    csrf = await browser_login(client, "creator")
    page = await client.get("/notifications")
    assert page.status_code == 200, page.text
    assert "@fan liked your video" in page.text
    # Each language gets the whole sentence in its own word order.
    for locale in ("de", "ar"):
        client.cookies.set("reelm_locale", locale)
        translated = translations(locale).gettext("%(name)s liked your video") % {"name": "@fan"}
        assert translated != "@fan liked your video"
        assert translated in (await client.get("/notifications")).text
    client.cookies.delete("reelm_locale")
    assert re.search(r'data-testid="notification"[^>]*data-read="false"', page.text)
    assert_problem(await client.post("/notifications/read-all", data={"csrf_token": "wrong"}), 403, "csrf")
    done = await client.post("/notifications/read-all", data={"csrf_token": csrf})
    assert done.status_code == 303
    async with runtime.databases.sessionmaker("us")() as session:
        still_unread = await session.scalar(
            select(func.count()).select_from(Notification).where(Notification.read_at.is_(None))
        )
    assert still_unread == 0


def test_sentences() -> None:
    assert sentence(NotificationKind.LIKE, ["a"], 1) == "@a liked your video"
    assert sentence(NotificationKind.LIKE, ["a", "b"], 2) == "@a and @b liked your video"
    assert sentence(NotificationKind.LIKE, ["a", "b"], 3) == "@a and 2 others liked your video"
    assert sentence(NotificationKind.REPLY, ["a", "b"], 2) == "@a and @b replied to your comment"
    assert sentence(NotificationKind.FOLLOW, ["a"], 2) == "@a and 1 other started following you"
