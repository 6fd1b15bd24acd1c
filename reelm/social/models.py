"""Likes, comments and follows, stored in the actor's home realm."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped

from reelm.db import TZ, RealmBase, protected, public, utcnow


class VideoLike(RealmBase):
    __tablename__ = "video_likes"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # The video may live in another realm (no foreign key): activity is stored where the actor lives.
    video_id: Mapped[int] = protected(BigInteger, primary_key=True, index=True)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)


class Comment(RealmBase):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_video_created", "video_id", "parent_id", "created_at"),)

    id: Mapped[int] = public(BigInteger, primary_key=True, autoincrement=False)
    video_id: Mapped[int] = public(BigInteger)  # possibly another realm's video: no foreign key
    author_id: Mapped[int] = public(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    # Replies go one level deep: a reply to a reply hangs off the same top-level comment.
    parent_id: Mapped[int | None] = public(BigInteger)
    body: Mapped[str] = public(Text)
    created_at: Mapped[datetime] = public(TZ, default=utcnow)
    like_count: Mapped[int] = public(Integer, default=0)
    reply_count: Mapped[int] = public(Integer, default=0)
    # Set by moderation (reelm.moderation): "visible", "held" (a rule matched) or "removed"; only visible
    # comments are projected. A label is shown with the comment. The server default is revision 0009's
    # (it added the column to existing rows).
    mod_state: Mapped[str] = public(String(8), default="visible", server_default="visible")
    mod_label: Mapped[str | None] = public(Text)


class CommentLike(RealmBase):
    __tablename__ = "comment_likes"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    comment_id: Mapped[int] = protected(BigInteger, primary_key=True, index=True)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)


class Follow(RealmBase):
    __tablename__ = "follows"

    follower_id: Mapped[int] = protected(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followee_id: Mapped[int] = protected(
        BigInteger, primary_key=True, index=True
    )  # possibly in another realm
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)


class PinnedVideo(RealmBase):
    """One of up to three videos a creator shows first on their profile; public, as the profile is.

    The video is the creator's own, so it lives in this realm: deleting it deletes the pin.
    """

    __tablename__ = "pinned_videos"

    user_id: Mapped[int] = public(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    video_id: Mapped[int] = public(BigInteger, ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    pinned_at: Mapped[datetime] = public(TZ, default=utcnow)
