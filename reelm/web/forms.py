"""A signed-in page's form post, the one shape every page form shares: a visitor is sent to log in first,
the CSRF field is checked, the action runs, and the browser is sent on (303) or shown the problem."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from reelm.accounts.viewer import SignedInViewer, Viewer
from reelm.errors import Problem
from reelm.web.rendering import check_form_csrf, error_page, login_redirect

Outcome = TypeVar("Outcome")
ProblemPage = Callable[[SignedInViewer, Problem], Awaitable[Response]]


async def signed_in_step(
    request: Request,
    viewer: Viewer,
    csrf_token: str,
    action: Callable[[SignedInViewer], Awaitable[Outcome]],
    *,
    answer: Callable[[SignedInViewer, Outcome], Awaitable[Response]],
    problem_page: ProblemPage | None = None,
) -> Response:
    """Run `action` for the signed-in viewer and `answer` with what it gave; a Problem from the CSRF check
    or the action is shown by `problem_page` (the form's own page, with the problem in place), else on the
    error page. The answer runs outside that: a Problem from it is not the form's to show."""
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    try:
        check_form_csrf(request, csrf_token)
        outcome = await action(me)
    except Problem as problem:
        if problem_page is None:
            return error_page(request, me, problem)
        return await problem_page(me, problem)
    return await answer(me, outcome)


async def _see_other(_me: SignedInViewer, target: str) -> Response:
    return RedirectResponse(target, status_code=303)


async def signed_in_form(
    request: Request,
    viewer: Viewer,
    csrf_token: str,
    action: Callable[[SignedInViewer], Awaitable[str]],
    *,
    problem_page: ProblemPage | None = None,
) -> Response:
    """`signed_in_step` for the usual form: redirect (303) to the address the action returns."""
    return await signed_in_step(
        request, viewer, csrf_token, action, answer=_see_other, problem_page=problem_page
    )
