"""A realm's hash lists in its database: imported whole or not at all, and loaded as one matcher.

An import parses the complete file first (reelm.moderation.hash_lists raises HashListError(line, reason)
for the first malformed line), then replaces the list's entries in one transaction: a bad file or a crash
leaves the realm's lists exactly as they were.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.audit.service import record_event
from reelm.moderation.hash_index import HashListMatcher
from reelm.moderation.hash_lists import HashList, ListAction, PdqEntries, parse_hash_list
from reelm.moderation.models import StoredHashEntry, StoredHashList
from reelm.moderation.pdq import words_from_hex
from reelm.moderation.service import MODERATION_CONFIG
from reelm.runtime import Runtime
from reelm.text import clean_text, invalid

INSERT_BATCH = 5000


@dataclass(frozen=True)
class ImportResult:
    list_id: int
    name: str
    action: ListAction
    entries: int
    low_quality_lines: tuple[int, ...]
    replaced: bool


def check_list_name(value: str) -> str:
    name = clean_text("list", value, max_len=64, allow_empty=False, multiline=False)
    if not all(ch.isalnum() or ch in "-_." for ch in name):
        raise invalid("list", "use letters, digits, '-', '_' or '.'")
    return name


def check_action(value: str) -> ListAction:
    try:
        return ListAction(value)
    except ValueError:
        raise invalid("action", "must be hold or block") from None


async def do_import_hash_list(
    runtime: Runtime,
    realm: str,
    *,
    name: str,
    action: str,
    data: bytes,
    actor: dict[str, Any],
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Parse `data` (HashListError on a bad line, nothing stored) and store it as the list `name`."""
    checked_name, checked_action = check_list_name(name), check_action(action)
    entries = parse_hash_list(data)  # the whole file, before anything is written
    digest = hashlib.sha256(data).hexdigest()
    total = len(entries)
    async with runtime.databases.transaction(realm) as session:
        existing = await session.scalar(
            select(StoredHashList).where(StoredHashList.name == checked_name).with_for_update()
        )
        now = datetime.now(UTC)
        if existing is None:
            stored = StoredHashList(id=ids.new_id(runtime.settings.realm(realm).code), name=checked_name)
            session.add(stored)
        else:
            stored = existing
            await session.execute(delete(StoredHashEntry).where(StoredHashEntry.list_id == stored.id))
        stored.action = checked_action.value
        stored.entry_count = total
        stored.low_quality_skipped = len(entries.low_quality_lines)
        stored.source_sha256 = digest
        stored.imported_at = now
        stored.imported_by = str(actor.get("kind", "unknown"))[:64]
        await session.flush()  # entries refer to the list
        for start in range(0, total, INSERT_BATCH):
            stop = min(start + INSERT_BATCH, total)
            rows = [
                {
                    "list_id": stored.id,
                    "line": int(entries.lines[i]),
                    "hash": entries.hex(i),
                    "quality": int(entries.qualities[i]),
                }
                for i in range(start, stop)
            ]
            await session.execute(insert(StoredHashEntry), rows)
            if progress is not None:
                progress(stop, total)
        await record_event(
            session,
            realm=realm,
            event_type=MODERATION_CONFIG,
            actor=actor,
            details={
                "change": "hash-list-imported",
                "list": checked_name,
                "action": checked_action.value,
                "entries": total,
                "low_quality_skipped": len(entries.low_quality_lines),
                "sha256": digest,
                "replaced": existing is not None,
            },
        )
    return ImportResult(
        stored.id, checked_name, checked_action, total, entries.low_quality_lines, existing is not None
    )


# Matchers per realm, rebuilt when the realm's lists change (their ids, sizes and import times).
_matchers: dict[str, tuple[tuple[Any, ...], HashListMatcher]] = {}


async def realm_matcher(session: AsyncSession, realm: str) -> HashListMatcher | None:
    """One matcher over every list of the realm; None when the realm has no lists."""
    stored = list(await session.scalars(select(StoredHashList).order_by(StoredHashList.id)))
    if not stored:
        return None
    version = tuple((s.id, s.entry_count, s.imported_at) for s in stored)
    cached = _matchers.get(realm)
    if cached is not None and cached[0] == version:
        return cached[1]
    lists = []
    for hash_list in stored:
        rows = (
            await session.execute(
                select(StoredHashEntry.line, StoredHashEntry.hash, StoredHashEntry.quality)
                .where(StoredHashEntry.list_id == hash_list.id)
                .order_by(StoredHashEntry.line)
            )
        ).all()
        entries = PdqEntries(
            words=words_from_hex([r.hash for r in rows]),
            lines=np.array([r.line for r in rows], dtype=np.int32),
            qualities=np.array([r.quality for r in rows], dtype=np.int16),
            low_quality_lines=(),
        )
        lists.append(HashList(hash_list.name, ListAction(hash_list.action), entries))
    matcher = HashListMatcher(lists)
    _matchers[realm] = (version, matcher)
    return matcher


async def list_summaries(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.scalars(select(StoredHashList).order_by(StoredHashList.name))
    return [
        {
            "name": r.name,
            "action": r.action,
            "entries": r.entry_count,
            "imported_at": r.imported_at.isoformat(timespec="seconds"),
            "sha256": r.source_sha256,
        }
        for r in rows
    ]


async def entry_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(StoredHashEntry)) or 0)
