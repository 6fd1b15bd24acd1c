"""Favourites and collections, reposts and the Liked tab through the JSON API, on real published videos,
within a realm and across realms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from reelm.departures.purge import purge_due_accounts
from reelm.events.models import EventKind, WatchEvent
from reelm.runtime import Runtime
from reelm.social.kept_data import kept_by
from reelm.social.models import Favourite, UserMute, VideoRepost
from reelm.videos.models import Video
from tests.conftest import PASSWORD, Account, make_account
from tests.factories import assert_problem, eventually, make_tiny_clip, publish


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("keep"))


async def get_json(client: httpx.AsyncClient, url: str, viewer: Account | None = None) -> Any:
    got = await client.get(url, headers=viewer.auth if viewer else {})
    assert got.status_code == 200, got.text
    return got.json()


async def favourite_targets(
    client: httpx.AsyncClient, handle: str, viewer: Account | None = None, query: str = ""
) -> list[str]:
    page = await get_json(client, f"/api/v1/users/{handle}/favourites{query}", viewer)
    return [item["target"] for item in page["items"]]


async def follow(client: httpx.AsyncClient, who: Account, whom: Account) -> None:
    answer = await client.post(f"/api/v1/users/{whom.handle}/follow", headers=who.auth)
    assert answer.status_code == 200, answer.text


async def following_feed(client: httpx.AsyncClient, viewer: Account) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await get_json(client, "/api/v1/feed/following?limit=30", viewer))["items"]
    return items


# --- favourites and collections ----------------------------------------------------------------------------


async def test_collections_are_private_until_made_public(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    maya = await make_account(client, "maya")
    ada = await make_account(client, "ada")
    first = await publish(client, runtime, ada, clip, caption="first #dance")
    second = await publish(client, runtime, ada, clip, caption="second")

    made = await client.post("/api/v1/me/collections", headers=maya.auth, json={"name": "Moves"})
    assert made.status_code == 201, made.text
    moves = made.json()
    assert (moves["name"], moves["is_public"], moves["item_count"]) == ("Moves", False, 0)

    saved = await client.put(
        f"/api/v1/me/favourites/video/{first}", headers=maya.auth, json={"collection_id": moves["id"]}
    )
    assert saved.json() == {"kind": "video", "target": first, "saved": True, "collection_id": moves["id"]}
    assert (await client.put(f"/api/v1/me/favourites/video/{second}", headers=maya.auth)).status_code == 200
    assert (await client.put("/api/v1/me/favourites/hashtag/dance", headers=maya.auth)).status_code == 200

    # The owner sees everything, the latest saved first; the card says it is saved.
    page = await get_json(client, "/api/v1/users/maya/favourites", maya)
    assert [(i["kind"], i["target"]) for i in page["items"]] == [
        ("hashtag", "dance"),
        ("video", second),
        ("video", first),
    ]
    assert page["items"][1]["video"]["saved_by_me"] is True
    assert await favourite_targets(client, "maya", maya, f"?collection={moves['id']}") == [first]
    # Anyone else sees nothing: no collection is public, and the private one is not found.
    assert await favourite_targets(client, "maya", ada) == []
    assert await favourite_targets(client, "maya") == []
    assert_problem(
        await client.get(f"/api/v1/users/maya/favourites?collection={moves['id']}", headers=ada.auth),
        404,
        "not-found",
    )
    assert (await get_json(client, "/api/v1/users/maya/collections", ada))["items"] == []

    # Made public: its favourites show on the profile to everyone, the others stay private.
    changed = await client.patch(
        f"/api/v1/me/collections/{moves['id']}", headers=maya.auth, json={"is_public": True}
    )
    assert changed.json()["is_public"] is True
    assert changed.json()["item_count"] == 1
    assert await favourite_targets(client, "maya", ada) == [first]
    assert await favourite_targets(client, "maya") == [first]
    assert [c["name"] for c in (await get_json(client, "/api/v1/users/maya/collections"))["items"]] == [
        "Moves"
    ]

    # Someone else's collection cannot be used or changed.
    assert_problem(
        await client.put(
            f"/api/v1/me/favourites/video/{first}", headers=ada.auth, json={"collection_id": moves["id"]}
        ),
        404,
        "not-found",
    )
    assert_problem(
        await client.delete(f"/api/v1/me/collections/{moves['id']}", headers=ada.auth), 404, "not-found"
    )

    # Deleting the collection keeps its favourites (in no collection, so private again).
    assert (
        await client.delete(f"/api/v1/me/collections/{moves['id']}", headers=maya.auth)
    ).status_code == 204
    assert await favourite_targets(client, "maya", ada) == []
    assert len(await favourite_targets(client, "maya", maya)) == 3

    unsaved = await client.delete(f"/api/v1/me/favourites/video/{first}", headers=maya.auth)
    assert unsaved.json()["saved"] is False
    assert await favourite_targets(client, "maya", maya, "?kind=video") == [second]


async def test_a_save_is_a_signal_for_for_you(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    maya = await make_account(client, "maya")
    ada = await make_account(client, "ada")
    video = await publish(client, runtime, ada, clip)
    for _ in range(2):  # saving again counts once
        assert (
            await client.put(f"/api/v1/me/favourites/video/{video}", headers=maya.auth)
        ).status_code == 200
    async with runtime.databases.sessionmaker("us")() as session:
        kinds = list(await session.scalars(select(WatchEvent.kind).where(WatchEvent.user_id == int(maya.id))))
    assert kinds == [EventKind.SAVE.value]


async def test_favourites_refuse_bad_input_and_what_cannot_be_seen(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    maya = await make_account(client, "maya")
    ada = await make_account(client, "ada")
    hidden = await publish(client, runtime, ada, clip, visibility="private")

    too_long = await client.post("/api/v1/me/collections", headers=maya.auth, json={"name": "x" * 10_000})
    body = assert_problem(too_long, 422, "invalid-request")
    assert "name" in body["detail"]
    assert_problem(
        await client.post("/api/v1/me/collections", headers=maya.auth, json={"name": "   "}),
        422,
        "invalid-request",
    )
    assert_problem(
        await client.put(f"/api/v1/me/favourites/video/{hidden}", headers=maya.auth), 404, "not-found"
    )
    assert_problem(await client.put("/api/v1/me/favourites/sound/12345", headers=maya.auth), 404, "not-found")
    assert_problem(
        await client.put("/api/v1/me/favourites/hashtag/nosuchtag", headers=maya.auth), 404, "not-found"
    )
    assert (await client.put("/api/v1/me/favourites/planet/1", headers=maya.auth)).status_code in (404, 422)
    assert_problem(await client.put(f"/api/v1/me/favourites/video/{hidden}"), 401, "login-required")


# --- reposts -----------------------------------------------------------------------------------------------


async def test_a_repost_reaches_followers_once_and_its_creator_sees_the_count(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    ada = await make_account(client, "ada")
    maya = await make_account(client, "maya")
    noor = await make_account(client, "noor")
    fan = await make_account(client, "fan")
    video = await publish(client, runtime, ada, clip, caption="original")
    for followed in (maya, noor):
        await follow(client, fan, followed)
    assert await following_feed(client, fan) == []

    for reposter in (maya, noor, maya):  # twice by maya counts once
        answer = await client.post(f"/api/v1/videos/{video}/repost", headers=reposter.auth)
        assert answer.json() == {"reposted": True}
    items = await following_feed(client, fan)
    assert [i["id"] for i in items] == [video]  # once, however many reposted it
    assert items[0]["reposted_by"] == "noor"  # the latest reposter the fan follows
    assert items[0]["source"] == "repost"

    # The creator sees how often it was reposted; nobody else sees the count.
    assert (await get_json(client, f"/api/v1/videos/{video}", ada))["repost_count"] == 2
    assert (await get_json(client, f"/api/v1/videos/{video}", maya))["repost_count"] is None
    assert (await get_json(client, f"/api/v1/videos/{video}", maya))["reposted_by_me"] is True

    # On the reposters' Reposts tab, for everyone.
    assert [v["id"] for v in (await get_json(client, "/api/v1/users/maya/reposts"))["items"]] == [video]

    # Undone: gone from the tab and the count; the other repost still brings it.
    assert (await client.delete(f"/api/v1/videos/{video}/repost", headers=noor.auth)).json() == {
        "reposted": False
    }
    assert (await get_json(client, "/api/v1/users/noor/reposts"))["items"] == []
    assert [i["reposted_by"] for i in await following_feed(client, fan)] == ["maya"]
    assert (await get_json(client, f"/api/v1/videos/{video}", ada))["repost_count"] == 1

    # Following the creator too: the video comes as itself, still once.
    await follow(client, fan, ada)
    items = await following_feed(client, fan)
    assert [(i["id"], i["reposted_by"]) for i in items] == [(video, None)]


async def test_what_cannot_be_reposted(client: httpx.AsyncClient, runtime: Runtime, clip: Path) -> None:
    ada = await make_account(client, "ada")
    maya = await make_account(client, "maya")
    own = await publish(client, runtime, maya, clip)
    hidden = await publish(client, runtime, ada, clip, visibility="private")
    assert_problem(
        await client.post(f"/api/v1/videos/{own}/repost", headers=maya.auth), 422, "invalid-request"
    )
    assert_problem(await client.post(f"/api/v1/videos/{hidden}/repost", headers=maya.auth), 404, "not-found")
    assert_problem(await client.post(f"/api/v1/videos/{own}/repost"), 401, "login-required")
    async with runtime.databases.sessionmaker("us")() as session:
        assert await session.scalar(select(func.count()).select_from(VideoRepost)) == 0


async def test_a_repost_of_another_realms_video_stays_home_and_only_its_count_crosses(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")  # us
    visitor = await make_account(client, "visitor", country="DE")  # eu
    fan = await make_account(client, "fan", country="DE")  # eu, follows the visitor
    video = await publish(client, runtime, creator, clip, caption="from us")
    await follow(client, fan, visitor)

    async def public_in_eu() -> bool:
        return (await client.get(f"/api/v1/videos/{video}", headers=visitor.auth)).status_code == 200

    await eventually(public_in_eu)
    assert (await client.post(f"/api/v1/videos/{video}/repost", headers=visitor.auth)).json()["reposted"]

    async def reposts_in(realm: str) -> int:
        async with runtime.databases.sessionmaker(realm)() as session:
            return await session.scalar(select(func.count()).select_from(VideoRepost)) or 0

    assert (await reposts_in("eu"), await reposts_in("us")) == (1, 0)  # stored where the reposter lives
    items = await following_feed(client, fan)
    assert [(i["id"], i["reposted_by"]) for i in items] == [(video, "visitor")]
    assert [v["id"] for v in (await get_json(client, "/api/v1/users/visitor/reposts", creator))["items"]] == [
        video
    ]

    async def counted(expected: int) -> bool:
        async with runtime.databases.sessionmaker("us")() as session:
            found = await session.get(Video, int(video))
            assert found is not None
            await session.refresh(found)
            return found.repost_count == expected

    await eventually(lambda: counted(1))  # the tally crossed to the video's realm
    assert (await get_json(client, f"/api/v1/videos/{video}", creator))["repost_count"] == 1
    await client.delete(f"/api/v1/videos/{video}/repost", headers=visitor.auth)
    await eventually(lambda: counted(0))


# --- liked videos ------------------------------------------------------------------------------------------


async def test_the_liked_tab_is_private_until_made_public(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    maya = await make_account(client, "maya")
    ada = await make_account(client, "ada")
    video = await publish(client, runtime, ada, clip)
    assert (await client.post(f"/api/v1/videos/{video}/like", headers=maya.auth)).status_code == 200

    assert [v["id"] for v in (await get_json(client, "/api/v1/users/maya/liked", maya))["items"]] == [video]
    assert_problem(await client.get("/api/v1/users/maya/liked", headers=ada.auth), 403, "liked-private")
    assert_problem(await client.get("/api/v1/users/maya/liked"), 403, "liked-private")
    assert (await get_json(client, "/api/v1/me/profile-tabs", maya)) == {"liked_public": False}

    made = await client.put("/api/v1/me/profile-tabs", headers=maya.auth, json={"liked_public": True})
    assert made.json() == {"liked_public": True}
    assert [v["id"] for v in (await get_json(client, "/api/v1/users/maya/liked", ada))["items"]] == [video]
    assert [v["id"] for v in (await get_json(client, "/api/v1/users/maya/liked"))["items"]] == [video]


async def test_another_realms_video_is_kept_at_home_and_shown_from_there(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")  # us
    visitor = await make_account(client, "visitor", country="DE")  # eu
    video = await publish(client, runtime, creator, clip, caption="from us")

    async def public_in_eu() -> bool:
        return (await client.get(f"/api/v1/videos/{video}", headers=visitor.auth)).status_code == 200

    await eventually(public_in_eu)
    trips = (
        await client.post(
            "/api/v1/me/collections", headers=visitor.auth, json={"name": "Trips", "is_public": True}
        )
    ).json()
    saved = await client.put(
        f"/api/v1/me/favourites/video/{video}", headers=visitor.auth, json={"collection_id": trips["id"]}
    )
    assert saved.status_code == 200, saved.text
    async with runtime.databases.sessionmaker("us")() as session:
        assert await session.scalar(select(func.count()).select_from(Favourite)) == 0
    async with runtime.databases.sessionmaker("eu")() as session:
        assert await session.scalar(select(func.count()).select_from(Favourite)) == 1
    for viewer in (visitor, creator, None):
        assert await favourite_targets(client, "visitor", viewer) == [video]
    mine = await get_json(client, "/api/v1/users/visitor/favourites", visitor)
    assert mine["items"][0]["video"]["saved_by_me"] is True


async def test_a_purged_account_takes_its_reposts_and_keepings_with_it(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    ada = await make_account(client, "ada")
    maya = await make_account(client, "maya")
    video = await publish(client, runtime, ada, clip)
    assert (await client.post(f"/api/v1/videos/{video}/repost", headers=maya.auth)).status_code == 200
    assert (await client.put(f"/api/v1/me/favourites/video/{video}", headers=maya.auth)).status_code == 200
    assert (await client.post("/api/v1/users/ada/mute", headers=maya.auth)).status_code == 200
    assert (await get_json(client, f"/api/v1/videos/{video}", ada))["repost_count"] == 1

    deleted = await client.request("DELETE", "/api/v1/me", headers=maya.auth, json={"password": PASSWORD})
    assert deleted.status_code == 202, deleted.text
    assert await purge_due_accounts(runtime, "us", now=datetime.now(UTC) + timedelta(days=8)) == 1
    assert (await get_json(client, f"/api/v1/videos/{video}", ada))["repost_count"] == 0
    async with runtime.databases.sessionmaker("us")() as session:
        for model in (VideoRepost, Favourite, UserMute):
            assert await session.scalar(select(func.count()).select_from(model)) == 0, model


async def test_the_data_export_lists_what_an_account_keeps_and_filters(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    ada = await make_account(client, "ada")
    maya = await make_account(client, "maya")
    video = await publish(client, runtime, ada, clip, caption="#dance")
    trips = (await client.post("/api/v1/me/collections", headers=maya.auth, json={"name": "Trips"})).json()
    await client.put(
        f"/api/v1/me/favourites/video/{video}", headers=maya.auth, json={"collection_id": trips["id"]}
    )
    await client.put("/api/v1/me/favourites/hashtag/dance", headers=maya.auth)
    await client.post(f"/api/v1/videos/{video}/repost", headers=maya.auth)
    await client.post("/api/v1/users/ada/mute", headers=maya.auth)
    await client.post("/api/v1/me/filters", headers=maya.auth, json={"phrase": "spoiler"})
    await client.put("/api/v1/me/comment-controls", headers=maya.auth, json={"hold": "all"})
    async with runtime.databases.sessionmaker("us")() as session:
        kept = await kept_by(session, int(maya.id))
    assert [c["name"] for c in kept["collections"]] == ["Trips"]
    assert [(f["kind"], f["target"], f["collection_id"]) for f in kept["favourites"]] == [
        ("video", video, trips["id"]),
        ("hashtag", "dance", None),
    ]
    assert [r["video_id"] for r in kept["reposts"]] == [video]
    assert [m["id"] for m in kept["muted_accounts"]] == [ada.id]
    assert [f["phrase"] for f in kept["keyword_filters"]] == ["spoiler"]
    assert [(c["video_id"], c["hold"]) for c in kept["comment_controls"]] == [(None, "all")]
    assert kept["liked_public"] is False
    assert kept["hide_ai_generated"] is False
