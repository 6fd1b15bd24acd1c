"""Analytics tables. In the viewer's realm: the rollup's progress, which viewers a video has already had,
which viewers were active in an hour, and what waits to cross (held per viewer until enough viewers share a
cell). In the creator's realm: the cells the creator's figures are read from, and follower growth per day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped

from reelm.db import TZ, RealmBase, protected, public

ACCOUNT = 0  # the video id of a cell that sums every video of its creator
HOUR, DAY = "h", "d"  # a cell's grain


class AnalyticsProgress(RealmBase):
    """How far the rollup has read `watch_events` (its id), per stream; one worker at a time holds the row."""

    __tablename__ = "analytics_progress"

    stream: Mapped[str] = public(String(16), primary_key=True)
    last_id: Mapped[int] = public(BigInteger, default=0)
    rolled_at: Mapped[datetime | None] = public(TZ)


class AnalyticsViewer(RealmBase):
    """A viewer who has watched a video (so a later view is not a new viewer). Stays in the viewer's realm."""

    __tablename__ = "analytics_viewers"
    __table_args__ = ({"info": {"owner_column": "viewer_id"}},)

    video_id: Mapped[int] = protected(BigInteger, primary_key=True)
    viewer_id: Mapped[int] = protected(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AnalyticsActive(RealmBase):
    """A viewer seen active in an hour, so that each of their followed creators counts them once per hour."""

    __tablename__ = "analytics_active"
    __table_args__ = (Index("ix_analytics_active_hour", "hour"), {"info": {"owner_column": "viewer_id"}})

    viewer_id: Mapped[int] = protected(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = protected(TZ, primary_key=True)


class AnalyticsPending(RealmBase):
    """One viewer's activity on another realm's video, held here until at least ten viewers of the video can
    be released together (reelm.analytics.release); then it crosses as one aggregate and this row goes."""

    __tablename__ = "analytics_pending"
    __table_args__ = (
        Index("ix_analytics_pending_creator", "creator_id"),
        {"info": {"owner_column": "viewer_id"}},
    )

    video_id: Mapped[int] = protected(BigInteger, primary_key=True)
    viewer_id: Mapped[int] = protected(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    creator_id: Mapped[int] = protected(BigInteger)
    views: Mapped[int] = protected(Integer, default=0)
    new_viewer: Mapped[bool] = protected(Boolean, default=False)
    watch_s: Mapped[float] = protected(Float, default=0.0)
    pct_sum: Mapped[float] = protected(Float, default=0.0)
    full_views: Mapped[int] = protected(Integer, default=0)
    likes: Mapped[int] = protected(Integer, default=0)
    unlikes: Mapped[int] = protected(Integer, default=0)
    comments: Mapped[int] = protected(Integer, default=0)
    shares: Mapped[int] = protected(Integer, default=0)
    saves: Mapped[int] = protected(Integer, default=0)
    follows: Mapped[int] = protected(Integer, default=0)
    # Views per traffic source, in reelm.analytics.rollup.SOURCES order; seconds reached
    # (reelm.analytics.rollup).
    sources: Mapped[list[int]] = protected(ARRAY(Integer))
    stops: Mapped[list[int]] = protected(ARRAY(Integer))
    country: Mapped[str] = protected(String(2))
    last_at: Mapped[datetime] = protected(TZ)


class AnalyticsPendingActive(RealmBase):
    """A follower of another realm's creator, active in an hour: released per closed hour, ten or more."""

    __tablename__ = "analytics_pending_active"
    __table_args__ = ({"info": {"owner_column": "viewer_id"}},)

    creator_id: Mapped[int] = protected(BigInteger, primary_key=True)
    hour: Mapped[datetime] = protected(TZ, primary_key=True)
    viewer_id: Mapped[int] = protected(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AnalyticsCell(RealmBase):
    """What a creator's figures are read from: sums per video (or the whole account, video 0), hour or day,
    and the realm whose viewers they count. Kept in the creator's realm."""

    __tablename__ = "analytics_cells"
    __table_args__ = ({"info": {"owner_column": "creator_id"}},)

    creator_id: Mapped[int] = protected(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    video_id: Mapped[int] = protected(BigInteger, primary_key=True)
    grain: Mapped[str] = protected(String(1), primary_key=True)
    at: Mapped[datetime] = protected(TZ, primary_key=True)
    realm: Mapped[str] = protected(String(16), primary_key=True)
    views: Mapped[int] = protected(BigInteger, default=0)
    new_viewers: Mapped[int] = protected(BigInteger, default=0)
    watch_s: Mapped[float] = protected(Float, default=0.0)
    pct_sum: Mapped[float] = protected(Float, default=0.0)
    full_views: Mapped[int] = protected(BigInteger, default=0)
    likes: Mapped[int] = protected(BigInteger, default=0)
    unlikes: Mapped[int] = protected(BigInteger, default=0)
    comments: Mapped[int] = protected(BigInteger, default=0)
    shares: Mapped[int] = protected(BigInteger, default=0)
    saves: Mapped[int] = protected(BigInteger, default=0)
    follows: Mapped[int] = protected(BigInteger, default=0)
    active_followers: Mapped[int] = protected(BigInteger, default=0)
    stops: Mapped[list[int] | None] = protected(
        ARRAY(Integer)
    )  # day cells of a video: views per second reached


class AnalyticsDim(RealmBase):
    """Views and watch time per day and value of a dimension (traffic source, country); values seen by fewer
    than ten viewers of another realm arrive as "other"."""

    __tablename__ = "analytics_dims"
    __table_args__ = ({"info": {"owner_column": "creator_id"}},)

    creator_id: Mapped[int] = protected(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    video_id: Mapped[int] = protected(BigInteger, primary_key=True)
    day: Mapped[date] = protected(Date, primary_key=True)
    dimension: Mapped[str] = protected(String(16), primary_key=True)
    value: Mapped[str] = protected(String(16), primary_key=True)
    realm: Mapped[str] = protected(String(16), primary_key=True)
    views: Mapped[int] = protected(BigInteger, default=0)
    watch_s: Mapped[float] = protected(Float, default=0.0)


class AnalyticsFollowerDay(RealmBase):
    """Followers gained and lost per day (UTC), from every realm: kept by a trigger on `users.follower_count`,
    which other realms' follows reach through their tallies."""

    __tablename__ = "analytics_follower_days"
    __table_args__ = ({"info": {"owner_column": "creator_id"}},)

    creator_id: Mapped[int] = protected(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = protected(Date, primary_key=True)
    gained: Mapped[int] = protected(Integer, default=0)
    lost: Mapped[int] = protected(Integer, default=0)
