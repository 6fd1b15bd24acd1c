"""Retention: each realm deletes messages older than its operator's limit (REELM_MESSAGES_RETENTION_DAYS).

Every realm's worker runs the sweep in its housekeeping loop (reelm.jobs); it is idempotent and works in
short batches, so a worker killed half-way leaves nothing inconsistent and the next run goes on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.messages.models import Message
from reelm.messages.policy import MessagingSettings
from reelm.runtime import Runtime

BATCH = 1000  # rows per transaction: short locks, steady progress


async def expire_messages(
    runtime: Runtime, realm: str, policy: MessagingSettings | None = None, *, now: datetime | None = None
) -> int:
    """Delete the realm's messages older than its retention; how many went (0 where none is set)."""
    days = (policy or MessagingSettings()).retention_days.get(realm)
    if days is None:
        return 0
    older_than = (now or datetime.now(UTC)) - timedelta(days=days)
    total = 0
    while True:
        async with runtime.databases.transaction(realm) as session:
            done = await do_expire_messages(session, older_than=older_than, limit=BATCH)
        total += done
        if done < BATCH:
            return total


async def do_expire_messages(session: AsyncSession, *, older_than: datetime, limit: int) -> int:
    """Delete up to `limit` messages (and unsend events) created before `older_than`; how many went.

    Numbers are never reused, so a client holding an expired number simply receives what is left.
    """
    doomed = select(Message.id).where(Message.created_at < older_than).limit(limit).scalar_subquery()
    deleted = await session.execute(delete(Message).where(Message.id.in_(doomed)).returning(Message.id))
    return len(deleted.all())
