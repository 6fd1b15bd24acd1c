"""Rolling watch events up, incrementally, in the realm where they are stored (the viewer's).

The realm's worker runs `roll_up` every FREQUENT_EVERY_S (reelm.worker). It reads `watch_events` from where it
stopped (`analytics_progress`, by event id) up to a *settled* top: the largest id at a moment when every
transaction then in flight has since finished, so an event committed late with a smaller id is never skipped.
Each batch is one transaction (the events read, the figures written and the progress moved commit together),
so a crash repeats nothing and loses nothing; the progress row is locked, so one worker of a realm rolls at a
time.

Events on this realm's own creators' videos go straight into their cells (`analytics_cells`,
`analytics_dims`). Events on another realm's videos are held per viewer and video (`analytics_pending`)
until enough viewers can cross together (reelm.analytics.release): raw events never leave the realm.

What an event counts for:
- a *view* is a watch session the player reported when the viewer moved on (`watch`, or `skip` for a quick
  one), with the seconds watched. Watch time is their sum; the position reached is the seconds watched,
  capped at the video's length, or its whole length when it looped or came within FULL_TOLERANCE_S of its
  end ("watched in full"); % watched is that position over the length. The retention histogram counts views
  by the whole second reached, so the share still watching at second t is the share of views that reached t
  or more.
- a *new viewer* is a view of a viewer this realm never saw watch that video before (`analytics_viewers`);
- likes, unlikes, comments, shares, saves and follows ("followed from this video") are counted as they come;
- any event makes its viewer *active* that hour, for each creator they follow (the followers heatmap).
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import User
from reelm.analytics.models import (
    ACCOUNT,
    DAY,
    HOUR,
    AnalyticsActive,
    AnalyticsCell,
    AnalyticsDim,
    AnalyticsPending,
    AnalyticsPendingActive,
    AnalyticsProgress,
    AnalyticsViewer,
)
from reelm.crossrealm.views import public_videos
from reelm.events.models import TrafficSource, WatchEvent
from reelm.runtime import Runtime
from reelm.settings import Settings
from reelm.social.models import Follow
from reelm.videos.models import Video

STREAM = "events"
BATCH = 20_000  # events per transaction
FULL_TOLERANCE_S = 0.5  # a view that stops this close to the end watched it in full (the player's last tick)
SETTLE_S = 2.0  # how long a sweep waits for transactions in flight before it tries again next time
UNKNOWN = "unknown"  # a view whose client said nothing of its source
SOURCES: tuple[str, ...] = (*(s.value for s in TrafficSource), UNKNOWN)
SOURCE_INDEX = {name: i for i, name in enumerate(SOURCES)}
VIEW_KINDS = frozenset({"watch", "skip"})
COUNTED_KINDS = {
    "like": "likes",
    "unlike": "unlikes",
    "comment": "comments",
    "share": "shares",
    "save": "saves",
    "follow": "follows",
}
SOURCE, COUNTRY = "source", "country"  # the dimensions


@dataclass
class Figures:
    """Sums over some views and events (a cell, or one viewer's pending activity)."""

    views: int = 0
    new_viewers: int = 0
    watch_s: float = 0.0
    pct_sum: float = 0.0
    full_views: int = 0
    likes: int = 0
    unlikes: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0
    follows: int = 0
    active_followers: int = 0
    stops: list[int] | None = None

    def add_stop(self, second: int) -> None:
        if self.stops is None:
            self.stops = []
        if len(self.stops) <= second:
            self.stops.extend([0] * (second + 1 - len(self.stops)))
        self.stops[second] += 1

    def as_row(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


SUMMED = tuple(f.name for f in fields(Figures) if f.name != "stops")


@dataclass(frozen=True)
class View:
    """What one watch session counts for."""

    watch_s: float
    full: bool
    pct: float
    stop: int | None  # the whole second reached; None when the video's length is unknown


def view_of(watched_s: float, loops: int, duration_s: float | None) -> View:
    if not duration_s or duration_s <= 0:
        return View(watched_s, loops > 0, 0.0, None)
    full = loops > 0 or watched_s >= duration_s - FULL_TOLERANCE_S
    reached = duration_s if full else min(watched_s, duration_s)
    return View(watched_s, full, reached / duration_s, min(math.floor(reached), math.floor(duration_s)))


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass
class PendingViewer:
    """One viewer's activity on one video of another realm, since its last release."""

    creator_id: int
    figures: Figures = field(default_factory=Figures)
    new_viewer: bool = False
    sources: list[int] = field(default_factory=lambda: [0] * len(SOURCES))
    last_at: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))


@dataclass
class Batch:
    """A batch of events, aggregated: cells of this realm's creators, and what waits to cross."""

    cells: dict[tuple[int, int, str, datetime], Figures] = field(default_factory=lambda: defaultdict(Figures))
    dims: dict[tuple[int, int, date, str, str], list[float]] = field(default_factory=dict)
    pending: dict[tuple[int, int], PendingViewer] = field(default_factory=dict)
    pending_active: set[tuple[int, datetime, int]] = field(default_factory=set)


# --- reading where to stop --------------------------------------------------------------------------------

_TOP_SQL = text(
    "SELECT (SELECT max(id) FROM watch_events) AS top, "
    "ARRAY(SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) AS x) AS busy"
)
_STILL_BUSY_SQL = text(
    "SELECT coalesce(array_agg(x::text), '{}') FROM unnest(CAST(:busy AS xid8[])) AS x "
    "WHERE pg_xact_status(x) = 'in progress'"
)


async def settled_top(session: AsyncSession, *, wait_s: float = SETTLE_S) -> int | None:
    """The largest event id below which every event that will ever commit has committed; None when there is
    none yet, or when transactions in flight at the moment it was read have not finished within `wait_s`.

    An id is taken from the sequence before its transaction commits, so a transaction in flight may still
    commit an id smaller than the largest visible one: the top is read together with the snapshot's list of
    transactions in flight, and used once those have all ended."""
    row = (await session.execute(_TOP_SQL)).one()
    top, busy = row.top, list(row.busy)
    deadline = asyncio.get_running_loop().time() + wait_s
    while busy:
        busy = list(await session.scalar(_STILL_BUSY_SQL, {"busy": busy}) or [])
        if busy:
            if asyncio.get_running_loop().time() > deadline:
                return None
            await asyncio.sleep(0.02)
    return int(top) if top is not None else None


async def _claim_progress(session: AsyncSession) -> int | None:
    """The rollup's position, locked for this transaction; None while another worker holds it."""
    await session.execute(insert(AnalyticsProgress).values(stream=STREAM, last_id=0).on_conflict_do_nothing())
    last: int | None = await session.scalar(
        select(AnalyticsProgress.last_id)
        .where(AnalyticsProgress.stream == STREAM)
        .with_for_update(skip_locked=True)
    )
    return last


# --- aggregating ------------------------------------------------------------------------------------------


async def _durations(session: AsyncSession, video_ids: set[int]) -> dict[int, float | None]:
    found: dict[int, float | None] = {}
    if not video_ids:
        return found
    wanted = list(video_ids)
    for vid, duration in await session.execute(
        select(public_videos.c.id, public_videos.c.duration_s).where(public_videos.c.id.in_(wanted))
    ):
        found[vid] = duration
    # This realm's own videos, public or not (a video made private keeps its figures).
    for vid, duration in await session.execute(
        select(Video.id, Video.duration_s).where(Video.id.in_(wanted))
    ):
        found[vid] = duration
    return found


async def _inserted_pairs(
    session: AsyncSession, model: type[AnalyticsViewer] | type[AnalyticsActive], rows: list[dict[str, Any]]
) -> set[tuple[Any, Any]]:
    """Insert what is not there yet; the rows that were new."""
    new: set[tuple[Any, Any]] = set()
    columns = [c.name for c in AnalyticsCell.metadata.tables[model.__tablename__].primary_key.columns]
    if rows:
        # Parameters as a list: one statement compiled once, sent as multi-row batches (insertmanyvalues).
        returned = await session.execute(
            insert(model).on_conflict_do_nothing().returning(*(getattr(model, name) for name in columns)),
            rows,
        )
        new |= {(r[0], r[1]) for r in returned}
    return new


async def aggregate(session: AsyncSession, settings: Settings, realm: str, events: Sequence[Any]) -> Batch:  # noqa: PLR0912
    """Fold a batch of events into figures (see the module docstring for what each event counts for)."""
    batch = Batch()
    durations = await _durations(session, {e.video_id for e in events})
    viewer_ids = list({e.user_id for e in events})
    countries = dict(
        (await session.execute(select(User.id, User.country).where(User.id.in_(viewer_ids)))).all()
    )
    new_viewers = await _inserted_pairs(
        session,
        AnalyticsViewer,
        [
            {"video_id": v, "viewer_id": u}
            for v, u in {(e.video_id, e.user_id) for e in events if e.kind in VIEW_KINDS}
        ],
    )
    for e in events:
        local = settings.realm_of_id(e.creator_id) == realm
        hour = hour_of(e.occurred_at)
        day = hour.date()
        counted = COUNTED_KINDS.get(e.kind)
        is_view = e.kind in VIEW_KINDS
        if not is_view and counted is None:
            continue
        view = (
            view_of(float(e.watched_s or 0.0), int(e.loops or 0), durations.get(e.video_id))
            if is_view
            else None
        )
        first = is_view and (e.video_id, e.user_id) in new_viewers
        if first:
            new_viewers.discard((e.video_id, e.user_id))  # a viewer is new once
        source = e.source if e.source in SOURCE_INDEX else UNKNOWN
        if local:
            targets = [
                batch.cells[(e.creator_id, e.video_id, HOUR, hour)],
                batch.cells[(e.creator_id, ACCOUNT, HOUR, hour)],
                batch.cells[
                    (e.creator_id, e.video_id, DAY, datetime(day.year, day.month, day.day, tzinfo=UTC))
                ],
            ]
        else:
            found = batch.pending.get((e.video_id, e.user_id))
            pending = found if found is not None else PendingViewer(e.creator_id)
            batch.pending[(e.video_id, e.user_id)] = pending
            pending.last_at = max(pending.last_at, e.occurred_at)
            targets = [pending.figures]
        for figures in targets:
            if counted is not None:
                setattr(figures, counted, getattr(figures, counted) + 1)
            if view is not None:
                figures.views += 1
                figures.new_viewers += int(first)
                figures.watch_s += view.watch_s
                figures.pct_sum += view.pct
                figures.full_views += int(view.full)
        if view is None:
            continue
        if local:
            if view.stop is not None:
                targets[2].add_stop(view.stop)
            country = (countries.get(e.user_id) or "").upper() or UNKNOWN
            for video in (e.video_id, ACCOUNT):
                for dimension, value in ((SOURCE, source), (COUNTRY, country)):
                    cell = batch.dims.setdefault((e.creator_id, video, day, dimension, value), [0, 0.0])
                    cell[0] += 1
                    cell[1] += view.watch_s
        else:
            if view.stop is not None:
                targets[0].add_stop(view.stop)
            pending.new_viewer = pending.new_viewer or first
            pending.sources[SOURCE_INDEX[source]] += 1
    await _active_followers(session, settings, realm, events, batch)
    return batch


async def _active_followers(
    session: AsyncSession, settings: Settings, realm: str, events: Iterable[Any], batch: Batch
) -> None:
    """Each viewer newly seen active in an hour counts once for every creator they follow, that hour."""
    active = await _inserted_pairs(
        session,
        AnalyticsActive,
        [{"viewer_id": u, "hour": h} for u, h in {(e.user_id, hour_of(e.occurred_at)) for e in events}],
    )
    if not active:
        return
    followed: dict[int, list[int]] = defaultdict(list)
    for follower, followee in await session.execute(
        select(Follow.follower_id, Follow.followee_id).where(Follow.follower_id.in_({u for u, _ in active}))
    ):
        followed[follower].append(followee)
    for viewer, hour in active:
        for creator in followed.get(viewer, ()):
            if settings.realm_of_id(creator) == realm:
                batch.cells[(creator, ACCOUNT, HOUR, hour)].active_followers += 1
            else:
                batch.pending_active.add((creator, hour, viewer))


# --- writing ----------------------------------------------------------------------------------------------


async def write_cells(
    session: AsyncSession, realm: str, cells: dict[tuple[int, int, str, datetime], Figures]
) -> None:
    rows = [
        {"creator_id": c, "video_id": v, "grain": g, "at": at, "realm": realm, **figures.as_row()}
        for (c, v, g, at), figures in cells.items()
    ]
    table = AnalyticsCell.__table__
    if rows:
        statement = insert(AnalyticsCell)
        excluded = statement.excluded
        sums: dict[str, Any] = {name: table.c[name] + excluded[name] for name in SUMMED}
        sums["stops"] = text(  # only day cells of a video carry a histogram: the others skip the function
            "CASE WHEN excluded.stops IS NULL THEN analytics_cells.stops "
            "ELSE analytics_add_counts(analytics_cells.stops, excluded.stops) END"
        )
        await session.execute(
            statement.on_conflict_do_update(constraint="pk_analytics_cells", set_=sums), rows
        )


async def write_dims(
    session: AsyncSession, realm: str, dims: dict[tuple[int, int, date, str, str], list[float]]
) -> None:
    rows = [
        {
            "creator_id": c,
            "video_id": v,
            "day": d,
            "dimension": dim,
            "value": value,
            "realm": realm,
            "views": int(views),
            "watch_s": watch_s,
        }
        for (c, v, d, dim, value), (views, watch_s) in dims.items()
    ]
    table = AnalyticsDim.__table__
    if rows:
        statement = insert(AnalyticsDim)
        excluded = statement.excluded
        await session.execute(
            statement.on_conflict_do_update(
                constraint="pk_analytics_dims",
                set_={"views": table.c.views + excluded.views, "watch_s": table.c.watch_s + excluded.watch_s},
            ),
            rows,
        )


async def _write_pending(session: AsyncSession, batch: Batch) -> None:
    rows = [
        {
            "video_id": video,
            "viewer_id": viewer,
            "creator_id": p.creator_id,
            **{
                name: getattr(p.figures, name)
                for name in SUMMED
                if name not in ("new_viewers", "active_followers")
            },
            "new_viewer": p.new_viewer,
            "sources": p.sources,
            "stops": p.figures.stops or [],
            "country": "",
            "last_at": p.last_at,
        }
        for (video, viewer), p in batch.pending.items()
    ]
    if rows:
        countries = dict(
            (
                await session.execute(
                    select(User.id, User.country).where(User.id.in_({r["viewer_id"] for r in rows}))
                )
            ).all()
        )
        for row in rows:
            row["country"] = (countries.get(row["viewer_id"]) or "").upper()[:2]
    table = AnalyticsPending.__table__
    if rows:
        statement = insert(AnalyticsPending)
        excluded = statement.excluded
        summed = {
            name: table.c[name] + excluded[name]
            for name in SUMMED
            if name not in ("new_viewers", "active_followers")
        }
        await session.execute(
            statement.on_conflict_do_update(
                constraint="pk_analytics_pending",
                set_={
                    **summed,
                    "new_viewer": table.c.new_viewer | excluded.new_viewer,
                    "sources": text("analytics_add_counts(analytics_pending.sources, excluded.sources)"),
                    "stops": text("analytics_add_counts(analytics_pending.stops, excluded.stops)"),
                    "last_at": text("greatest(analytics_pending.last_at, excluded.last_at)"),
                    "country": excluded.country,
                },
            ),
            rows,
        )
    active = [{"creator_id": c, "hour": h, "viewer_id": v} for c, h, v in batch.pending_active]
    if active:
        await session.execute(insert(AnalyticsPendingActive).on_conflict_do_nothing(), active)


async def roll_batch(
    session: AsyncSession, settings: Settings, realm: str, top: int, size: int = BATCH
) -> tuple[int, bool]:
    """Roll up to `size` events after the stored position, up to `top`; (events read, caught up?)."""
    last = await _claim_progress(session)
    if last is None:
        return 0, True  # another worker is rolling this realm up
    e = WatchEvent
    events = (
        await session.execute(
            select(
                e.id,
                e.user_id,
                e.video_id,
                e.creator_id,
                e.kind,
                e.watched_s,
                e.loops,
                e.occurred_at,
                e.source,
            )
            .where(e.id > last, e.id <= top)
            .order_by(e.id)
            .limit(size)
        )
    ).all()
    if events:
        batch = await aggregate(session, settings, realm, events)
        await write_cells(session, realm, batch.cells)
        await write_dims(session, realm, batch.dims)
        await _write_pending(session, batch)
    caught_up = len(events) < size
    await session.execute(
        update(AnalyticsProgress)
        .where(AnalyticsProgress.stream == STREAM)
        .values(last_id=top if caught_up else events[-1].id, rolled_at=datetime.now(UTC))
    )
    return len(events), caught_up


async def roll_events(runtime: Runtime, realm: str, *, size: int = BATCH) -> int:
    """Roll every settled event up (several transactions of `size` events); how many were read."""
    async with runtime.databases.read(realm) as session:
        top = await settled_top(session)
    if top is None:
        return 0
    done = 0
    while True:
        async with runtime.databases.transaction(realm) as session:
            read, caught_up = await roll_batch(session, runtime.settings, realm, top, size)
        done += read
        if caught_up:
            return done


def stale_active_before(now: datetime) -> datetime:
    """Hours of activity older than this are no longer needed to count a viewer once per hour."""
    return hour_of(now) - timedelta(hours=2)
