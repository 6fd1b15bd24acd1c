"""A signed-in page's form post, the one shape every page form shares: a visitor is sent to log in first,
the CSRF field is checked, the action runs, and the browser is sent on (303) or shown the problem."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from reelm.accounts.viewer import SignedInViewer, Viewer
from reelm.errors import Problem
from reelm.web.rendering import check_form_csrf, error_page, login_redirect

FormAction = Callable[[SignedInViewer], Awaitable[str]]
ProblemPage = Callable[[SignedInViewer, Problem], Awaitable[Response]]


async def signed_in_form(
    request: Request,
    viewer: Viewer,
    csrf_token: str,
    action: FormAction,
    *,
    problem_page: ProblemPage | None = None,
) -> Response:
    """Run `action` for the signed-in viewer and redirect (303) to the address it returns; a Problem from
    the CSRF check or the action is shown by `problem_page` (the form's own page, with the problem in
    place), else on the error page."""
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    try:
        check_form_csrf(request, csrf_token)
        target = await action(me)
    except Problem as problem:
        if problem_page is None:
            return error_page(request, me, problem)
        return await problem_page(me, problem)
    return RedirectResponse(target, status_code=303)
