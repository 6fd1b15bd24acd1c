"""The reviewer console: /review (the queue), a case or an appeal with its decision form, and review media."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from reelm import ids
from reelm.accounts.viewer import Viewer
from reelm.errors import Problem, not_found
from reelm.inputs import Line, Text
from reelm.moderation import appeals
from reelm.moderation.models import (
    REVIEWER_ACTIONS,
    Category,
    ContentType,
    Ground,
)
from reelm.moderation.review import (
    appeal_detail,
    case_detail,
    decide_appeal,
    decide_case,
    queue,
    reviewable_realms,
)
from reelm.moderation.schemas import (
    AppealDecisionIn,
    DecisionIn,
)
from reelm.moderation.service import (
    REVIEW_CONTENT,
    access_queue,
    check_realm,
    decide_on_queue,
)
from reelm.runtime import Runtime
from reelm.staff.policy import default_engine
from reelm.staff.service import (
    StaffMember,
    access_staff,
    check_second_factor,
    denied,
)
from reelm.storage import ObjectMissingError
from reelm.text import invalid
from reelm.videos.models import Video
from reelm.web.deps import (
    RuntimeDep,
    ViewerDep,
    forget_sessions_after,
)
from reelm.web.params import IdPath, RealmChoice, RealmPath
from reelm.web.rendering import check_form_csrf, error_page, render

pages = APIRouter(include_in_schema=False)


async def _page_staff(request: Request, runtime: Runtime, viewer: Viewer) -> StaffMember | Response:
    if viewer.user is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    try:
        member = await access_staff(runtime, viewer.user.id)
        check_second_factor(runtime, viewer.second_factor)
    except Problem as problem:
        return error_page(request, viewer, problem)
    return member


@pages.get("/review")
async def review_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    realm: RealmChoice = None,
) -> Response:
    member = await _page_staff(request, runtime, viewer)
    if isinstance(member, Response):
        return member
    engine = default_engine()
    realms = reviewable_realms(runtime, engine, member)
    if not realms:
        return error_page(
            request,
            viewer,
            denied(
                "reviewing content", decide_on_queue(engine, member, REVIEW_CONTENT, viewer.realm).decision
            ),
        )
    chosen = realm if realm in realms else realms[0]
    async with runtime.databases.read(chosen) as session:
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


async def _case_context(runtime: Runtime, member: StaffMember, case_id: str) -> tuple[str, dict[str, Any]]:
    detail = await case_detail(runtime, default_engine(), member, case_id)
    kind = ContentType(detail.case.content_type)
    actions = [a.value for a, kinds in REVIEWER_ACTIONS.items() if kind in kinds]
    return "review_case.html", {"detail": detail.model_dump(mode="json"), "actions": actions}


async def _appeal_context(
    runtime: Runtime, member: StaffMember, appeal_id: str
) -> tuple[str, dict[str, Any]]:
    return "review_appeal.html", await appeal_detail(runtime, default_engine(), member, appeal_id)


async def _decision_page(
    request: Request,
    viewer: Viewer,
    context: Awaitable[tuple[str, dict[str, Any]]],
    *,
    problem: Problem | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    """A case or an appeal with its decision form (again with the reviewer's values after a refusal)."""
    runtime: Runtime = request.app.state.runtime
    try:
        template, detail = await context
    except Problem as exc:
        return error_page(request, viewer, exc)
    return render(
        request,
        viewer,
        template,
        problem.status if problem else 200,
        **detail,
        categories={c.value: c.label for c in Category},
        grounds=[g.value for g in Ground],
        realm_names=runtime.settings.realm_names,
        error=problem.detail if problem else None,
        values=values or {},
    )


@pages.get("/review/cases/{case_id}")
async def review_case_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, case_id: IdPath
) -> Response:
    member = await _page_staff(request, runtime, viewer)
    if isinstance(member, Response):
        return member
    return await _decision_page(request, viewer, _case_context(runtime, member, case_id))


class _DecisionFields(BaseModel):
    """The decision fields of the reviewer console's forms, as posted: empty fields are absent, days are
    typed as text. Echoed back into the form when the decision is refused."""

    category: Line = Field("", max_length=80)
    ground: Line = Field("", max_length=40)
    facts: Text = Field("", max_length=5000)
    action: Line = Field("", max_length=16)
    legal_ground: Text = Field("", max_length=500)
    terms_ground: Text = Field("", max_length=500)
    label: Line = Field("", max_length=200)
    restricted_realms: list[Annotated[Line, Field(max_length=16)]] = Field(
        default_factory=list, max_length=64
    )
    suspend_days: Line = Field("", max_length=5)
    csrf_token: Line = Field("", max_length=100)

    def values(self) -> dict[str, Any]:
        return self.model_dump(exclude={"restricted_realms", "suspend_days", "csrf_token"})

    def decision(self) -> DecisionIn:
        days = self.suspend_days.strip()
        if days and not (days.isascii() and days.isdigit()):  # int() refuses "²", which isdigit() takes
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
    action: Line = Field(max_length=16)
    category: Line = Field(max_length=80)
    ground: Line = Field(max_length=40)
    facts: Text = Field(max_length=5000)


class AppealDecisionForm(_DecisionFields):
    """An appeal's outcome, with the new decision when a reporter's appeal reverses one."""

    outcome: Line = Field(max_length=10)
    explanation: Text = Field("", max_length=2000)


@pages.post("/review/cases/{case_id}")
async def review_case_decide(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    case_id: IdPath,
    form: Annotated[CaseDecisionForm, Form()],
) -> Response:
    member = await _page_staff(request, runtime, viewer)
    if isinstance(member, Response):
        return member
    values = form.values()
    try:
        check_form_csrf(request, form.csrf_token)
        decision = await decide_case(runtime, default_engine(), member, case_id, form.decision())
        forget_sessions_after(request, decision.action)
    except Problem as problem:
        return await _decision_page(
            request, viewer, _case_context(runtime, member, case_id), problem=problem, values=values
        )
    except ValueError as exc:  # pydantic's bounds (e.g. suspend_days) on the form's values
        bad = invalid("form", str(exc).splitlines()[0])
        return await _decision_page(
            request, viewer, _case_context(runtime, member, case_id), problem=bad, values=values
        )
    return RedirectResponse(f"/statements/{decision.id}", status_code=303)


@pages.get("/review/appeals")
async def review_appeals_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    realm: RealmChoice = None,
) -> Response:
    """Open appeals of a realm, oldest first: who appealed (creator or reporter), when, against what."""
    member = await _page_staff(request, runtime, viewer)
    if isinstance(member, Response):
        return member
    engine = default_engine()
    realms = reviewable_realms(runtime, engine, member)
    if not realms:
        verdict = decide_on_queue(engine, member, REVIEW_CONTENT, viewer.realm)
        return error_page(request, viewer, denied("reviewing appeals", verdict.decision))
    chosen = realm if realm in realms else realms[0]
    async with runtime.databases.read(chosen) as session:
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
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, appeal_id: IdPath
) -> Response:
    member = await _page_staff(request, runtime, viewer)
    if isinstance(member, Response):
        return member
    return await _decision_page(request, viewer, _appeal_context(runtime, member, appeal_id))


@pages.post("/review/appeals/{appeal_id}")
async def review_appeal_decide(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    appeal_id: IdPath,
    form: Annotated[AppealDecisionForm, Form()],
) -> Response:
    """Uphold or reverse an appeal from the reviewer console (a reporter's reversal with the new decision)."""
    member = await _page_staff(request, runtime, viewer)
    if isinstance(member, Response):
        return member
    values = form.values()
    try:
        check_form_csrf(request, form.csrf_token)
        # The new decision of a reporter's appeal (the service refuses it on any other).
        replacement = form.decision() if form.action else None
        body = AppealDecisionIn(outcome=form.outcome, explanation=form.explanation, decision=replacement)
        await decide_appeal(runtime, default_engine(), member, appeal_id, body)
        if replacement is not None:
            forget_sessions_after(request, replacement.action)
    except Problem as problem:
        return await _decision_page(
            request, viewer, _appeal_context(runtime, member, appeal_id), problem=problem, values=values
        )
    except ValueError as exc:  # pydantic's checks (outcome, suspend_days bounds) on the form's values
        bad = invalid("form", str(exc).splitlines()[0])
        return await _decision_page(
            request, viewer, _appeal_context(runtime, member, appeal_id), problem=bad, values=values
        )
    return RedirectResponse(f"/review/appeals/{appeal_id}", status_code=303)


@pages.get("/review/media/{realm}/{video_id}/{name}")
async def review_media(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    realm: RealmPath,
    video_id: IdPath,
    name: Annotated[str, Path(pattern=r"^(poster\.jpg|video\.mp4)$")],
) -> Response:
    """A video's poster or lowest rendition for reviewers, whatever its state (held ones are not public)."""
    if viewer.user is None:
        raise Problem(401, "login-required", "Log in required", "Log in to do this.")
    realm = check_realm(runtime, realm)
    member = await access_staff(runtime, viewer.user.id)
    check_second_factor(runtime, viewer.second_factor)
    access_queue(default_engine(), member, REVIEW_CONTENT, realm)
    an_id = ids.parse_id(video_id)
    if an_id is None:
        raise not_found("File")
    async with runtime.databases.read(realm) as session:
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
