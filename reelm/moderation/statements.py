"""Statements of reasons (DSA Art. 17) for the affected user, and their export to the DSA Transparency
Database's JSON schema (Art. 24(5)), which carries no personal data.

The export holds only the decision's categories, grounds and dates, the platform's own decision id as
`puid`, and the reviewer's facts with handles, e-mail addresses and links blanked out: reviewers are asked
to write facts without personal data (the form says so), and the blanking catches the usual slips.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.errors import not_found
from reelm.moderation.models import (
    Action,
    Appeal,
    Automation,
    ContentType,
    Decision,
    Ground,
    LegalOrder,
    Source,
)
from reelm.moderation.schemas import StatementOut
from reelm.runtime import Runtime
from reelm.videos.models import Video

APPEAL_MONTHS = 6

RESTRICTIONS = {
    Action.NO_ACTION: "No restriction: the content stays as it was.",
    Action.LABEL: "The content is shown with a label.",
    Action.AGE_RESTRICT: "The video is shown only to adults.",
    Action.DEMOTE: "The video is recommended less often.",
    Action.GEO_RESTRICT: "The video is not shown in the listed realms.",
    Action.REMOVE: "The content was removed.",
    Action.SUSPEND: "The account is suspended: its profile, videos and comments are not shown.",
    Action.HOLD: "The video is held and not published until a reviewer has looked at it.",
    Action.BLOCK: "The upload was rejected and not published.",
}
SOURCES = {
    Source.NOTICE: "a notice from a user",
    Source.TRUSTED_FLAGGER: "a notice from a trusted flagger",
    Source.OTHER_NOTIFICATION: "an order of an authority or another notification",
    Source.VOLUNTARY: "our own initiative (automated detection)",
}
_VISIBILITY = {
    Action.LABEL: "DECISION_VISIBILITY_CONTENT_LABELLED",
    Action.AGE_RESTRICT: "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    Action.DEMOTE: "DECISION_VISIBILITY_CONTENT_DEMOTED",
    Action.GEO_RESTRICT: "DECISION_VISIBILITY_CONTENT_DISABLED",
    Action.REMOVE: "DECISION_VISIBILITY_CONTENT_REMOVED",
    Action.HOLD: "DECISION_VISIBILITY_CONTENT_DISABLED",
    Action.BLOCK: "DECISION_VISIBILITY_CONTENT_REMOVED",
}
_CONTENT_TYPES = {
    ContentType.VIDEO: ["CONTENT_TYPE_VIDEO"],
    ContentType.COMMENT: ["CONTENT_TYPE_TEXT"],
    ContentType.MESSAGE: ["CONTENT_TYPE_TEXT"],
    ContentType.ACCOUNT: ["CONTENT_TYPE_OTHER"],
    ContentType.SOUND: ["CONTENT_TYPE_AUDIO"],
}
# The EEA, for the Transparency Database's territorial_scope.
EEA = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO".split()  # noqa: SIM905 - the list reads as a list
)
_PERSONAL = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.-]+"  # e-mail addresses
    r"|https?://\S+"  # links (may name accounts)
    r"|(?<![\w@])@[A-Za-z0-9_.]{2,24}"  # handles
)


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def appeal_deadline(decision: Decision) -> datetime:
    return add_months(decision.created_at, APPEAL_MONTHS)


def appealable(decision: Decision) -> bool:
    """Restrictions can be appealed; a reversal or a decision to do nothing cannot."""
    return decision.action != Action.NO_ACTION and decision.reverses_id is None


def _duration(decision: Decision) -> str:
    action = Action(decision.action)
    if action is Action.HOLD:
        return "Until a reviewer decides."
    if action is Action.NO_ACTION:
        return "Not applicable."
    if decision.ends_at is not None:
        return f"Until {decision.ends_at.date().isoformat()}."
    return "Indefinite, unless reversed on appeal."


def redress(realm_title: str, *, can_appeal: bool) -> list[str]:
    options = []
    if can_appeal:
        options.append(
            f"Appeal here within {APPEAL_MONTHS} months, free of charge: a reviewer other than the one who "
            "decided looks at it again; an appeal is never decided by automation alone."
        )
    options += [
        "Refer the dispute to a certified out-of-court dispute settlement body (DSA Art. 21).",
        f"Seek judicial redress before the courts competent in {realm_title}.",
    ]
    return options


async def access_decision(session: AsyncSession, decision_id: str) -> Decision:
    an_id = ids.parse_id(decision_id)
    decision = await session.get(Decision, an_id) if an_id is not None else None
    if decision is None:
        raise not_found("Decision")
    return decision


async def may_tell_user(session: AsyncSession, decision: Decision) -> bool:
    """False where the legal order behind the decision forbids telling the user (for its duration)."""
    if decision.legal_order_id is None:
        return True
    order = await session.get(LegalOrder, decision.legal_order_id)
    return order is None or order.notify_users


async def statement_of(
    session: AsyncSession, runtime: Runtime, decision: Decision, realm: str
) -> StatementOut:
    appeal = await session.scalar(
        select(Appeal).where(Appeal.decision_id == decision.id).order_by(Appeal.created_at.desc()).limit(1)
    )
    can_appeal = appealable(decision)
    deadline = appeal_deadline(decision) if can_appeal else None
    commercial = decision.content_id in await _paid_partnerships(session, [decision])
    return StatementOut(
        decision_id=str(decision.id),
        realm=realm,
        content_type=decision.content_type,
        content_id=str(decision.content_id),
        restriction=RESTRICTIONS[Action(decision.action)]
        + (f" Label: “{decision.label}”." if decision.label else ""),
        territorial_scope=list(decision.restricted_realms),
        duration=_duration(decision),
        ends_at=decision.ends_at,
        facts=decision.facts,
        source=SOURCES[Source(decision.source_type)],
        automated_detection=decision.automated_detection,
        automated_decision=decision.automated_decision,
        ground=decision.ground,
        legal_ground=decision.legal_ground,
        terms_ground=decision.terms_ground,
        category=decision.category,
        redress=redress(runtime.settings.realm(realm).title, can_appeal=can_appeal),
        appeal_until=deadline,
        appeal_url=f"/api/v1/moderation/decisions/{decision.id}/appeals" if can_appeal else None,
        appeal={
            "id": str(appeal.id),
            "state": appeal.state,
            "explanation": appeal.explanation,
            "decided_at": appeal.decided_at.isoformat() if appeal.decided_at else None,
        }
        if appeal is not None
        else None,
        decided_at=decision.created_at,
        commercial_communication=commercial,
    )


async def _paid_partnerships(session: AsyncSession, decisions: list[Decision]) -> set[int]:
    """Which of the decided videos their creators label a paid partnership (DSA Art. 26 commercial
    communication): said in the statement and the Transparency Database record. One statement for all."""
    video_ids = [d.content_id for d in decisions if d.content_type == ContentType.VIDEO.value]
    if not video_ids:
        return set()
    found = await session.scalars(
        select(Video.id).where(Video.id.in_(video_ids), Video.paid_partnership.is_(True))
    )
    return set(found)


COMMERCIAL_FACT = (
    " The video is labelled by its creator as a paid partnership (a commercial communication, DSA Art. 26)."
)


# --- the Transparency Database export --------------------------------------------------------------------


def without_personal_data(text: str) -> str:
    return _PERSONAL.sub("[…]", text)


def _territory(runtime: Runtime, decision: Decision) -> list[str]:
    countries: set[str] = set()
    for realm in decision.restricted_realms:
        if realm in runtime.settings.realm_names:
            countries |= set(runtime.settings.realm(realm).countries)
    return sorted(countries & EEA)


def transparency_db_record(
    runtime: Runtime, decision: Decision, realm: str, *, commercial: bool = False
) -> dict[str, Any] | None:
    """The decision as a Transparency Database statement; None for what is no restriction. `commercial`:
    the video is a paid partnership, which the facts then say."""
    action = Action(decision.action)
    if action is Action.NO_ACTION or decision.reverses_id is not None:
        return None
    facts = without_personal_data(decision.facts)[: 5000 - len(COMMERCIAL_FACT)]
    if commercial:
        facts += COMMERCIAL_FACT
    record: dict[str, Any] = {
        "decision_ground": decision.ground,
        "category": decision.category,
        "content_type": _CONTENT_TYPES[ContentType(decision.content_type)],
        "content_date": decision.content_date.date().isoformat(),
        "application_date": decision.created_at.date().isoformat(),
        "decision_facts": facts,
        "source_type": decision.source_type,
        "automated_detection": "Yes" if decision.automated_detection else "No",
        "automated_decision": decision.automated_decision,
        "puid": f"reelm-{realm}-{decision.id}",
    }
    if ContentType(decision.content_type) is ContentType.ACCOUNT:
        record["content_type_other"] = "account"
    if action is Action.SUSPEND:
        record["decision_account"] = "DECISION_ACCOUNT_SUSPENDED"
        if decision.ends_at is not None:
            record["end_date_account_restriction"] = decision.ends_at.date().isoformat()
    else:
        record["decision_visibility"] = [_VISIBILITY[action]]
    if decision.ground == Ground.ILLEGAL.value:
        record["illegal_content_legal_ground"] = without_personal_data(decision.legal_ground or "")[:500]
        record["illegal_content_explanation"] = facts[:2000]
    else:
        record["incompatible_content_ground"] = without_personal_data(decision.terms_ground or "")[:500]
        record["incompatible_content_explanation"] = facts[:2000]
    territory = _territory(runtime, decision)
    if territory:
        record["territorial_scope"] = territory
    return record


async def transparency_db_export(
    session: AsyncSession, runtime: Runtime, realm: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    decisions = await session.scalars(
        select(Decision)
        .where(Decision.created_at >= start, Decision.created_at < end)
        .order_by(Decision.created_at, Decision.id)
    )
    decided = list(decisions)
    paid = await _paid_partnerships(session, decided)
    records = [transparency_db_record(runtime, d, realm, commercial=d.content_id in paid) for d in decided]
    return [r for r in records if r is not None]


def automated_word(value: str) -> str:
    return {
        Automation.FULLY.value: "fully automated",
        Automation.PARTIALLY.value: "detected automatically, decided by a person",
        Automation.NOT_AUTOMATED.value: "decided by a person",
    }.get(value, value)
