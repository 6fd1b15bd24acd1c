"""The transparency log's tables, in the directory database (entries hold no protected data)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped

from reelm.db import TZ, DirectoryBase, public, utcnow


class LogEntry(DirectoryBase):
    """One leaf: its position, its bytes (published in entry bundles) and where it came from."""

    __tablename__ = "log_entries"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_log_entries_source"),
        Index("ix_log_entries_type_realm", "event_type", "realm"),
    )

    idx: Mapped[int] = public(BigInteger, primary_key=True, autoincrement=False)
    entry: Mapped[bytes] = public(LargeBinary)
    leaf_hash: Mapped[bytes] = public(LargeBinary)
    event_type: Mapped[str] = public(String(60))
    realm: Mapped[str | None] = public(String(16))
    subject: Mapped[str | None] = public(String(64), index=True)  # a keyed pseudonym, never an identifier
    # The outbox it came from ("directory" or a realm) and its id there: a retried move is idempotent.
    source: Mapped[str] = public(String(16))
    source_id: Mapped[int] = public(BigInteger)
    sequenced_at: Mapped[datetime] = public(TZ, default=utcnow)


class LogCheckpoint(DirectoryBase):
    """Every published checkpoint, newest with the largest size; the history auditors look back on."""

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = public(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = public(LargeBinary)
    note: Mapped[str] = public(Text)  # the signed checkpoint, with any witness cosignatures
    compact_range: Mapped[bytes] = public(LargeBinary)  # right edge of the tree, to extend it next time
    # False while witnesses have not cosigned enough: the tree is integrated but not yet published.
    published: Mapped[bool] = public(Boolean, default=True)
    published_at: Mapped[datetime] = public(TZ, default=utcnow)
