"""Staff role grants (directory) and break-glass justifications (the subject's home realm)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped

from reelm.db import TZ, DirectoryBase, RealmBase, protected, public, utcnow


class Role(enum.StrEnum):
    OPERATOR = "operator"
    REVIEWER = "reviewer"
    SUPPORT = "support"
    AUDITOR = "auditor"


class Purpose(enum.StrEnum):
    SUPPORT = "support"
    LEGAL = "legal"
    SAFETY = "safety"
    SECURITY = "security"


class JustificationStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class StaffRole(DirectoryBase):
    """One role a staff member holds for one realm.

    Public: who works as staff, in which role and for which realm, is what the transparency log names
    anyway (staff act under their own id); it says nothing about the people whose data they handle.
    """

    __tablename__ = "staff_roles"
    __table_args__ = (UniqueConstraint("user_id", "role", "staff_realm", name="uq_staff_roles_grant"),)

    id: Mapped[int] = public(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = public(BigInteger, index=True)
    role: Mapped[str] = public(String(10))
    staff_realm: Mapped[str] = public(String(16))  # the realm the staff member works for
    granted_by: Mapped[str] = public(String(64))  # "operator-cli" or "staff:<id>"
    granted_at: Mapped[datetime] = public(TZ, default=utcnow)


class AccessJustification(RealmBase):
    """A break-glass request, kept in the home realm of the person it names.

    Protected throughout: it names a person and carries free text about them. The log records it
    under the subject's pseudonym and without the reason.
    """

    __tablename__ = "access_justifications"
    __table_args__ = (Index("ix_access_justifications_subject", "subject_id"),)

    id: Mapped[int] = protected(BigInteger, primary_key=True, autoincrement=False)
    requester_id: Mapped[int] = protected(BigInteger)
    requester_realm: Mapped[str] = protected(String(16))  # the staff realm the request was made for
    subject_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = protected(String(10))
    reason: Mapped[str] = protected(Text)
    status: Mapped[str] = protected(String(10), default=JustificationStatus.PENDING.value)
    approver_id: Mapped[int | None] = protected(BigInteger)  # the operator who approved or rejected
    approved_at: Mapped[datetime | None] = protected(TZ)  # set on approval only
    decided_at: Mapped[datetime | None] = protected(TZ)  # approval or rejection
    expires_at: Mapped[datetime | None] = protected(TZ)  # set on approval only
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
