"""The settings pages: one page of sections (account, privacy, notifications, language, feed, data and
audit, delete account), each also at its own address (/settings/privacy) so that phones reach a section
from the list rather than through "Edit profile". Every form works without JavaScript: it posts here,
with the CSRF field, and comes back to its section with a notice or the problem shown in place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request, Response
from fastapi.responses import HTMLResponse

from reelm.accounts import credentials
from reelm.accounts import service as accounts
from reelm.accounts.viewer import SignedInViewer, Viewer
from reelm.errors import Problem, not_found
from reelm.exports.schemas import export_out
from reelm.exports.service import is_expired, latest_export
from reelm.inputs import Line, Secret
from reelm.messages.models import AllowFrom
from reelm.messages.permissions import allow_from, do_set_allow_from
from reelm.notifications import preferences
from reelm.notifications.models import NotificationKind
from reelm.notifications.service import people_out
from reelm.recommend.service import access_interests
from reelm.runtime import Runtime
from reelm.safety.blocks import blocked_by, do_block
from reelm.transparency.queries import entries_about
from reelm.videos.models import CommentPolicy
from reelm.videos.permissions import account_defaults, do_set_account_defaults
from reelm.videos.schemas import VideoPermissions
from reelm.web.deps import SESSION_COOKIE, Limiter, RuntimeDep, ViewerDep, forget_user_sessions
from reelm.web.forms import signed_in_form, signed_in_step
from reelm.web.params import CsrfForm
from reelm.web.rendering import error_page, login_redirect, render
from reelm.web.routes.accounts import limit_logins, my_view, request_email_change

router = APIRouter(include_in_schema=False)

SECTIONS = ("account", "privacy", "notifications", "language", "feed", "data", "delete")
# Notices a form may come back with (?done=...); the template words each one.
NOTICES = frozenset(
    {"password", "email-sent", "email-changed", "privacy", "notifications", "unblocked", "video-defaults"}
)

SectionPath = Annotated[str, Path(pattern=r"^[a-z]{1,20}$", description="a settings section")]


async def settings_page(
    request: Request,
    runtime: Runtime,
    viewer: SignedInViewer,
    problem: Problem | None = None,
    *,
    section: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    """Every section of the page; `section` is the one shown on its own (on phones, else the list)."""
    user_id = viewer.user.id
    entries = await entries_about(runtime, viewer.realm, user_id)
    async with runtime.databases.read(viewer.realm) as session:
        export = await latest_export(session, user_id)
        interests = await access_interests(session, user_id)
        messages_from = await allow_from(session, user_id)
        video_defaults = await account_defaults(session, user_id)
        kinds = await preferences.preferences(session, user_id)
        blocked = await blocked_by(session, user_id)
        people = await people_out(session, viewer.realm, set(blocked))
    pending = await credentials.pending_email(runtime, viewer.realm, user_id)
    return render(
        request,
        viewer,
        "settings.html",
        problem.status if problem else 200,
        me=(await my_view(runtime, viewer.realm, viewer.user)).model_dump(mode="json"),
        error=problem.detail if problem else None,
        saved=False,
        section=section,
        active=section or "account",
        sections=SECTIONS,
        done=done if done in NOTICES else None,
        access_log=[{"index": index, "entry": entry} for index, entry in entries],
        interests=interests.model_dump(mode="json"),
        export=export_out(export, expired=is_expired(export, datetime.now(UTC))).model_dump(mode="json")
        if export is not None
        else None,
        allow_from=messages_from.value,
        video_defaults=video_defaults.model_dump(mode="json"),
        notification_kinds=kinds,
        blocked=[people[b].model_dump(mode="json") for b in blocked if b in people],
        pending_email={"email": pending[0], "expires_at": pending[1].isoformat()} if pending else None,
        grace_days=runtime.settings.deletion_grace_days,
    )


async def _section_form(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    csrf_token: str,
    *,
    section: str,
    done: str,
    change: Callable[[SignedInViewer], Awaitable[object]],
) -> Response:
    """A section's form: signed in, CSRF checked, the change made, then back to the section with its notice
    (?done=...), or the section again with the problem shown in place."""

    async def changed(me: SignedInViewer) -> str:
        await change(me)
        return f"/settings/{section}?done={done}"

    return await signed_in_form(
        request,
        viewer,
        csrf_token,
        changed,
        problem_page=partial(settings_page, request, runtime, section=section),
    )


@router.get("/settings/{section}")
async def settings_section(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, section: SectionPath, done: str | None = None
) -> Response:
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    if section not in SECTIONS:
        return error_page(request, me, not_found("Page"))
    return await settings_page(request, runtime, me, section=section, done=done)


@router.post("/settings/password")
async def password_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    current_password: Annotated[Secret, Form(max_length=200)],
    new_password: Annotated[Secret, Form(max_length=200)],
    csrf_token: CsrfForm = "",
) -> Response:
    async def change(me: SignedInViewer) -> None:
        await limit_logins(runtime, request, me.user.handle)
        await credentials.do_change_password(
            runtime, me.realm, me.user, current=current_password, new=new_password, keep_token=me.token
        )
        forget_user_sessions(request, me.user.id)

    return await _section_form(
        request, runtime, viewer, csrf_token, section="account", done="password", change=change
    )


@router.post("/settings/email")
async def email_submit(
    request: Request,
    runtime: RuntimeDep,
    limiter: Limiter,
    viewer: ViewerDep,
    email: Annotated[Line, Form(max_length=254)],
    password: Annotated[Secret, Form(max_length=200)],
    csrf_token: CsrfForm = "",
) -> Response:
    async def change(me: SignedInViewer) -> None:
        await request_email_change(runtime, limiter, request, me, email, password)

    return await _section_form(
        request, runtime, viewer, csrf_token, section="account", done="email-sent", change=change
    )


@router.get("/settings/email/confirm")
async def email_confirm_form(
    request: Request, viewer: ViewerDep, token: Annotated[Line, Query(max_length=200)] = ""
) -> Response:
    """The link in the mail: asks the signed-in account holder to confirm (a mail scanner opening the link
    changes nothing)."""
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    return render(request, me, "settings_email_confirm.html", token=token)


@router.post("/settings/email/confirm")
async def email_confirm_submit(
    request: Request,
    runtime: RuntimeDep,
    limiter: Limiter,
    viewer: ViewerDep,
    token: Annotated[Line, Form(max_length=200)] = "",
    csrf_token: CsrfForm = "",
) -> Response:
    async def confirm(me: SignedInViewer) -> str:
        limiter.hit("e-mail confirmation", str(me.user.id), limit=20, per_seconds=3600)
        await credentials.do_confirm_email_change(runtime, me.realm, me.user, token)
        forget_user_sessions(request, me.user.id)
        return "/settings/account?done=email-changed"

    async def confirm_again(me: SignedInViewer, problem: Problem) -> Response:
        return render(
            request, me, "settings_email_confirm.html", problem.status, token=token, error=problem.detail
        )

    return await signed_in_form(request, viewer, csrf_token, confirm, problem_page=confirm_again)


def _invalid(detail: str) -> Problem:
    return Problem(422, "invalid-request", "The request is not valid", detail)


def _allow_from(value: str) -> AllowFrom:
    if value not in {a.value for a in AllowFrom}:
        raise _invalid("Pick who can message you.")
    return AllowFrom(value)


def _kinds_ticked(ticked: list[str]) -> dict[NotificationKind, bool]:
    if not set(ticked) <= {k.value for k in preferences.CHOOSABLE}:
        raise _invalid("Unknown kind of notification.")
    return {k: k.value in ticked for k in preferences.CHOOSABLE}


@router.post("/settings/privacy")
async def privacy_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    allow_from_value: Annotated[Line, Form(alias="allow_from", max_length=20)],
    csrf_token: CsrfForm = "",
) -> Response:
    async def change(me: SignedInViewer) -> None:
        choice = _allow_from(allow_from_value)
        async with runtime.databases.transaction(me.realm) as session:
            await do_set_allow_from(session, me.user.id, choice, datetime.now(UTC))

    return await _section_form(
        request, runtime, viewer, csrf_token, section="privacy", done="privacy", change=change
    )


@router.post("/settings/video-defaults")
async def video_defaults_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    comment_policy: Annotated[Line, Form(max_length=20)] = "",
    allow_duet: Annotated[bool, Form()] = False,
    allow_stitch: Annotated[bool, Form()] = False,
    allow_sound_reuse: Annotated[bool, Form()] = False,
    allow_download: Annotated[bool, Form()] = False,
    allow_embed: Annotated[bool, Form()] = False,
    csrf_token: CsrfForm = "",
) -> Response:
    """The permissions of new videos: the boxes ticked are on, the others off (an unticked box sends
    nothing)."""

    async def change(me: SignedInViewer) -> None:
        if comment_policy not in {p.value for p in CommentPolicy}:
            raise _invalid("Pick who can comment.")
        chosen = VideoPermissions(
            comment_policy=CommentPolicy(comment_policy),
            allow_duet=allow_duet,
            allow_stitch=allow_stitch,
            allow_sound_reuse=allow_sound_reuse,
            allow_download=allow_download,
            allow_embed=allow_embed,
        )
        async with runtime.databases.transaction(me.realm) as session:
            await do_set_account_defaults(session, me.user.id, chosen)

    return await _section_form(
        request, runtime, viewer, csrf_token, section="privacy", done="video-defaults", change=change
    )


@router.post("/settings/unblock")
async def unblock_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    handle: Annotated[Line, Form(max_length=30)],
    csrf_token: CsrfForm = "",
) -> Response:
    async def change(me: SignedInViewer) -> None:
        entry = await accounts.resolve_handle(runtime, handle)
        if entry is None:
            raise not_found("User")
        async with runtime.databases.transaction(me.realm) as session:
            await do_block(session, me.user.id, entry.user_id, block=False)

    return await _section_form(
        request, runtime, viewer, csrf_token, section="privacy", done="unblocked", change=change
    )


@router.post("/settings/notifications")
async def notifications_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    kind: Annotated[list[Line], Form(max_length=20)] = [],  # noqa: B006 - FastAPI copies form defaults
    csrf_token: CsrfForm = "",
) -> Response:
    """The kinds ticked are on, the others off (an unticked box sends nothing)."""

    async def change(me: SignedInViewer) -> None:
        choices = _kinds_ticked(kind)
        async with runtime.databases.transaction(me.realm) as session:
            await preferences.do_set_preferences(session, me.user.id, choices)

    return await _section_form(
        request, runtime, viewer, csrf_token, section="notifications", done="notifications", change=change
    )


@router.post("/settings/delete")
async def delete_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    password: Annotated[Secret, Form(max_length=200)],
    csrf_token: CsrfForm = "",
) -> Response:
    """Delete the account after the grace period: every session ends now; logging in again calls it off."""

    async def delete(me: SignedInViewer) -> datetime:
        await limit_logins(runtime, request, me.user.handle)
        return await accounts.do_request_deletion(runtime, me.realm, me.user, password)

    async def signed_out(me: SignedInViewer, due: datetime) -> Response:
        forget_user_sessions(request, me.user.id)
        gone = Viewer(user=None, realm=me.realm)  # the page is shown signed out
        response = render(request, gone, "account_deleted.html", due=due, handle=me.user.handle)
        response.delete_cookie(SESSION_COOKIE)
        return response

    return await signed_in_step(
        request,
        viewer,
        csrf_token,
        delete,
        answer=signed_out,
        problem_page=partial(settings_page, request, runtime, section="delete"),
    )
