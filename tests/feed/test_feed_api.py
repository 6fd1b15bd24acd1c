"""For You and Following feeds through the JSON API, over real published videos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from reelm.runtime import Runtime
from tests.conftest import make_account, run_jobs
from tests.factories import eventually, make_tiny_clip, publish, upload

PROBLEM_JSON = "application/problem+json"
FOR_YOU = "/api/v1/feed/for-you"
FOLLOWING = "/api/v1/feed/following"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("feed"))


async def scroll(
    client: httpx.AsyncClient,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    limit: int = 2,
    max_pages: int = 20,
) -> list[dict[str, Any]]:
    """Every page of a feed, following next_cursor until the feed ends; returns the pages' bodies."""
    pages: list[dict[str, Any]] = []
    cursor = None
    for _ in range(max_pages):
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = await client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages
    pytest.fail(f"the feed did not end within {max_pages} pages")


def ids_of(pages: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for page in pages for item in page["items"]]


async def test_for_you_shows_ready_public_videos_of_every_realm(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    us_creator = await make_account(client, "usmaker", country="US")
    jp_creator = await make_account(client, "jpmaker", country="JP")
    us_public = [await upload(client, us_creator, clip, caption=f"us {i}") for i in range(3)]
    us_private = await upload(client, us_creator, clip, visibility="private")
    jp_public = [await upload(client, jp_creator, clip, caption=f"jp {i}") for i in range(2)]
    await run_jobs(runtime, "us")
    await run_jobs(runtime, "global")
    us_processing = await upload(client, us_creator, clip)
    jp_processing = await upload(client, jp_creator, clip)
    everything = sorted(us_public + jp_public)

    # Anonymous visitors browse from the default realm, "global", which receives the others' videos.
    async def all_replicated() -> bool:
        return sorted(ids_of(await scroll(client, FOR_YOU))) == everything

    await eventually(all_replicated)
    anonymous = await scroll(client, FOR_YOU)
    realms = {item["id"]: item["realm"] for page in anonymous for item in page["items"]}
    assert {realms[i] for i in us_public} == {"us"}
    assert {realms[i] for i in jp_public} == {"global"}

    as_us = await scroll(client, FOR_YOU, headers=us_creator.auth)
    assert sorted(ids_of(as_us)) == everything
    for page in as_us:
        for item in page["items"]:
            assert item["status"] == "ready"
            assert item["visibility"] == "public"
            assert item["reason"]
            assert item["source"] in {"fresh", "trending"}
            assert item["hls_url"]
            assert item["poster_url"]
    # The creator's own private and processing videos exist, but are not feed material.
    assert {us_private, us_processing, jp_processing}.isdisjoint(ids_of(as_us) + ids_of(anonymous))


async def test_for_you_pages_never_repeat_and_end(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    published = [await upload(client, creator, clip, caption=f"video {i}") for i in range(5)]
    await run_jobs(runtime, "us")

    pages = await scroll(client, FOR_YOU, headers=creator.auth, limit=2)
    served = ids_of(pages)
    assert len(served) == len(set(served)), "a video was served twice in one scroll"
    assert sorted(served) == sorted(published)
    assert [len(p["items"]) for p in pages] == [2, 2, 1, 0]
    # `preparing` tells the demo's visitors that its videos are being transcoded; outside a demo it is null.
    assert pages[-1] == {"items": [], "next_cursor": None, "personalized": False, "preparing": None}


async def test_engagement_ranks_higher_among_equally_old_videos(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    fan = await make_account(client, "fan")
    videos = [await upload(client, creator, clip, caption=f"video {i}") for i in range(3)]
    await run_jobs(runtime, "us")
    # Before any engagement the newest publication leads; the liked one is not it.
    before = (await client.get(FOR_YOU, headers=fan.auth)).json()["items"]
    loved = next(v for v in videos if v != before[0]["id"])

    for account in (creator, fan):
        assert (await client.post(f"/api/v1/videos/{loved}/like", headers=account.auth)).status_code == 200
    after = (await client.get(FOR_YOU, headers=fan.auth)).json()["items"]
    assert after[0]["id"] == loved
    assert after[0]["counts"]["likes"] == 2
    assert after[0]["liked_by_me"] is True
    assert sorted(i["id"] for i in after) == sorted(videos)


async def test_tampered_cursor_is_a_400_problem(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    for i in range(2):
        await upload(client, creator, clip, caption=f"video {i}")
    await run_jobs(runtime, "us")
    cursor = (await client.get(FOR_YOU, params={"limit": 1}, headers=creator.auth)).json()["next_cursor"]
    assert cursor

    middle = len(cursor) // 2
    flipped = cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]
    for bad in (flipped, cursor[:-3], "not a cursor!", "x" * 40):
        response = await client.get(FOR_YOU, params={"cursor": bad}, headers=creator.auth)
        assert response.status_code == 400, (bad, response.text)
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert response.json()["type"].endswith("bad-cursor")
    # A valid cursor of another feed is not accepted either.
    following_cursor = await client.get(FOLLOWING, params={"cursor": cursor}, headers=creator.auth)
    assert following_cursor.status_code == 400


async def test_following_feed_requires_login_and_shows_followed_creators_newest_first(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    viewer = await make_account(client, "viewer")
    followed = await make_account(client, "followed")
    other = await make_account(client, "other")
    anonymous = await client.get(FOLLOWING)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith(PROBLEM_JSON)
    assert (await client.get(FOLLOWING, headers=viewer.auth)).json() == {
        "items": [],
        "next_cursor": None,
        "personalized": False,
        "preparing": None,
    }

    assert (await client.post("/api/v1/users/followed/follow", headers=viewer.auth)).status_code == 200
    first = await publish(client, runtime, followed, clip, caption="first")
    second = await publish(client, runtime, followed, clip, caption="second")
    third = await publish(client, runtime, followed, clip, caption="third")
    await upload(client, followed, clip, visibility="private")
    await publish(client, runtime, other, clip, caption="not followed")
    await publish(client, runtime, viewer, clip, caption="my own")

    pages = await scroll(client, FOLLOWING, headers=viewer.auth, limit=2)
    assert ids_of(pages) == [third, second, first]
    assert [len(p["items"]) for p in pages] == [2, 1]
    for item in (i for p in pages for i in p["items"]):
        assert item["creator"]["handle"] == "followed"
        assert item["source"] == "following"
        assert item["reason"]

    assert (await client.delete("/api/v1/users/followed/follow", headers=viewer.auth)).status_code == 200
    assert (await client.get(FOLLOWING, headers=viewer.auth)).json()["items"] == []
