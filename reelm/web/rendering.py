"""Rendering pages: the templates, the context every page gets, its security headers, and error pages."""

from __future__ import annotations

import json
import secrets
from contextvars import ContextVar
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from reelm import i18n
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
LOCALE_COOKIE = "reelm_locale"
# The locale of the page being rendered. The environment is shared by concurrent requests, so its gettext
# and format callables are installed once and read the locale from here; a render runs synchronously inside
# `render`, which sets it around the call (macros imported without context see it too).
page_locale: ContextVar[str] = ContextVar("page_locale", default=i18n.DEFAULT)


def _gettext(message: str) -> str:
    return i18n.translations(page_locale.get()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.translations(page_locale.get()).ngettext(singular, plural, n)


def _as_datetime(value: datetime | date | str) -> datetime | date:
    # API models dumped to JSON hand templates ISO strings.
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _number(value: float) -> str:
    return i18n.format_number(value, page_locale.get())


def _compact(value: float | None) -> str:
    return i18n.format_compact(int(value or 0), page_locale.get())


def _share(value: float) -> str:
    return i18n.format_share(value, page_locale.get())


def _day(value: datetime | date | str, length: str = "medium") -> str:
    return i18n.format_day(_as_datetime(value), page_locale.get(), length)


def _moment(value: datetime | date | str, length: str = "medium") -> str:
    moment = _as_datetime(value)
    if not isinstance(moment, datetime):
        return i18n.format_day(moment, page_locale.get(), length)
    return i18n.format_moment(moment, page_locale.get(), length)


def _ago(value: datetime | str) -> str:
    moment = _as_datetime(value)
    if not isinstance(moment, datetime):
        return i18n.format_day(moment, page_locale.get())
    return i18n.format_ago(datetime.now(UTC) - moment, page_locale.get())


def _country_options(codes: list[str]) -> list[tuple[str, str]]:
    return i18n.country_names(page_locale.get(), codes)


templates.env.globals["country_options"] = _country_options
templates.env.add_extension("jinja2.ext.i18n")
# New-style gettext: `_("Hi %(name)s", name=x)` formats after translating and autoescapes the values.
templates.env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
    _gettext, _ngettext, newstyle=True
)
templates.env.filters.update(
    number=_number, compact=_compact, share=_share, day=_day, moment=_moment, ago=_ago
)
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


def choose_locale(request: Request, viewer: Viewer) -> str:
    """The locale of a page: the picker's cookie, else the account's saved choice, else Accept-Language."""
    cookie = request.cookies.get(LOCALE_COOKIE)
    saved = viewer.user.locale if viewer.user is not None else None
    preferred = cookie if i18n.is_supported(cookie) else saved
    return i18n.negotiate(request.headers.get("accept-language"), preferred)


@cache
def _script_catalogue_json(locale: str) -> str:
    return script_json(i18n.script_catalogue(locale))


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
    locale = choose_locale(request, viewer)
    token = page_locale.set(locale)
    try:
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
                # Search and Explore leave the navigation while search is off for the viewer.
                "search_on": board is None or board.allowed(viewer.realm, Capability.SEARCH, viewer.user_id),
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
                "locale": locale,
                "direction": i18n.direction(locale),
                "languages": i18n.NAMES,
                "script_catalogue": _script_catalogue_json(locale),
                **context,
            },
            status_code=status_code,
        )
    finally:
        page_locale.reset(token)
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
    response.headers["Content-Language"] = locale
    return response


def login_redirect(request: Request) -> RedirectResponse:
    """To the log-in form, and back to this very address afterwards (its query too: a link's token)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


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
