"""Hardening defaults: nosniff on every response, HSTS and Secure cookies over https, CORS on public media
only, and /metrics for the operator's scraper alone."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from reelm.runtime import Runtime
from reelm.web.app import create_app
from tests.conftest import PASSWORD, make_account, make_settings
from tests.factories import make_tiny_clip, publish
from tests.web.test_security import META_CSRF

METRICS_TOKEN = "scraper-token-for-tests"


@pytest.fixture
async def https_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app as deployed behind https, with a metrics token."""
    settings = make_settings(
        runtime.settings.data_dir, base_url="https://reelm.example", metrics_token=METRICS_TOKEN
    )
    app = create_app(dataclasses.replace(runtime, settings=settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://reelm.example") as client:
        yield client


async def test_every_response_says_nosniff(client: httpx.AsyncClient) -> None:
    responses = [
        await client.get("/healthz"),  # JSON
        await client.get("/api/v1/videos/1"),  # a problem
        await client.get("/no/such/page"),  # the framework's 404
        await client.get("/static/favicon.svg"),  # static files
        await client.get("/login"),  # a page
        await client.get("/media/us/videos/1/poster.jpg"),  # media (here, its 404)
        await client.request("PATCH", "/healthz"),  # a method not allowed
    ]
    for response in responses:
        assert response.headers.get("x-content-type-options") == "nosniff", response.request.url
    assert "strict-transport-security" not in responses[0].headers  # plain http: HSTS would be ignored


async def test_over_https_responses_pin_https_and_cookies_are_secure(https_client: httpx.AsyncClient) -> None:
    health = await https_client.get("/healthz")
    assert health.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    await make_account(https_client, "alice")
    page = await https_client.get("/login")
    token = META_CSRF.search(page.text)
    assert token is not None
    logged_in = await https_client.post(
        "/login", data={"login": "alice", "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}
    )
    assert logged_in.status_code == 303, logged_in.text
    cookies = page.headers.get_list("set-cookie") + logged_in.headers.get_list("set-cookie")
    assert {c.split("=", 1)[0] for c in cookies} == {"reelm_csrf", "reelm_session"}
    for cookie in cookies:
        assert "Secure" in cookie, cookie


async def test_metrics_need_the_operators_token(
    client: httpx.AsyncClient, https_client: httpx.AsyncClient
) -> None:
    assert (await client.get("/metrics")).status_code == 404  # no token configured, not a demo
    assert (await https_client.get("/metrics")).status_code == 401
    wrong = await https_client.get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401
    assert (await https_client.get("/healthz")).status_code == 200
    assert (await https_client.get("/api/v1/videos/123456789")).status_code == 404
    scraped = await https_client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    # Labelled by route template, never by raw path (bounded cardinality, no ids in metrics).
    assert 'reelm_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in scraped.text
    assert 'route="/api/v1/videos/{video_id}",status="404"' in scraped.text
    assert "123456789" not in scraped.text


async def test_only_public_media_may_be_fetched_by_other_sites(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    owner = await make_account(client, "owner")
    clip = make_tiny_clip(tmp_path)
    public_id = await publish(client, runtime, owner, clip)
    private_id = await publish(client, runtime, owner, clip, visibility="private")
    public = (await client.get(f"/api/v1/videos/{public_id}")).json()
    private = (await client.get(f"/api/v1/videos/{private_id}", headers=owner.auth)).json()
    shared = await client.get(public["hls_url"])
    assert shared.status_code == 200
    assert shared.headers["access-control-allow-origin"] == "*"
    own = await client.get(private["hls_url"], headers=owner.auth)
    assert own.status_code == 200  # the owner sees it, but no other site may read it through their browser
    assert "access-control-allow-origin" not in own.headers
