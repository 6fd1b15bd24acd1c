"""Appeals (DSA Art. 20): the affected user contests a restriction, or a reporter contests the "no action"
outcome of their notice, within six months; a reviewer other than the one who decided takes a fresh
decision, never a machine alone (there is no automated path here: an appeal is decided only through a
staff member's request, gated by Cedar).

A successful appeal of the affected user undoes the decision (a reversal, itself a decision with a
statement). A successful appeal of a reporter replaces "no action" with the reviewer's new decision on the
content, which the affected user may in turn appeal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.audit.service import pseudonym, record_event
from reelm.errors import Problem, not_found
from reelm.moderation.decisions import (
    DecisionSpec,
    check_decision,
    do_record_decision,
    notify_owner,
    undo_decision,
)
from reelm.moderation.models import (
    Action,
    Appeal,
    AppealState,
    Case,
    CaseState,
    Category,
    ContentType,
    Decision,
    Ground,
    Report,
    Source,
)
from reelm.moderation.schemas import AppealOut, DecisionIn
from reelm.moderation.service import APPEAL_DECISION, DECIDE_APPEAL, ContentRef, open_case_of
from reelm.moderation.statements import appeal_deadline, appealable
from reelm.runtime import Runtime
from reelm.staff import policy
from reelm.staff.policy import PolicyEngine, Uid
from reelm.staff.service import StaffMember, decide_as_staff, decision_details, denied
from reelm.text import clean_text, invalid

MAX_REASON = 2000


def appeal_out(appeal: Appeal, realm: str) -> AppealOut:
    return AppealOut(
        id=str(appeal.id),
        realm=realm,
        decision_id=str(appeal.decision_id),
        by_reporter=appeal.report_id is not None,
        state=appeal.state,
        reason=appeal.reason,
        created_at=appeal.created_at,
        decided_at=appeal.decided_at,
        explanation=appeal.explanation,
        result_decision_id=str(appeal.result_decision_id) if appeal.result_decision_id is not None else None,
    )


async def do_file_appeal(
    session: AsyncSession, runtime: Runtime, decision: Decision, realm: str, *, appellant_id: int, reason: str
) -> Appeal:
    """An appeal by the person the decision restricts; 403/409/422 and nothing stored otherwise."""
    text = clean_text("reason", reason, max_len=MAX_REASON, allow_empty=False)
    if decision.content_owner_id != appellant_id:
        raise not_found("Decision")  # someone else's decision does not exist for this user
    if not appealable(decision):
        raise Problem(409, "not-appealable", "Nothing to appeal", "This decision restricts nothing.")
    return await _add_appeal(session, runtime, decision, realm, appellant_id=appellant_id, reason=text)


async def do_file_reporter_appeal(
    session: AsyncSession, runtime: Runtime, report: Report, realm: str, *, appellant_id: int, reason: str
) -> Appeal:
    """An appeal by a reporter against the "no action" outcome of their own report (the caller checked
    that the report is theirs); 409/422 and nothing stored otherwise."""
    text = clean_text("reason", reason, max_len=MAX_REASON, allow_empty=False)
    if report.decision_id is None:
        raise Problem(409, "not-decided", "Not decided yet", "Your report has not been decided yet.")
    if report.outcome != Action.NO_ACTION.value:
        raise Problem(
            409,
            "not-appealable",
            "Nothing to appeal",
            "Action was taken on your report; a reporter may appeal only a decision to take no action.",
        )
    decision = await session.get(Decision, report.decision_id, with_for_update=True)
    if decision is None:
        raise not_found("Decision")
    appeal = await _add_appeal(session, runtime, decision, realm, appellant_id=appellant_id, reason=text)
    appeal.report_id = report.id
    return appeal


async def _add_appeal(
    session: AsyncSession, runtime: Runtime, decision: Decision, realm: str, *, appellant_id: int, reason: str
) -> Appeal:
    """The appeal, after the period and the one-appeal-per-appellant checks (409 otherwise)."""
    now = datetime.now(UTC)
    if now > appeal_deadline(decision):
        raise Problem(
            409, "appeal-period-over", "Appeal period over", "Decisions can be appealed for six months."
        )
    earlier = await session.scalar(
        select(Appeal.id)
        .where(Appeal.decision_id == decision.id, Appeal.appellant_id == appellant_id)
        .with_for_update()
    )
    if earlier is not None:
        raise Problem(
            409,
            "already-appealed",
            "Already appealed",
            "You have appealed this decision already.",
            appeal_id=str(earlier),
        )
    appeal = Appeal(
        id=ids.new_id(runtime.settings.realm(realm).code),
        decision_id=decision.id,
        content_owner_id=decision.content_owner_id,
        appellant_id=appellant_id,
        reason=reason,
        state=AppealState.OPEN.value,
        created_at=now,
    )
    session.add(appeal)
    return appeal


async def access_appeal(session: AsyncSession, appeal_id: str, *, for_update: bool = False) -> Appeal:
    an_id = ids.parse_id(appeal_id)
    appeal = await session.get(Appeal, an_id, with_for_update=for_update) if an_id is not None else None
    if appeal is None:
        raise not_found("Appeal")
    return appeal


def appeal_entity(appeal: Appeal, decision: Decision, realm: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {"realm": realm}
    if decision.reviewer_id is not None:
        attrs["decided_by"] = policy.staff_uid(decision.reviewer_id).attr()
    return policy.entity(Uid("Appeal", str(appeal.id)), attrs)


async def do_decide_appeal(
    session: AsyncSession,
    runtime: Runtime,
    engine: PolicyEngine,
    member: StaffMember,
    appeal: Appeal,
    realm: str,
    *,
    reverse: bool,
    explanation: str,
    replacement: DecisionIn | None = None,
) -> Appeal:
    """Uphold or reverse. Reversing the affected user's appeal undoes the decision and is itself a decision
    with a statement; reversing a reporter's appeal records `replacement`, the new decision on the content."""
    text = clean_text("explanation", explanation, max_len=MAX_REASON, allow_empty=False)
    if appeal.state != AppealState.OPEN.value:
        raise Problem(409, "appeal-decided", "Already decided", f"This appeal was {appeal.state}.")
    decision = await session.get(Decision, appeal.decision_id, with_for_update=True)
    assert decision is not None  # the foreign key cascades
    by_reporter = appeal.report_id is not None
    spec: DecisionSpec | None = None
    if by_reporter and reverse:
        if replacement is None:
            raise invalid(
                "decision", "a reporter's successful appeal needs the decision that replaces no action"
            )
        spec = check_decision(runtime, ContentType(decision.content_type), replacement)
        if spec.action is Action.NO_ACTION:
            raise invalid(
                "decision.action", "to reverse “no action”, restrict the content; or uphold the appeal"
            )
    elif replacement is not None:
        raise invalid("decision", "only a reporter's appeal that is reversed takes a new decision")
    verdict = decide_as_staff(
        engine,
        member,
        action=DECIDE_APPEAL,
        resource=Uid("Appeal", str(appeal.id)),
        context={},
        entities=[appeal_entity(appeal, decision, realm)],
        subject_realm=realm,
    )
    if not verdict.decision.allowed:
        raise denied("deciding this appeal", verdict.decision)
    if decision.reviewer_id == member.user_id:  # the policy forbids it; this guards the policy files
        raise denied("deciding this appeal", verdict.decision)
    now = datetime.now(UTC)
    actor = verdict.actor(member.user_id)
    appeal.decided_at, appeal.decided_by, appeal.explanation = now, member.user_id, text
    if spec is not None:  # a reporter's appeal succeeded: the content gets the fresh decision
        fresh = await do_record_decision(
            session,
            runtime,
            ContentRef(ContentType(decision.content_type), decision.content_id, realm),
            spec,
            actor=actor,
            reviewer_id=member.user_id,
            source_type=Source(decision.source_type),
            automated_detection=False,
            case=None,
            close_case=False,
            log_details={
                "appeal": str(appeal.id),
                "replaces": str(decision.id),
                "policies": verdict.decision.reasons,
                "policy_hash": engine.policy_hash,
            },
        )
        appeal.state, appeal.result_decision_id = AppealState.REVERSED.value, fresh.id
    elif reverse:
        await undo_decision(session, decision)
        ref = ContentRef(ContentType(decision.content_type), decision.content_id, realm)
        case: Case | None = None
        if Action(decision.action) is Action.HOLD:
            case = await open_case_of(session, decision.content_type, decision.content_id)
        reversal = await do_record_decision(
            session,
            runtime,
            ref,
            DecisionSpec(
                action=Action.NO_ACTION,
                category=Category(decision.category),
                ground=Ground(decision.ground),
                facts=f"Reversed on appeal: {text}",
            ),
            actor=actor,
            reviewer_id=member.user_id,
            source_type=Source(decision.source_type),
            automated_detection=False,
            case=case if case is not None and case.state == CaseState.OPEN.value else None,
            close_case=True,
            reverses_id=decision.id,
            log_details={"policies": verdict.decision.reasons, "policy_hash": engine.policy_hash},
        )
        appeal.state, appeal.result_decision_id = AppealState.REVERSED.value, reversal.id
    else:
        appeal.state = AppealState.UPHELD.value
        if not by_reporter:  # the outcome of the creator's appeal (a reversal is notified as a decision)
            await notify_owner(session, decision)
    await record_event(
        session,
        realm=realm,
        event_type=APPEAL_DECISION,
        actor=actor,
        subject=pseudonym(runtime.settings.secret_key, realm, appeal.content_owner_id),
        details=decision_details(
            engine,
            verdict.decision,
            action=DECIDE_APPEAL,
            appeal=str(appeal.id),
            contested=str(decision.id),
            outcome=appeal.state,
            by_reporter=by_reporter,
            automated=False,
        ),
    )
    return appeal


async def open_appeals(session: AsyncSession, *, limit: int = 100) -> list[Appeal]:
    return list(
        await session.scalars(
            select(Appeal)
            .where(Appeal.state == AppealState.OPEN.value)
            .order_by(Appeal.created_at)
            .limit(limit)
        )
    )
