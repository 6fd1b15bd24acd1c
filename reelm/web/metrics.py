"""Prometheus metrics, per app instance (no global registry), served to the operator's scraper at /metrics:
request counts and latencies by route, and how long the oldest job of each realm's media queue has waited."""

from __future__ import annotations

import hmac
import re
import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelm.errors import Problem
from reelm.jobs import MEDIA_QUEUE, oldest_waiting_s
from reelm.runtime import Runtime
from reelm.web.deps import RuntimeDep


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "reelm_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "reelm_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.uploads = Counter(
            "reelm_uploads_accepted", "Uploads accepted", ["realm"], registry=self.registry
        )
        # Read from each realm's queue at every scrape: a realm whose worker falls behind (or is stuck on one
        # upload) shows here while its uploads wait.
        self.media_queue_age = Gauge(
            "reelm_media_queue_oldest_waiting_seconds",
            "How long the oldest due job of the realm's media queue (transcodes, exports) has waited",
            ["realm"],
            registry=self.registry,
        )

    async def read_queues(self, runtime: Runtime) -> None:
        for realm in runtime.settings.realm_names:
            async with runtime.databases.read(realm) as session:
                self.media_queue_age.labels(realm).set(await oldest_waiting_s(session, MEDIA_QUEUE))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def route_template(scope: Scope) -> str:
    """The matched route's template, rebuilt from the path and its parameters.

    Rebuilt rather than read from the route object, because nested routers keep only their own part of
    the path there, and how they do differs between FastAPI versions.
    """
    if "route" not in scope:
        return "unmatched"
    path = str(scope["path"])
    for name, value in (scope.get("path_params") or {}).items():
        path = re.sub(r"(?<=[/@])" + re.escape(str(value)) + r"(?=/|$)", "{" + name + "}", path, count=1)
    return path


class MetricsMiddleware:
    """Labels by route template (`/api/v1/videos/{video_id}`), never by raw path, to bound cardinality."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_template(scope)
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics_endpoint(request: Request, runtime: RuntimeDep) -> Response:
    """For the operator's scraper only: its bearer token (REELM_METRICS_TOKEN), or open in demo mode.
    Without a token outside demo mode there is nothing here (404), as for any unknown path."""
    token = runtime.settings.metrics_token
    if token is None and not runtime.settings.demo:
        raise Problem(404, "not-found", "Not found", "No such page.")
    if token is not None:
        presented = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(presented.encode(), token.encode()):
            raise Problem(
                401,
                "bad-token",
                "Invalid token",
                "Metrics need the operator's token.",
                headers={"WWW-Authenticate": "Bearer"},
            )
    metrics: Metrics = request.app.state.metrics
    await metrics.read_queues(runtime)
    return Response(metrics.render(), media_type="text/plain; version=0.0.4")
