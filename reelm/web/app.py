"""The ASGI application: JSON API, HTML pages, media, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from reelm.db import libpq_url
from reelm.errors import Problem
from reelm.messages.messaging import build_messaging  # direct messages and their live hub
from reelm.ratelimit import RateLimiter
from reelm.realms.switches import Switchboard
from reelm.recommend.candidates import FeedRanker
from reelm.recommend.ranker import PersonalizedRanker
from reelm.runtime import Runtime
from reelm.staff.policy import default_engine
from reelm.transparency.log import Sequencer, keep_sequencing, record_deployment
from reelm.transparency.tiles import TileCache
from reelm.web.app_shell import router as app_shell_router  # /manifest.webmanifest, /sw.js, /offline
from reelm.web.deps import RuntimeDep
from reelm.web.docs import install_docs
from reelm.web.headers import SecurityHeadersMiddleware
from reelm.web.limits import BodyLimitMiddleware
from reelm.web.media import router as media_router
from reelm.web.metrics import Metrics, MetricsMiddleware
from reelm.web.metrics import router as metrics_router
from reelm.web.problems import PROBLEM_JSON, install_handlers
from reelm.web.routes import account_security_pages, discovery_pages, pages
from reelm.web.routes.account_security import router as account_security_router  # two-factor, sessions
from reelm.web.routes.accounts import router as accounts_router
from reelm.web.routes.analytics import pages as analytics_pages  # the studio's analytics pages
from reelm.web.routes.analytics import router as analytics_router
from reelm.web.routes.demo import router as demo_router  # a fresh demo's progress
from reelm.web.routes.embed import router as embed_router
from reelm.web.routes.events import router as events_router
from reelm.web.routes.exports import router as exports_router
from reelm.web.routes.feed import router as feed_router
from reelm.web.routes.keep import router as keep_router  # favourites, reposts, mutes, filters
from reelm.web.routes.keep_pages import router as keep_pages  # /@x/favourites, /settings/filters
from reelm.web.routes.language import router as language_router
from reelm.web.routes.messages import pages as messages_pages
from reelm.web.routes.messages import router as messages_router
from reelm.web.routes.notifications import pages as notifications_pages
from reelm.web.routes.notifications import router as notifications_router
from reelm.web.routes.realms import api as realms_api
from reelm.web.routes.realms import pages as realms_pages
from reelm.web.routes.recommend import router as recommend_router
from reelm.web.routes.reports import api as reports_api  # content review, as users and the public see it
from reelm.web.routes.reports import pages as reports_pages
from reelm.web.routes.review_api import api as review_api  # content review, for staff
from reelm.web.routes.review_pages import pages as review_pages
from reelm.web.routes.search import router as search_router
from reelm.web.routes.social import router as social_router
from reelm.web.routes.sounds import pages as sounds_pages
from reelm.web.routes.sounds import router as sounds_router
from reelm.web.routes.staff import router as staff_router  # staff access (Cedar-gated)
from reelm.web.routes.studio_videos import pages as studio_pages  # /studio/drafts
from reelm.web.routes.studio_videos import router as studio_router  # drafts and scheduled posts
from reelm.web.routes.transparency import api as log_api
from reelm.web.routes.transparency import router as log_router
from reelm.web.routes.videos import router as videos_router

PACKAGE = Path(__file__).resolve().parent.parent
API_PREFIX = "/api/v1"

ops = APIRouter(include_in_schema=False)


@ops.get("/healthz")
async def healthz(runtime: RuntimeDep) -> dict[str, object]:
    """Liveness and readiness: every database answers."""
    checks: dict[str, str] = {}
    for realm in [None, *runtime.databases.realm_urls]:
        try:
            async with runtime.databases.read(realm) as session:
                await session.execute(text("SELECT 1"))
            checks[realm or "directory"] = "ok"
        except Exception as exc:
            checks[realm or "directory"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    if not healthy:
        raise Problem(503, "unhealthy", "Unhealthy", "A database does not answer.", checks=checks)
    return {"status": "ok", "checks": checks}


class RevalidatedStaticFiles(StaticFiles):
    """Static files that browsers revalidate (cheap, by ETag) on every use.

    ES modules import each other by plain URL, so a version query on the page's entry script does not
    reach them; revalidation keeps a deploy from mixing old and new modules.
    """

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def create_app(runtime: Runtime, *, ranker: FeedRanker | None = None, own_runtime: bool = False) -> FastAPI:
    """Build the app around a started runtime; with `own_runtime` the app closes it on shutdown."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # First: a server that does not know its switches could serve what is switched off.
        await switchboard.start()
        try:
            await record_deployment(
                runtime, policy_hash=default_engine().policy_hash, log_vkey=sequencer.signer.vkey
            )
            interval = runtime.settings.log_sequence_interval_s
            sequencing = asyncio.create_task(keep_sequencing(sequencer, interval)) if interval > 0 else None
            yield
            if sequencing is not None:
                sequencing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sequencing
        finally:
            await app.state.messaging.hub.stop()  # closes live connections before the engines go
            await switchboard.stop()
        if own_runtime:
            await runtime.close()

    app = FastAPI(
        title="Reelm API",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by install_docs, from our own origin
        redoc_url=None,
        lifespan=lifespan,
        responses={
            "4XX": {"description": "Problem details (RFC 9457)", "content": {PROBLEM_JSON: {}}},
        },
    )
    app.state.runtime = runtime
    app.state.limiter = RateLimiter()
    app.state.session_cache = {}
    app.state.ranker = ranker or PersonalizedRanker(runtime.databases)  # the For You engine (reelm.recommend)
    switchboard = Switchboard(libpq_url(runtime.databases.directory_url), runtime.settings.realm_names)
    app.state.switchboard = switchboard
    app.state.messaging = build_messaging(runtime)
    sequencer = Sequencer(runtime)
    app.state.log_store = sequencer.store
    app.state.log_signer = sequencer.signer
    app.state.log_origin = sequencer.origin
    # Full tiles never change: one cache for every proof request (256 tiles and their nodes, ~9 MB).
    app.state.log_tile_cache = TileCache(capacity=256)
    metrics = Metrics()
    app.state.metrics = metrics
    install_handlers(app)

    api = APIRouter(prefix=API_PREFIX)
    routers = (
        accounts_router,
        account_security_router,
        exports_router,
        videos_router,
        social_router,
        keep_router,
        feed_router,
        demo_router,
        events_router,
        recommend_router,
        search_router,
        sounds_router,
        messages_router,
        notifications_router,
        log_api,
        staff_router,
        realms_api,
        reports_api,
        review_api,
        studio_router,
        analytics_router,
    )
    for router in routers:
        api.include_router(router)
    outside_api = (
        api,
        log_router,
        media_router,
        ops,
        app_shell_router,
        discovery_pages.router,  # /search, /explore, /welcome, /settings/hashtags: before /settings/{x}
        account_security_pages.router,  # /login/second-factor, /settings/security: before /settings/{x}
        keep_pages,  # /settings/filters, /@{handle}/favourites: before /settings/{x}
        pages.router,
        language_router,  # /language, the picker
        realms_pages,  # /admin
        messages_pages,  # /inbox
        notifications_pages,  # /notifications
        sounds_pages,  # /sound/{id}
        review_pages,  # /review
        reports_pages,  # /statements, /transparency
        metrics_router,  # /metrics
        studio_pages,  # /studio/drafts
        analytics_pages,  # /studio/analytics
        embed_router,  # /embed/{id}, the one page other sites may frame
    )
    for router in outside_api:
        app.include_router(router)

    install_docs(app, f"{API_PREFIX}/docs")
    app.mount("/static", RevalidatedStaticFiles(directory=PACKAGE / "static"), name="static")
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(
        BodyLimitMiddleware, prefixes=(f"{API_PREFIX}/videos",), limit=runtime.settings.max_upload_bytes
    )
    # Outermost, so that every response gets them, errors of the layers inside included.
    app.add_middleware(SecurityHeadersMiddleware, https=runtime.settings.base_url.startswith("https://"))
    return app
