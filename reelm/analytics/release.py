"""What crosses to a creator's realm: aggregates of at least K viewers, through the declared mechanism.

The viewer's realm holds each viewer's activity on another realm's video (`analytics_pending`) until at
least K (reelm.analytics.suppression) of the video's pending viewers have views. Then those rows are
deleted and their sums leave as one *release*: totals, the retention histogram, and views per traffic
source and country with every value seen by fewer than K of them merged into "other". A video whose viewers
here never reach K never crosses. Followers' activity crosses per closed hour, as a count of K or more, or
not at all. Releases are sealed deliveries (reelm.crossrealm.deliveries) addressed to the creator's realm
alone, counted where they arrive in `realm_flows` (the delivery itself, and `analytics` per cell released);
the creator's realm adds them to the creator's cells under the sending realm's name (audience by realm).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import User
from reelm.analytics.models import (
    ACCOUNT,
    DAY,
    HOUR,
    AnalyticsActive,
    AnalyticsPending,
    AnalyticsPendingActive,
)
from reelm.analytics.rollup import (
    COUNTRY,
    SOURCE,
    SOURCES,
    SUMMED,
    Figures,
    hour_of,
    roll_events,
    stale_active_before,
    write_cells,
    write_dims,
)
from reelm.analytics.suppression import K, merge_small
from reelm.crossrealm.deliveries import Inbound, deliver
from reelm.crossrealm.models import RealmFlow
from reelm.runtime import Runtime
from reelm.settings import Settings
from reelm.videos.models import Video

log = logging.getLogger(__name__)

ANALYTICS = "analytics"  # the delivery kind, and the relation its cells are counted under in realm_flows
MAX_RELEASES = 500  # videos released per sweep and destination (the rest wait for the next sweep)
HELD_DAYS = 60  # the longest a viewer's activity waits for enough others (the longest period offered)
MAX_STOPS = 4000  # seconds of retention a release may carry (videos are far shorter)


class ReleaseIn(BaseModel):
    """One video's release, as the creator's realm reads it (from another realm: checked like any input)."""

    model_config = ConfigDict(extra="forbid")

    creator_id: int = Field(gt=0)
    video_id: int = Field(gt=0)
    at: datetime
    viewers: int = Field(ge=K)
    views: int = Field(ge=0)
    new_viewers: int = Field(ge=0)
    watch_s: float = Field(ge=0)
    pct_sum: float = Field(ge=0)
    full_views: int = Field(ge=0)
    likes: int = Field(ge=0)
    unlikes: int = Field(ge=0)
    comments: int = Field(ge=0)
    shares: int = Field(ge=0)
    saves: int = Field(ge=0)
    follows: int = Field(ge=0)
    stops: list[int] = Field(max_length=MAX_STOPS)
    dims: dict[str, dict[str, tuple[int, float]]]


class ActiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    creator_id: int = Field(gt=0)
    hour: datetime
    followers: int = Field(ge=K)


class PayloadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    releases: list[ReleaseIn] = Field(default_factory=list, max_length=MAX_RELEASES)
    active: list[ActiveIn] = Field(default_factory=list, max_length=MAX_RELEASES * 24)


def build_release(rows: list[AnalyticsPending]) -> dict[str, Any]:
    """The release of one video's pending rows (at least K of them with views): sums, and dimensions with
    small values merged into "other" (reelm.analytics.suppression)."""
    first = rows[0]
    totals = Figures()
    for row in rows:
        for name in SUMMED:
            if name not in ("new_viewers", "active_followers"):
                setattr(totals, name, getattr(totals, name) + getattr(row, name))
        totals.new_viewers += int(row.new_viewer)
        stops = totals.stops if totals.stops is not None else []
        stops.extend([0] * (len(row.stops) - len(stops)))
        for second, count in enumerate(row.stops):
            stops[second] += count
        totals.stops = stops
    viewers = [row for row in rows if row.views > 0]
    per_source = [
        {
            SOURCES[i]: (n, row.watch_s * n / row.views)
            for i, n in enumerate(row.sources)
            if n and i < len(SOURCES)
        }
        for row in viewers
    ]
    per_country = [{(row.country or "unknown"): (row.views, row.watch_s)} for row in viewers]
    return {
        "creator_id": first.creator_id,
        "video_id": first.video_id,
        "at": hour_of(max(row.last_at for row in rows)).isoformat(),
        "viewers": len(viewers),
        **{name: getattr(totals, name) for name in SUMMED if name != "active_followers"},
        "stops": totals.stops or [],
        "dims": {
            SOURCE: {k: list(v) for k, v in merge_small(per_source).items()},
            COUNTRY: {k: list(v) for k, v in merge_small(per_country).items()},
        },
    }


async def release_pending(session: AsyncSession, settings: Settings, realm: str, now: datetime) -> int:
    """Send every release that is due from this realm, in the caller's transaction; how many cells left."""
    ready = (
        (
            await session.execute(
                select(AnalyticsPending.video_id)
                .group_by(AnalyticsPending.video_id)
                .having(func.count().filter(AnalyticsPending.views > 0) >= K)
                .limit(MAX_RELEASES)
            )
        )
        .scalars()
        .all()
    )
    payloads: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: {"releases": [], "active": []})
    if ready:
        rows = (
            await session.scalars(
                delete(AnalyticsPending)
                .where(AnalyticsPending.video_id.in_(ready))
                .returning(AnalyticsPending)
            )
        ).all()
        by_video: dict[int, list[AnalyticsPending]] = defaultdict(list)
        for row in rows:
            by_video[row.video_id].append(row)
        for video_rows in by_video.values():
            destination = settings.realm_of_id(video_rows[0].creator_id)
            if destination is None or destination == realm:
                continue
            payloads[destination]["releases"].append(build_release(video_rows))
    # Followers active in hours that have closed: a count of K or more crosses, smaller ones are dropped.
    closed = hour_of(now)
    counts = (
        await session.execute(
            delete(AnalyticsPendingActive)
            .where(AnalyticsPendingActive.hour < closed)
            .returning(AnalyticsPendingActive.creator_id, AnalyticsPendingActive.hour)
        )
    ).all()
    per_hour: dict[tuple[int, datetime], int] = defaultdict(int)
    for creator, hour in counts:
        per_hour[(creator, hour)] += 1
    for (creator, hour), followers in per_hour.items():
        destination = settings.realm_of_id(creator)
        if followers >= K and destination is not None and destination != realm:
            payloads[destination]["active"].append(
                {"creator_id": creator, "hour": hour.isoformat(), "followers": followers}
            )
    await session.execute(delete(AnalyticsActive).where(AnalyticsActive.hour < stale_active_before(now)))
    # Activity that has not found K viewers to cross with in HELD_DAYS never will (in a range one reads).
    await session.execute(
        delete(AnalyticsPending).where(AnalyticsPending.last_at < now - timedelta(days=HELD_DAYS))
    )
    sent = 0
    for destination, payload in payloads.items():
        if payload["releases"] or payload["active"]:
            await deliver(session, source=realm, target=destination, kind=ANALYTICS, payload=payload)
            sent += len(payload["releases"]) + len(payload["active"])
    return sent


async def roll_up(runtime: Runtime, realm: str) -> int:
    """The worker's sweep: roll new events up, then send what may cross; how many events and cells."""
    rolled = await roll_events(runtime, realm)
    async with runtime.databases.transaction(realm) as session:
        sent = await release_pending(session, runtime.settings, realm, datetime.now(UTC))
    return rolled + sent


# --- in the creator's realm ------------------------------------------------------------------------------


async def take_cells(session: AsyncSession, inbound: Inbound) -> None:  # noqa: PLR0912
    """A release from another realm: added to the creator's cells under that realm's name. A video that is
    not (or no longer) its creator's here is skipped."""
    payload = PayloadIn.model_validate(inbound.payload)
    cells: dict[tuple[int, int, str, datetime], Figures] = defaultdict(Figures)
    dims: dict[tuple[int, int, date, str, str], list[float]] = {}
    videos = {r.video_id for r in payload.releases}
    owners = dict((await session.execute(select(Video.id, Video.owner_id).where(Video.id.in_(videos)))).all())
    crossed = 0
    for r in payload.releases:
        if owners.get(r.video_id) != r.creator_id:
            log.warning("analytics release for video %s, not its creator's here: skipped", r.video_id)
            continue
        hour = hour_of(r.at)
        day = datetime(hour.year, hour.month, hour.day, tzinfo=UTC)
        for key in (
            (r.creator_id, r.video_id, HOUR, hour),
            (r.creator_id, ACCOUNT, HOUR, hour),
            (r.creator_id, r.video_id, DAY, day),
        ):
            figures = cells[key]
            for name in SUMMED:
                if name != "active_followers":
                    setattr(figures, name, getattr(figures, name) + getattr(r, name))
        cells[(r.creator_id, r.video_id, DAY, day)].stops = list(r.stops) or None
        for dimension, values in r.dims.items():
            if dimension not in (SOURCE, COUNTRY):
                continue
            for value, (views, watch_s) in values.items():
                for video in (r.video_id, ACCOUNT):
                    cell = dims.setdefault(
                        (r.creator_id, video, hour.date(), dimension, value[:16]), [0, 0.0]
                    )
                    cell[0] += views
                    cell[1] += watch_s
        crossed += 1
    local_creators = {a.creator_id for a in payload.active}
    known: set[int] = set()
    if local_creators:
        known = set((await session.scalars(select(User.id).where(User.id.in_(local_creators)))).all())
    for a in payload.active:
        if a.creator_id in known:
            cells[(a.creator_id, ACCOUNT, HOUR, hour_of(a.hour))].active_followers += a.followers
            crossed += 1
    await write_cells(session, inbound.source, cells)
    await write_dims(session, inbound.source, dims)
    if crossed:
        flow = insert(RealmFlow).values(
            day=datetime.now(UTC).date(),
            source_realm=inbound.source,
            relation=ANALYTICS,
            operation="INSERT",
            rows=crossed,
        )
        await session.execute(
            flow.on_conflict_do_update(
                index_elements=[
                    RealmFlow.day,
                    RealmFlow.source_realm,
                    RealmFlow.relation,
                    RealmFlow.operation,
                ],
                set_={"rows": RealmFlow.rows + crossed},
            )
        )
