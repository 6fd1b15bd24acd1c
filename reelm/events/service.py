"""Ingesting a batch of watch events: check it whole, store the new events, and update, in the same
transaction, the viewer's profile and the per-video signal counters the engine reads on the next page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.crossrealm.views import public_videos
from reelm.errors import Problem
from reelm.events.models import WatchEvent
from reelm.events.schemas import EventBatchIn

# A client may report events it buffered while offline, but not from the future or the distant past.
MAX_EVENT_AGE = timedelta(days=2)


@dataclass(frozen=True)
class StoredEvent:
    """An event as the profile and the counters learn from it."""

    video_id: int
    creator_id: int
    kind: str
    watched_s: float
    loops: int
    duration_s: float
    hashtags: tuple[str, ...]


def invalid_batch(detail: str, errors: list[dict[str, str]]) -> Problem:
    return Problem(422, "invalid-events", "The event batch is not valid", detail, errors=errors)


async def check_batch(
    session: AsyncSession, batch: EventBatchIn, now: datetime
) -> dict[int, tuple[int, float, tuple[str, ...]]]:
    """Every event names a public video and a plausible time; returns video id → (creator, duration, tags).

    Raises a 422 problem listing every bad event: the batch is refused whole.
    """
    errors: list[dict[str, str]] = []
    for index, event in enumerate(batch.events):
        if event.at is not None:
            at = event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)
            if at > now + timedelta(minutes=5) or at < now - MAX_EVENT_AGE:
                errors.append({"field": f"events.{index}.at", "message": "too far from the server's time"})
    wanted = {int(e.video_id) for e in batch.events}
    pv = public_videos
    rows = await session.execute(
        select(pv.c.id, pv.c.owner_id, pv.c.duration_s, pv.c.hashtags).where(pv.c.id.in_(wanted))
    )
    videos = {row.id: (row.owner_id, float(row.duration_s or 0.0), tuple(row.hashtags or ())) for row in rows}
    for index, event in enumerate(batch.events):
        if int(event.video_id) not in videos:
            errors.append({"field": f"events.{index}.video_id", "message": "no such public video"})
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise invalid_batch(detail, errors)
    return videos


async def do_store_events(
    session: AsyncSession, user_id: int, batch: EventBatchIn, now: datetime
) -> list[StoredEvent]:
    """Store the batch's new events (idempotent by client id) and return those that were new."""
    videos = await check_batch(session, batch, now)
    rows = []
    for event in batch.events:
        creator_id, _, _ = videos[int(event.video_id)]
        at = event.at if event.at is None or event.at.tzinfo else event.at.replace(tzinfo=UTC)
        rows.append(
            {
                "user_id": user_id,
                "client_id": event.id,
                "video_id": int(event.video_id),
                "creator_id": creator_id,
                "kind": event.kind.value,
                "watched_s": event.watched_s,
                "loops": event.loops,
                "occurred_at": min(at, now) if at is not None else now,
                "received_at": now,
                "source": event.source.value if event.source is not None else None,
            }
        )
    statement = (
        insert(WatchEvent)
        .values(rows)
        .on_conflict_do_nothing(constraint="uq_watch_events_user_client")
        .returning(WatchEvent.client_id)
    )
    inserted = set((await session.scalars(statement)).all())
    return [
        StoredEvent(
            video_id=int(e.video_id),
            creator_id=videos[int(e.video_id)][0],
            kind=e.kind.value,
            watched_s=e.watched_s,
            loops=e.loops,
            duration_s=videos[int(e.video_id)][1],
            hashtags=videos[int(e.video_id)][2],
        )
        for e in batch.events
        if e.id in inserted
    ]
