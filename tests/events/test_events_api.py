"""POST /api/v1/events: whole-batch validation, idempotency, rate limit, storage in the viewer's realm."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from reelm.events.models import WatchEvent
from reelm.recommend.models import VideoSignal, ViewerProfile
from reelm.runtime import Runtime
from tests.conftest import make_account
from tests.factories import assert_problem, eventually, make_tiny_clip, publish

EVENTS = "/api/v1/events"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("events"))


def event(video_id: str, kind: str, **extra: object) -> dict[str, object]:
    return {"id": uuid.uuid4().hex, "video_id": video_id, "kind": kind, **extra}


async def count_events(runtime: Runtime, realm: str) -> int:
    async with runtime.databases.transaction(realm) as session:
        return int(await session.scalar(select(func.count()).select_from(WatchEvent)) or 0)


async def test_a_batch_is_stored_once_in_the_viewers_realm(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "maker")
    viewer = await make_account(client, "viewer", country="FR")  # home realm eu
    video = await publish(client, runtime, creator, clip, caption="hello #cats")

    async def replicated() -> bool:
        return (await client.get(f"/api/v1/videos/{video}", headers=viewer.auth)).status_code == 200

    await eventually(replicated)
    batch = {
        "events": [
            event(video, "impression"),
            event(video, "play"),
            event(video, "watch", watched_s=3.5, loops=2),
            event(video, "complete"),
            event(video, "like"),
        ]
    }

    async def accepted() -> bool:  # the video reaches eu by replication
        response = await client.post(EVENTS, json=batch, headers=viewer.auth)
        return response.status_code == 200

    await eventually(accepted)
    assert await count_events(runtime, "eu") == 5
    assert await count_events(runtime, "us") == 0  # protected: never in the creator's realm
    again = await client.post(EVENTS, json=batch, headers=viewer.auth)
    assert again.json() == {"accepted": 0, "duplicates": 5}
    assert await count_events(runtime, "eu") == 5
    async with runtime.databases.transaction("eu") as session:
        signal = await session.get(VideoSignal, int(video))
        profile = await session.get(ViewerProfile, int(viewer.id))
    assert signal is not None
    assert (signal.impressions, signal.completions, signal.likes, signal.watched_s) == (1, 1, 1, 3.5)
    assert profile is not None
    assert profile.recent_positive == [int(video)]
    assert profile.tag_weights["cats"] > 0


async def test_a_bad_batch_is_refused_whole(client: httpx.AsyncClient, runtime: Runtime, clip: Path) -> None:
    creator = await make_account(client, "maker")
    video = await publish(client, runtime, creator, clip)
    good = event(video, "impression")
    bad_batches = [
        {"events": [good, event("123456789", "play")]},  # no such video
        {"events": [good, event(video, "teleport")]},  # no such kind
        {"events": [good, event(video, "watch", watched_s=-1)]},
        {"events": [good, {**event(video, "play"), "id": good["id"]}]},  # same id twice
        {"events": [good, event(video, "play", at="2001-01-01T00:00:00Z")]},  # far in the past
        {"events": [good, {**event(video, "play"), "extra": 1}]},
        {"events": []},
        {"events": [event(video, "play") for _ in range(101)]},
    ]
    for batch in bad_batches:
        response = await client.post(EVENTS, json=batch, headers=creator.auth)
        assert response.status_code == 422, (batch, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await count_events(runtime, "us") == 0
    async with runtime.databases.transaction("us") as session:
        assert await session.scalar(select(func.count()).select_from(VideoSignal)) == 0
    unknown = await client.post(
        EVENTS, json={"events": [good, event("123456789", "play")]}, headers=creator.auth
    )
    assert_problem(unknown, 422, "invalid-events")
    assert unknown.json()["errors"] == [{"field": "events.1.video_id", "message": "no such public video"}]


async def test_events_need_a_login_and_are_rate_limited(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "maker")
    video = await publish(client, runtime, creator, clip)
    anonymous = await client.post(EVENTS, json={"events": [event(video, "play")]})
    assert_problem(anonymous, 401, "login-required")
    statuses = [
        (await client.post(EVENTS, json={"events": [event(video, "play")]}, headers=creator.auth)).status_code
        for _ in range(121)
    ]
    assert statuses[:120] == [200] * 120
    assert_problem(
        await client.post(EVENTS, json={"events": [event(video, "play")]}, headers=creator.auth),
        429,
        "rate-limited",
    )
    assert await count_events(runtime, "us") == 120
