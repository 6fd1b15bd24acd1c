"""What crossed between realms: rows received per destination, source realm, day, table and operation.

Counted where the rows arrive, by a trigger on every replicated projection table
(reelm.crossrealm.schema), in the same transaction that applies them: a crossing is never uncounted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from reelm.crossrealm.models import RealmFlow
from reelm.runtime import Runtime


@dataclass(frozen=True)
class Flow:
    day: date
    source: str
    destination: str
    relation: str
    rows: int


async def flows(runtime: Runtime, *, days: int) -> list[Flow]:
    """Rows received by each realm from each other realm over the last `days` days (UTC), per table."""
    since = datetime.now(UTC).date() - timedelta(days=days - 1)
    found: list[Flow] = []
    for destination in runtime.databases.realm_urls:
        async with runtime.databases.read(destination) as session:
            rows = await session.execute(
                select(RealmFlow.day, RealmFlow.source_realm, RealmFlow.relation, func.sum(RealmFlow.rows))
                .where(RealmFlow.day >= since)
                .group_by(RealmFlow.day, RealmFlow.source_realm, RealmFlow.relation)
            )
            found += [Flow(day, source, destination, relation, int(n)) for day, source, relation, n in rows]
    return sorted(found, key=lambda f: (f.day, f.source, f.destination, f.relation))
