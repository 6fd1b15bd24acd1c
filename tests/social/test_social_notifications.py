"""Likes, comments, replies, mentions and follows notify people of the actor's realm, grouped."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reelm.runtime import Runtime
from tests.conftest import Account, make_account
from tests.factories import eventually, make_tiny_clip, publish


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("notify"))


async def texts(client: httpx.AsyncClient, account: Account) -> list[str]:
    page = await client.get("/api/v1/notifications", headers=account.auth)
    assert page.status_code == 200, page.text
    return [n["text"] for n in page.json()["items"]]


async def test_activity_notifies_grouped_and_only_within_the_realm(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    maya = await make_account(client, "maya")
    ada, bo = await make_account(client, "ada"), await make_account(client, "bo")
    faraway = await make_account(client, "faraway", country="DE")
    video_id = await publish(client, runtime, maya, clip)

    for fan in (ada, bo):
        assert (await client.post(f"/api/v1/videos/{video_id}/like", headers=fan.auth)).status_code == 200
        assert (await client.post("/api/v1/users/maya/follow", headers=fan.auth)).status_code == 200
    said = await client.post(
        f"/api/v1/videos/{video_id}/comments", headers=maya.auth, json={"body": "thanks @bo!"}
    )
    reply = await client.post(
        f"/api/v1/videos/{video_id}/comments",
        headers=ada.auth,
        json={"body": "so good", "parent_id": said.json()["id"]},
    )
    assert reply.status_code == 201

    got = await texts(client, maya)
    assert any("liked your video" in t and "@bo" in t and "@ada" in t for t in got), got
    assert any("started following you" in t for t in got), got
    assert any("replied to your comment" in t and "@ada" in t for t in got), got
    assert any("mentioned you" in t and "@maya" in t for t in await texts(client, bo))

    # Someone of another realm: the like counts, but who liked stays in their realm.
    await eventually(lambda: _visible(client, faraway, video_id))
    assert (await client.post(f"/api/v1/videos/{video_id}/like", headers=faraway.auth)).status_code == 200
    assert not any("faraway" in t for t in await texts(client, maya))


async def _visible(client: httpx.AsyncClient, account: Account, video_id: str) -> bool:
    return (await client.get(f"/api/v1/videos/{video_id}", headers=account.auth)).status_code == 200
