"""Payloads of the content-review API: reports and receipts, cases, decisions, statements, appeals, orders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from reelm.inputs import REALM_PATTERN, Id, IdRef, Line, Text
from reelm.moderation.models import Category, ContentType

RealmName = Annotated[str, StringConstraints(pattern=REALM_PATTERN)]


class ReportIn(BaseModel):
    # The route checks the type and category after counting the report against the reporter's rate, so a
    # flood of bad reports is limited too; the document states what it takes.
    content_type: Line = Field(
        max_length=10,
        description="video, comment, account or message",
        json_schema_extra={"enum": [t.value for t in ContentType]},
    )
    content_id: IdRef = Field(description="an unknown or malformed id is a 404, as in a path")
    category: Line = Field(
        max_length=80,
        description="a DSA statement category, STATEMENT_CATEGORY_…",
        json_schema_extra={"enum": [c.value for c in Category]},
    )
    explanation: Text = Field(min_length=1, max_length=2000, description="why the content should be reviewed")
    legal_ground: Text | None = Field(
        default=None, max_length=500, description="for illegal content: the law it breaks"
    )


class ReportReceipt(BaseModel):
    id: str
    realm: str  # where the report is kept: the content's realm
    content_type: str
    content_id: str
    category: str
    trusted_flagger: bool
    received_at: datetime
    status: str  # "received" or "decided"
    outcome: str | None  # the decision's action once decided
    decided_at: datetime | None
    # The reporter's appeal of the outcome (DSA Art. 20), once filed: its state ("open", "upheld" …).
    appeal_state: str | None = None


class ReportList(BaseModel):
    items: list[ReportReceipt]


class CaseSummary(BaseModel):
    id: str
    realm: str
    content_type: str
    content_id: str
    category: str
    priority: int
    trusted: bool
    automated: bool
    report_count: int
    opened_at: datetime


class QueueOut(BaseModel):
    realm: str
    items: list[CaseSummary]


class ReportView(BaseModel):
    """A report as a reviewer sees it: the reporter only as a pseudonym."""

    id: str
    reporter_ref: str | None
    trusted_flagger: bool
    source: str
    category: str
    explanation: str
    legal_ground: str | None
    created_at: datetime


class DecisionIn(BaseModel):
    action: Line = Field(max_length=16)
    category: Line = Field(max_length=80)
    ground: Line = Field(
        max_length=40, description="DECISION_GROUND_ILLEGAL_CONTENT or …_INCOMPATIBLE_CONTENT"
    )
    facts: Text = Field(max_length=5000, description="the facts relied on; no personal data")
    legal_ground: Text | None = Field(default=None, max_length=500)
    terms_ground: Text | None = Field(default=None, max_length=500)
    label: Line | None = Field(default=None, max_length=200)
    restricted_realms: list[RealmName] = Field(default_factory=list, max_length=64)
    suspend_days: int | None = Field(default=None, ge=1, le=3650)


class DecisionOut(BaseModel):
    id: str
    realm: str
    case_id: str | None
    content_type: str
    content_id: str
    action: str
    label: str | None
    restricted_realms: list[str]
    category: str
    ground: str
    legal_ground: str | None
    terms_ground: str | None
    facts: str
    source_type: str
    automated_detection: bool
    automated_decision: str
    by_reviewer: bool
    ends_at: datetime | None
    reverses_id: str | None
    legal_order_id: str | None
    created_at: datetime
    statement_url: str


class CaseOut(BaseModel):
    case: CaseSummary
    state: str
    content: dict[str, Any]
    reports: list[ReportView]
    decisions: list[DecisionOut]  # prior decisions on the same content, newest first
    policy: dict[str, Any]  # the realm's rules and lists, for the reviewer


class StatementOut(BaseModel):
    """A statement of reasons with the elements of DSA Art. 17(3)."""

    decision_id: str
    realm: str
    content_type: str
    content_id: str
    restriction: str  # (a) what was restricted
    territorial_scope: list[str]  # (a) realms where it applies; empty: everywhere
    duration: str  # (a)
    ends_at: datetime | None
    facts: str  # (b)
    source: str  # (b) notice, trusted flagger, own initiative, order
    automated_detection: bool  # (c)
    automated_decision: str  # (c)
    ground: str  # (d)/(e)
    legal_ground: str | None  # (d)
    terms_ground: str | None  # (e)
    category: str
    redress: list[str]  # (f)
    appeal_until: datetime | None
    appeal_url: str | None
    appeal: dict[str, Any] | None
    decided_at: datetime
    # The video is labelled a paid partnership by its creator: a commercial communication (DSA Art. 26),
    # which the decision concerned.
    commercial_communication: bool = False


class AppealIn(BaseModel):
    reason: Text = Field(max_length=2000)


class AppealOut(BaseModel):
    id: str
    realm: str
    decision_id: str
    by_reporter: bool = False  # a reporter contests "no action" (else the affected user a restriction)
    state: str
    reason: str
    created_at: datetime
    decided_at: datetime | None
    explanation: str | None
    result_decision_id: str | None


class AppealDecisionIn(BaseModel):
    outcome: str = Field(pattern="^(upheld|reversed)$")
    explanation: Text = Field(max_length=2000)
    decision: DecisionIn | None = Field(
        default=None,
        description='for a reporter\'s appeal that succeeds: the decision that replaces "no action"',
    )


class AppealList(BaseModel):
    realm: str
    items: list[AppealOut]


class OrderTargetIn(BaseModel):
    content_type: Line = Field(max_length=10)
    content_id: Id


class LegalOrderIn(BaseModel):
    authority: Line = Field(max_length=500)
    legal_basis: Text = Field(max_length=1000)
    reference: Line = Field(max_length=200)
    scope: Text = Field(max_length=4000, description="what the order requires, in its words")
    action: str = Field(pattern="^(remove|geo_restrict|suspend)$")
    territorial_scope: list[RealmName] = Field(default_factory=list, max_length=64)
    category: Line = Field(max_length=80)
    targets: list[OrderTargetIn] = Field(min_length=1, max_length=500)
    notify_users: bool = True
    received_at: datetime | None = None


class LegalOrderOut(BaseModel):
    id: str
    realm: str
    authority: str
    legal_basis: str
    reference: str
    scope: str
    territorial_scope: list[str]
    notify_users: bool
    target_count: int
    received_at: datetime
    applied_at: datetime
    decision_ids: list[str]


class LegalOrderList(BaseModel):
    realm: str
    items: list[LegalOrderOut]


class RuleIn(BaseModel):
    name: Line = Field(max_length=64)
    scope: str = Field(pattern="^(caption|comment|both)$")
    kind: str = Field(pattern="^(term|pattern)$")
    value: Line = Field(max_length=300)
    action: str = Field(pattern="^(hold|label)$")
    label: Line | None = Field(default=None, max_length=200)
    category: Line = Field(max_length=80)


class RuleOut(BaseModel):
    id: str
    name: str
    scope: str
    kind: str
    value: str
    action: str
    label: str | None
    category: str
    created_at: datetime


class RuleList(BaseModel):
    realm: str
    items: list[RuleOut]


class TrustedFlaggerIn(BaseModel):
    name: Line = Field(max_length=100)


class TrustedFlaggerOut(BaseModel):
    user_id: str
    handle: str
    name: str
    granted_at: datetime
