"""Content review: hash lists, rules, reports, cases, decisions, appeals and legal orders.

Where a report lives
    A report is stored once, in the realm of the content it names (the case, the decision and the
    statement of reasons need it there), with the reporter's id and a keyed pseudonym of the reporter.
    A reporter of another realm thereby leaves their id and text in the content's realm, as a message
    sent to someone in another realm does: the reporter's own act, directed at that realm. Nothing is
    kept in the reporter's realm (no second copy to keep in step). For the residency check a report
    belongs to the person whose content it names (`content_owner_id`, always of this realm), like a
    break-glass justification belongs to its subject.

Data classes
    Lists, rules, trusted flaggers, suspensions and legal orders hold no personal data (a legal order's
    targets are kept apart, protected). Cases, reports, decisions and appeals are protected: they name
    a person and carry free text about them; they never leave the realm, and the transparency log
    names their subjects by pseudonym only.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped

from reelm.db import TZ, RealmBase, protected, public, utcnow

# --- vocabularies -----------------------------------------------------------------------------------------


class ContentType(enum.StrEnum):
    VIDEO = "video"
    COMMENT = "comment"
    ACCOUNT = "account"
    MESSAGE = "message"
    SOUND = "sound"  # a sound others reuse (reelm.sounds): removing it mutes it wherever it is used


class Category(enum.StrEnum):
    """The DSA Transparency Database's 16 statement categories (schema of 1 July 2025)."""

    ANIMAL_WELFARE = "STATEMENT_CATEGORY_ANIMAL_WELFARE"
    CONSUMER_INFORMATION = "STATEMENT_CATEGORY_CONSUMER_INFORMATION"
    CYBER_VIOLENCE = "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    CYBER_VIOLENCE_AGAINST_WOMEN = "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN"
    DATA_PROTECTION = "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS"
    ILLEGAL_OR_HARMFUL_SPEECH = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    INTELLECTUAL_PROPERTY = "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
    CIVIC_DISCOURSE = "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS"
    NOT_SPECIFIED_NOTICE = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"
    OTHER_VIOLATION_TC = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    PROTECTION_OF_MINORS = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    RISK_FOR_PUBLIC_SECURITY = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    SCAMS_AND_FRAUD = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    SELF_HARM = "STATEMENT_CATEGORY_SELF_HARM"
    UNSAFE_AND_PROHIBITED_PRODUCTS = "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS"
    VIOLENCE = "STATEMENT_CATEGORY_VIOLENCE"

    @property
    def label(self) -> str:
        return self.value.removeprefix("STATEMENT_CATEGORY_").replace("_", " ").capitalize()


# Categories whose cases go to the front of the queue (before age decides).
URGENT_CATEGORIES = frozenset(
    {Category.PROTECTION_OF_MINORS, Category.RISK_FOR_PUBLIC_SECURITY, Category.SELF_HARM, Category.VIOLENCE}
)


class Source(enum.StrEnum):
    """What started a case, as the Transparency Database's `source_type` names it."""

    NOTICE = "SOURCE_ARTICLE_16"
    TRUSTED_FLAGGER = "SOURCE_TRUSTED_FLAGGER"
    OTHER_NOTIFICATION = "SOURCE_TYPE_OTHER_NOTIFICATION"  # a legal order, a message report
    VOLUNTARY = "SOURCE_VOLUNTARY"  # our own initiative: automated detection


class Ground(enum.StrEnum):
    ILLEGAL = "DECISION_GROUND_ILLEGAL_CONTENT"
    INCOMPATIBLE = "DECISION_GROUND_INCOMPATIBLE_CONTENT"  # against the terms


class Action(enum.StrEnum):
    """What a decision does to the content or account."""

    NO_ACTION = "no_action"
    LABEL = "label"
    AGE_RESTRICT = "age_restrict"
    DEMOTE = "demote"
    GEO_RESTRICT = "geo_restrict"  # not shown in the listed realms
    REMOVE = "remove"
    SUSPEND = "suspend"
    HOLD = "hold"  # automated only: not published until a reviewer decides
    BLOCK = "block"  # automated only: the upload is rejected


# The actions a reviewer may take, and the content types each applies to.
REVIEWER_ACTIONS: dict[Action, frozenset[ContentType]] = {
    Action.NO_ACTION: frozenset(ContentType),
    Action.LABEL: frozenset({ContentType.VIDEO, ContentType.COMMENT}),
    Action.AGE_RESTRICT: frozenset({ContentType.VIDEO}),
    Action.DEMOTE: frozenset({ContentType.VIDEO}),
    Action.GEO_RESTRICT: frozenset({ContentType.VIDEO}),
    # A removed message is erased in every copy, like an unsend: an upheld appeal cannot bring it back.
    Action.REMOVE: frozenset(
        {ContentType.VIDEO, ContentType.COMMENT, ContentType.MESSAGE, ContentType.SOUND}
    ),
    Action.SUSPEND: frozenset(ContentType),
}


class Automation(enum.StrEnum):
    FULLY = "AUTOMATED_DECISION_FULLY"
    PARTIALLY = "AUTOMATED_DECISION_PARTIALLY"
    NOT_AUTOMATED = "AUTOMATED_DECISION_NOT_AUTOMATED"


class CaseState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class AppealState(enum.StrEnum):
    OPEN = "open"
    UPHELD = "upheld"  # the decision stands
    REVERSED = "reversed"  # the decision is undone


class RuleScope(enum.StrEnum):
    CAPTION = "caption"
    COMMENT = "comment"
    BOTH = "both"


class RuleKind(enum.StrEnum):
    TERM = "term"  # a word or phrase, matched case-insensitively on word boundaries
    PATTERN = "pattern"  # a regular expression


class RuleAction(enum.StrEnum):
    HOLD = "hold"
    LABEL = "label"


# --- automated detection: lists and rules ---------------------------------------------------------------


class StoredHashList(RealmBase):
    """A realm's list of known PDQ hashes and what a match does (hold or block)."""

    __tablename__ = "moderation_hash_lists"

    id: Mapped[int] = public(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = public(String(64), unique=True)
    action: Mapped[str] = public(String(8))
    entry_count: Mapped[int] = public(Integer)
    low_quality_skipped: Mapped[int] = public(Integer, default=0)
    source_sha256: Mapped[str] = public(String(64))  # of the imported file, so an import can be traced
    imported_at: Mapped[datetime] = public(TZ, default=utcnow)
    imported_by: Mapped[str] = public(String(64))


class StoredHashEntry(RealmBase):
    __tablename__ = "moderation_hash_entries"

    list_id: Mapped[int] = public(
        BigInteger, ForeignKey("moderation_hash_lists.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = public(Integer, primary_key=True)  # in the imported file, for match reports
    hash: Mapped[str] = public(String(64))
    quality: Mapped[int] = public(SmallInteger)  # -1 where the file gave none


class ContentRule(RealmBase):
    """A caption or comment rule of the realm: a term or pattern that holds or labels what matches."""

    __tablename__ = "moderation_rules"

    id: Mapped[int] = public(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = public(String(64), unique=True)
    scope: Mapped[str] = public(String(8))
    kind: Mapped[str] = public(String(8))
    value: Mapped[str] = public(Text)
    action: Mapped[str] = public(String(8))
    label: Mapped[str | None] = public(Text)  # shown on labelled content
    category: Mapped[str] = public(String(80))
    created_at: Mapped[datetime] = public(TZ, default=utcnow)
    created_by: Mapped[str] = public(String(64))


class TrustedFlagger(RealmBase):
    """An account whose reports this realm reviews first (DSA Art. 22: the list of them is public)."""

    __tablename__ = "moderation_trusted_flaggers"

    user_id: Mapped[int] = public(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = public(String(100))
    granted_at: Mapped[datetime] = public(TZ, default=utcnow)
    granted_by: Mapped[str] = public(String(64))


# --- notices, cases and decisions -------------------------------------------------------------------------

_OWNED_BY_CONTENT_OWNER = {"info": {"owner_column": "content_owner_id"}}


class Case(RealmBase):
    """Everything open about one piece of content: its reports (duplicates grouped) and automated flags."""

    __tablename__ = "moderation_cases"
    __table_args__ = (
        # One open case per content: a new report joins it.
        Index(
            "ix_moderation_cases_open_content",
            "content_type",
            "content_id",
            unique=True,
            postgresql_where=text("state = 'open'"),
        ),
        Index("ix_moderation_cases_queue", "state", "priority", "opened_at"),
        _OWNED_BY_CONTENT_OWNER,
    )

    id: Mapped[int] = protected(BigInteger, primary_key=True, autoincrement=False)
    content_type: Mapped[str] = protected(String(8))
    content_id: Mapped[int] = protected(BigInteger)
    content_owner_id: Mapped[int] = protected(BigInteger)
    state: Mapped[str] = protected(String(8), default=CaseState.OPEN.value)
    priority: Mapped[int] = protected(Integer, default=0)
    trusted: Mapped[bool] = protected(Boolean, default=False)  # a trusted flagger reported it
    automated: Mapped[bool] = protected(Boolean, default=False)  # opened by automated detection
    category: Mapped[str] = protected(String(80))  # of the first notice
    report_count: Mapped[int] = protected(Integer, default=0)
    opened_at: Mapped[datetime] = protected(TZ, default=utcnow)
    closed_at: Mapped[datetime | None] = protected(TZ)


class Report(RealmBase):
    """A notice (or automated flag) about one piece of content; see the module docstring for where."""

    __tablename__ = "moderation_reports"
    __table_args__ = (
        Index("ix_moderation_reports_case", "case_id"),
        Index("ix_moderation_reports_reporter", "reporter_id", "created_at"),
        _OWNED_BY_CONTENT_OWNER,
    )

    id: Mapped[int] = protected(BigInteger, primary_key=True, autoincrement=False)
    case_id: Mapped[int] = protected(BigInteger, ForeignKey("moderation_cases.id", ondelete="CASCADE"))
    content_type: Mapped[str] = protected(String(8))
    content_id: Mapped[int] = protected(BigInteger)
    content_owner_id: Mapped[int] = protected(BigInteger)
    reporter_id: Mapped[int | None] = protected(BigInteger)  # None for automated detection
    reporter_ref: Mapped[str | None] = protected(String(32))  # keyed pseudonym, what reviewers see
    reporter_realm: Mapped[str | None] = protected(String(16))
    source: Mapped[str] = protected(String(40))
    category: Mapped[str] = protected(String(80))
    explanation: Mapped[str] = protected(Text)
    legal_ground: Mapped[str | None] = protected(Text)  # for illegal content: the law it breaks
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
    decision_id: Mapped[int | None] = protected(BigInteger)
    decided_at: Mapped[datetime | None] = protected(TZ)
    outcome: Mapped[str | None] = protected(String(16))  # the decision's action, for the receipt


class Decision(RealmBase):
    """One decision on one piece of content; its statement of reasons is derived from it."""

    __tablename__ = "moderation_decisions"
    __table_args__ = (
        Index("ix_moderation_decisions_content", "content_type", "content_id"),
        Index("ix_moderation_decisions_owner", "content_owner_id", "created_at"),
        _OWNED_BY_CONTENT_OWNER,
    )

    id: Mapped[int] = protected(BigInteger, primary_key=True, autoincrement=False)
    case_id: Mapped[int | None] = protected(BigInteger)
    content_type: Mapped[str] = protected(String(8))
    content_id: Mapped[int] = protected(BigInteger)
    content_owner_id: Mapped[int] = protected(BigInteger)
    content_date: Mapped[datetime] = protected(TZ)  # when the content was posted
    action: Mapped[str] = protected(String(16))
    label: Mapped[str | None] = protected(Text)
    restricted_realms: Mapped[list[str]] = protected(ARRAY(Text), default=list)
    category: Mapped[str] = protected(String(80))
    ground: Mapped[str] = protected(String(40))
    legal_ground: Mapped[str | None] = protected(Text)
    terms_ground: Mapped[str | None] = protected(Text)
    facts: Mapped[str] = protected(Text)
    source_type: Mapped[str] = protected(String(40))
    automated_detection: Mapped[bool] = protected(Boolean)
    automated_decision: Mapped[str] = protected(String(40))
    reviewer_id: Mapped[int | None] = protected(BigInteger)  # None when automated
    ends_at: Mapped[datetime | None] = protected(TZ)  # of a suspension; None: indefinite
    reverses_id: Mapped[int | None] = protected(BigInteger)  # an appeal's reversal names what it undoes
    legal_order_id: Mapped[int | None] = protected(BigInteger)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
    first_notice_at: Mapped[datetime | None] = protected(TZ)  # for the time to action


class Appeal(RealmBase):
    """A complaint against a decision (DSA Art. 20), decided by a reviewer other than the first one.

    Either the affected user contests a restriction, or a reporter contests the "no action" outcome of
    their notice (`report_id` set; the reporter may live in another realm, as their report does).
    """

    __tablename__ = "moderation_appeals"
    __table_args__ = (
        Index("ix_moderation_appeals_decision", "decision_id"),
        Index("ix_moderation_appeals_decision_appellant", "decision_id", "appellant_id", unique=True),
        _OWNED_BY_CONTENT_OWNER,
    )

    id: Mapped[int] = protected(BigInteger, primary_key=True, autoincrement=False)
    decision_id: Mapped[int] = protected(
        BigInteger, ForeignKey("moderation_decisions.id", ondelete="CASCADE")
    )
    content_owner_id: Mapped[int] = protected(BigInteger)
    appellant_id: Mapped[int] = protected(BigInteger)
    reason: Mapped[str] = protected(Text)
    state: Mapped[str] = protected(String(10), default=AppealState.OPEN.value)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
    decided_at: Mapped[datetime | None] = protected(TZ)
    decided_by: Mapped[int | None] = protected(BigInteger)
    explanation: Mapped[str | None] = protected(Text)
    result_decision_id: Mapped[int | None] = protected(BigInteger)
    report_id: Mapped[int | None] = protected(BigInteger)  # a reporter's appeal: the report it concerns


class LegalOrder(RealmBase):
    """An order of an authority (DSA Art. 9), without the people it names (see LegalOrderTarget)."""

    __tablename__ = "moderation_legal_orders"

    id: Mapped[int] = public(BigInteger, primary_key=True, autoincrement=False)
    authority: Mapped[str] = public(Text)
    legal_basis: Mapped[str] = public(Text)
    reference: Mapped[str] = public(String(200))
    scope: Mapped[str] = public(Text)  # what the order asks for, in its words
    territorial_scope: Mapped[list[str]] = public(ARRAY(Text), default=list)  # realms; empty: everywhere
    notify_users: Mapped[bool] = public(Boolean)  # False where the order forbids telling the user
    target_count: Mapped[int] = public(Integer)
    received_at: Mapped[datetime] = public(TZ)
    applied_at: Mapped[datetime] = public(TZ, default=utcnow)
    recorded_by: Mapped[str] = public(String(64))


class LegalOrderTarget(RealmBase):
    __tablename__ = "moderation_legal_order_targets"
    __table_args__ = (_OWNED_BY_CONTENT_OWNER,)

    order_id: Mapped[int] = protected(
        BigInteger, ForeignKey("moderation_legal_orders.id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = protected(String(8), primary_key=True)
    content_id: Mapped[int] = protected(BigInteger, primary_key=True)
    content_owner_id: Mapped[int] = protected(BigInteger)
    decision_id: Mapped[int] = protected(BigInteger)
