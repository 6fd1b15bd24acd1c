"""A creator's figures, read from their cells (never from events): per account and per video, over a range.

Every read is bounded by the range, not by the events behind it: the account's hour cells (24 a day per realm
that sent any), the videos' day cells for the top videos, and the day cells of one video for its retention.
Days and hours are the creator's: cells are kept per UTC hour and shifted into the creator's time zone here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.analytics.models import ACCOUNT, DAY, HOUR, AnalyticsCell, AnalyticsDim, AnalyticsFollowerDay
from reelm.analytics.schemas import (
    AccountFigures,
    DayPoint,
    HeatCell,
    Range,
    Share,
    TopVideo,
    Totals,
    VideoFigures,
)
from reelm.crossrealm.views import public_profiles
from reelm.videos.models import Video

PERIODS = {"7d": 7, "28d": 28, "60d": 60}
MAX_RANGE_DAYS = 366
TOP_VIDEOS = 10


@dataclass(frozen=True)
class Window:
    """Days start..end inclusive in a time zone, and the UTC instants that bound them."""

    start: date
    end: date
    zone: ZoneInfo

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), self.zone).astimezone(UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(), self.zone).astimezone(UTC)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def as_range(self, period: str) -> Range:
        return Range(period=period, start=self.start, end=self.end, time_zone=str(self.zone.key))


def window(
    period: str, start: date | None, end: date | None, zone: ZoneInfo, today: date | None = None
) -> Window:
    """The days a period names (the last 7, 28 or 60, today included) or a custom range."""
    today = today or datetime.now(zone).date()
    if period == "custom" and start is not None and end is not None:
        return Window(start, end, zone)
    return Window(today - timedelta(days=PERIODS.get(period, 28) - 1), today, zone)


_FIGURES = (
    AnalyticsCell.views,
    AnalyticsCell.new_viewers,
    AnalyticsCell.watch_s,
    AnalyticsCell.pct_sum,
    AnalyticsCell.full_views,
    AnalyticsCell.likes,
    AnalyticsCell.unlikes,
    AnalyticsCell.comments,
    AnalyticsCell.shares,
    AnalyticsCell.saves,
    AnalyticsCell.follows,
)


async def _hour_cells(session: AsyncSession, creator_id: int, video_id: int, w: Window) -> list[Any]:
    """The hour cells of the range (one per hour and realm that sent any): every figure of the page but the
    top videos, retention and breakdowns is summed from these, in one read."""
    c = AnalyticsCell
    return list(
        (
            await session.execute(
                select(c.at, c.realm, c.active_followers, *_FIGURES).where(
                    c.creator_id == creator_id,
                    c.video_id == video_id,
                    c.grain == HOUR,
                    c.at >= w.since,
                    c.at < w.until,
                )
            )
        ).all()
    )


def _summed(cells: list[Any]) -> Totals:
    sums = [0.0] * len(_FIGURES)
    for cell in cells:
        for i, value in enumerate(cell[3:]):
            sums[i] += value
    return _totals(sums)


def _by_realm(cells: list[Any]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for cell in cells:
        out[cell.realm] += cell.views
    return {realm: n for realm, n in out.items() if n}


def _totals(row: Sequence[Any]) -> Totals:
    views, new, watch_s, pct, full, likes, unlikes, comments, shares, saves, follows = (float(v) for v in row)
    return Totals(
        views=int(views),
        unique_viewers=int(new),
        watch_time_s=round(watch_s, 1),
        average_watch_s=round(watch_s / views, 2) if views else 0.0,
        average_watched=round(pct / views, 4) if views else 0.0,
        watched_in_full=round(full / views, 4) if views else 0.0,
        likes=int(likes - unlikes),
        comments=int(comments),
        shares=int(shares),
        saves=int(saves),
        new_followers=int(follows),
    )


def _day_points(hours: list[tuple[datetime, int, int, int, float]], w: Window) -> list[DayPoint]:
    per_day: dict[date, list[float]] = {d: [0, 0, 0, 0.0] for d in w.days()}
    for at, views, likes, follows, watch_s in hours:
        day = at.astimezone(w.zone).date()
        if day in per_day:
            point = per_day[day]
            point[0] += views
            point[1] += likes
            point[2] += follows
            point[3] += watch_s
    return [
        DayPoint(
            day=d, views=int(p[0]), likes=int(p[1]), new_followers=int(p[2]), watch_time_s=round(p[3], 1)
        )
        for d, p in per_day.items()
    ]


def _shares(counts: dict[str, int]) -> list[Share]:
    total = sum(counts.values())
    return [
        Share(value=value, views=n, share=round(n / total, 4) if total else 0.0)
        for value, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


async def _dims(
    session: AsyncSession, creator_id: int, video_id: int, w: Window
) -> dict[str, dict[str, int]]:
    d = AnalyticsDim
    rows = await session.execute(
        select(d.dimension, d.value, func.sum(d.views))
        .where(
            d.creator_id == creator_id,
            d.video_id == video_id,
            d.day >= w.since.date(),
            d.day <= (w.until - timedelta(seconds=1)).date(),
        )
        .group_by(d.dimension, d.value)
    )
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for dimension, value, views in rows:
        out[dimension][value] = int(views)
    return out


async def account_figures(session: AsyncSession, creator_id: int, w: Window, period: str) -> AccountFigures:
    c = AnalyticsCell
    cells = await _hour_cells(session, creator_id, ACCOUNT, w)
    totals = _summed(cells)
    heat: dict[tuple[int, int], int] = defaultdict(int)
    for cell in cells:
        local = cell.at.astimezone(w.zone)
        heat[(local.weekday(), local.hour)] += int(cell.active_followers or 0)
    top = (
        await session.execute(
            select(c.video_id, func.sum(c.views), func.sum(c.watch_s), func.sum(c.likes - c.unlikes))
            .where(
                c.creator_id == creator_id,
                c.video_id != ACCOUNT,
                c.grain == DAY,
                c.at >= w.since - timedelta(days=1),
                c.at < w.until,
            )
            .group_by(c.video_id)
            .order_by(func.sum(c.views).desc(), c.video_id.desc())
            .limit(TOP_VIDEOS)
        )
    ).all()
    captions = dict(
        (
            await session.execute(select(Video.id, Video.caption).where(Video.id.in_([t[0] for t in top])))
        ).all()
    )
    f = AnalyticsFollowerDay
    growth_rows = dict(
        (
            await session.execute(
                select(f.day, f.gained - f.lost).where(
                    f.creator_id == creator_id,
                    f.day >= w.start - timedelta(days=1),
                    f.day <= w.end + timedelta(days=1),
                )
            )
        ).all()
    )
    followers_now = await session.scalar(
        select(public_profiles.c.follower_count).where(public_profiles.c.id == creator_id)
    )
    growth = []
    running = int(followers_now or 0)
    after = {d: v for d, v in growth_rows.items() if d > w.end}
    running -= sum(after.values())
    for day in reversed(w.days()):
        growth.append(DayPoint(day=day, followers=running, new_followers=int(growth_rows.get(day, 0))))
        running -= int(growth_rows.get(day, 0))
    dims = await _dims(session, creator_id, ACCOUNT, w)
    return AccountFigures(
        range=w.as_range(period),
        totals=totals,
        days=_day_points([(x.at, x.views, x.likes - x.unlikes, x.follows, x.watch_s) for x in cells], w),
        followers=list(reversed(growth)),
        top_videos=[
            TopVideo(
                id=str(vid),
                caption=captions.get(vid, "") or "",
                views=int(views),
                watch_time_s=round(float(watch_s), 1),
                likes=int(likes),
            )
            for vid, views, watch_s, likes in top
        ],
        heatmap=[
            HeatCell(weekday=wd, hour=h, followers=heat.get((wd, h), 0)) for wd in range(7) for h in range(24)
        ],
        sources=_shares(dims.get("source", {})),
        countries=_shares(dims.get("country", {})),
        realms=_shares(_by_realm(cells)),
    )


async def video_figures(
    session: AsyncSession, creator_id: int, video: Video, w: Window, period: str
) -> VideoFigures:
    c = AnalyticsCell
    cells = await _hour_cells(session, creator_id, video.id, w)
    totals = _summed(cells)
    stops = (
        await session.scalars(
            select(c.stops).where(
                c.creator_id == creator_id,
                c.video_id == video.id,
                c.grain == DAY,
                c.at >= w.since - timedelta(days=1),
                c.at < w.until,
            )
        )
    ).all()
    histogram: list[int] = []
    for day in stops:
        for second, n in enumerate(day or ()):
            if second >= len(histogram):
                histogram.extend([0] * (second + 1 - len(histogram)))
            histogram[second] += n
    length = int(video.duration_s or 0) + 1 if video.duration_s else len(histogram)
    histogram.extend([0] * (length - len(histogram)))
    counted = sum(histogram)
    retention = [round(sum(histogram[t:]) / counted, 4) if counted else 0.0 for t in range(length)]
    dims = await _dims(session, creator_id, video.id, w)
    return VideoFigures(
        id=str(video.id),
        caption=video.caption,
        duration_s=float(video.duration_s or 0.0),
        range=w.as_range(period),
        totals=totals,
        days=_day_points([(x.at, x.views, x.likes - x.unlikes, x.follows, x.watch_s) for x in cells], w),
        retention=retention,
        sources=_shares(dims.get("source", {})),
        countries=_shares(dims.get("country", {})),
        realms=_shares(_by_realm(cells)),
    )
