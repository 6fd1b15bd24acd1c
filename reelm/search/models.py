"""What search keeps: the hashtag counts (public), each person's search history and the hashtags they follow
(protected, at home)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped

from reelm.db import TZ, RealmBase, protected, public, utcnow


class SearchHashtag(RealmBase):
    """Public videos per hashtag over every realm's projections in this database, kept by a trigger on
    them (reelm.crossrealm.schema.SEARCH_FUNCTIONS); never written by the application."""

    __tablename__ = "search_hashtags"
    __table_args__ = (
        Index("ix_search_hashtags_folded", "folded", postgresql_ops={"folded": "text_pattern_ops"}),
    )

    tag: Mapped[str] = public(Text, primary_key=True)
    folded: Mapped[str] = public(Text)  # reelm_search_fold(tag): "cafe" finds #café
    videos: Mapped[int] = public(Integer, default=0)


class SearchHashtagDay(RealmBase):
    """Public videos per hashtag and day of publication (UTC), for Explore's trends; kept by the same trigger
    as `search_hashtags`, for the last days only (reelm.search.explore says why and how far back)."""

    __tablename__ = "search_hashtag_days"

    tag: Mapped[str] = public(Text, primary_key=True)
    day: Mapped[date] = public(Date, primary_key=True)
    videos: Mapped[int] = public(Integer, default=0)


class SearchWord(RealmBase):
    """Every word (of 4+ letters) that some searchable document in this database holds, kept by a trigger on
    the projections (reelm.crossrealm.schema.SEARCH_FUNCTIONS): a typo is looked up among these before it
    reaches the full-text index, so a query carries the few real words one edit away, not hundreds of
    strings that match nothing (which made the planner give up the index). Words are never removed: a
    stale one costs one B-tree probe."""

    __tablename__ = "search_words"

    word: Mapped[str] = public(Text, primary_key=True)


class HashtagFollow(RealmBase):
    """A hashtag a person follows: its videos join their Following feed and it counts as an interest for
    For You. Kept in the follower's home realm; the tag is matched against every realm's projections."""

    __tablename__ = "hashtag_follows"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = protected(Text, primary_key=True)
    followed_at: Mapped[datetime] = protected(TZ, default=utcnow)


class SearchQuery(RealmBase):
    """One search a person made, for their recent searches; theirs to list, delete and pause."""

    __tablename__ = "search_queries"
    __table_args__ = (Index("ix_search_queries_user", "user_id", "searched_at"),)

    id: Mapped[int] = protected(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    query: Mapped[str] = protected(Text)
    searched_at: Mapped[datetime] = protected(TZ, default=utcnow)


class SearchSettings(RealmBase):
    __tablename__ = "search_settings"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    history_paused: Mapped[bool] = protected(Boolean, default=False)
