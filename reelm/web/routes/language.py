"""The language picker: `POST /language` sets the interface language for this browser, and for the account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from reelm.accounts.preferences import check_locale, do_set_locale
from reelm.errors import Problem
from reelm.inputs import Line
from reelm.web.deps import RuntimeDep, ViewerDep, forget_user_sessions
from reelm.web.params import CsrfForm, NextForm
from reelm.web.rendering import LOCALE_COOKIE, check_form_csrf, error_page, safe_next

router = APIRouter(include_in_schema=False)

LocaleForm = Annotated[Line, Form(max_length=16)]
# A year: the choice is a preference, not a session.
LOCALE_COOKIE_MAX_AGE = 365 * 86400


@router.post("/language")
async def choose_language(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    locale: LocaleForm,
    csrf_token: CsrfForm = "",
    next: NextForm = "/",
) -> Response:
    try:
        check_form_csrf(request, csrf_token)
        check_locale(locale)
    except Problem as problem:
        return error_page(request, viewer, problem)
    if (me := viewer.signed_in()) is not None:
        async with runtime.databases.transaction(me.realm) as session:
            await do_set_locale(session, me.user.id, locale)
        forget_user_sessions(request, me.user.id)  # the cached account still holds the old choice
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        LOCALE_COOKIE,
        locale,
        max_age=LOCALE_COOKIE_MAX_AGE,
        samesite="lax",
        secure=runtime.settings.cookie_secure,
        httponly=True,
    )
    return response
