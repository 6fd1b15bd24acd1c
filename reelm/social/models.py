"""Likes, comments and follows, stored in the actor's home realm; favourites, reposts, mutes and filters."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped

from reelm.db import TZ, RealmBase, protected, public, utcnow

COLLECTION_NAME_MAX = 100
KEYWORD_MAX = 60


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


class FavouriteKind(enum.StrEnum):
    """What can be kept among one's favourites. The values are stored."""

    VIDEO = "video"
    SOUND = "sound"
    HASHTAG = "hashtag"


class FavouriteCollection(RealmBase):
    """A named collection of favourites: private unless its owner makes it public on their profile."""

    __tablename__ = "favourite_collections"
    __table_args__ = (Index("ix_favourite_collections_user", "user_id", "created_at"),)

    id: Mapped[int] = protected(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = protected(String(COLLECTION_NAME_MAX))
    is_public: Mapped[bool] = protected(Boolean, default=False)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)


class Favourite(RealmBase):
    """A video, sound or hashtag the user keeps, in at most one of their collections (none: only "All").

    `target` is the video's or sound's id in decimal (either may live in another realm: no foreign key),
    or the hashtag without its #.
    """

    __tablename__ = "favourites"
    __table_args__ = (
        Index("ix_favourites_user_created", "user_id", "created_at"),
        Index("ix_favourites_collection", "collection_id"),
    )

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = protected(String(8), primary_key=True)
    target: Mapped[str] = protected(String(100), primary_key=True)
    collection_id: Mapped[int | None] = protected(
        BigInteger, ForeignKey("favourite_collections.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)


class VideoRepost(RealmBase):
    """A video shared again to the reposter's followers; public, as it is shown on their profile.

    Stored in the reposter's realm whatever realm the video lives in: only the count crosses (a tally).
    """

    __tablename__ = "video_reposts"
    __table_args__ = (Index("ix_video_reposts_user_created", "user_id", "created_at"),)

    user_id: Mapped[int] = public(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    video_id: Mapped[int] = public(BigInteger, primary_key=True, index=True)
    created_at: Mapped[datetime] = public(TZ, default=utcnow)


class ProfileTabs(RealmBase):
    """Which of an account's own lists others may see on its profile (none by default)."""

    __tablename__ = "profile_tabs"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    liked_public: Mapped[bool] = protected(Boolean, default=False)
    updated_at: Mapped[datetime] = protected(TZ, default=utcnow)


class UserMute(RealmBase):
    """The muter no longer sees the muted account's videos and comments; the muted account is not told."""

    __tablename__ = "user_mutes"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    muted_id: Mapped[int] = protected(BigInteger, primary_key=True)  # possibly in another realm
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)


class KeywordFilter(RealmBase):
    """A word, phrase or #hashtag whose videos and comments the user does not want to see, until
    `expires_at` (None: for ever). `folded` is what is matched: the text case-folded, as plain characters."""

    __tablename__ = "keyword_filters"
    __table_args__ = (UniqueConstraint("user_id", "folded", name="uq_keyword_filters_user_folded"),)

    id: Mapped[int] = protected(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    phrase: Mapped[str] = protected(String(KEYWORD_MAX))
    folded: Mapped[str] = protected(String(KEYWORD_MAX * 3))  # case folding may lengthen text (ß → ss)
    is_tag: Mapped[bool] = protected(Boolean, default=False)
    expires_at: Mapped[datetime | None] = protected(TZ)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)


class CommentHold(enum.StrEnum):
    """Which new comments wait for the creator's approval (reelm.social.comment_controls). Stored values."""

    OFF = "off"
    KEYWORDS = "keywords"  # those containing one of the creator's words
    ALL = "all"


class CommentControls(RealmBase):
    """A creator's comment controls, per video (`video_id`) or as the default of their videos (`video_id` 0).

    Kept in the creator's realm; a video without its own row follows the default row, if any.
    """

    __tablename__ = "comment_controls"
    __table_args__ = ({"info": {"owner_column": "user_id"}},)

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    video_id: Mapped[int] = protected(BigInteger, primary_key=True)  # 0: the creator's default
    hold: Mapped[str] = protected(String(8), default=CommentHold.OFF)
    keywords: Mapped[list[str]] = protected(ARRAY(Text), default=list)
    min_account_days: Mapped[int] = protected(Integer, default=0)  # newer accounts may not comment
    pinned_comment_id: Mapped[int | None] = protected(BigInteger)  # per video only
    updated_at: Mapped[datetime] = protected(TZ, default=utcnow)


class ViewingPreferences(RealmBase):
    """What kind of videos a viewer chose not to see at all (reelm.social.mutes): AI-generated ones."""

    __tablename__ = "viewing_preferences"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    hide_ai_generated: Mapped[bool] = protected(Boolean, default=False)
    updated_at: Mapped[datetime] = protected(TZ, default=utcnow)
