"""A fresh demo's For You says that its videos are being prepared, with how many are ready, rather than
"nothing has been posted"; the feed API says so too, and /api/v1/demo/preparing gives the count to poll."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from reelm.runtime import Runtime
from reelm.web.app import create_app
from tests.conftest import make_account, make_settings, run_jobs
from tests.factories import assert_problem, make_tiny_clip, upload

NOTHING_POSTED = "Nothing has been posted in this realm yet"


@pytest.fixture
async def demo_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app of a server in demo mode, on the test's databases."""
    runtime.settings = make_settings(runtime.settings.data_dir, demo=True)
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def test_the_empty_feed_of_a_demo_says_its_videos_are_being_prepared(
    demo_client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    maya = await make_account(demo_client, "maya")
    await upload(demo_client, maya, make_tiny_clip(tmp_path), caption="Still transcoding")

    feed = await demo_client.get("/api/v1/feed/for-you")
    assert feed.status_code == 200, feed.text
    assert feed.json()["items"] == []
    assert feed.json()["preparing"] == {"ready": 0, "total": 1}
    progress = await demo_client.get("/api/v1/demo/preparing")
    assert progress.json() == {"ready": 0, "total": 1}
    page = await demo_client.get("/")
    assert "The demo's videos are being prepared: 0 of 1 ready." in page.text
    assert 'data-testid="demo-preparing"' in page.text
    assert NOTHING_POSTED not in page.text

    await run_jobs(runtime, maya.realm)

    feed = await demo_client.get("/api/v1/feed/for-you")
    assert [item["caption"] for item in feed.json()["items"]] == ["Still transcoding"]
    assert feed.json()["preparing"] is None
    assert (await demo_client.get("/api/v1/demo/preparing")).json() == {"ready": 1, "total": 1}
    page = await demo_client.get("/")
    assert 'data-testid="demo-preparing"' not in page.text


async def test_a_demo_with_nothing_uploaded_is_simply_empty(demo_client: httpx.AsyncClient) -> None:
    feed = await demo_client.get("/api/v1/feed/for-you")
    assert feed.json()["preparing"] is None
    assert (await demo_client.get("/api/v1/demo/preparing")).json() == {"ready": 0, "total": 0}
    assert NOTHING_POSTED in (await demo_client.get("/")).text


async def test_outside_demo_mode_nothing_is_said_about_preparing(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    maya = await make_account(client, "maya")
    await upload(client, maya, make_tiny_clip(tmp_path))
    assert (await client.get("/api/v1/feed/for-you")).json()["preparing"] is None
    assert_problem(await client.get("/api/v1/demo/preparing"), 404, "not-found")
    assert 'data-testid="demo-preparing"' not in (await client.get("/")).text
