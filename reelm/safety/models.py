"""Blocks between people, kept in the blocker's realm."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index
from sqlalchemy.orm import Mapped

from reelm.db import TZ, RealmBase, protected, utcnow


class UserBlock(RealmBase):
    """The blocker hears nothing more from the blocked account: no conversation, no message, no notice."""

    __tablename__ = "user_blocks"
    __table_args__ = (
        Index("ix_user_blocks_blocked", "blocked_id"),
        {"info": {"owner_column": "blocker_id"}},
    )

    blocker_id: Mapped[int] = protected(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # No foreign key: people of other realms can be blocked too.
    blocked_id: Mapped[int] = protected(BigInteger, primary_key=True)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
