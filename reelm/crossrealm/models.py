"""What crossed into this realm: rows received from each other realm, per day, table and operation."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, String
from sqlalchemy.orm import Mapped

from reelm.db import RealmBase, public


class RealmFlow(RealmBase):
    """Counted by a trigger on every replicated projection table (reelm.crossrealm.schema)."""

    __tablename__ = "realm_flows"

    day: Mapped[date] = public(Date, primary_key=True)
    source_realm: Mapped[str] = public(String(16), primary_key=True)
    relation: Mapped[str] = public(String(40), primary_key=True)  # e.g. "videos", "tallies"
    operation: Mapped[str] = public(String(8), primary_key=True)  # INSERT, UPDATE or DELETE
    rows: Mapped[int] = public(BigInteger, default=0)
