"""Videos and their renditions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, relationship

from reelm.db import TZ, RealmBase, protected, public, utcnow


class VideoStatus(enum.StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    REJECTED = "rejected"
    HELD = "held"  # matched a hold list or rule: not published until a reviewer decides (reelm.moderation)
    REMOVED = "removed"  # removed by a moderation decision; its creator sees why


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class Video(RealmBase):
    __tablename__ = "videos"
    __table_args__ = (
        Index("ix_videos_owner_created", "owner_id", "created_at"),
        Index("ix_videos_published", "published_at"),
        Index("ix_videos_hashtags", "hashtags", postgresql_using="gin"),
    )

    id: Mapped[int] = public(BigInteger, primary_key=True, autoincrement=False)
    owner_id: Mapped[int] = public(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    caption: Mapped[str] = public(Text, default="")
    hashtags: Mapped[list[str]] = public(ARRAY(Text), default=list)
    mentions: Mapped[list[str]] = public(ARRAY(Text), default=list)
    visibility: Mapped[str] = public(String(10), default=Visibility.PUBLIC)
    status: Mapped[str] = public(String(12), default=VideoStatus.PROCESSING)
    status_detail: Mapped[str] = public(Text, default="")  # progress while processing
    reject_code: Mapped[str | None] = public(String(40))
    reject_reason: Mapped[str | None] = public(Text)
    width: Mapped[int | None] = public(Integer)
    height: Mapped[int | None] = public(Integer)
    duration_s: Mapped[float | None] = public(Float)
    poster_key: Mapped[str | None] = public(Text)
    created_at: Mapped[datetime] = public(TZ, default=utcnow)
    published_at: Mapped[datetime | None] = public(TZ)
    like_count: Mapped[int] = public(Integer, default=0)
    comment_count: Mapped[int] = public(Integer, default=0)
    share_count: Mapped[int] = public(Integer, default=0)
    view_count: Mapped[int] = public(BigInteger, default=0)
    # Set by moderation decisions (reelm.moderation); projected with the video, so every realm applies them.
    # The server defaults are revision 0009's (it added these NOT NULL columns to existing rows): a writer
    # that predates them, such as an older process during a deploy, still inserts videos.
    mod_label: Mapped[str | None] = public(Text)
    age_restricted: Mapped[bool] = public(Boolean, default=False, server_default=text("false"))
    demoted: Mapped[bool] = public(Boolean, default=False, server_default=text("false"))
    restricted_realms: Mapped[list[str]] = public(  # not shown in these realms
        ARRAY(Text), default=list, server_default=text("'{}'")
    )

    # The uploaded file never leaves the home realm; only renditions are public.
    original_key: Mapped[str] = protected(Text)
    original_size: Mapped[int] = protected(BigInteger)

    renditions: Mapped[list[Rendition]] = relationship(
        order_by="Rendition.height", lazy="selectin", cascade="all, delete-orphan"
    )


class Rendition(RealmBase):
    __tablename__ = "renditions"

    video_id: Mapped[int] = public(BigInteger, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = public(String(8), primary_key=True)
    width: Mapped[int] = public(Integer)
    height: Mapped[int] = public(Integer)
    bandwidth: Mapped[int] = public(Integer)
    average_bandwidth: Mapped[int] = public(Integer)
    codecs: Mapped[str] = public(String(60))
    mp4_key: Mapped[str] = public(Text)
    hls_key: Mapped[str] = public(Text)
    size_bytes: Mapped[int] = public(BigInteger)
    created_at: Mapped[datetime] = public(TZ, default=utcnow)
