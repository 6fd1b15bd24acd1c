"""What search keeps: the hashtag counts (public) and each person's search history (protected, at home)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, Text
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
