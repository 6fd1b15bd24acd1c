"""Taking in a viewer's watch events: stored (reelm.events) and learnt from in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from reelm.events.schemas import EventBatchIn
from reelm.events.service import do_store_events
from reelm.recommend.profile import apply_events_to_profile, apply_events_to_signals


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int


async def do_ingest_events(
    session: AsyncSession, user_id: int, batch: EventBatchIn, *, now: datetime | None = None
) -> IngestResult:
    """Store the batch's new events (idempotent by client id) and learn from them; the caller commits."""
    now = now or datetime.now(UTC)
    fresh = await do_store_events(session, user_id, batch, now)
    if fresh:
        await apply_events_to_profile(session, user_id, fresh, now)
        await apply_events_to_signals(session, fresh, now)
    return IngestResult(accepted=len(fresh), duplicates=len(batch.events) - len(fresh))
