"""Reviewing content: the queue, a case or an appeal as a reviewer reads it (each read decided by Cedar and
logged before anything protected is read), deciding them, and who may read a statement of reasons.

Framework-free: the review API (reelm.web.routes.review_api) and the reviewer console
(reelm.web.routes.review_pages) both call it; each call owns its transaction, in the realm of the content
concerned (ids carry their realm).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.models import User
from reelm.accounts.viewer import Viewer
from reelm.crypto.keys import RealmKeys
from reelm.errors import not_found
from reelm.messages.models import Message
from reelm.messages.reading import message_text
from reelm.moderation import appeals, decisions, lists, rules, statements
from reelm.moderation.models import (
    REVIEWER_ACTIONS,
    Action,
    Case,
    CaseState,
    ContentRule,
    ContentType,
    Decision,
    Report,
    Source,
)
from reelm.moderation.schemas import (
    AppealDecisionIn,
    AppealOut,
    CaseOut,
    CaseSummary,
    DecisionIn,
    DecisionOut,
    ReportView,
)
from reelm.moderation.service import (
    REVIEW_CONTENT,
    ContentRef,
    access_queue,
    decide_on_queue,
    log_review_read,
)
from reelm.runtime import Runtime
from reelm.social.models import Comment
from reelm.staff.policy import PolicyEngine
from reelm.staff.service import (
    StaffMember,
    denied,
    staff_member,
)
from reelm.videos.models import Video

QUEUE_PAGE = 100


def realm_of_id(runtime: Runtime, value: str, what: str) -> tuple[str, int]:
    an_id = ids.parse_id(value)
    realm = runtime.settings.realm_of_id(an_id) if an_id is not None else None
    if an_id is None or realm is None or realm not in runtime.databases.realm_urls:
        raise not_found(what)
    return realm, an_id


def case_summary(case: Case, realm: str) -> CaseSummary:
    return CaseSummary(
        id=str(case.id),
        realm=realm,
        content_type=case.content_type,
        content_id=str(case.content_id),
        category=case.category,
        priority=case.priority,
        trusted=case.trusted,
        automated=case.automated,
        report_count=case.report_count,
        opened_at=case.opened_at,
    )


async def reviewer_of(
    runtime: Runtime, engine: PolicyEngine, viewer: Viewer, realm: str
) -> StaffMember | None:
    """The viewer as a staff member allowed to review the realm's content, else None."""
    if viewer.user is None:
        return None
    member = await staff_member(runtime, viewer.user.id)
    if member is None or not decide_on_queue(engine, member, REVIEW_CONTENT, realm).decision.allowed:
        return None
    return member


async def access_statement(
    session: AsyncSession, runtime: Runtime, engine: PolicyEngine, viewer: Viewer, decision_id: str
) -> tuple[Decision, str, bool]:
    """The decision if the viewer may read its statement: the affected user (when the law allows telling
    them) or a reviewer of the realm. Returns (decision, realm, viewer is the affected user)."""
    realm, _ = realm_of_id(runtime, decision_id, "Decision")
    decision = await statements.access_decision(session, decision_id)
    mine = viewer.user_id == decision.content_owner_id and viewer.realm == realm
    if mine and await statements.may_tell_user(session, decision):
        return decision, realm, True
    if await reviewer_of(runtime, engine, viewer, realm) is not None:
        return decision, realm, False
    raise not_found("Decision")


async def queue(session: AsyncSession, realm: str, limit: int = QUEUE_PAGE) -> list[CaseSummary]:
    rows = await session.scalars(
        select(Case)
        .where(Case.state == CaseState.OPEN.value)
        .order_by(Case.priority.desc(), Case.opened_at, Case.id)
        .limit(limit)
    )
    return [case_summary(c, realm) for c in rows]


async def content_view(
    session: AsyncSession, keys: RealmKeys, content_type: str, content_id: int, owner_id: int, realm: str
) -> dict[str, Any]:
    """What the reviewer needs to see of the content; public fields, and media through /review/media."""
    kind = ContentType(content_type)
    owner = await session.get(User, owner_id)
    view: dict[str, Any] = {"type": kind.value, "id": str(content_id)}
    view["owner_handle"] = owner.handle if owner else None
    if kind is ContentType.VIDEO:
        video = await session.get(Video, content_id)
        if video is not None:
            base = f"/review/media/{realm}/{video.id}"
            view |= {
                "caption": video.caption,
                "status": video.status,
                "created_at": video.created_at.isoformat(timespec="seconds"),
                "poster_url": f"{base}/poster.jpg" if video.poster_key else None,
                "video_url": f"{base}/video.mp4" if video.renditions else None,
                "label": video.mod_label,
                "age_restricted": video.age_restricted,
                "demoted": video.demoted,
                "restricted_realms": list(video.restricted_realms),
            }
    elif kind is ContentType.COMMENT:
        comment = await session.get(Comment, content_id)
        if comment is not None:
            view |= {
                "body": comment.body,
                "video_id": str(comment.video_id),
                "state": comment.mod_state,
                "label": comment.mod_label,
                "created_at": comment.created_at.isoformat(timespec="seconds"),
            }
    elif kind is ContentType.ACCOUNT:
        if owner is not None:
            view |= {"display_name": owner.display_name, "bio": owner.bio}
    else:
        message = await session.get(Message, content_id)
        if message is not None:
            view |= {
                "created_at": message.created_at.isoformat(timespec="seconds"),
                "body": await message_text(session, keys, message),
                "video_id": str(message.video_id) if message.video_id is not None else None,
                "unsent": message.unsent_at is not None,
            }
        view["note"] = (
            "A direct message is private to its conversation: only the reported message is shown, because "
            "someone it was sent to reported it."
        )
    return view


async def policy_view(session: AsyncSession, runtime: Runtime, realm: str) -> dict[str, Any]:
    found = await session.scalars(select(ContentRule).order_by(ContentRule.name))
    return {
        "realm": realm,
        "title": runtime.settings.realm(realm).title,
        "rules": [rules.rule_out(r).model_dump(mode="json") for r in found],
        "hash_lists": await lists.list_summaries(session),
    }


async def case_detail(runtime: Runtime, engine: PolicyEngine, member: StaffMember, case_id: str) -> CaseOut:
    """Decide and log the read, commit, and only then read the case (its reports are protected)."""
    realm, _ = realm_of_id(runtime, case_id, "Case")
    async with runtime.databases.transaction(realm) as session:
        case = await decisions.access_case(session, case_id)
        verdict = await log_review_read(
            runtime, engine, member, session, realm, case.content_owner_id, case=str(case.id)
        )
    if not verdict.decision.allowed:
        raise denied("reviewing this case", verdict.decision)
    async with runtime.databases.read(realm) as session:
        found = await session.scalars(
            select(Report).where(Report.case_id == case.id).order_by(Report.created_at)
        )
        report_views = [
            ReportView(
                id=str(r.id),
                reporter_ref=r.reporter_ref,
                trusted_flagger=r.source == Source.TRUSTED_FLAGGER.value,
                source=r.source,
                category=r.category,
                explanation=r.explanation,
                legal_ground=r.legal_ground,
                created_at=r.created_at,
            )
            for r in found
        ]
        prior = await decisions.prior_decisions(session, case.content_type, case.content_id)
        return CaseOut(
            case=case_summary(case, realm),
            state=case.state,
            content=await content_view(
                session,
                runtime.keys.realm(realm),
                case.content_type,
                case.content_id,
                case.content_owner_id,
                realm,
            ),
            reports=report_views,
            decisions=[decisions.decision_out(d, realm) for d in prior],
            policy=await policy_view(session, runtime, realm),
        )


async def decide_case(
    runtime: Runtime, engine: PolicyEngine, member: StaffMember, case_id: str, body: DecisionIn
) -> DecisionOut:
    realm, _ = realm_of_id(runtime, case_id, "Case")
    async with runtime.databases.transaction(realm) as session:
        case = await decisions.access_case(session, case_id)
        verdict = access_queue(engine, member, REVIEW_CONTENT, realm)
        decisions.check_case_open(case)
        kind = ContentType(case.content_type)
        spec = decisions.check_decision(runtime, kind, body)
        automated_detection = bool(case.automated)
        decision = await decisions.do_record_decision(
            session,
            runtime,
            ContentRef(kind, case.content_id, realm),
            spec,
            actor=verdict.actor(member.user_id),
            reviewer_id=member.user_id,
            source_type=await _case_source(session, case),
            automated_detection=automated_detection,
            case=case,
            close_case=True,
            log_details={"policies": verdict.decision.reasons, "policy_hash": engine.policy_hash},
        )
    return decisions.decision_out(decision, realm)


async def _case_source(session: AsyncSession, case: Case) -> Source:
    """The case's source for the statement: a trusted flagger, a notice, else our own initiative."""
    found = set(await session.scalars(select(Report.source).where(Report.case_id == case.id)))
    for source in (Source.TRUSTED_FLAGGER, Source.NOTICE, Source.OTHER_NOTIFICATION):
        if source.value in found:
            return source
    return Source.VOLUNTARY


async def decide_appeal(
    runtime: Runtime, engine: PolicyEngine, member: StaffMember, appeal_id: str, body: AppealDecisionIn
) -> AppealOut:
    realm, _ = realm_of_id(runtime, appeal_id, "Appeal")
    async with runtime.databases.transaction(realm) as session:
        appeal = await appeals.access_appeal(session, appeal_id, for_update=True)
        await appeals.do_decide_appeal(
            session,
            runtime,
            engine,
            member,
            appeal,
            realm,
            reverse=body.outcome == "reversed",
            explanation=body.explanation,
            replacement=body.decision,
        )
    return appeals.appeal_out(appeal, realm)


def reviewable_realms(runtime: Runtime, engine: PolicyEngine, member: StaffMember) -> list[str]:
    return [
        r
        for r in runtime.settings.realm_names
        if decide_on_queue(engine, member, REVIEW_CONTENT, r).decision.allowed
    ]


async def appeal_detail(
    runtime: Runtime, engine: PolicyEngine, member: StaffMember, appeal_id: str
) -> dict[str, Any]:
    """Decide and log the read, commit, and only then read the appeal (protected: a complaint about a
    decision on a person's content), with the contested decision and the content."""
    realm, _ = realm_of_id(runtime, appeal_id, "Appeal")
    async with runtime.databases.transaction(realm) as session:
        appeal = await appeals.access_appeal(session, appeal_id)
        verdict = await log_review_read(
            runtime, engine, member, session, realm, appeal.content_owner_id, appeal=str(appeal.id)
        )
    if not verdict.decision.allowed:
        raise denied("reviewing this appeal", verdict.decision)
    async with runtime.databases.read(realm) as session:
        appeal = await appeals.access_appeal(session, appeal_id)
        decision = await session.get(Decision, appeal.decision_id)
        assert decision is not None  # the foreign key cascades
        report = await session.get(Report, appeal.report_id) if appeal.report_id is not None else None
        content = await content_view(
            session,
            runtime.keys.realm(realm),
            decision.content_type,
            decision.content_id,
            decision.content_owner_id,
            realm,
        )
    kind = ContentType(decision.content_type)
    return {
        "realm": realm,
        "appeal": appeals.appeal_out(appeal, realm).model_dump(mode="json"),
        "decision": decisions.decision_out(decision, realm).model_dump(mode="json"),
        "report": {"category": report.category, "explanation": report.explanation} if report else None,
        "content": content,
        # The policy forbids deciding an appeal against one's own decision; the form says so up front.
        "own_decision": decision.reviewer_id == member.user_id,
        "actions": [
            a.value for a, kinds in REVIEWER_ACTIONS.items() if kind in kinds and a is not Action.NO_ACTION
        ],
    }
