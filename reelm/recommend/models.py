"""The recommender's state in a realm: viewers' interest profiles (protected), per-video signal counters and
versioned model artefacts (aggregates over the realm's viewers, like the public counts; never projected).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped

from reelm.db import TZ, RealmBase, protected, public, utcnow


class ViewerProfile(RealmBase):
    """A viewer's session state and interest profile, updated by every event batch, read by every page."""

    __tablename__ = "viewer_profiles"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    picked_interests: Mapped[list[str]] = protected(ARRAY(Text), default=list)
    tag_weights: Mapped[dict[str, float]] = protected(JSONB, default=dict)  # hashtag → learned affinity
    creator_weights: Mapped[dict[str, float]] = protected(JSONB, default=dict)  # creator id → affinity
    recent_positive: Mapped[list[int]] = protected(ARRAY(BigInteger), default=list)  # newest last
    recent_seen: Mapped[list[int]] = protected(ARRAY(BigInteger), default=list)  # newest last
    not_interested: Mapped[list[int]] = protected(ARRAY(BigInteger), default=list)
    hidden_creators: Mapped[list[int]] = protected(ARRAY(BigInteger), default=list)
    events: Mapped[int] = protected(Integer, default=0)  # events learned from since the last reset
    updated_at: Mapped[datetime] = protected(TZ, default=utcnow)
    reset_at: Mapped[datetime | None] = protected(TZ)


class VideoSignal(RealmBase):
    """What this realm's viewers did with one video (any realm's), summed: the engine's live counters."""

    __tablename__ = "video_signals"
    __table_args__ = (Index("ix_video_signals_updated", "updated_at"),)

    video_id: Mapped[int] = public(BigInteger, primary_key=True, autoincrement=False)
    impressions: Mapped[int] = public(Integer, default=0)
    plays: Mapped[int] = public(Integer, default=0)
    completions: Mapped[int] = public(Integer, default=0)
    skips: Mapped[int] = public(Integer, default=0)
    likes: Mapped[int] = public(Integer, default=0)
    shares: Mapped[int] = public(Integer, default=0)
    comments: Mapped[int] = public(Integer, default=0)
    follows: Mapped[int] = public(Integer, default=0)
    negatives: Mapped[int] = public(Integer, default=0)  # not interested, hide creator
    watched_s: Mapped[float] = public(Float, default=0.0)
    updated_at: Mapped[datetime] = public(TZ, default=utcnow)


class RecommenderModel(RealmBase):
    """A trained model artefact of the realm, versioned; the newest is served, a few older ones are kept.

    Aggregates only (item neighbours with a minimum support of distinct viewers, trending scores, rate
    priors): no row says anything about one viewer, so it is declared like the public counts, and it is
    not in any projection, so it never leaves the realm.
    """

    __tablename__ = "recommender_models"

    version: Mapped[int] = public(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = public(String(20), default="for-you")
    trained_at: Mapped[datetime] = public(TZ, default=utcnow)
    events_used: Mapped[int] = public(BigInteger, default=0)
    items: Mapped[int] = public(Integer, default=0)
    metrics: Mapped[dict[str, Any]] = public(JSONB, default=dict)
    artefact: Mapped[bytes] = public(LargeBinary)
