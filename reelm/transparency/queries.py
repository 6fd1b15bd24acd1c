"""What other domains may read of the transparency log (its published queries)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from reelm.audit.models import RealmAuditOutbox
from reelm.audit.service import pseudonym
from reelm.runtime import Runtime
from reelm.transparency.models import LogEntry


async def entries_about(
    runtime: Runtime, realm: str, user_id: int
) -> list[tuple[int | None, dict[str, Any]]]:
    """Entries naming this user's pseudonym, newest first: (log index, entry), index None while waiting."""
    mine = pseudonym(runtime.settings.secret_key, realm, user_id)
    async with runtime.databases.sessionmaker(realm)() as session:
        waiting = [
            json.loads(e)
            for e in await session.scalars(
                select(RealmAuditOutbox.entry).order_by(RealmAuditOutbox.id.desc())
            )
        ]
    async with runtime.databases.sessionmaker(None)() as session:
        logged = await session.execute(
            select(LogEntry.idx, LogEntry.entry).where(LogEntry.subject == mine).order_by(LogEntry.idx.desc())
        )
        found: list[tuple[int | None, dict[str, Any]]] = [
            (None, e) for e in waiting if e.get("subject") == mine
        ]
        found += [(idx, json.loads(entry)) for idx, entry in logged]
    return found
