"""The review API for staff (Cedar-gated): queues, cases, decisions, appeals, legal orders, rules, trusted
flaggers, hash lists, and the transparency database and report exports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import delete, select

from reelm.accounts.service import resolve_handle
from reelm.audit.service import record_event
from reelm.errors import not_found
from reelm.moderation import appeals, legal_orders, lists, rules, statements
from reelm.moderation.models import (
    ContentRule,
    TrustedFlagger,
)
from reelm.moderation.review import case_detail, decide_appeal, decide_case, queue
from reelm.moderation.schemas import (
    AppealDecisionIn,
    AppealList,
    AppealOut,
    CaseOut,
    DecisionIn,
    DecisionOut,
    LegalOrderIn,
    LegalOrderList,
    LegalOrderOut,
    QueueOut,
    RuleIn,
    RuleList,
    RuleOut,
    TrustedFlaggerIn,
    TrustedFlaggerOut,
)
from reelm.moderation.service import (
    MANAGE_MODERATION,
    MODERATION_CONFIG,
    RECORD_LEGAL_ORDER,
    REVIEW_CONTENT,
    access_queue,
    check_realm,
)
from reelm.moderation.transparency_report import build_report, check_period, period_bounds, to_csv
from reelm.staff import policy
from reelm.staff.service import (
    access_realm_read,
)
from reelm.text import invalid
from reelm.web.deps import (
    RuntimeDep,
    forget_sessions_after,
)
from reelm.web.params import HandlePath, IdPath, RealmPath
from reelm.web.routes.reports import Period, PeriodEnd
from reelm.web.routes.staff import PolicyDep, StaffDep

api = APIRouter(tags=["moderation"])


@api.get("/moderation/realms/{realm}/queue", response_model=QueueOut)
async def get_queue(runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: RealmPath) -> QueueOut:
    """Open cases of the realm, trusted flaggers' and urgent ones first, then oldest first."""
    realm = check_realm(runtime, realm)
    access_queue(engine, staff, REVIEW_CONTENT, realm)
    async with runtime.databases.read(realm) as session:
        return QueueOut(realm=realm, items=await queue(session, realm))


@api.get("/moderation/cases/{case_id}", response_model=CaseOut)
async def get_case(runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, case_id: IdPath) -> CaseOut:
    """A case for review: the content, its reports (reporters as pseudonyms), prior decisions, the policy."""
    return await case_detail(runtime, engine, staff, case_id)


@api.post("/moderation/cases/{case_id}/decision", status_code=201, response_model=DecisionOut)
async def post_decision(
    runtime: RuntimeDep,
    engine: PolicyDep,
    staff: StaffDep,
    request: Request,
    case_id: IdPath,
    body: DecisionIn,
) -> DecisionOut:
    """Decide a case: no action, label, age-restrict, demote, restrict in some realms, remove, suspend."""
    decision = await decide_case(runtime, engine, staff, case_id, body)
    forget_sessions_after(request, decision.action)
    return decision


@api.get("/moderation/realms/{realm}/appeals", response_model=AppealList)
async def get_open_appeals(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: RealmPath
) -> AppealList:
    realm = check_realm(runtime, realm)
    access_queue(engine, staff, REVIEW_CONTENT, realm)
    async with runtime.databases.read(realm) as session:
        items = [appeals.appeal_out(a, realm) for a in await appeals.open_appeals(session)]
    return AppealList(realm=realm, items=items)


@api.post("/moderation/appeals/{appeal_id}/decision", response_model=AppealOut)
async def post_appeal_decision(
    runtime: RuntimeDep,
    engine: PolicyDep,
    staff: StaffDep,
    request: Request,
    appeal_id: IdPath,
    body: AppealDecisionIn,
) -> AppealOut:
    """Uphold or reverse an appeal; only a reviewer other than the one who decided may. Reversing a
    reporter's appeal takes `decision`, the new decision on the content."""
    appeal = await decide_appeal(runtime, engine, staff, appeal_id, body)
    if body.decision is not None:
        forget_sessions_after(request, body.decision.action)
    return appeal


@api.post("/moderation/realms/{realm}/legal-orders", status_code=201, response_model=LegalOrderOut)
async def post_legal_order(
    runtime: RuntimeDep,
    engine: PolicyDep,
    staff: StaffDep,
    request: Request,
    realm: RealmPath,
    body: LegalOrderIn,
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
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: RealmPath
) -> LegalOrderList:
    realm = check_realm(runtime, realm)
    access_queue(engine, staff, RECORD_LEGAL_ORDER, realm)
    async with runtime.databases.read(realm) as session:
        return LegalOrderList(realm=realm, items=await legal_orders.list_orders(session, realm))


@api.post("/moderation/realms/{realm}/rules", status_code=201, response_model=RuleOut)
async def post_rule(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: RealmPath, body: RuleIn
) -> RuleOut:
    """Add a caption or comment rule (a term or pattern that holds or labels what matches)."""
    realm = check_realm(runtime, realm)
    verdict = access_queue(engine, staff, MANAGE_MODERATION, realm)
    async with runtime.databases.transaction(realm) as session:
        rule = await rules.do_create_rule(session, runtime, realm, body, verdict.actor(staff.user_id))
    return rules.rule_out(rule)


@api.get("/moderation/realms/{realm}/rules", response_model=RuleList)
async def get_rules(runtime: RuntimeDep, realm: RealmPath) -> RuleList:
    """A realm's rules are its published policy: anyone may read them."""
    realm = check_realm(runtime, realm)
    async with runtime.databases.read(realm) as session:
        found = await session.scalars(select(ContentRule).order_by(ContentRule.name))
        return RuleList(realm=realm, items=[rules.rule_out(r) for r in found])


@api.delete("/moderation/realms/{realm}/rules/{rule_id}", status_code=204)
async def delete_rule(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: RealmPath, rule_id: IdPath
) -> Response:
    realm = check_realm(runtime, realm)
    verdict = access_queue(engine, staff, MANAGE_MODERATION, realm)
    async with runtime.databases.transaction(realm) as session:
        await rules.do_delete_rule(session, realm, rule_id, verdict.actor(staff.user_id))
    return Response(status_code=204)


@api.put("/moderation/realms/{realm}/trusted-flaggers/{handle}", response_model=TrustedFlaggerOut)
async def put_trusted_flagger(
    runtime: RuntimeDep,
    engine: PolicyDep,
    staff: StaffDep,
    realm: RealmPath,
    handle: HandlePath,
    body: TrustedFlaggerIn,
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
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: RealmPath, handle: HandlePath
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
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: RealmPath
) -> dict[str, Any]:
    realm = check_realm(runtime, realm)
    access_queue(engine, staff, MANAGE_MODERATION, realm)
    async with runtime.databases.read(realm) as session:
        return {"realm": realm, "items": await lists.list_summaries(session)}


@api.get("/moderation/realms/{realm}/transparency-db")
async def get_transparency_db(
    runtime: RuntimeDep,
    engine: PolicyDep,
    staff: StaffDep,
    realm: RealmPath,
    start: Period = None,
    end: PeriodEnd = None,
) -> dict[str, Any]:
    """Statements of reasons in the DSA Transparency Database's schema, without personal data."""
    realm = check_realm(runtime, realm)
    access_realm_read(engine, staff, action=policy.READ_AGGREGATES, realm=realm)
    first, last = check_period(start, end)
    lo, hi = period_bounds(first, last)
    async with runtime.databases.read(realm) as session:
        records = await statements.transparency_db_export(session, runtime, realm, lo, hi)
    return {"statements": records}


@api.get(
    "/moderation/realms/{realm}/transparency-report",
    responses={200: {"content": {"application/json": {}, "text/csv": {}}, "description": "the report"}},
)
async def get_transparency_report(
    runtime: RuntimeDep,
    realm: RealmPath,
    start: Period = None,
    end: PeriodEnd = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response:
    """A realm's transparency report for a period (default: the last 30 days), as JSON or CSV."""
    realm = check_realm(runtime, realm)
    first, last = check_period(start, end)
    async with runtime.databases.read(realm) as session:
        report = await build_report(session, realm, first, last)
    if format == "csv":
        name = f"reelm-transparency-{realm}-{first}-{last}.csv"
        return Response(
            to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return JSONResponse(report.as_json())
