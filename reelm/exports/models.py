"""Archives of everything the platform holds about one user, built on request in the home realm."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped

from reelm.db import TZ, RealmBase, protected, utcnow


class ExportStatus(enum.StrEnum):
    REQUESTED = "requested"
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"
    EXPIRED = "expired"


# An export in one of these holds the user's single slot: a second request is refused until it ends.
IN_PROGRESS = (ExportStatus.REQUESTED, ExportStatus.BUILDING)


class DataExport(RealmBase):
    """One requested archive. Every column is protected: the row says what one person asked for."""

    __tablename__ = "data_exports"
    __table_args__ = (Index("ix_data_exports_user_created", "user_id", "created_at"),)

    id: Mapped[int] = protected(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = protected(String(10), default=ExportStatus.REQUESTED)
    progress: Mapped[int] = protected(SmallInteger, default=0)  # percent, for the settings page's poll
    object_key: Mapped[str | None] = protected(Text)
    size_bytes: Mapped[int | None] = protected(BigInteger)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
    ready_at: Mapped[datetime | None] = protected(TZ)
    expires_at: Mapped[datetime | None] = protected(TZ)
