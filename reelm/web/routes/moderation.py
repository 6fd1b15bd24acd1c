"""Content review over HTTP: reports and receipts, statements and appeals for users; queues, cases,
decisions, appeals, legal orders, rules and trusted flaggers for staff (Cedar-gated); transparency reports
for everyone. Pages: /review (reviewer console), /statements/{id}, /transparency/{realm}.

Each route owns its transaction, in the realm of the content concerned (ids carry their realm).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.models import User
from reelm.accounts.service import resolve_handle
from reelm.accounts.viewer import Viewer
from reelm.audit.service import STAFF_ACCESS, pseudonym, record_event
from reelm.crypto.keys import RealmKeys
from reelm.errors import Problem, not_found
from reelm.messages.models import Message
from reelm.messages.reading import message_text
from reelm.moderation import appeals, decisions, legal_orders, lists, reports, rules, statements
from reelm.moderation.models import (
    REVIEWER_ACTIONS,
    Action,
    Case,
    CaseState,
    Category,
    ContentRule,
    ContentType,
    Decision,
    Ground,
    Report,
    Source,
    TrustedFlagger,
)
from reelm.moderation.schemas import (
    AppealDecisionIn,
    AppealIn,
    AppealList,
    AppealOut,
    CaseOut,
    CaseSummary,
    DecisionIn,
    DecisionOut,
    LegalOrderIn,
    LegalOrderList,
    LegalOrderOut,
    QueueOut,
    ReportIn,
    ReportList,
    ReportReceipt,
    ReportView,
    RuleIn,
    RuleList,
    RuleOut,
    StatementOut,
    TrustedFlaggerIn,
    TrustedFlaggerOut,
)
from reelm.moderation.service import (
    MANAGE_MODERATION,
    MODERATION_CONFIG,
    RECORD_LEGAL_ORDER,
    REVIEW_CONTENT,
    ContentRef,
    access_case_read,
    access_queue,
    check_category,
    check_realm,
    content_ref,
    decide_on_queue,
)
from reelm.moderation.transparency_report import bars, build_report, check_period, period_bounds, to_csv
from reelm.runtime import Runtime
from reelm.security import check_csrf
from reelm.social.models import Comment
from reelm.staff import policy
from reelm.staff.policy import PolicyEngine, default_engine
from reelm.staff.service import (
    StaffMember,
    access_realm_read,
    access_staff,
    decision_details,
    denied,
    staff_member,
)
from reelm.storage import ObjectMissingError
from reelm.text import invalid
from reelm.videos.models import Video
from reelm.web.deps import (
    CSRF_COOKIE,
    AppellantViewer,
    AppellantViewerDep,
    Limiter,
    RuntimeDep,
    UserViewer,
    ViewerDep,
)
from reelm.web.rendering import error_page, render
from reelm.web.routes.staff import PolicyDep, StaffDep

api = APIRouter(tags=["moderation"])
pages = APIRouter(include_in_schema=False)

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


# --- reports (anyone logged in) --------------------------------------------------------------------------


@api.post("/reports", status_code=201, response_model=ReportReceipt)
async def file_report(
    runtime: RuntimeDep, viewer: UserViewer, limiter: Limiter, body: ReportIn
) -> ReportReceipt:
    """Report a video, comment, account or message (the last by its recipient); returns the receipt."""
    limiter.hit("report", str(viewer.user.id), limit=reports.REPORTS_PER_HOUR, per_seconds=3600)
    category = check_category(body.category)
    explanation = reports.check_explanation(body.explanation)
    legal_ground = reports.check_legal_ground(body.legal_ground)
    ref = content_ref(runtime, body.content_type, body.content_id)
    async with runtime.databases.transaction(ref.realm) as session:
        report = await reports.do_file_report(
            session,
            runtime,
            ref,
            reporter_id=viewer.user.id,
            reporter_realm=viewer.realm,
            category=category,
            explanation=explanation,
            legal_ground=legal_ground,
        )
    return reports.receipt(report, ref.realm)


@api.get("/reports", response_model=ReportList)
async def my_reports(runtime: RuntimeDep, viewer: UserViewer) -> ReportList:
    return ReportList(items=await reports.my_reports(runtime, viewer.user.id))


@api.get("/reports/{report_id}", response_model=ReportReceipt)
async def get_report(runtime: RuntimeDep, viewer: UserViewer, report_id: str) -> ReportReceipt:
    """The receipt of one's own report, with the outcome once decided."""
    realm, an_id = realm_of_id(runtime, report_id, "Report")
    async with runtime.databases.sessionmaker(realm)() as session:
        report = await reports.access_own_report(session, an_id, viewer.user.id)
        appeals = await reports.appeals_of(session, [report.id])
    return reports.receipt(report, realm, appeals.get(report.id))


@api.post("/reports/{report_id}/appeals", status_code=201, response_model=AppealOut)
async def file_reporter_appeal(
    runtime: RuntimeDep, viewer: UserViewer, report_id: str, body: AppealIn
) -> AppealOut:
    """Appeal the "no action" outcome of one's own report within six months (DSA Art. 20)."""
    realm, an_id = realm_of_id(runtime, report_id, "Report")
    async with runtime.databases.transaction(realm) as session:
        report = await reports.access_own_report(session, an_id, viewer.user.id)
        appeal = await appeals.do_file_reporter_appeal(
            session, runtime, report, realm, appellant_id=viewer.user.id, reason=body.reason
        )
    return appeals.appeal_out(appeal, realm)


# --- statements and appeals (the affected user) ------------------------------------------------------------


async def _reviewer_of(
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
    if await _reviewer_of(runtime, engine, viewer, realm) is not None:
        return decision, realm, False
    raise not_found("Decision")


@api.get("/moderation/decisions/{decision_id}/statement", response_model=StatementOut)
async def get_statement(
    runtime: RuntimeDep, engine: PolicyDep, viewer: AppellantViewer, decision_id: str
) -> StatementOut:
    """The statement of reasons (DSA Art. 17) for the person the decision concerns."""
    realm, _ = realm_of_id(runtime, decision_id, "Decision")
    async with runtime.databases.sessionmaker(realm)() as session:
        decision, realm, _ = await access_statement(session, runtime, engine, viewer, decision_id)
        return await statements.statement_of(session, runtime, decision, realm)


@api.post("/moderation/decisions/{decision_id}/appeals", status_code=201, response_model=AppealOut)
async def file_appeal(
    runtime: RuntimeDep, viewer: AppellantViewer, decision_id: str, body: AppealIn
) -> AppealOut:
    """Appeal a decision about one's own content within six months."""
    realm, _ = realm_of_id(runtime, decision_id, "Decision")
    async with runtime.databases.transaction(realm) as session:
        decision = await statements.access_decision(session, decision_id)
        if viewer.realm != realm or not await statements.may_tell_user(session, decision):
            raise not_found("Decision")
        appeal = await appeals.do_file_appeal(
            session, runtime, decision, realm, appellant_id=viewer.user.id, reason=body.reason
        )
    return appeals.appeal_out(appeal, realm)


@api.get("/moderation/appeals/{appeal_id}", response_model=AppealOut)
async def get_appeal(
    runtime: RuntimeDep, engine: PolicyDep, viewer: AppellantViewer, appeal_id: str
) -> AppealOut:
    realm, _ = realm_of_id(runtime, appeal_id, "Appeal")
    async with runtime.databases.sessionmaker(realm)() as session:
        appeal = await appeals.access_appeal(session, appeal_id)
    if appeal.appellant_id != viewer.user_id and await _reviewer_of(runtime, engine, viewer, realm) is None:
        raise not_found("Appeal")
    return appeals.appeal_out(appeal, realm)


# --- the review queue and cases (reviewers) ---------------------------------------------------------------


async def queue(session: AsyncSession, realm: str, limit: int = QUEUE_PAGE) -> list[CaseSummary]:
    rows = await session.scalars(
        select(Case)
        .where(Case.state == CaseState.OPEN.value)
        .order_by(Case.priority.desc(), Case.opened_at, Case.id)
        .limit(limit)
    )
    return [case_summary(c, realm) for c in rows]


@api.get("/moderation/realms/{realm}/queue", response_model=QueueOut)
async def get_queue(runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: str) -> QueueOut:
    """Open cases of the realm, trusted flaggers' and urgent ones first, then oldest first."""
    realm = check_realm(runtime, realm)
    access_queue(engine, staff, REVIEW_CONTENT, realm)
    async with runtime.databases.sessionmaker(realm)() as session:
        return QueueOut(realm=realm, items=await queue(session, realm))


async def _content_view(
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


async def _policy_view(session: AsyncSession, runtime: Runtime, realm: str) -> dict[str, Any]:
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
        verdict = await access_case_read(runtime, engine, member, session, case, realm)
    if not verdict.decision.allowed:
        raise denied("reviewing this case", verdict.decision)
    async with runtime.databases.sessionmaker(realm)() as session:
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
            content=await _content_view(
                session,
                runtime.keys.realm(realm),
                case.content_type,
                case.content_id,
                case.content_owner_id,
                realm,
            ),
            reports=report_views,
            decisions=[decisions.decision_out(d, realm) for d in prior],
            policy=await _policy_view(session, runtime, realm),
        )


@api.get("/moderation/cases/{case_id}", response_model=CaseOut)
async def get_case(runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, case_id: str) -> CaseOut:
    """A case for review: the content, its reports (reporters as pseudonyms), prior decisions, the policy."""
    return await case_detail(runtime, engine, staff, case_id)


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


def forget_sessions_after(request: Request, action: str) -> None:
    """After a suspension, this process's cached sessions must not outlive it (other processes drop theirs
    within reelm.web.deps.SESSION_CACHE_TTL_S, as after a log-out). Suspensions are rare: the cache goes."""
    if action == Action.SUSPEND.value:
        request.app.state.session_cache.clear()


@api.post("/moderation/cases/{case_id}/decision", status_code=201, response_model=DecisionOut)
async def post_decision(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, request: Request, case_id: str, body: DecisionIn
) -> DecisionOut:
    """Decide a case: no action, label, age-restrict, demote, restrict in some realms, remove, suspend."""
    decision = await decide_case(runtime, engine, staff, case_id, body)
    forget_sessions_after(request, decision.action)
    return decision


@api.get("/moderation/realms/{realm}/appeals", response_model=AppealList)
async def get_open_appeals(runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: str) -> AppealList:
    realm = check_realm(runtime, realm)
    access_queue(engine, staff, REVIEW_CONTENT, realm)
    async with runtime.databases.sessionmaker(realm)() as session:
        items = [appeals.appeal_out(a, realm) for a in await appeals.open_appeals(session)]
    return AppealList(realm=realm, items=items)


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


@api.post("/moderation/appeals/{appeal_id}/decision", response_model=AppealOut)
async def post_appeal_decision(
    runtime: RuntimeDep,
    engine: PolicyDep,
    staff: StaffDep,
    request: Request,
    appeal_id: str,
    body: AppealDecisionIn,
) -> AppealOut:
    """Uphold or reverse an appeal; only a reviewer other than the one who decided may. Reversing a
    reporter's appeal takes `decision`, the new decision on the content."""
    appeal = await decide_appeal(runtime, engine, staff, appeal_id, body)
    if body.decision is not None:
        forget_sessions_after(request, body.decision.action)
    return appeal


# --- legal orders, rules, trusted flaggers, lists (operators) ----------------------------------------------


@api.post("/moderation/realms/{realm}/legal-orders", status_code=201, response_model=LegalOrderOut)
async def post_legal_order(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, request: Request, realm: str, body: LegalOrderIn
) -> LegalOrderOut:
    """Record an authority's order and apply it to its targets, all in this realm."""
    realm = check_realm(runtime, realm)
    verdict = access_queue(engine, staff, RECORD_LEGAL_ORDER, realm)
    async with runtime.databases.transaction(realm) as session:
        order, decision_ids = await legal_orders.do_record_legal_order(
            session, runtime, verdict, staff.user_id, realm, body
        )
    forget_sessions_after(request, body.action)
    return legal_orders.legal_order_out(order, realm, decision_ids)


@api.get("/moderation/realms/{realm}/legal-orders", response_model=LegalOrderList)
async def get_legal_orders(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: str
) -> LegalOrderList:
    realm = check_realm(runtime, realm)
    access_queue(engine, staff, RECORD_LEGAL_ORDER, realm)
    async with runtime.databases.sessionmaker(realm)() as session:
        return LegalOrderList(realm=realm, items=await legal_orders.list_orders(session, realm))


@api.post("/moderation/realms/{realm}/rules", status_code=201, response_model=RuleOut)
async def post_rule(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: str, body: RuleIn
) -> RuleOut:
    """Add a caption or comment rule (a term or pattern that holds or labels what matches)."""
    realm = check_realm(runtime, realm)
    verdict = access_queue(engine, staff, MANAGE_MODERATION, realm)
    async with runtime.databases.transaction(realm) as session:
        rule = await rules.do_create_rule(session, runtime, realm, body, verdict.actor(staff.user_id))
    return rules.rule_out(rule)


@api.get("/moderation/realms/{realm}/rules", response_model=RuleList)
async def get_rules(runtime: RuntimeDep, realm: str) -> RuleList:
    """A realm's rules are its published policy: anyone may read them."""
    realm = check_realm(runtime, realm)
    async with runtime.databases.sessionmaker(realm)() as session:
        found = await session.scalars(select(ContentRule).order_by(ContentRule.name))
        return RuleList(realm=realm, items=[rules.rule_out(r) for r in found])


@api.delete("/moderation/realms/{realm}/rules/{rule_id}", status_code=204)
async def delete_rule(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: str, rule_id: str
) -> Response:
    realm = check_realm(runtime, realm)
    verdict = access_queue(engine, staff, MANAGE_MODERATION, realm)
    async with runtime.databases.transaction(realm) as session:
        await rules.do_delete_rule(session, realm, rule_id, verdict.actor(staff.user_id))
    return Response(status_code=204)


@api.put("/moderation/realms/{realm}/trusted-flaggers/{handle}", response_model=TrustedFlaggerOut)
async def put_trusted_flagger(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: str, handle: str, body: TrustedFlaggerIn
) -> TrustedFlaggerOut:
    """Name an account a trusted flagger of this realm (its reports are reviewed first)."""
    realm = check_realm(runtime, realm)
    verdict = access_queue(engine, staff, MANAGE_MODERATION, realm)
    entry = await resolve_handle(runtime, handle)
    if entry is None:
        raise not_found("User")
    name = body.name.strip()
    if not name:
        raise invalid("name", "must not be empty")
    async with runtime.databases.transaction(realm) as session:
        flagger = await session.get(TrustedFlagger, entry.user_id, with_for_update=True)
        if flagger is None:
            flagger = TrustedFlagger(user_id=entry.user_id)
            session.add(flagger)
        flagger.name = name
        flagger.granted_by = f"staff:{staff.user_id}"
        flagger.granted_at = datetime.now(UTC)
        await record_event(
            session,
            realm=realm,
            event_type=MODERATION_CONFIG,
            actor=verdict.actor(staff.user_id),
            details={"change": "trusted-flagger-named", "flagger": name},
        )
    return TrustedFlaggerOut(
        user_id=str(entry.user_id), handle=entry.handle, name=name, granted_at=flagger.granted_at
    )


@api.delete("/moderation/realms/{realm}/trusted-flaggers/{handle}", status_code=204)
async def delete_trusted_flagger(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: str, handle: str
) -> Response:
    realm = check_realm(runtime, realm)
    verdict = access_queue(engine, staff, MANAGE_MODERATION, realm)
    entry = await resolve_handle(runtime, handle)
    if entry is None:
        raise not_found("User")
    async with runtime.databases.transaction(realm) as session:
        removed = await session.execute(
            delete(TrustedFlagger)
            .where(TrustedFlagger.user_id == entry.user_id)
            .returning(TrustedFlagger.name)
        )
        name = removed.scalar()
        if name is None:
            raise not_found("Trusted flagger")
        await record_event(
            session,
            realm=realm,
            event_type=MODERATION_CONFIG,
            actor=verdict.actor(staff.user_id),
            details={"change": "trusted-flagger-removed", "flagger": name},
        )
    return Response(status_code=204)


@api.get("/moderation/realms/{realm}/hash-lists")
async def get_hash_lists(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: str
) -> dict[str, Any]:
    realm = check_realm(runtime, realm)
    access_queue(engine, staff, MANAGE_MODERATION, realm)
    async with runtime.databases.sessionmaker(realm)() as session:
        return {"realm": realm, "items": await lists.list_summaries(session)}


# --- exports and transparency reports -----------------------------------------------------------------------


Period = Annotated[date | None, Query(alias="from")]
PeriodEnd = Annotated[date | None, Query(alias="to")]


@api.get("/moderation/realms/{realm}/transparency-db")
async def get_transparency_db(
    runtime: RuntimeDep,
    engine: PolicyDep,
    staff: StaffDep,
    realm: str,
    start: Period = None,
    end: PeriodEnd = None,
) -> dict[str, Any]:
    """Statements of reasons in the DSA Transparency Database's schema, without personal data."""
    realm = check_realm(runtime, realm)
    access_realm_read(engine, staff, action=policy.READ_AGGREGATES, realm=realm)
    first, last = check_period(start, end)
    lo, hi = period_bounds(first, last)
    async with runtime.databases.sessionmaker(realm)() as session:
        records = await statements.transparency_db_export(session, runtime, realm, lo, hi)
    return {"statements": records}


@api.get("/moderation/realms/{realm}/transparency-report")
async def get_transparency_report(
    runtime: RuntimeDep,
    realm: str,
    start: Period = None,
    end: PeriodEnd = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response:
    """A realm's transparency report for a period (default: the last 30 days), as JSON or CSV."""
    realm = check_realm(runtime, realm)
    first, last = check_period(start, end)
    async with runtime.databases.sessionmaker(realm)() as session:
        report = await build_report(session, realm, first, last)
    if format == "csv":
        name = f"reelm-transparency-{realm}-{first}-{last}.csv"
        return Response(
            to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return JSONResponse(report.as_json())


# --- pages ------------------------------------------------------------------------------------------------


async def _page_staff(request: Request, runtime: Runtime, viewer: Viewer) -> StaffMember | Response:
    if viewer.user is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    try:
        return await access_staff(runtime, viewer.user.id)
    except Problem as problem:
        return error_page(request, viewer, problem)


def _reviewable_realms(runtime: Runtime, engine: PolicyEngine, member: StaffMember) -> list[str]:
    return [
        r
        for r in runtime.settings.realm_names
        if decide_on_queue(engine, member, REVIEW_CONTENT, r).decision.allowed
    ]


@pages.get("/review")
async def review_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    realm: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    member = await _page_staff(request, runtime, viewer)
    if isinstance(member, Response):
        return member
    engine = default_engine()
    realms = _reviewable_realms(runtime, engine, member)
    if not realms:
        return error_page(
            request,
            viewer,
            denied(
                "reviewing content", decide_on_queue(engine, member, REVIEW_CONTENT, viewer.realm).decision
            ),
        )
    chosen = realm if realm in realms else realms[0]
    async with runtime.databases.sessionmaker(chosen)() as session:
        cases = await queue(session, chosen)
        waiting = [appeals.appeal_out(a, chosen) for a in await appeals.open_appeals(session)]
    return render(
        request,
        viewer,
        "review.html",
        realms=realms,
        chosen=chosen,
        cases=[c.model_dump(mode="json") for c in cases],
        appeals=[a.model_dump(mode="json", exclude={"reason"}) for a in waiting],
        categories={c.value: c.label for c in Category},
    )


def _check_form_csrf(request: Request, runtime: Runtime, token: str) -> None:
    if not check_csrf(runtime.settings.secret_key, request.cookies.get(CSRF_COOKIE), token):
        raise Problem(403, "csrf", "CSRF check failed", "Reload the page and try again.")


async def _case_page(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    member: StaffMember,
    case_id: str,
    *,
    problem: Problem | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    try:
        detail = await case_detail(runtime, default_engine(), member, case_id)
    except Problem as exc:
        return error_page(request, viewer, exc)
    kind = ContentType(detail.case.content_type)
    return render(
        request,
        viewer,
        "review_case.html",
        problem.status if problem else 200,
        detail=detail.model_dump(mode="json"),
        actions=[a.value for a, kinds in REVIEWER_ACTIONS.items() if kind in kinds],
        categories={c.value: c.label for c in Category},
        grounds=[g.value for g in Ground],
        realm_names=runtime.settings.realm_names,
        error=problem.detail if problem else None,
        values=values or {},
    )


@pages.get("/review/cases/{case_id}")
async def review_case_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, case_id: str
) -> Response:
    member = await _page_staff(request, runtime, viewer)
    if isinstance(member, Response):
        return member
    return await _case_page(request, runtime, viewer, member, case_id)


class _DecisionFields(BaseModel):
    """The decision fields of the reviewer console's forms, as posted: empty fields are absent, days are
    typed as text. Echoed back into the form when the decision is refused."""

    category: str = Field("", max_length=80)
    ground: str = Field("", max_length=40)
    facts: str = Field("", max_length=6000)
    action: str = Field("", max_length=16)
    legal_ground: str = Field("", max_length=1000)
    terms_ground: str = Field("", max_length=1000)
    label: str = Field("", max_length=200)
    restricted_realms: list[str] = Field(default_factory=list)
    suspend_days: str = Field("", max_length=5)
    csrf_token: str = Field("", max_length=100)

    def values(self) -> dict[str, Any]:
        return self.model_dump(exclude={"restricted_realms", "suspend_days", "csrf_token"})

    def decision(self) -> DecisionIn:
        days = self.suspend_days.strip()
        if days and not days.isdigit():
            raise invalid("suspend_days", "a whole number of days")
        return DecisionIn(
            action=self.action,
            category=self.category,
            ground=self.ground,
            facts=self.facts,
            legal_ground=self.legal_ground or None,
            terms_ground=self.terms_ground or None,
            label=self.label or None,
            restricted_realms=self.restricted_realms,
            suspend_days=int(days) if days else None,
        )


class CaseDecisionForm(_DecisionFields):
    action: str = Field(max_length=16)
    category: str = Field(max_length=80)
    ground: str = Field(max_length=40)
    facts: str = Field(max_length=6000)


class AppealDecisionForm(_DecisionFields):
    """An appeal's outcome, with the new decision when a reporter's appeal reverses one."""

    outcome: str = Field(max_length=10)
    explanation: str = Field("", max_length=4000)


@pages.post("/review/cases/{case_id}")
async def review_case_decide(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    case_id: str,
    form: Annotated[CaseDecisionForm, Form()],
) -> Response:
    member = await _page_staff(request, runtime, viewer)
    if isinstance(member, Response):
        return member
    values = form.values()
    try:
        _check_form_csrf(request, runtime, form.csrf_token)
        decision = await decide_case(runtime, default_engine(), member, case_id, form.decision())
        forget_sessions_after(request, decision.action)
    except Problem as problem:
        return await _case_page(request, runtime, viewer, member, case_id, problem=problem, values=values)
    except ValueError as exc:  # pydantic's bounds (e.g. suspend_days) on the form's values
        bad = invalid("form", str(exc).splitlines()[0])
        return await _case_page(request, runtime, viewer, member, case_id, problem=bad, values=values)
    return RedirectResponse(f"/statements/{decision.id}", status_code=303)


async def appeal_detail(
    runtime: Runtime, engine: PolicyEngine, member: StaffMember, appeal_id: str
) -> dict[str, Any]:
    """Decide and log the read, commit, and only then read the appeal (protected: a complaint about a
    decision on a person's content), with the contested decision and the content."""
    realm, _ = realm_of_id(runtime, appeal_id, "Appeal")
    async with runtime.databases.transaction(realm) as session:
        appeal = await appeals.access_appeal(session, appeal_id)
        verdict = decide_on_queue(engine, member, REVIEW_CONTENT, realm)
        await record_event(
            session,
            realm=realm,
            event_type=STAFF_ACCESS,
            actor=verdict.actor(member.user_id),
            subject=pseudonym(runtime.settings.secret_key, realm, appeal.content_owner_id),
            details=decision_details(engine, verdict.decision, action=REVIEW_CONTENT, appeal=str(appeal.id)),
        )
    if not verdict.decision.allowed:
        raise denied("reviewing this appeal", verdict.decision)
    async with runtime.databases.sessionmaker(realm)() as session:
        appeal = await appeals.access_appeal(session, appeal_id)
        decision = await session.get(Decision, appeal.decision_id)
        assert decision is not None  # the foreign key cascades
        report = await session.get(Report, appeal.report_id) if appeal.report_id is not None else None
        content = await _content_view(
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


async def _appeal_page(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    member: StaffMember,
    appeal_id: str,
    *,
    problem: Problem | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    try:
        detail = await appeal_detail(runtime, default_engine(), member, appeal_id)
    except Problem as exc:
        return error_page(request, viewer, exc)
    return render(
        request,
        viewer,
        "review_appeal.html",
        problem.status if problem else 200,
        **detail,
        categories={c.value: c.label for c in Category},
        grounds=[g.value for g in Ground],
        realm_names=runtime.settings.realm_names,
        error=problem.detail if problem else None,
        values=values or {},
    )


@pages.get("/review/appeals")
async def review_appeals_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    realm: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """Open appeals of a realm, oldest first: who appealed (creator or reporter), when, against what."""
    member = await _page_staff(request, runtime, viewer)
    if isinstance(member, Response):
        return member
    engine = default_engine()
    realms = _reviewable_realms(runtime, engine, member)
    if not realms:
        verdict = decide_on_queue(engine, member, REVIEW_CONTENT, viewer.realm)
        return error_page(request, viewer, denied("reviewing appeals", verdict.decision))
    chosen = realm if realm in realms else realms[0]
    async with runtime.databases.sessionmaker(chosen)() as session:
        waiting = [appeals.appeal_out(a, chosen) for a in await appeals.open_appeals(session)]
    return render(
        request,
        viewer,
        "review_appeals.html",
        realms=realms,
        chosen=chosen,
        # The reasons are protected: they are shown on the appeal's own page, whose read is logged.
        appeals=[a.model_dump(mode="json", exclude={"reason"}) for a in waiting],
    )


@pages.get("/review/appeals/{appeal_id}")
async def review_appeal_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, appeal_id: str
) -> Response:
    member = await _page_staff(request, runtime, viewer)
    if isinstance(member, Response):
        return member
    return await _appeal_page(request, runtime, viewer, member, appeal_id)


@pages.post("/review/appeals/{appeal_id}")
async def review_appeal_decide(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    appeal_id: str,
    form: Annotated[AppealDecisionForm, Form()],
) -> Response:
    """Uphold or reverse an appeal from the reviewer console (a reporter's reversal with the new decision)."""
    member = await _page_staff(request, runtime, viewer)
    if isinstance(member, Response):
        return member
    values = form.values()
    try:
        _check_form_csrf(request, runtime, form.csrf_token)
        # The new decision of a reporter's appeal (the service refuses it on any other).
        replacement = form.decision() if form.action else None
        body = AppealDecisionIn(outcome=form.outcome, explanation=form.explanation, decision=replacement)
        await decide_appeal(runtime, default_engine(), member, appeal_id, body)
        if replacement is not None:
            forget_sessions_after(request, replacement.action)
    except Problem as problem:
        return await _appeal_page(request, runtime, viewer, member, appeal_id, problem=problem, values=values)
    except ValueError as exc:  # pydantic's checks (outcome, suspend_days bounds) on the form's values
        bad = invalid("form", str(exc).splitlines()[0])
        return await _appeal_page(request, runtime, viewer, member, appeal_id, problem=bad, values=values)
    return RedirectResponse(f"/review/appeals/{appeal_id}", status_code=303)


@pages.get("/review/media/{realm}/{video_id}/{name}")
async def review_media(
    runtime: RuntimeDep, viewer: ViewerDep, realm: str, video_id: str, name: str
) -> Response:
    """A video's poster or lowest rendition for reviewers, whatever its state (held ones are not public)."""
    if viewer.user is None:
        raise Problem(401, "login-required", "Log in required", "Log in to do this.")
    realm = check_realm(runtime, realm)
    member = await access_staff(runtime, viewer.user.id)
    access_queue(default_engine(), member, REVIEW_CONTENT, realm)
    an_id = ids.parse_id(video_id)
    if an_id is None or name not in ("poster.jpg", "video.mp4"):
        raise not_found("File")
    async with runtime.databases.sessionmaker(realm)() as session:
        video = await session.get(Video, an_id)
    if video is None:
        raise not_found("File")
    key = (
        video.poster_key
        if name == "poster.jpg"
        else (video.renditions[0].mp4_key if video.renditions else None)
    )
    if key is None:
        raise not_found("File")
    try:
        data = await runtime.storage.realm(realm).read(key)
    except ObjectMissingError:
        raise not_found("File") from None
    media_type = "image/jpeg" if name == "poster.jpg" else "video/mp4"
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, no-store"})


@pages.get("/statements/{decision_id}")
async def statement_page(
    request: Request, runtime: RuntimeDep, viewer: AppellantViewerDep, decision_id: str
) -> Response:
    if viewer.user is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return await _statement_page(request, runtime, viewer, decision_id)


async def _statement_page(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    decision_id: str,
    *,
    problem: Problem | None = None,
    filed: bool = False,
) -> Response:
    try:
        realm, _ = realm_of_id(runtime, decision_id, "Decision")
        async with runtime.databases.sessionmaker(realm)() as session:
            decision, realm, mine = await access_statement(
                session, runtime, default_engine(), viewer, decision_id
            )
            statement = await statements.statement_of(session, runtime, decision, realm)
    except Problem as exc:
        return error_page(request, viewer, exc)
    return render(
        request,
        viewer,
        "statement.html",
        problem.status if problem else 200,
        statement=statement.model_dump(mode="json"),
        automated=statements.automated_word(statement.automated_decision),
        category=Category(statement.category).label,
        mine=mine,
        error=problem.detail if problem else None,
        filed=filed,
    )


@pages.post("/statements/{decision_id}/appeal")
async def statement_appeal(
    request: Request,
    runtime: RuntimeDep,
    viewer: AppellantViewerDep,
    decision_id: str,
    reason: Annotated[str, Form(max_length=4000)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    appellant = viewer.signed_in()
    if appellant is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    try:
        _check_form_csrf(request, runtime, csrf_token)
        await file_appeal(runtime, appellant, decision_id, AppealIn(reason=reason))
    except Problem as problem:
        return await _statement_page(request, runtime, viewer, decision_id, problem=problem)
    return RedirectResponse(f"/statements/{decision_id}?appealed=1", status_code=303)


@pages.get("/transparency/{realm}")
async def transparency_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    realm: str,
    start: Period = None,
    end: PeriodEnd = None,
) -> Response:
    try:
        realm = check_realm(runtime, realm)
        first, last = check_period(start, end)
    except Problem as problem:
        return error_page(request, viewer, problem)
    async with runtime.databases.sessionmaker(realm)() as session:
        report = await build_report(session, realm, first, last)
    category_bars = bars(
        {k: v for k, v in report.notices_by_category.items() if v}, label=lambda k: Category(k).label
    )
    query = f"from={first.isoformat()}&to={last.isoformat()}"
    return render(
        request,
        viewer,
        "transparency.html",
        report=report.as_json(),
        report_title=runtime.settings.realm(realm).title,
        realms=runtime.settings.realm_names,
        category_bars=category_bars,
        source_bars=bars({k: v for k, v in report.notices_by_source.items() if v}, label=_source_label),
        action_bars=bars({k: v for k, v in report.actions_by_type.items() if v}),
        json_url=f"/api/v1/moderation/realms/{realm}/transparency-report?{query}&format=json",
        csv_url=f"/api/v1/moderation/realms/{realm}/transparency-report?{query}&format=csv",
    )


def _source_label(value: str) -> str:
    return {
        Source.NOTICE.value: "Notices from users",
        Source.TRUSTED_FLAGGER.value: "Trusted flaggers",
        Source.OTHER_NOTIFICATION.value: "Orders and other notifications",
        Source.VOLUNTARY.value: "Own initiative (automated)",
    }.get(value, value)
