"""Rendering pages: the templates, the context every page gets, its security headers, and error pages."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from reelm.accounts.viewer import Viewer
from reelm.errors import Problem
from reelm.realms.models import LABELS, Capability
from reelm.security import check_csrf, csrf_token
from reelm.web.capabilities import refusal
from reelm.web.deps import (
    CSRF_COOKIE,
    identify,
)
from reelm.web.icons import ICON_PATHS

templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
templates.env.globals["icon_paths"] = ICON_PATHS
STATIC_VERSION = secrets.token_hex(4)


def script_json(data: Any) -> str:
    """JSON that is safe inside a <script> element: no '<', '>' or '&' can close it or open a comment."""
    text = json.dumps(data, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would let a phishing link borrow our login page.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def render(
    request: Request, viewer: Viewer, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    runtime = request.app.state.runtime
    board = getattr(request.app.state, "switchboard", None)
    nonce = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    viewer_view = None
    if viewer.user is not None:
        avatar = f"/media/{viewer.realm}/{viewer.user.avatar_key}" if viewer.user.avatar_key else None
        viewer_view = {
            "id": str(viewer.user.id),
            "handle": viewer.user.handle,
            "display_name": viewer.user.display_name,
            "avatar_url": avatar,
        }
    response = templates.TemplateResponse(
        request,
        template,
        {
            "viewer": viewer_view,
            "csrf_token": csrf_token(runtime.settings.secret_key, nonce),
            "realm": viewer.realm,
            "realm_title": runtime.settings.realm(viewer.realm).title,
            "base_url": runtime.settings.base_url.rstrip("/"),
            "static_version": STATIC_VERSION,
            # What of the viewer's realm is off or partly back, for the banner on every page.
            "realm_limits": [
                {
                    "label": LABELS[s.capability],
                    "state": s.state.value,
                    "percent": s.percent,
                    "notice": s.notice,
                }
                for s in (board.limited(viewer.realm) if board is not None else [])
            ],
            **context,
        },
        status_code=status_code,
    )
    if CSRF_COOKIE not in request.cookies:
        response.set_cookie(
            CSRF_COOKIE, nonce, httponly=True, samesite="lax", secure=runtime.settings.cookie_secure
        )
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


def login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def check_form_csrf(request: Request, token: str) -> None:
    if not check_csrf(request.app.state.runtime.settings.secret_key, request.cookies.get(CSRF_COOKIE), token):
        raise Problem(403, "csrf", "CSRF check failed", "Reload the page and try again.")


def error_page(request: Request, viewer: Viewer, problem: Problem) -> HTMLResponse:
    response = render(
        request,
        viewer,
        "error.html",
        problem.status,
        status=problem.status,
        title=problem.title,
        detail=problem.detail or problem.title,
    )
    response.headers.update(problem.headers or {})  # a 451's Link to the notice, for one
    return response


async def page_for_problem(request: Request, problem: Problem) -> HTMLResponse:
    """The error page for a problem found before a page's route ran (a malformed address or form field)."""
    runtime = request.app.state.runtime
    try:
        viewer = await identify(request, runtime)
    except Problem:  # a suspended account's session: it sees what a visitor sees
        viewer = None
    return error_page(request, viewer or Viewer(user=None, realm=runtime.settings.default_realm), problem)


def refused_page(request: Request, viewer: Viewer, realm: str, capability: Capability) -> HTMLResponse | None:
    """The 451 page with the operator's notice when a switch keeps this viewer out, else None."""
    problem = refusal(request, realm, capability, viewer.user_id)
    return error_page(request, viewer, problem) if problem is not None else None
