"""The installable app: its web app manifest, its service worker, and the page that worker shows offline.

The worker is served from the site's root (/sw.js) so that its scope is the whole site; it keeps only the
shell (the offline page, styles, scripts and icons of this static version), never an API answer, a media file
or a page, so nothing private is ever replayed from its cache (reelm/static/sw.js).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from reelm import i18n
from reelm.web.app_icons import APP_ICONS
from reelm.web.rendering import LOCALE_COOKIE, STATIC_VERSION, page_locale, templates

router = APIRouter(include_in_schema=False)

MANIFEST_JSON = "application/manifest+json"
SERVICE_WORKER = (Path(__file__).resolve().parent.parent / "static" / "sw.js").read_text()
OFFLINE_PATH = "/offline"
BACKGROUND = "#000000"  # the dark interface's background (static/css/app.css, --bg): no flash on start
# The offline page has no script and loads nothing from elsewhere.
OFFLINE_POLICY = (
    "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)


def _locale(request: Request) -> str:
    # Chosen as for pages, less an account's saved choice: the shell is the same for everyone on a device.
    cookie = request.cookies.get(LOCALE_COOKIE)
    chosen = cookie if i18n.is_supported(cookie) else None
    return i18n.negotiate(request.headers.get("accept-language"), chosen)


def manifest(locale: str) -> dict[str, Any]:
    gettext = i18n.translations(locale).gettext
    icons: list[dict[str, str]] = [
        {"src": f"/static/icons/icon.svg?v={STATIC_VERSION}", "sizes": "any", "type": "image/svg+xml"}
    ]
    icons += [
        {
            "src": f"/static/icons/{icon.name}?v={STATIC_VERSION}",
            "sizes": f"{icon.size}x{icon.size}",
            "type": "image/png",
            "purpose": icon.purpose,
        }
        for icon in APP_ICONS
    ]
    return {
        "id": "/",
        "name": "Reelm",
        "short_name": "Reelm",
        "description": gettext("Short videos from creators near you and around the world."),
        "lang": locale,
        "dir": i18n.direction(locale),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": BACKGROUND,
        "theme_color": BACKGROUND,
        "icons": icons,
    }


@router.get("/manifest.webmanifest")
async def web_app_manifest(request: Request) -> JSONResponse:
    return JSONResponse(
        manifest(_locale(request)),
        media_type=MANIFEST_JSON,
        headers={"Cache-Control": "no-cache", "Vary": "Accept-Language, Cookie"},
    )


@router.get("/sw.js")
async def service_worker() -> Response:
    return Response(
        SERVICE_WORKER,
        media_type="text/javascript",
        headers={
            # Browsers look for a new worker at every navigation anyway; never from a stale HTTP cache.
            "Cache-Control": "no-cache",
            # Served from the root, its scope is the whole site; said outright for proxies that move paths.
            "Service-Worker-Allowed": "/",
        },
    )


@router.get(OFFLINE_PATH)
async def offline_page(request: Request) -> HTMLResponse:
    """The page the service worker shows for a navigation it cannot fetch. It is cached by every device,
    so it holds nothing of anyone: no viewer, no CSRF token, no cookie set."""
    locale = _locale(request)
    token = page_locale.set(locale)
    try:
        html = templates.get_template("offline.html").render(
            locale=locale, direction=i18n.direction(locale), static_version=STATIC_VERSION
        )
    finally:
        page_locale.reset(token)
    return HTMLResponse(
        html,
        headers={
            "Cache-Control": "no-cache",
            "Vary": "Accept-Language, Cookie",
            "Content-Security-Policy": OFFLINE_POLICY,
            "Referrer-Policy": "strict-origin-when-cross-origin",
        },
    )
