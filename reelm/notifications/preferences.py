"""Which kinds of notification a person wants: each kind can be turned off, and is then neither recorded
for them nor counted in their badge."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from reelm.notifications.models import Notification, NotificationKind, NotificationMute

# Not offered: a review outcome (a decision about someone's content must reach them, DSA Art. 17) and a
# log-in from a new network (what tells the holder of a stolen password), so they are always recorded.
CHOOSABLE: tuple[NotificationKind, ...] = (
    NotificationKind.LIKE,
    NotificationKind.COMMENT,
    NotificationKind.REPLY,
    NotificationKind.MENTION,
    NotificationKind.FOLLOW,
    NotificationKind.MESSAGE_REQUEST,
    NotificationKind.DUET,
    NotificationKind.STITCH,
    NotificationKind.SOUND_USED,
    NotificationKind.POST_PUBLISHED,
)


async def turned_off(session: AsyncSession, user_id: int) -> set[str]:
    rows = await session.scalars(select(NotificationMute.kind).where(NotificationMute.user_id == user_id))
    return set(rows)


async def is_turned_off(session: AsyncSession, user_id: int, kind: NotificationKind) -> bool:
    found = await session.scalar(
        select(NotificationMute.user_id).where(
            NotificationMute.user_id == user_id, NotificationMute.kind == kind.value
        )
    )
    return found is not None


def wanted(recipient_id: ColumnElement[int] | int) -> ColumnElement[bool]:
    """Notifications of a kind their recipient has not turned off (for counting what is unread)."""
    return ~exists().where(
        NotificationMute.user_id == recipient_id, NotificationMute.kind == Notification.kind
    )


async def preferences(session: AsyncSession, user_id: int) -> dict[str, bool]:
    """Each choosable kind, on or off."""
    off = await turned_off(session, user_id)
    return {kind.value: kind.value not in off for kind in CHOOSABLE}


async def do_set_preferences(
    session: AsyncSession, user_id: int, choices: dict[NotificationKind, bool]
) -> None:
    """Turn kinds on or off; kinds not named keep their setting."""
    off = [kind.value for kind, on in choices.items() if not on]
    on = [kind.value for kind, want in choices.items() if want]
    if on:
        await session.execute(
            delete(NotificationMute).where(NotificationMute.user_id == user_id, NotificationMute.kind.in_(on))
        )
    if off:
        now = datetime.now(UTC)
        await session.execute(
            insert(NotificationMute)
            .values([{"user_id": user_id, "kind": kind, "created_at": now} for kind in off])
            .on_conflict_do_nothing()
        )
