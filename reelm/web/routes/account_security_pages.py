"""Pages for account safety: the log-in's second step, and Settings, Security (the authenticator app,
recovery codes, passkeys and the list of sessions). Every form works without JavaScript except adding or
using a passkey, which only the browser's WebAuthn API can do (reelm/static/js/passkeys.js)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from markupsafe import Markup
from pydantic import BaseModel, Field

from reelm.accounts import passkeys, sessions, two_factor
from reelm.accounts.login_limits import check_second_factor_rate
from reelm.accounts.security_schemas import PasskeyCredentialIn, credential_dict
from reelm.accounts.service import AccountSuspendedError, SecondFactorRequired
from reelm.accounts.viewer import SignedInViewer, Viewer
from reelm.errors import Problem
from reelm.inputs import Line, Secret
from reelm.moderation.suspensions import statement_link
from reelm.runtime import Runtime
from reelm.web.deps import (
    CSRF_HEADER,
    SESSION_COOKIE,
    Limiter,
    RuntimeDep,
    ViewerDep,
    client_ip,
    forget_session,
    forget_user_sessions,
)
from reelm.web.forms import signed_in_form, signed_in_step
from reelm.web.params import CsrfForm, IdPath, NextForm, NextQuery
from reelm.web.rendering import check_form_csrf, error_page, login_redirect, render, safe_next
from reelm.web.routes.account_security import finish_log_in, passkey_log_in, passkey_options, two_factor_view
from reelm.web.suspensions import suspension_problem

router = APIRouter(include_in_schema=False)

# The pending log-in's token rides in its own cookie, for the few minutes the second step may take.
PENDING_COOKIE = "reelm_pending"
CodeForm = Annotated[Line, Form(max_length=20)]
# Notices a form may come back with (?done=...); the template words each one.
NOTICES = frozenset({"totp-off", "session-ended", "others-ended", "passkey-added", "passkey-removed"})


def session_cookie(request: Request, response: Response, token: str) -> None:
    settings = request.app.state.runtime.settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=settings.session_days * 86400,
    )


def second_step_redirect(request: Request, required: SecondFactorRequired, target: str) -> RedirectResponse:
    """After a right password: to the second step, holding the pending log-in in a short-lived cookie."""
    runtime: Runtime = request.app.state.runtime
    response = RedirectResponse(f"/login/second-factor?next={safe_next(target)}", status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        required.token,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.cookie_secure,
        max_age=runtime.settings.pending_login_minutes * 60,
    )
    return response


async def suspended_log_in(
    request: Request, runtime: Runtime, viewer: Viewer, suspended: AccountSuspendedError
) -> Response:
    """A suspended account logs in to a restricted session that reaches only its statements of reasons and
    appeals (every other page sees an anonymous visitor): straight to the statement, when it may be shown."""
    async with runtime.databases.read(suspended.realm) as session:
        link = await statement_link(session, suspended.decision_id)
    if suspended.token is None or link is None:
        return error_page(request, viewer, await suspension_problem(runtime, suspended))
    response = RedirectResponse(link, status_code=303)
    session_cookie(request, response, suspended.token)
    return response


@router.get("/login/second-factor")
async def second_step_form(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, next: NextQuery = "/"
) -> Response:
    token = request.cookies.get(PENDING_COOKIE)
    if not token:
        return RedirectResponse(f"/login?next={safe_next(next)}", status_code=303)
    try:
        pending = await two_factor.pending_log_in(runtime, token)
    except Problem as problem:
        return render(
            request,
            viewer,
            "login.html",
            problem.status,
            error=problem.detail,
            values={},
            next=safe_next(next),
        )
    return render(
        request, viewer, "login_second_factor.html", error=None, methods=pending.methods, next=safe_next(next)
    )


@router.post("/login/second-factor")
async def second_step_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    code: CodeForm = "",
    csrf_token: CsrfForm = "",
    next: NextForm = "/",
) -> Response:
    token = request.cookies.get(PENDING_COOKIE) or ""
    try:
        check_form_csrf(request, csrf_token)
        if not token:
            await two_factor.pending_log_in(runtime, "")
        if not code.strip():
            raise two_factor.wrong_code()
        session_token, _, _ = await finish_log_in(runtime, pending_token=token, code=code)
    except AccountSuspendedError as suspended:
        response = await suspended_log_in(request, runtime, viewer, suspended)
        response.delete_cookie(PENDING_COOKIE)
        return response
    except Problem as problem:
        if problem.type.endswith("log-in-expired"):
            return render(
                request,
                viewer,
                "login.html",
                problem.status,
                error=problem.detail,
                values={},
                next=safe_next(next),
            )
        try:
            methods = (await two_factor.pending_log_in(runtime, token)).methods
        except Problem:
            methods = ["totp"]
        return render(
            request,
            viewer,
            "login_second_factor.html",
            problem.status,
            error=problem.detail,
            methods=methods,
            next=safe_next(next),
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    session_cookie(request, response, session_token)
    response.delete_cookie(PENDING_COOKIE)
    return response


class PasskeyPageIn(BaseModel):
    credential: PasskeyCredentialIn
    next: Line = Field(default="/", max_length=500)


def _csrf_header(request: Request) -> None:
    """The log-in page's scripts send the page's CSRF token in a header (these routes take JSON)."""
    check_form_csrf(request, request.headers.get(CSRF_HEADER, ""))


@router.post("/login/passkey/options")
async def passkey_page_options(request: Request, runtime: RuntimeDep, limiter: Limiter) -> dict[str, Any]:
    """Options for the log-in page's passkey button: for the pending log-in in this browser (second step),
    else for a log-in with a passkey alone."""
    _csrf_header(request)
    pending = request.cookies.get(PENDING_COOKIE) or None
    return await passkey_options(runtime, limiter, client_ip(request), pending)


@router.post("/login/passkey")
async def passkey_page_log_in(request: Request, runtime: RuntimeDep, body: PasskeyPageIn) -> Response:
    """The passkey's answer from the log-in page: a session cookie, and where to go ({"next": ...})."""
    _csrf_header(request)
    target = safe_next(body.next)
    try:
        token, _, _ = await passkey_log_in(
            runtime,
            credential_dict(body.credential),
            pending_token=request.cookies.get(PENDING_COOKIE) or None,
            kind="web",
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    except AccountSuspendedError as suspended:
        async with runtime.databases.read(suspended.realm) as session:
            link = await statement_link(session, suspended.decision_id)
        if suspended.token is None or link is None:
            raise await suspension_problem(runtime, suspended) from None
        token, target = suspended.token, link
    response = JSONResponse({"next": target})
    session_cookie(request, response, token)
    response.delete_cookie(PENDING_COOKIE)
    return response


@router.post("/settings/security/passkeys/{passkey_id}/remove")
async def passkey_remove_submit(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, passkey_id: IdPath, csrf_token: CsrfForm = ""
) -> Response:
    async def remove(me: SignedInViewer) -> str:
        await passkeys.do_remove(runtime, me.realm, me.user.id, int(passkey_id))
        return "/settings/security?done=passkey-removed"

    return await signed_in_form(
        request, viewer, csrf_token, remove, problem_page=partial(security_page, request, runtime)
    )


# --- Settings, Security ------------------------------------------------------------------------------


async def security_page(
    request: Request,
    runtime: Runtime,
    me: SignedInViewer,
    problem: Problem | None = None,
    *,
    done: str | None = None,
    enrolment: two_factor.TotpEnrolment | None = None,
    recovery_codes: list[str] | None = None,
) -> HTMLResponse:
    factors = await two_factor_view(runtime, me.realm, me.user.id)
    items = await sessions.list_sessions(runtime, me.realm, me.user.id, me.token)
    return render(
        request,
        me,
        "settings_security.html",
        problem.status if problem else 200,
        error=problem.detail if problem else None,
        done=done if done in NOTICES else None,
        factors=factors.model_dump(mode="json"),
        sessions=items,
        enrolment=enrolment,
        qr_svg=Markup(enrolment.qr_svg) if enrolment else None,  # noqa: S704 - segno's SVG of our own URI
        recovery_codes=recovery_codes,
    )


@router.get("/settings/security")
async def security_form(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, done: str | None = None
) -> Response:
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    return await security_page(request, runtime, me, done=done)


@router.post("/settings/security/totp")
async def totp_begin_submit(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, csrf_token: CsrfForm = ""
) -> Response:
    """Show a new secret and its QR code, with the form that confirms it."""

    async def begin(me: SignedInViewer) -> two_factor.TotpEnrolment:
        return await two_factor.do_begin_totp(runtime, me.realm, me.user)

    async def show(me: SignedInViewer, enrolment: two_factor.TotpEnrolment) -> Response:
        return await security_page(request, runtime, me, enrolment=enrolment)

    return await signed_in_step(
        request, viewer, csrf_token, begin, answer=show, problem_page=partial(security_page, request, runtime)
    )


@router.post("/settings/security/totp/confirm")
async def totp_confirm_submit(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, code: CodeForm = "", csrf_token: CsrfForm = ""
) -> Response:
    """Turn the app on; the recovery codes are on this answer only (never in a redirect's address)."""

    async def confirm(me: SignedInViewer) -> list[str]:
        await check_second_factor_rate(runtime, user_id=me.user.id)
        return await two_factor.do_confirm_totp(runtime, me.realm, me.user, code=code, token=me.token)

    async def show(me: SignedInViewer, codes: list[str]) -> Response:
        forget_session(request, me.token or "")
        return await security_page(request, runtime, me, recovery_codes=codes)

    return await signed_in_step(
        request,
        viewer,
        csrf_token,
        confirm,
        answer=show,
        problem_page=partial(security_page, request, runtime),
    )


@router.post("/settings/security/recovery-codes")
async def recovery_codes_submit(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, code: CodeForm = "", csrf_token: CsrfForm = ""
) -> Response:
    async def renew(me: SignedInViewer) -> list[str]:
        await check_second_factor_rate(runtime, user_id=me.user.id)
        return await two_factor.do_new_recovery_codes(runtime, me.realm, me.user, code=code, token=me.token)

    async def show(me: SignedInViewer, codes: list[str]) -> Response:
        return await security_page(request, runtime, me, recovery_codes=codes)

    return await signed_in_step(
        request, viewer, csrf_token, renew, answer=show, problem_page=partial(security_page, request, runtime)
    )


@router.post("/settings/security/totp/disable")
async def totp_disable_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    password: Annotated[Secret, Form(max_length=200)] = "",
    code: CodeForm = "",
    csrf_token: CsrfForm = "",
) -> Response:
    async def disable(me: SignedInViewer) -> str:
        await check_second_factor_rate(runtime, user_id=me.user.id)
        await two_factor.do_disable_totp(runtime, me.realm, me.user, password=password, code=code)
        return "/settings/security?done=totp-off"

    return await signed_in_form(
        request, viewer, csrf_token, disable, problem_page=partial(security_page, request, runtime)
    )


@router.post("/settings/security/sessions/others")
async def end_others_submit(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, csrf_token: CsrfForm = ""
) -> Response:
    async def end_others(me: SignedInViewer) -> str:
        await sessions.do_end_other_sessions(runtime, me.realm, me.user.id, me.token or "")
        forget_user_sessions(request, me.user.id)
        return "/settings/security?done=others-ended"

    return await signed_in_form(
        request, viewer, csrf_token, end_others, problem_page=partial(security_page, request, runtime)
    )


@router.post("/settings/security/sessions/{session_id}/end")
async def end_session_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    session_id: IdPath,
    csrf_token: CsrfForm = "",
) -> Response:
    async def end(me: SignedInViewer) -> str:
        await sessions.do_end_session(runtime, me.realm, me.user.id, session_id)
        forget_user_sessions(request, me.user.id)
        return "/settings/security?done=session-ended"

    return await signed_in_form(
        request, viewer, csrf_token, end, problem_page=partial(security_page, request, runtime)
    )
