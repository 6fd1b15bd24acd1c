"""Recording notifications in the acting domain's own transaction, and reading them grouped.

Other domains call `do_notify` inside the transaction of the action it reports (a like, a follow ...),
so the notification exists exactly when the action does, and open pages hear of it at commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.models import User
from reelm.crossrealm.views import public_profiles
from reelm.errors import not_found
from reelm.live.events import Event, EventType, publish
from reelm.notifications.models import NO_OBJECT, Notification, NotificationActor, NotificationKind
from reelm.notifications.preferences import is_turned_off, wanted
from reelm.notifications.schemas import NotificationOut
from reelm.safety.blocks import is_blocking
from reelm.videos.schemas import Creator
from reelm.videos.service import creator_out, public_creator

SHOWN_ACTORS = 2  # "alice and bob", then "alice and 3 others"

# What each kind says after the actors' names.
PHRASES: dict[NotificationKind, str] = {
    NotificationKind.LIKE: "liked your video",
    NotificationKind.COMMENT: "commented on your video",
    NotificationKind.REPLY: "replied to your comment",
    NotificationKind.FOLLOW: "started following you",
    NotificationKind.MENTION: "mentioned you",
    NotificationKind.MESSAGE_REQUEST: "sent you a message request",
    NotificationKind.REVIEW_OUTCOME: "A decision was made about your video",
    NotificationKind.DUET: "made a duet with your video",
    NotificationKind.STITCH: "stitched your video",
    NotificationKind.SOUND_USED: "used your sound",
    NotificationKind.NEW_LOGIN: "Someone logged in to your account: if it was not you, end that session",
    NotificationKind.POST_PUBLISHED: (
        "Your scheduled video was held while uploads were paused, and is now posted"
    ),
}


async def do_notify(
    session: AsyncSession,
    *,
    recipient_id: int,
    kind: NotificationKind,
    actor_id: int | None,
    object_id: int | None = None,
) -> None:
    """Add the actor to the recipient's unread group of this kind and object, opening one if needed.

    Nothing happens when people act on their own things, or when the recipient blocked the actor.
    `actor_id` is None for what the platform itself decided (a review outcome).
    """
    if actor_id == recipient_id:
        return
    if actor_id is not None and await is_blocking(session, recipient_id, actor_id):
        return
    if await is_turned_off(session, recipient_id, kind):
        return
    now = datetime.now(UTC)
    statement = (
        insert(Notification)
        .values(
            # The recipient's id carries the realm that minted it, which is where this row lives.
            id=ids.new_id(ids.realm_code_of(recipient_id)),
            recipient_id=recipient_id,
            kind=kind,
            object_id=object_id if object_id is not None else NO_OBJECT,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=[Notification.recipient_id, Notification.kind, Notification.object_id],
            index_where=Notification.read_at.is_(None),
            set_={"updated_at": now},
        )
        .returning(Notification.id)
    )
    notification_id = (await session.execute(statement)).scalar_one()
    if actor_id is not None:
        await session.execute(
            insert(NotificationActor)
            .values(
                notification_id=notification_id, actor_id=actor_id, recipient_id=recipient_id, created_at=now
            )
            .on_conflict_do_nothing()
        )
    await publish(session, Event(EventType.NOTIFICATIONS, (recipient_id,)))


async def unread_count(session: AsyncSession, user_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.recipient_id == user_id, Notification.read_at.is_(None), wanted(user_id))
    )
    return int(count or 0)


async def list_notifications(
    session: AsyncSession, user_id: int, *, before: tuple[datetime, int] | None, limit: int
) -> list[Notification]:
    query = select(Notification).where(Notification.recipient_id == user_id, wanted(user_id))
    if before is not None:
        query = query.where(tuple_(Notification.updated_at, Notification.id) < tuple_(*before))
    query = query.order_by(Notification.updated_at.desc(), Notification.id.desc()).limit(limit)
    return list(await session.scalars(query))


@dataclass
class _Actors:
    count: int
    latest: list[int]  # user ids, most recent first


async def _actors(session: AsyncSession, notification_ids: Sequence[int]) -> dict[int, _Actors]:
    ranked = (
        select(
            NotificationActor.notification_id,
            NotificationActor.actor_id,
            func.row_number()
            .over(
                partition_by=NotificationActor.notification_id,
                order_by=(NotificationActor.created_at.desc(), NotificationActor.actor_id),
            )
            .label("rank"),
            func.count().over(partition_by=NotificationActor.notification_id).label("total"),
        )
        .where(NotificationActor.notification_id.in_(notification_ids))
        .subquery()
    )
    rows = await session.execute(
        select(ranked.c.notification_id, ranked.c.actor_id, ranked.c.total)
        .where(ranked.c.rank <= SHOWN_ACTORS)
        .order_by(ranked.c.notification_id, ranked.c.rank)
    )
    found: dict[int, _Actors] = {}
    for notification_id, actor_id, total in rows.all():
        found.setdefault(notification_id, _Actors(count=total, latest=[])).latest.append(actor_id)
    return found


def sentence(kind: NotificationKind, handles: Sequence[str], count: int) -> str:
    """ "alice liked your video", "alice and bob …", "alice and 3 others …"."""
    phrase = PHRASES[kind]
    if not handles:
        return phrase
    first = f"@{handles[0]}"
    if count == 1:
        who = first
    elif count == 2 and len(handles) == 2:
        who = f"{first} and @{handles[1]}"
    else:
        others = count - 1
        who = f"{first} and {others} other{'s' if others != 1 else ''}"
    return f"{who} {phrase}"


def link(kind: NotificationKind, object_id: int, first_handle: str | None) -> str:
    if kind == NotificationKind.MESSAGE_REQUEST:
        return f"/inbox/{object_id}"
    if kind == NotificationKind.FOLLOW:
        return f"/@{first_handle}" if first_handle else "/"
    if kind == NotificationKind.SOUND_USED:
        return f"/sound/{object_id}"
    if kind == NotificationKind.NEW_LOGIN:
        return "/settings/security"
    return f"/v/{object_id}"


async def people_out(session: AsyncSession, realm: str, user_ids: set[int]) -> dict[int, Creator]:
    """People by id: this realm's from their rows, other realms' from their public profiles (someone
    whose profile is not public, e.g. an account being deleted, is left out)."""
    people = {
        u.id: creator_out(realm, u) for u in await session.scalars(select(User).where(User.id.in_(user_ids)))
    }
    foreign = user_ids - people.keys()
    if foreign:
        rows = await session.execute(select(public_profiles).where(public_profiles.c.id.in_(foreign)))
        people |= {row.id: public_creator(row) for row in rows}
    return people


async def notifications_out(
    session: AsyncSession, realm: str, notifications: Sequence[Notification]
) -> list[NotificationOut]:
    if not notifications:
        return []
    actors = await _actors(session, [n.id for n in notifications])
    people = await people_out(session, realm, {a for group in actors.values() for a in group.latest})
    out = []
    for n in notifications:
        kind = NotificationKind(n.kind)
        group = actors.get(n.id, _Actors(count=0, latest=[]))
        shown = [people[a] for a in group.latest if a in people]
        out.append(
            NotificationOut(
                id=str(n.id),
                kind=kind.value,
                object_id=str(n.object_id) if n.object_id != NO_OBJECT else None,
                actors=shown,
                actor_count=group.count,
                text=sentence(kind, [u.handle for u in shown], group.count),
                url=link(kind, n.object_id, shown[0].handle if shown else None),
                updated_at=n.updated_at,
                read=n.read_at is not None,
            )
        )
    return out


async def access_notification(session: AsyncSession, user_id: int, notification_id: int) -> Notification:
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.recipient_id != user_id:
        raise not_found("Notification")
    return notification


async def do_mark_read(session: AsyncSession, user_id: int, notification: Notification | None) -> None:
    """Mark one notification read, or all of the user's with None."""
    query = update(Notification).where(Notification.recipient_id == user_id, Notification.read_at.is_(None))
    if notification is not None:
        query = query.where(Notification.id == notification.id)
    changed = await session.execute(query.values(read_at=datetime.now(UTC)).returning(Notification.id))
    if changed.first() is not None:
        await publish(session, Event(EventType.NOTIFICATIONS, (user_id,)))
