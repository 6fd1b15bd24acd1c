"""Blocking someone, and asking whether a block stands between two people."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.safety.models import UserBlock
from reelm.text import invalid


async def is_blocked_between(session: AsyncSession, a: int, b: int) -> bool:
    found = await session.scalar(
        select(UserBlock.blocker_id).where(
            ((UserBlock.blocker_id == a) & (UserBlock.blocked_id == b))
            | ((UserBlock.blocker_id == b) & (UserBlock.blocked_id == a))
        )
    )
    return found is not None


async def do_block(session: AsyncSession, blocker_id: int, blocked_id: int, *, block: bool) -> None:
    if blocker_id == blocked_id:
        raise invalid("handle", "you cannot block yourself")
    if block:
        await session.execute(
            insert(UserBlock).values(blocker_id=blocker_id, blocked_id=blocked_id).on_conflict_do_nothing()
        )
    else:
        await session.execute(
            delete(UserBlock).where(UserBlock.blocker_id == blocker_id, UserBlock.blocked_id == blocked_id)
        )


async def is_blocking(session: AsyncSession, blocker_id: int, blocked_id: int) -> bool:
    found = await session.scalar(
        select(UserBlock.blocker_id).where(
            UserBlock.blocker_id == blocker_id, UserBlock.blocked_id == blocked_id
        )
    )
    return found is not None


async def blocked_among(session: AsyncSession, user_id: int, others: list[int]) -> set[int]:
    """Which of `others` stand behind a block with `user_id`, either way (as this realm knows it)."""
    if not others:
        return set()
    rows = await session.execute(
        select(UserBlock.blocker_id, UserBlock.blocked_id).where(
            ((UserBlock.blocker_id == user_id) & UserBlock.blocked_id.in_(others))
            | ((UserBlock.blocked_id == user_id) & UserBlock.blocker_id.in_(others))
        )
    )
    return {blocked if blocker == user_id else blocker for blocker, blocked in rows.all()}


async def blocked_by(session: AsyncSession, blocker_id: int) -> list[int]:
    """Everyone this person blocked, the latest first (their settings list them)."""
    rows = await session.scalars(
        select(UserBlock.blocked_id)
        .where(UserBlock.blocker_id == blocker_id)
        .order_by(UserBlock.created_at.desc(), UserBlock.blocked_id)
    )
    return list(rows)
