"""Each user's wrapped data key (see reelm.crypto.keys for the whole hierarchy)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary
from sqlalchemy.orm import Mapped

from reelm.db import TZ, RealmBase, protected, utcnow


class UserKey(RealmBase):
    __tablename__ = "user_keys"
    # Rotation looks for the rows still wrapped by an older KEK version.
    __table_args__ = (Index("ix_user_keys_kek_version", "kek_version"),)

    # No foreign key: the row outlives the user as the record that the key was destroyed.
    user_id: Mapped[int] = protected(BigInteger, primary_key=True, autoincrement=False)
    wrapped_key: Mapped[bytes | None] = protected(LargeBinary)  # None once destroyed
    kek_version: Mapped[int] = protected(Integer)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
    destroyed_at: Mapped[datetime | None] = protected(TZ)
