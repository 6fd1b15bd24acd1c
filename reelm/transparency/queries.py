"""What other domains may read of the transparency log (its published queries)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Row, func, select

from reelm.audit.models import RealmAuditOutbox
from reelm.audit.service import pseudonym
from reelm.db import Databases
from reelm.runtime import Runtime
from reelm.transparency.models import LogCheckpoint, LogEntry


async def entries_about(
    runtime: Runtime, realm: str, user_id: int
) -> list[tuple[int | None, dict[str, Any]]]:
    """Entries naming this user's pseudonym, newest first: (log index, entry), index None while waiting."""
    mine = pseudonym(runtime.settings.secret_key, realm, user_id)
    async with runtime.databases.read(realm) as session:
        waiting = [
            json.loads(e)
            for e in await session.scalars(
                select(RealmAuditOutbox.entry).order_by(RealmAuditOutbox.id.desc())
            )
        ]
    async with runtime.databases.read(None) as session:
        logged = await session.execute(
            select(LogEntry.idx, LogEntry.entry).where(LogEntry.subject == mine).order_by(LogEntry.idx.desc())
        )
        found: list[tuple[int | None, dict[str, Any]]] = [
            (None, e) for e in waiting if e.get("subject") == mine
        ]
        found += [(idx, json.loads(entry)) for idx, entry in logged]
    return found


async def published_size(databases: Databases) -> int:
    """The size of the newest published checkpoint (0 before the first)."""
    async with databases.read(None) as session:
        size = await session.scalar(
            select(LogCheckpoint.size)
            .where(LogCheckpoint.published)
            .order_by(LogCheckpoint.size.desc())
            .limit(1)
        )
    return size or 0


async def log_overview(databases: Databases) -> tuple[list[Row[Any]], list[LogCheckpoint]]:
    """The auditor's overview: entry counts by day, type and realm (newest 500), the last 50 checkpoints."""
    day = func.date_trunc("day", LogEntry.sequenced_at)
    async with databases.read(None) as session:
        counts = (
            await session.execute(
                select(day.label("day"), LogEntry.event_type, LogEntry.realm, func.count().label("count"))
                .group_by(day, LogEntry.event_type, LogEntry.realm)
                .order_by(day.desc(), LogEntry.event_type, LogEntry.realm)
                .limit(500)
            )
        ).all()
        checkpoints = list(
            await session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(50))
        )
    return list(counts), checkpoints
