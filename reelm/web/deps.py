"""Request dependencies: the runtime, the viewer (from a bearer token or a cookie), CSRF, rate limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from reelm.accounts.models import User
from reelm.accounts.service import resolve_session
from reelm.ratelimit import RateLimiter
from reelm.runtime import Runtime
from reelm.security import check_csrf
from reelm.web.problems import Problem

SESSION_COOKIE = "reelm_session"
CSRF_COOKIE = "reelm_csrf"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
Limiter = Annotated[RateLimiter, Depends(get_limiter)]


@dataclass(frozen=True)
class Viewer:
    """Who is asking, and which realm they browse: their home realm, or the default one when anonymous."""

    user: User | None
    realm: str
    token: str | None = None
    via_cookie: bool = False

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def get_viewer(request: Request, runtime: RuntimeDep) -> Viewer:
    token, via_cookie = None, False
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    elif cookie := request.cookies.get(SESSION_COOKIE):
        token, via_cookie = cookie, True
    if token is None:
        return Viewer(user=None, realm=runtime.settings.default_realm)
    resolved = await resolve_session(runtime, token)
    if resolved is None:
        if via_cookie:  # an expired cookie is just an anonymous visitor
            return Viewer(user=None, realm=runtime.settings.default_realm)
        raise Problem(
            401,
            "bad-token",
            "Invalid token",
            "The bearer token is unknown or expired.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    realm, user, _ = resolved
    if via_cookie and request.method in UNSAFE_METHODS:
        # Cookies ride along with cross-site requests; a bearer header cannot, so only cookies need CSRF.
        presented = request.headers.get(CSRF_HEADER)
        if presented is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
            field = (await request.form()).get("csrf_token")  # parsed once; the route reuses it
            presented = field if isinstance(field, str) else None
        if not check_csrf(runtime.settings.secret_key, request.cookies.get(CSRF_COOKIE), presented):
            raise Problem(403, "csrf", "CSRF check failed", "Reload the page and try again.")
    return Viewer(user=user, realm=realm, token=token, via_cookie=via_cookie)


async def require_user(viewer: Annotated[Viewer, Depends(get_viewer)]) -> Viewer:
    if viewer.user is None:
        raise Problem(
            401,
            "login-required",
            "Log in required",
            "Log in to do this.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return viewer


ViewerDep = Annotated[Viewer, Depends(get_viewer)]
UserViewer = Annotated[Viewer, Depends(require_user)]
