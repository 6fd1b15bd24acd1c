"""Staff payloads of the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from reelm.inputs import Handle, Text
from reelm.staff.models import Purpose


class JustificationIn(BaseModel):
    subject_handle: Handle = Field(min_length=1, max_length=25)
    purpose: Purpose
    reason: Text = Field(min_length=1, max_length=500, description="why access is needed; kept in the realm")


class JustificationOut(BaseModel):
    id: str
    requester_id: str
    requester_realm: str
    subject_handle: str
    subject_realm: str
    purpose: Purpose
    reason: str
    status: str
    approver_id: str | None
    approved_at: datetime | None
    decided_at: datetime | None
    expires_at: datetime | None
    created_at: datetime


class SessionOut(BaseModel):
    kind: str
    created_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None


class ProtectedOut(BaseModel):
    """A person's protected data, returned only after the allowing decision was logged."""

    user_id: str
    handle: str
    realm: str
    email: str
    country: str
    sessions: list[SessionOut]
    purpose: Purpose
    justification_id: str | None
    policy_hash: str


class PoliciesOut(BaseModel):
    policy_hash: str
    files: dict[str, str]


class AggregatesOut(BaseModel):
    realm: str
    justifications_by_status: dict[str, int]
    justifications_by_purpose: dict[str, int]
    staff_by_role: dict[str, int]
