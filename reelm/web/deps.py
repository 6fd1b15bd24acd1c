"""Request dependencies: the runtime, the viewer (from a bearer token or a cookie), CSRF, rate limits."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from reelm.accounts.models import AuthSession, User
from reelm.accounts.service import resolve_session, session_suspension
from reelm.accounts.sessions import note_seen
from reelm.accounts.viewer import SignedInViewer, Viewer
from reelm.errors import Problem
from reelm.messages.messaging import Messaging
from reelm.moderation.models import Action
from reelm.ratelimit import RateLimiter
from reelm.runtime import Runtime
from reelm.security import check_csrf
from reelm.web.suspensions import suspension_problem

SESSION_COOKIE = "reelm_session"
CSRF_COOKIE = "reelm_csrf"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def get_runtime(request: Request) -> Runtime:  # async: sync dependencies run in a thread pool
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def get_messaging(connection: HTTPConnection) -> Messaging:  # requests and WebSockets alike
    messaging: Messaging = connection.app.state.messaging
    return messaging


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
MessagingDep = Annotated[Messaging, Depends(get_messaging)]
Limiter = Annotated[RateLimiter, Depends(get_limiter)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# A resolved session is reused for a few seconds: a page load asks for the feed, media and more at
# once. Logging out evicts it here; another process may accept a revoked token for up to this long.
SESSION_CACHE_TTL_S = 5.0
SESSION_CACHE_MAX = 10_000


async def cached_session(
    request: Request, runtime: Runtime, token: str, *, allow_suspended: bool = False
) -> tuple[str, User, AuthSession] | None:
    cache: dict[str, tuple[float, tuple[str, User, AuthSession]]] = request.app.state.session_cache
    now = time.monotonic()
    hit = cache.get(token)
    if hit is not None and hit[0] > now and hit[1][2].expires_at > datetime.now(UTC):
        return hit[1]
    if allow_suspended:  # the statement and appeal routes: rare, and such a session is never cached
        return await resolve_session(runtime, token, allow_suspended=True)
    resolved = await resolve_session(runtime, token)
    if resolved is not None and (
        seen := await note_seen(runtime, resolved[0], token, resolved[2].last_seen_at)
    ):
        resolved[2].last_seen_at = seen  # for the list of sessions (a write every few minutes at most)
    if len(cache) >= SESSION_CACHE_MAX:
        cache.clear()
    if resolved is None:
        cache.pop(token, None)
    else:
        cache[token] = (now + SESSION_CACHE_TTL_S, resolved)
    return resolved


def forget_session(request: Request, token: str) -> None:
    request.app.state.session_cache.pop(token, None)


def forget_user_sessions(request: Request, user_id: int) -> None:
    """Evict every cached session of one user (after a log-out everywhere)."""
    cache: dict[str, tuple[float, tuple[str, User, AuthSession]]] = request.app.state.session_cache
    for token in [t for t, (_, (_, user, _)) in cache.items() if user.id == user_id]:
        cache.pop(token, None)


async def identify(request: Request, runtime: Runtime, *, allow_suspended: bool = False) -> Viewer | None:
    """Who the token or cookie names, without the CSRF check and without reading the body.

    None for an unknown or expired bearer token. Service switches use this to refuse a request
    before its body is read (see reelm.web.capabilities); `get_viewer` adds the checks for acting.

    A session of a suspended account (reelm.moderation.suspensions) is refused with a 403
    `account-suspended` problem linking the statement of reasons, except where `allow_suspended` (reading
    that statement and appealing); its browser meanwhile sees what an anonymous visitor sees.
    """
    token, via_cookie = None, False
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    elif cookie := request.cookies.get(SESSION_COOKIE):
        token, via_cookie = cookie, True
    if token is None:
        return Viewer(user=None, realm=runtime.settings.default_realm)
    resolved = await cached_session(request, runtime, token, allow_suspended=allow_suspended)
    if resolved is None:
        if via_cookie:  # an expired cookie (or a suspended account's) is just an anonymous visitor
            return Viewer(user=None, realm=runtime.settings.default_realm)
        if (suspended := await session_suspension(runtime, token)) is not None:
            raise await suspension_problem(runtime, suspended)
        return None
    realm, user, auth = resolved
    return Viewer(
        user=user, realm=realm, token=token, via_cookie=via_cookie, second_factor=auth.second_factor
    )


async def get_viewer(request: Request, runtime: RuntimeDep) -> Viewer:
    return await _checked_viewer(request, runtime, allow_suspended=False)


async def get_appellant_viewer(request: Request, runtime: RuntimeDep) -> Viewer:
    """Like `get_viewer`, but a suspended account's session counts: for its statements and appeals."""
    return await _checked_viewer(request, runtime, allow_suspended=True)


async def _checked_viewer(request: Request, runtime: Runtime, *, allow_suspended: bool) -> Viewer:
    viewer = await identify(request, runtime, allow_suspended=allow_suspended)
    if viewer is None:
        raise Problem(
            401,
            "bad-token",
            "Invalid token",
            "The bearer token is unknown or expired.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if viewer.via_cookie and request.method in UNSAFE_METHODS:
        # Cookies ride along with cross-site requests; a bearer header cannot, so only cookies need CSRF.
        presented = request.headers.get(CSRF_HEADER)
        if presented is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
            field = (await request.form()).get("csrf_token")  # parsed once; the route reuses it
            presented = field if isinstance(field, str) else None
        if not check_csrf(runtime.settings.secret_key, request.cookies.get(CSRF_COOKIE), presented):
            raise Problem(403, "csrf", "CSRF check failed", "Reload the page and try again.")
    return viewer


async def require_user(viewer: Annotated[Viewer, Depends(get_viewer)]) -> SignedInViewer:
    signed_in = viewer.signed_in()
    if signed_in is None:
        raise Problem(
            401,
            "login-required",
            "Log in required",
            "Log in to do this.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return signed_in


async def require_appellant(viewer: Annotated[Viewer, Depends(get_appellant_viewer)]) -> SignedInViewer:
    return await require_user(viewer)


ViewerDep = Annotated[Viewer, Depends(get_viewer)]
UserViewer = Annotated[SignedInViewer, Depends(require_user)]
# The statement-and-appeal routes, which a suspended account may still use (DSA Art. 17 and 20).
AppellantViewerDep = Annotated[Viewer, Depends(get_appellant_viewer)]
AppellantViewer = Annotated[SignedInViewer, Depends(require_appellant)]


def forget_sessions_after(request: Request, action: str) -> None:
    """After a suspension, this process's cached sessions must not outlive it (other processes drop theirs
    within reelm.web.deps.SESSION_CACHE_TTL_S, as after a log-out). Suspensions are rare: the cache goes."""
    if action == Action.SUSPEND.value:
        request.app.state.session_cache.clear()
