"""What a profile shows: pinned videos, follower and following lists, blocked accounts; and hashtag pages."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reelm.runtime import Runtime
from tests.conftest import Account, make_account
from tests.factories import assert_problem, make_tiny_clip, publish


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("profiles"))


async def pinned(client: httpx.AsyncClient, handle: str, viewer: Account | None = None) -> list[str]:
    got = await client.get(f"/api/v1/users/{handle}/pinned", headers=viewer.auth if viewer else {})
    assert got.status_code == 200, got.text
    return [v["id"] for v in got.json()["items"]]


async def pin(client: httpx.AsyncClient, account: Account, video_id: str) -> httpx.Response:
    return await client.put(f"/api/v1/videos/{video_id}/pin", headers=account.auth)


async def handles(client: httpx.AsyncClient, path: str, viewer: Account | None = None) -> list[str]:
    got = await client.get(path, headers=viewer.auth if viewer else {})
    assert got.status_code == 200, got.text
    return [p["handle"] for p in got.json()["items"]]


# --- pinned videos -----------------------------------------------------------------------------------------


async def test_up_to_three_own_public_videos_can_be_pinned(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    maya = await make_account(client, "maya")
    ada = await make_account(client, "ada")
    videos = [await publish(client, runtime, maya, clip, caption=f"take {n}") for n in range(4)]
    hidden = await publish(client, runtime, maya, clip, visibility="private")
    theirs = await publish(client, runtime, ada, clip)

    for video_id in videos[:3]:
        answer = await pin(client, maya, video_id)
        assert answer.status_code == 200, answer.text
    assert answer.json()["video_ids"] == [videos[2], videos[1], videos[0]]  # the latest pinned first
    assert (await pin(client, maya, videos[0])).status_code == 200  # pinning again changes nothing

    fourth = await pin(client, maya, videos[3])
    body = assert_problem(fourth, 409, "pin-limit")
    assert "up to 3" in body["detail"]
    assert_problem(await pin(client, maya, hidden), 409, "not-pinnable")
    assert_problem(await pin(client, maya, theirs), 403, "forbidden")
    assert_problem(await client.put(f"/api/v1/videos/{videos[3]}/pin"), 401, "login-required")
    assert await pinned(client, "maya") == [videos[2], videos[1], videos[0]]
    assert await pinned(client, "maya", ada) == [videos[2], videos[1], videos[0]]

    unpinned = await client.delete(f"/api/v1/videos/{videos[1]}/pin", headers=maya.auth)
    assert unpinned.json()["video_ids"] == [videos[2], videos[0]]
    assert (await pin(client, maya, videos[3])).status_code == 200
    assert await pinned(client, "maya") == [videos[3], videos[2], videos[0]]
    # Someone else cannot unpin them.
    assert_problem(await client.delete(f"/api/v1/videos/{videos[3]}/pin", headers=ada.auth), 403, "forbidden")


async def test_a_deleted_or_hidden_video_drops_out_of_the_pins(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    maya = await make_account(client, "maya")
    first, second, third = [await publish(client, runtime, maya, clip) for _ in range(3)]
    for video_id in (first, second, third):
        assert (await pin(client, maya, video_id)).status_code == 200

    assert (await client.delete(f"/api/v1/videos/{first}", headers=maya.auth)).status_code == 204
    assert await pinned(client, "maya") == [third, second]
    made_private = await client.patch(
        f"/api/v1/videos/{second}", headers=maya.auth, json={"visibility": "private"}
    )
    assert made_private.status_code == 200, made_private.text
    assert await pinned(client, "maya") == [third]
    assert await pinned(client, "maya", maya) == [third]  # not even its creator sees a hidden pin first
    # Only shown pins hold a place.
    fresh = await publish(client, runtime, maya, clip)
    another = await publish(client, runtime, maya, clip)
    assert (await pin(client, maya, fresh)).status_code == 200
    assert (await pin(client, maya, another)).status_code == 200
    assert await pinned(client, "maya") == [another, fresh, third]


# --- followers and following ------------------------------------------------------------------------------


async def test_follower_and_following_lists_page_and_leave_out_blocked_people(
    client: httpx.AsyncClient,
) -> None:
    maya, ada, bo, cy = [await make_account(client, h) for h in ("maya", "ada", "bo", "cy")]
    for fan in (ada, bo, cy):
        assert (await client.post("/api/v1/users/maya/follow", headers=fan.auth)).status_code == 200
    assert (await client.post("/api/v1/users/ada/follow", headers=maya.auth)).status_code == 200

    assert await handles(client, "/api/v1/users/maya/followers") == ["cy", "bo", "ada"]
    assert await handles(client, "/api/v1/users/maya/following") == ["ada"]
    assert await handles(client, "/api/v1/users/ada/followers") == ["maya"]

    first = await client.get("/api/v1/users/maya/followers", params={"limit": 2})
    assert [p["handle"] for p in first.json()["items"]] == ["cy", "bo"]
    cursor = first.json()["next_cursor"]
    assert cursor
    rest = await client.get("/api/v1/users/maya/followers", params={"limit": 2, "cursor": cursor})
    assert [p["handle"] for p in rest.json()["items"]] == ["ada"]
    assert rest.json()["next_cursor"] is None
    # A cursor is for the list it came from.
    assert_problem(
        await client.get("/api/v1/users/maya/following", params={"cursor": cursor}), 400, "bad-cursor"
    )

    # As ada sees it: whom she follows is marked, and someone she blocked is left out (either way round).
    listed = await client.get("/api/v1/users/maya/followers", headers=ada.auth)
    marks = {p["handle"]: p["is_following"] for p in listed.json()["items"]}
    assert marks == {"cy": False, "bo": False, "ada": None}
    assert (await client.post("/api/v1/users/bo/block", headers=ada.auth)).status_code == 200
    assert await handles(client, "/api/v1/users/maya/followers", ada) == ["cy", "ada"]
    assert (await client.post("/api/v1/users/cy/block", headers=bo.auth)).status_code == 200
    assert await handles(client, "/api/v1/users/maya/followers", cy) == ["cy", "ada"]
    assert await handles(client, "/api/v1/users/maya/followers") == ["cy", "bo", "ada"]

    assert_problem(await client.get("/api/v1/users/nobody/followers"), 404, "not-found")


async def test_blocked_accounts_are_listed_for_their_blocker(client: httpx.AsyncClient) -> None:
    maya, ada, bo = [await make_account(client, h) for h in ("maya", "ada", "bo")]
    for someone in ("ada", "bo"):
        assert (await client.post(f"/api/v1/users/{someone}/block", headers=maya.auth)).status_code == 200
    assert await handles(client, "/api/v1/me/blocks", maya) == ["bo", "ada"]
    assert await handles(client, "/api/v1/me/blocks", ada) == []
    assert (await client.delete("/api/v1/users/bo/block", headers=maya.auth)).status_code == 200
    assert await handles(client, "/api/v1/me/blocks", maya) == ["ada"]
    assert_problem(await client.get("/api/v1/me/blocks"), 401, "login-required")
    del bo


# --- hashtags ---------------------------------------------------------------------------------------------


async def test_a_hashtag_counts_its_videos_and_sorts_by_top_or_latest(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    maya = await make_account(client, "maya")
    fans = [await make_account(client, f"fan{n}") for n in range(3)]
    older = await publish(client, runtime, maya, clip, caption="first #sunset")
    newer = await publish(client, runtime, maya, clip, caption="second #sunset")
    newest = await publish(client, runtime, maya, clip, caption="third #Sunset")
    await publish(client, runtime, maya, clip, caption="hidden #sunset", visibility="private")
    await publish(client, runtime, maya, clip, caption="other #sunrise")
    for fan in fans:
        assert (await client.post(f"/api/v1/videos/{older}/like", headers=fan.auth)).status_code == 200
    assert (await client.post(f"/api/v1/videos/{newer}/like", headers=fans[0].auth)).status_code == 200

    info = await client.get("/api/v1/hashtags/sunset")
    assert info.status_code == 200, info.text
    assert info.json() == {"name": "sunset", "video_count": 3}

    async def ids(**params: str | int) -> tuple[list[str], str | None]:
        got = await client.get("/api/v1/hashtags/sunset/videos", params=params)
        assert got.status_code == 200, got.text
        return [v["id"] for v in got.json()["items"]], got.json()["next_cursor"]

    assert (await ids())[0] == [newest, newer, older]
    assert (await ids(sort="latest"))[0] == [newest, newer, older]
    assert (await ids(sort="top"))[0] == [older, newer, newest]
    top_first, cursor = await ids(sort="top", limit=2)
    assert top_first == [older, newer]
    assert cursor is not None
    assert (await ids(sort="top", limit=2, cursor=cursor)) == ([newest], None)
    refused = await client.get("/api/v1/hashtags/sunset/videos", params={"sort": "best"})
    assert_problem(refused, 422, "invalid-request")
    bad = await client.get("/api/v1/hashtags/sunset/videos", params={"sort": "latest", "cursor": cursor})
    assert_problem(bad, 400, "bad-cursor")
    assert (await client.get("/api/v1/hashtags/nothinghere")).json()["video_count"] == 0
