"""Discovery: following hashtags (Following feed, For You interest, export), trending tags and rising
creators on Explore, the search results as a feed, and the search switch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from reelm.accounts.models import User
from reelm.exports.service import gather
from reelm.realms.models import Capability
from reelm.realms.switches import Switchboard
from reelm.recommend.ranker import load_viewer_state
from reelm.runtime import Runtime
from reelm.search.models import HashtagFollow
from reelm.videos.models import Video, Visibility
from tests.conftest import Account, make_account
from tests.factories import assert_problem, eventually
from tests.realms.common import assert_capability_off, set_switch
from tests.search.test_search import plant_video

US = "us"
FOLLOWING = "/api/v1/feed/following"


def days_ago(n: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=n)


async def following_ids(client: httpx.AsyncClient, who: Account) -> list[str]:
    response = await client.get(FOLLOWING, headers=who.auth)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_follow_a_hashtag_and_its_videos_of_every_realm_reach_following(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    berliner = await make_account(client, "berliner", country="DE")
    me = await make_account(client, "me")
    other = await make_account(client, "other")
    theirs = await plant_video(runtime, berliner, "Spree at dawn #riverlife")
    untagged = await plant_video(runtime, berliner, "Spree at dusk")

    async def replicated() -> bool:
        response = await client.get("/api/v1/hashtags/riverlife", headers=me.auth)
        return response.status_code == 200 and response.json()["video_count"] == 1

    await eventually(replicated)
    assert await following_ids(client, me) == []

    followed = await client.put("/api/v1/hashtags/%23RiverLife/follow", headers=me.auth)
    assert followed.status_code == 200, followed.text
    assert followed.json() == {"tag": "riverlife", "following": True}
    again = await client.put("/api/v1/hashtags/riverlife/follow", headers=me.auth)
    assert again.json() == {"tag": "riverlife", "following": True}

    listed = (await client.get("/api/v1/me/hashtags", headers=me.auth)).json()
    assert [(t["tag"], t["video_count"]) for t in listed] == [("riverlife", 1)]
    assert (await client.get("/api/v1/me/hashtags", headers=other.auth)).json() == []
    ids = await following_ids(client, me)
    assert theirs in ids
    assert untagged not in ids
    assert await following_ids(client, other) == []

    # Search shows the follow state of each hashtag to the viewer who follows it.
    found = (
        await client.get("/api/v1/search", params={"q": "riverlife", "tab": "hashtags"}, headers=me.auth)
    ).json()
    assert found["hashtags"] == [{"tag": "riverlife", "video_count": 1, "is_following": True}]

    # An interest for For You: the engine reads it as one the viewer picked.
    async with runtime.databases.read(US) as session:
        state = await load_viewer_state(session, int(me.id))
    assert "riverlife" in state.picked_interests

    exported, _ = await gather(runtime, US, int(me.id))
    assert [t["tag"] for t in exported["followed_hashtags"]] == ["riverlife"]

    unfollowed = await client.delete("/api/v1/hashtags/riverlife/follow", headers=me.auth)
    assert unfollowed.json() == {"tag": "riverlife", "following": False}
    assert (await client.get("/api/v1/me/hashtags", headers=me.auth)).json() == []
    assert await following_ids(client, me) == []
    async with runtime.databases.read(US) as session:
        assert "riverlife" not in (await load_viewer_state(session, int(me.id))).picked_interests


async def test_unknown_invalid_and_anonymous_follows_are_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    me = await make_account(client, "me")
    await plant_video(runtime, me, "hello #known")
    assert_problem(await client.put("/api/v1/hashtags/neverused/follow", headers=me.auth), 404, "not-found")
    for bad in ("two%20words", "semi;colon", "x" * 51):
        response = await client.put(f"/api/v1/hashtags/{bad}/follow", headers=me.auth)
        assert response.status_code == 404, (bad, response.text)
    assert_problem(await client.put("/api/v1/hashtags/known/follow"), 401, "login-required")
    assert_problem(await client.get("/api/v1/me/hashtags"), 401, "login-required")
    async with runtime.databases.read(US) as session:
        assert list(await session.scalars(select(HashtagFollow.tag))) == []
    assert (await client.put("/api/v1/hashtags/known/follow", headers=me.auth)).status_code == 200


async def test_follows_go_with_the_account(client: httpx.AsyncClient, runtime: Runtime) -> None:
    me = await make_account(client, "me")
    await plant_video(runtime, me, "hello #known")
    assert (await client.put("/api/v1/hashtags/known/follow", headers=me.auth)).status_code == 200
    async with runtime.databases.transaction(US) as session:
        await session.delete(await session.get(User, int(me.id)))
    async with runtime.databases.read(US) as session:
        assert list(await session.scalars(select(HashtagFollow.tag))) == []


async def explore(client: httpx.AsyncClient, who: Account | None = None) -> Any:
    response = await client.get("/api/v1/explore", headers=who.auth if who else {})
    assert response.status_code == 200, response.text
    return response.json()


async def test_trending_tags_grow_against_their_week_and_need_a_minimum(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ada = await make_account(client, "ada")
    viewer = await make_account(client, "viewer")
    for n in range(4):  # out of nowhere: 4 today
        await plant_video(runtime, ada, f"new {n} #sudden", view_count=n)
    for day in range(2, 7):  # steady: 2 a day for five days, then 3 today
        for _ in range(2):
            await plant_video(runtime, ada, "steady #steady", published_at=days_ago(day))
    for _ in range(3):
        await plant_video(runtime, ada, "steady #steady")
    for _ in range(2):  # too few to trend
        await plant_video(runtime, ada, "rare #rare")
    for _ in range(5):  # a burst long ago is not recent
        await plant_video(runtime, ada, "old #faded", published_at=days_ago(4))
    secret = await plant_video(runtime, ada, "hidden #sudden", visibility=Visibility.PRIVATE)

    body = await explore(client, viewer)
    assert len(body["days"]) == 7
    tags = [t["tag"] for t in body["trending"]]
    assert tags == ["sudden", "steady"]
    sudden, steady = body["trending"]
    assert sudden["daily"] == [0, 0, 0, 0, 0, 0, 4]
    assert sudden["recent"] == 4
    assert sudden["is_following"] is False
    assert steady["daily"] == [2, 2, 2, 2, 2, 0, 3]
    assert sudden["growth"] > steady["growth"]
    # A few of its videos, most watched first, none private.
    assert [v["caption"] for v in sudden["videos"]] == ["new 3 #sudden", "new 2 #sudden", "new 1 #sudden"]
    assert secret not in {v["id"] for v in sudden["videos"]}
    assert (await explore(client))["trending"][0]["is_following"] is None

    # A video made private leaves its day's count.
    async with runtime.databases.transaction(US) as session:
        await session.execute(
            update(Video).where(Video.caption == "new 0 #sudden").values(visibility=Visibility.PRIVATE)
        )
    assert (await explore(client))["trending"][0]["daily"][-1] == 3


async def test_rising_creators_are_small_accounts_with_a_busy_week(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    star = await make_account(client, "star")
    small = await make_account(client, "small")
    smaller = await make_account(client, "smaller")
    quiet = await make_account(client, "quiet")
    viewer = await make_account(client, "viewer")
    async with runtime.databases.transaction(US) as session:
        await session.execute(update(User).where(User.id == int(star.id)).values(follower_count=50_000))
        await session.execute(update(User).where(User.id == int(small.id)).values(follower_count=500))
    await plant_video(runtime, star, "big week", view_count=100_000)
    await plant_video(runtime, small, "good week", view_count=2_000, like_count=100)  # 3000 / 550
    await plant_video(runtime, smaller, "first week", view_count=300)  # 300 / 50
    await plant_video(runtime, quiet, "long ago", view_count=90_000, published_at=days_ago(20))
    assert (
        await client.post(f"/api/v1/users/{smaller.handle}/follow", headers=viewer.auth)
    ).status_code == 200

    rising = (await explore(client, viewer))["rising"]
    assert [(a["handle"], a["is_following"]) for a in rising] == [("smaller", True), ("small", False)]
    assert [a["handle"] for a in (await explore(client, smaller))["rising"]] == ["small"]  # never oneself


async def test_search_results_as_a_feed_start_at_the_video_tapped(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ada = await make_account(client, "ada")
    planted = [await plant_video(runtime, ada, f"canyon number {n}") for n in range(5)]
    order = [
        v["id"]
        for v in (await client.get("/api/v1/search", params={"q": "canyon", "tab": "videos"})).json()[
            "videos"
        ]
    ]
    assert sorted(order) == sorted(planted)
    first = (
        await client.get("/api/v1/search/watch", params={"q": "canyon", "start": order[2], "limit": 2})
    ).json()
    assert [v["id"] for v in first["items"]] == order[2:4]
    rest = (
        await client.get(
            "/api/v1/search/watch", params={"q": "canyon", "cursor": first["next_cursor"], "limit": 2}
        )
    ).json()
    assert [v["id"] for v in rest["items"]] == order[4:]
    assert rest["next_cursor"] is None
    gone = (
        await client.get("/api/v1/search/watch", params={"q": "canyon", "start": "123", "limit": 9})
    ).json()
    assert [v["id"] for v in gone["items"]] == order
    assert_problem(
        await client.get("/api/v1/search/watch", params={"q": "lake", "cursor": first["next_cursor"]}),
        400,
        "bad-cursor",
    )


async def test_the_search_switch_turns_explore_and_hashtag_follows_off(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    me = await make_account(client, "me")
    await plant_video(runtime, me, "hello #known")
    await set_switch(runtime, board, US, "search", 0)
    for method, path in (
        ("GET", "/api/v1/explore"),
        ("PUT", "/api/v1/hashtags/known/follow"),
        ("GET", "/api/v1/search/watch?q=hello"),
    ):
        assert_capability_off(await client.request(method, path, headers=me.auth), Capability.SEARCH, US)
    async with runtime.databases.read(US) as session:
        assert list(await session.scalars(select(HashtagFollow.tag))) == []
    await set_switch(runtime, board, US, "search", 100)
    await explore(client, me)
