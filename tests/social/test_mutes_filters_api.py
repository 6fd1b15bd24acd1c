"""Mutes and keyword filters through the JSON API: every surface they apply to (For You, Following, search,
comments), from the next page on, without telling the muted account; bad input refused clearly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from reelm import ids
from reelm.realms.switches import Switchboard
from reelm.runtime import Runtime
from reelm.social.models import KeywordFilter
from reelm.text import hashtags_of
from reelm.videos.models import Video, VideoStatus, Visibility
from tests.conftest import Account, make_account
from tests.factories import app_of, assert_problem


@pytest.fixture
async def board(client: httpx.AsyncClient) -> AsyncIterator[Switchboard]:
    """The app's switchboard, loaded (search answers only where its switch is known to be on)."""
    switchboard: Switchboard = app_of(client).state.switchboard
    await switchboard.start()
    yield switchboard
    await switchboard.stop()


async def plant(runtime: Runtime, owner: Account, caption: str, *, minutes_ago: int = 0) -> str:
    """A published public video row (no media: these rules read captions, tags and creators)."""
    video_id = ids.new_id(runtime.settings.realm(owner.realm).code)
    async with runtime.databases.transaction(owner.realm) as session:
        session.add(
            Video(
                id=video_id,
                owner_id=int(owner.id),
                caption=caption,
                hashtags=hashtags_of(caption),
                mentions=[],
                visibility=Visibility.PUBLIC,
                status=VideoStatus.READY,
                published_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
                original_key=f"videos/{video_id}/original",
                original_size=1,
            )
        )
    return str(video_id)


async def get_json(client: httpx.AsyncClient, url: str, viewer: Account | None, **params: Any) -> Any:
    got = await client.get(url, params=params, headers=viewer.auth if viewer else {})
    assert got.status_code == 200, got.text
    return got.json()


async def following(client: httpx.AsyncClient, viewer: Account) -> list[str]:
    page = await get_json(client, "/api/v1/feed/following", viewer, limit=30)
    return [item["caption"] for item in page["items"]]


async def for_you(client: httpx.AsyncClient, viewer: Account) -> list[str]:
    page = await get_json(client, "/api/v1/feed/for-you", viewer, limit=30)
    return [item["caption"] for item in page["items"]]


async def searched(client: httpx.AsyncClient, viewer: Account, q: str) -> list[str]:
    return [v["caption"] for v in (await get_json(client, "/api/v1/search", viewer, q=q))["videos"]]


async def comments(client: httpx.AsyncClient, video: str, viewer: Account | None) -> list[str]:
    return [c["body"] for c in (await get_json(client, f"/api/v1/videos/{video}/comments", viewer))["items"]]


async def add_filter(client: httpx.AsyncClient, viewer: Account, phrase: str, **more: Any) -> httpx.Response:
    return await client.post("/api/v1/me/filters", headers=viewer.auth, json={"phrase": phrase, **more})


async def test_a_muted_account_disappears_from_every_surface_without_being_told(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    ada = await make_account(client, "ada")
    eve = await make_account(client, "eve")
    viewer = await make_account(client, "viewer")
    other = await make_account(client, "other")
    await plant(runtime, ada, "lighthouse by ada", minutes_ago=2)
    eves = await plant(runtime, eve, "lighthouse by eve", minutes_ago=1)
    for person in (ada, eve):
        assert (
            await client.post(f"/api/v1/users/{person.handle}/follow", headers=viewer.auth)
        ).status_code == 200
    comment = await client.post(f"/api/v1/videos/{eves}/comments", headers=eve.auth, json={"body": "my own"})
    assert comment.status_code == 201, comment.text
    assert sorted(await following(client, viewer)) == ["lighthouse by ada", "lighthouse by eve"]
    assert "lighthouse by eve" in await for_you(client, viewer)

    told_before = await get_json(client, "/api/v1/notifications", eve)
    muted = await client.post("/api/v1/users/eve/mute", headers=viewer.auth)
    assert muted.json() == {"muted": True}
    assert [p["handle"] for p in (await get_json(client, "/api/v1/me/mutes", viewer))["items"]] == ["eve"]

    assert await following(client, viewer) == ["lighthouse by ada"]
    assert "lighthouse by eve" not in await for_you(client, viewer)
    assert await searched(client, viewer, "lighthouse") == ["lighthouse by ada"]
    assert await comments(client, eves, viewer) == []
    # Nobody else is affected, and eve is not told: her follow, her videos and comments are as they were.
    assert sorted(await searched(client, other, "lighthouse")) == ["lighthouse by ada", "lighthouse by eve"]
    assert await comments(client, eves, other) == ["my own"]
    assert await get_json(client, "/api/v1/notifications", eve) == told_before

    assert_problem(
        await client.post("/api/v1/users/viewer/mute", headers=viewer.auth), 422, "invalid-request"
    )
    assert_problem(await client.post("/api/v1/users/nobody/mute", headers=viewer.auth), 404, "not-found")
    assert_problem(await client.post("/api/v1/users/eve/mute"), 401, "login-required")

    assert (await client.delete("/api/v1/users/eve/mute", headers=viewer.auth)).json() == {"muted": False}
    assert sorted(await following(client, viewer)) == ["lighthouse by ada", "lighthouse by eve"]


async def test_keyword_filters_hide_videos_and_comments_matching_literally(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    ada = await make_account(client, "ada")
    viewer = await make_account(client, "viewer")
    await plant(runtime, ada, "Kittens at dawn #Cats", minutes_ago=5)
    await plant(runtime, ada, "pattern a.*b here", minutes_ago=4)
    await plant(runtime, ada, "pattern aXXb here", minutes_ago=3)
    await plant(runtime, ada, "brackets [x] here", minutes_ago=2)
    plain = await plant(runtime, ada, "plain dawn", minutes_ago=1)
    assert (await client.post("/api/v1/users/ada/follow", headers=viewer.auth)).status_code == 200
    for body in ("SPOILER inside", "nice one", "about #cats"):
        posted = await client.post(f"/api/v1/videos/{plain}/comments", headers=ada.auth, json={"body": body})
        assert posted.status_code == 201, posted.text
    assert len(await following(client, viewer)) == 5

    # Regex metacharacters are the characters they are: "a.*b" hides only the caption that contains it.
    made = await add_filter(client, viewer, "a.*b")
    assert made.status_code == 201, made.text
    assert made.json()["is_tag"] is False
    assert made.json()["expires_at"] is None
    assert await following(client, viewer) == [
        "plain dawn",
        "brackets [x] here",
        "pattern aXXb here",
        "Kittens at dawn #Cats",
    ]
    assert (await add_filter(client, viewer, "[x]")).status_code == 201
    assert "brackets [x] here" not in await following(client, viewer)

    # A #hashtag hides the videos that carry it (and comments using it), a word what contains it, any case.
    tag = await add_filter(client, viewer, "#CATS", duration="7d")
    assert tag.json()["is_tag"] is True
    assert tag.json()["expires_at"] is not None
    assert (await add_filter(client, viewer, "spoiler")).status_code == 201
    assert await following(client, viewer) == ["plain dawn", "pattern aXXb here"]
    assert await searched(client, viewer, "dawn") == ["plain dawn"]
    assert "Kittens at dawn #Cats" not in await for_you(client, viewer)
    assert await comments(client, plain, viewer) == ["nice one"]
    assert len(await comments(client, plain, None)) == 3  # only the viewer's own view changes
    # Their own comments are never hidden from their author.
    assert len(await comments(client, plain, ada)) == 3

    listed = (await get_json(client, "/api/v1/me/filters", viewer))["items"]
    assert [f["phrase"] for f in listed] == ["spoiler", "#CATS", "[x]", "a.*b"]
    removed = await client.delete(f"/api/v1/me/filters/{listed[0]['id']}", headers=viewer.auth)
    assert removed.status_code == 204
    assert len(await comments(client, plain, viewer)) == 2
    assert_problem(
        await client.delete(f"/api/v1/me/filters/{listed[0]['id']}", headers=viewer.auth), 404, "not-found"
    )


async def test_filters_apply_from_the_next_page_and_expire(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    ada = await make_account(client, "ada")
    viewer = await make_account(client, "viewer")
    for n in range(4):
        await plant(runtime, ada, f"clip {n} {'storm' if n % 2 else 'calm'}", minutes_ago=10 - n)
    assert (await client.post("/api/v1/users/ada/follow", headers=viewer.auth)).status_code == 200
    first = await get_json(client, "/api/v1/feed/following", viewer, limit=2)
    assert [i["caption"] for i in first["items"]] == ["clip 3 storm", "clip 2 calm"]
    assert (await add_filter(client, viewer, "storm")).status_code == 201
    second = await get_json(client, "/api/v1/feed/following", viewer, limit=2, cursor=first["next_cursor"])
    assert [i["caption"] for i in second["items"]] == ["clip 0 calm"]

    # An expired filter no longer applies, and is not listed.
    async with runtime.databases.transaction("us") as session:
        found = await session.get(
            KeywordFilter, int((await get_json(client, "/api/v1/me/filters", viewer))["items"][0]["id"])
        )
        assert found is not None
        found.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert (await get_json(client, "/api/v1/me/filters", viewer))["items"] == []
    assert len(await following(client, viewer)) == 4


async def test_bad_filters_are_refused_clearly(client: httpx.AsyncClient) -> None:
    viewer = await make_account(client, "viewer")
    assert_problem(await add_filter(client, viewer, "x" * 10_000), 422, "invalid-request")
    assert_problem(await add_filter(client, viewer, "   "), 422, "invalid-request")
    assert_problem(await add_filter(client, viewer, "ok", duration="3d"), 422, "invalid-request")
    assert_problem(await add_filter(client, viewer, "nul\u0000"), 422, "invalid-request")
    assert_problem(await client.post("/api/v1/me/filters", json={"phrase": "x"}), 401, "login-required")
    # The same words again renew the filter rather than adding one.
    assert (await add_filter(client, viewer, "Storm")).status_code == 201
    assert (await add_filter(client, viewer, "storm", duration="1d")).status_code == 201
    listed = (await get_json(client, "/api/v1/me/filters", viewer))["items"]
    assert [(f["phrase"], f["expires_at"] is not None) for f in listed] == [("storm", True)]


async def test_ai_generated_videos_can_be_hidden(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    ada = await make_account(client, "ada")
    viewer = await make_account(client, "viewer")
    made = await plant(runtime, ada, "harbour made by a model", minutes_ago=2)
    await plant(runtime, ada, "harbour filmed by hand", minutes_ago=1)
    labelled = await client.patch(f"/api/v1/videos/{made}", headers=ada.auth, json={"ai_generated": True})
    assert labelled.status_code == 200, labelled.text
    assert (await client.post("/api/v1/users/ada/follow", headers=viewer.auth)).status_code == 200
    assert len(await following(client, viewer)) == 2
    assert await get_json(client, "/api/v1/me/viewing-preferences", viewer) == {"hide_ai_generated": False}

    hidden = await client.put(
        "/api/v1/me/viewing-preferences", headers=viewer.auth, json={"hide_ai_generated": True}
    )
    assert hidden.json() == {"hide_ai_generated": True}
    assert await following(client, viewer) == ["harbour filmed by hand"]
    assert await searched(client, viewer, "harbour") == ["harbour filmed by hand"]
    assert "harbour made by a model" not in await for_you(client, viewer)
    assert len(await searched(client, ada, "harbour")) == 2  # only the viewer's own lists change
    assert_problem(
        await client.put(
            "/api/v1/me/viewing-preferences", headers=viewer.auth, json={"hide_ai_generated": 1}
        ),
        422,
        "invalid-request",
    )
