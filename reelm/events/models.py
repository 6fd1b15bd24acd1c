"""Watch events: protected, stored only in the viewer's home realm."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Identity, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped

from reelm.db import TZ, RealmBase, protected, utcnow


class EventKind(enum.StrEnum):
    """The values are stable: clients send them and the trainer reads them."""

    IMPRESSION = "impression"  # the video was on screen
    PLAY = "play"  # playback started
    WATCH = "watch"  # seconds watched and loops completed, reported when the viewer moves on
    COMPLETE = "complete"  # watched to the end at least once
    SKIP = "skip"  # moved on within the first seconds
    LIKE = "like"
    UNLIKE = "unlike"
    SHARE = "share"
    COMMENT = "comment"
    FOLLOW = "follow"  # followed the creator from this video
    NOT_INTERESTED = "not_interested"
    HIDE_CREATOR = "hide_creator"
    SAVE = "save"  # kept among the viewer's favourites (also recorded by the server when it is saved)


class TrafficSource(enum.StrEnum):
    """Where the viewer found the video, as the page's player says (creator analytics, reelm.analytics)."""

    FOR_YOU = "for_you"
    FOLLOWING = "following"
    PROFILE = "profile"
    SEARCH = "search"
    HASHTAG = "hashtag"
    SOUND = "sound"
    SHARE_LINK = "share_link"  # a link opened from outside the app's own pages, without a referrer
    EMBED = "embed"
    EXTERNAL = "external"  # a link followed from another site


class WatchEvent(RealmBase):
    __tablename__ = "watch_events"
    __table_args__ = (
        # Idempotency: a client event id counts once per viewer, however often the batch is resent.
        UniqueConstraint("user_id", "client_id", name="uq_watch_events_user_client"),
        Index("ix_watch_events_received", "received_at"),
    )

    id: Mapped[int] = protected(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str] = protected(String(64))
    # Possibly another realm's video: no foreign key (activity is stored where the actor lives).
    video_id: Mapped[int] = protected(BigInteger)
    creator_id: Mapped[int] = protected(BigInteger)
    kind: Mapped[str] = protected(String(16))
    watched_s: Mapped[float] = protected(Float, default=0.0)
    loops: Mapped[int] = protected(Integer, default=0)
    occurred_at: Mapped[datetime] = protected(TZ)  # the client's clock, clamped to the receiving time
    received_at: Mapped[datetime] = protected(TZ, default=utcnow)
    source: Mapped[str | None] = protected(String(16))  # a TrafficSource; None when the client did not say
