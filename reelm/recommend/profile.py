"""Online learning: each event batch updates the viewer's profile (session state and interests) and the
per-video counters in the same transaction, so the viewer's next page already reflects it.

A profile holds decayed affinities per hashtag and per creator, the latest positively engaged videos (the
seeds of the similarity sources), the latest impressions (never shown again soon), and the viewer's
explicit controls: "not interested" videos and hidden creators.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.events.models import EventKind
from reelm.events.service import StoredEvent
from reelm.recommend.models import VideoSignal, ViewerProfile

KEEP_POSITIVE = 50
KEEP_SEEN = 400
KEEP_NOT_INTERESTED = 500
KEEP_TAGS = 60
KEEP_CREATORS = 100
DECAY_PER_BATCH = 0.97  # older interests fade as new evidence arrives
POSITIVE_AT = 0.9  # an event batch this positive about a video makes it a similarity seed
SKIP_STRENGTH = -0.6
NOT_INTERESTED_STRENGTH = -3.0


def strength(event: StoredEvent) -> float:
    """How much an event says the viewer likes the video: positive for engagement, negative for skips."""
    kind = event.kind
    if kind == EventKind.WATCH:
        if event.duration_s <= 0:
            return 0.0
        # Watch time de-biased by duration: the fraction watched, loops count on top.
        fraction = min(event.watched_s / event.duration_s, 1.0 + event.loops)
        return min(fraction, 3.0) * 0.6 + 0.3 * event.loops
    return {
        EventKind.COMPLETE: 1.0,
        EventKind.LIKE: 2.0,
        EventKind.UNLIKE: -2.0,
        EventKind.SHARE: 2.5,
        EventKind.SAVE: 2.5,  # kept to watch again: as strong as a share
        EventKind.COMMENT: 1.5,
        EventKind.FOLLOW: 2.0,
        EventKind.SKIP: SKIP_STRENGTH,
        EventKind.NOT_INTERESTED: NOT_INTERESTED_STRENGTH,
        EventKind.HIDE_CREATOR: NOT_INTERESTED_STRENGTH,
    }.get(EventKind(kind), 0.0)


def _top(weights: dict[str, float], keep: int) -> dict[str, float]:
    kept = sorted(weights.items(), key=lambda kv: abs(kv[1]), reverse=True)[:keep]
    return {k: round(v, 4) for k, v in kept if abs(v) >= 0.01}


def _append_unique(items: list[int], new: Sequence[int], keep: int) -> list[int]:
    fresh = list(dict.fromkeys(new))
    kept = [i for i in items if i not in set(fresh)]
    return (kept + fresh)[-keep:]


def empty_profile_values(user_id: int, now: datetime) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "picked_interests": [],
        "tag_weights": {},
        "creator_weights": {},
        "recent_positive": [],
        "recent_seen": [],
        "not_interested": [],
        "hidden_creators": [],
        "events": 0,
        "updated_at": now,
        "reset_at": None,
    }


async def locked_profile(session: AsyncSession, user_id: int, now: datetime) -> ViewerProfile:
    """The viewer's profile row, created if missing, locked until the transaction ends."""
    await session.execute(
        insert(ViewerProfile).values(empty_profile_values(user_id, now)).on_conflict_do_nothing()
    )
    return (
        await session.scalars(
            select(ViewerProfile)
            .where(ViewerProfile.user_id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()


def learn(profile: ViewerProfile, events: Sequence[StoredEvent]) -> None:
    """Fold a batch of events into a profile (pure: no I/O)."""
    tags: dict[str, float] = {k: v * DECAY_PER_BATCH for k, v in profile.tag_weights.items()}
    creators: dict[str, float] = {k: v * DECAY_PER_BATCH for k, v in profile.creator_weights.items()}
    per_video: dict[int, float] = defaultdict(float)
    seen: list[int] = []
    not_interested: list[int] = []
    hidden: list[int] = []
    for event in events:
        s = strength(event)
        per_video[event.video_id] += s
        if event.kind == EventKind.IMPRESSION:
            seen.append(event.video_id)
        elif event.kind == EventKind.NOT_INTERESTED:
            not_interested.append(event.video_id)
        elif event.kind == EventKind.HIDE_CREATOR:
            hidden.append(event.creator_id)
        if s:
            for tag in event.hashtags:
                tags[tag] = tags.get(tag, 0.0) + s / max(1, len(event.hashtags))
            key = str(event.creator_id)
            creators[key] = creators.get(key, 0.0) + s * 0.5
    positives = [v for v, total in per_video.items() if total >= POSITIVE_AT]
    negatives = {v for v, total in per_video.items() if total < 0}
    profile.tag_weights = _top(tags, KEEP_TAGS)
    profile.creator_weights = _top(creators, KEEP_CREATORS)
    profile.recent_positive = _append_unique(
        [v for v in profile.recent_positive if v not in negatives], positives, KEEP_POSITIVE
    )
    profile.recent_seen = _append_unique(profile.recent_seen, seen, KEEP_SEEN)
    profile.not_interested = _append_unique(profile.not_interested, not_interested, KEEP_NOT_INTERESTED)
    profile.hidden_creators = _append_unique(profile.hidden_creators, hidden, KEEP_CREATORS)
    profile.events += len(events)


async def apply_events_to_profile(
    session: AsyncSession, user_id: int, events: Sequence[StoredEvent], now: datetime
) -> None:
    profile = await locked_profile(session, user_id, now)
    learn(profile, events)
    profile.updated_at = now


_COUNTERS = {
    EventKind.IMPRESSION: "impressions",
    EventKind.PLAY: "plays",
    EventKind.COMPLETE: "completions",
    EventKind.SKIP: "skips",
    EventKind.LIKE: "likes",
    EventKind.SHARE: "shares",
    EventKind.COMMENT: "comments",
    EventKind.FOLLOW: "follows",
    EventKind.NOT_INTERESTED: "negatives",
    EventKind.HIDE_CREATOR: "negatives",
}
COUNTER_COLUMNS = (
    "impressions",
    "plays",
    "completions",
    "skips",
    "likes",
    "shares",
    "comments",
    "follows",
    "negatives",
)


async def apply_events_to_signals(
    session: AsyncSession, events: Sequence[StoredEvent], now: datetime
) -> None:
    """Add the batch to the per-video counters (one upsert; rows in id order, so batches never deadlock)."""
    deltas: dict[int, dict[str, float]] = defaultdict(
        lambda: dict.fromkeys((*COUNTER_COLUMNS, "watched_s"), 0)
    )
    for event in events:
        row = deltas[event.video_id]
        kind = EventKind(event.kind)
        if kind == EventKind.UNLIKE:
            row["likes"] -= 1
        elif kind == EventKind.WATCH:
            row["watched_s"] += event.watched_s
        elif kind in _COUNTERS:
            row[_COUNTERS[kind]] += 1
    values = [
        {
            "video_id": video_id,
            **{k: (v if k == "watched_s" else int(v)) for k, v in row.items()},
            "updated_at": now,
        }
        for video_id, row in sorted(deltas.items())
    ]
    statement = insert(VideoSignal).values(values)
    table = VideoSignal.__table__
    updates: dict[str, Any] = {
        name: func.greatest(table.c[name] + statement.excluded[name], 0) for name in COUNTER_COLUMNS
    }
    updates["watched_s"] = table.c.watched_s + statement.excluded.watched_s
    updates["updated_at"] = statement.excluded.updated_at
    await session.execute(statement.on_conflict_do_update(index_elements=["video_id"], set_=updates))
