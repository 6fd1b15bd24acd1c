"""The audit outbox: privileged actions recorded in the same transaction as the action itself.

Each database (the directory and every realm) has its own outbox, so an action and its record commit
or roll back together. The log sequencer moves outbox rows into the transparency log in order.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Identity, LargeBinary, String
from sqlalchemy.orm import Mapped

from reelm.db import TZ, DirectoryBase, RealmBase, public, utcnow


class _OutboxColumns:
    # Entries hold no protected data by construction (subjects appear only as keyed pseudonyms), so
    # the whole entry is public: it will be published in the transparency log.
    id: Mapped[int] = public(BigInteger, Identity(), primary_key=True)
    event_type: Mapped[str] = public(String(60))
    entry: Mapped[bytes] = public(LargeBinary)  # canonical JSON, exactly as it will be logged
    created_at: Mapped[datetime] = public(TZ, default=utcnow)


class RealmAuditOutbox(_OutboxColumns, RealmBase):
    __tablename__ = "audit_outbox"


class DirectoryAuditOutbox(_OutboxColumns, DirectoryBase):
    __tablename__ = "audit_outbox"
