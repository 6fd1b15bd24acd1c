"""Content review as users and the public meet it: reports and their receipts, statements of reasons and
appeals (API and pages), and each realm's transparency report page."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from reelm.accounts.viewer import Viewer
from reelm.errors import Problem, not_found
from reelm.inputs import Text
from reelm.moderation import appeals, reports, statements
from reelm.moderation.models import (
    Category,
    Source,
)
from reelm.moderation.review import access_statement, realm_of_id, reviewer_of
from reelm.moderation.schemas import (
    AppealIn,
    AppealOut,
    ReportIn,
    ReportList,
    ReportReceipt,
    StatementOut,
)
from reelm.moderation.service import (
    check_category,
    check_realm,
    content_ref,
)
from reelm.moderation.transparency_report import bars, build_report, check_period
from reelm.runtime import Runtime
from reelm.staff.policy import default_engine
from reelm.web.deps import (
    AppellantViewer,
    AppellantViewerDep,
    Limiter,
    RuntimeDep,
    UserViewer,
    ViewerDep,
)
from reelm.web.params import CsrfForm, IdPath, RealmPath
from reelm.web.rendering import check_form_csrf, error_page, render
from reelm.web.routes.staff import PolicyDep

api = APIRouter(tags=["moderation"])
pages = APIRouter(include_in_schema=False)


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
async def get_report(runtime: RuntimeDep, viewer: UserViewer, report_id: IdPath) -> ReportReceipt:
    """The receipt of one's own report, with the outcome once decided."""
    realm, an_id = realm_of_id(runtime, report_id, "Report")
    async with runtime.databases.read(realm) as session:
        report = await reports.access_own_report(session, an_id, viewer.user.id)
        appeals = await reports.appeals_of(session, [report.id])
    return reports.receipt(report, realm, appeals.get(report.id))


@api.post("/reports/{report_id}/appeals", status_code=201, response_model=AppealOut)
async def file_reporter_appeal(
    runtime: RuntimeDep, viewer: UserViewer, report_id: IdPath, body: AppealIn
) -> AppealOut:
    """Appeal the "no action" outcome of one's own report within six months (DSA Art. 20)."""
    realm, an_id = realm_of_id(runtime, report_id, "Report")
    async with runtime.databases.transaction(realm) as session:
        report = await reports.access_own_report(session, an_id, viewer.user.id)
        appeal = await appeals.do_file_reporter_appeal(
            session, runtime, report, realm, appellant_id=viewer.user.id, reason=body.reason
        )
    return appeals.appeal_out(appeal, realm)


@api.get("/moderation/decisions/{decision_id}/statement", response_model=StatementOut)
async def get_statement(
    runtime: RuntimeDep, engine: PolicyDep, viewer: AppellantViewer, decision_id: IdPath
) -> StatementOut:
    """The statement of reasons (DSA Art. 17) for the person the decision concerns."""
    realm, _ = realm_of_id(runtime, decision_id, "Decision")
    async with runtime.databases.read(realm) as session:
        decision, realm, _ = await access_statement(session, runtime, engine, viewer, decision_id)
        return await statements.statement_of(session, runtime, decision, realm)


@api.post("/moderation/decisions/{decision_id}/appeals", status_code=201, response_model=AppealOut)
async def file_appeal(
    runtime: RuntimeDep, viewer: AppellantViewer, decision_id: IdPath, body: AppealIn
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
    runtime: RuntimeDep, engine: PolicyDep, viewer: AppellantViewer, appeal_id: IdPath
) -> AppealOut:
    realm, _ = realm_of_id(runtime, appeal_id, "Appeal")
    async with runtime.databases.read(realm) as session:
        appeal = await appeals.access_appeal(session, appeal_id)
    if appeal.appellant_id != viewer.user_id and await reviewer_of(runtime, engine, viewer, realm) is None:
        raise not_found("Appeal")
    return appeals.appeal_out(appeal, realm)


Period = Annotated[date | None, Query(alias="from")]


PeriodEnd = Annotated[date | None, Query(alias="to")]


@pages.get("/statements/{decision_id}")
async def statement_page(
    request: Request, runtime: RuntimeDep, viewer: AppellantViewerDep, decision_id: IdPath
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
        async with runtime.databases.read(realm) as session:
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
    decision_id: IdPath,
    reason: Annotated[Text, Form(max_length=2000)] = "",  # as AppealIn
    csrf_token: CsrfForm = "",
) -> Response:
    appellant = viewer.signed_in()
    if appellant is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    try:
        check_form_csrf(request, csrf_token)
        await file_appeal(runtime, appellant, decision_id, AppealIn(reason=reason))
    except Problem as problem:
        return await _statement_page(request, runtime, viewer, decision_id, problem=problem)
    return RedirectResponse(f"/statements/{decision_id}?appealed=1", status_code=303)


@pages.get("/transparency/{realm}")
async def transparency_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    realm: RealmPath,
    start: Period = None,
    end: PeriodEnd = None,
) -> Response:
    try:
        realm = check_realm(runtime, realm)
        first, last = check_period(start, end)
    except Problem as problem:
        return error_page(request, viewer, problem)
    async with runtime.databases.read(realm) as session:
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
