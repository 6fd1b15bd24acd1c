"""Creators' comment controls through the JSON API: followers-only comments, comments held for approval
(by keyword or all), approved or deleted in bulk, the account-age limit, the pinned comment, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from reelm import ids
from reelm.accounts.models import User
from reelm.runtime import Runtime
from reelm.text import hashtags_of
from reelm.videos.models import Video, VideoStatus, Visibility
from tests.conftest import PASSWORD, Account, make_account
from tests.factories import assert_problem


async def plant(runtime: Runtime, owner: Account, caption: str = "a video") -> str:
    """A published public video row (no media: comments need none)."""
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
                published_at=datetime.now(UTC),
                original_key=f"videos/{video_id}/original",
                original_size=1,
            )
        )
    return str(video_id)


async def say(client: httpx.AsyncClient, who: Account, video: str, body: str) -> httpx.Response:
    return await client.post(f"/api/v1/videos/{video}/comments", headers=who.auth, json={"body": body})


async def shown(client: httpx.AsyncClient, video: str, viewer: Account | None = None) -> list[str]:
    got = await client.get(f"/api/v1/videos/{video}/comments", headers=viewer.auth if viewer else {})
    assert got.status_code == 200, got.text
    return [c["body"] for c in got.json()["items"]]


async def put(client: httpx.AsyncClient, who: Account, path: str, **body: Any) -> httpx.Response:
    return await client.put(path, headers=who.auth, json=body)


async def test_followers_only_comments(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ada = await make_account(client, "ada")
    fan = await make_account(client, "fan")
    stranger = await make_account(client, "stranger")
    video = await plant(runtime, ada)
    changed = await client.patch(
        f"/api/v1/videos/{video}", headers=ada.auth, json={"comment_policy": "followers"}
    )
    assert changed.status_code == 200, changed.text
    assert (await client.post("/api/v1/users/ada/follow", headers=fan.auth)).status_code == 200

    body = assert_problem(await say(client, stranger, video, "hi"), 403, "comments-restricted")
    assert "followers" in body["detail"]
    assert (await client.get(f"/api/v1/videos/{video}", headers=stranger.auth)).json()["can_comment"] is False
    assert (await client.get(f"/api/v1/videos/{video}", headers=fan.auth)).json()["can_comment"] is True
    assert (await say(client, fan, video, "from a fan")).status_code == 201
    assert (await say(client, ada, video, "from the creator")).status_code == 201


async def test_held_comments_wait_for_approval_in_bulk(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ada = await make_account(client, "ada")
    bob = await make_account(client, "bob")
    eve = await make_account(client, "eve")
    video = await plant(runtime, ada)
    other = await plant(runtime, ada, "another")
    defaults = await put(
        client, ada, "/api/v1/me/comment-controls", hold="keywords", keywords=["Spoiler", " x.*y "]
    )
    assert defaults.json() == {
        "hold": "keywords",
        "keywords": ["spoiler", "x.*y"],
        "min_account_days": 0,
        "pinned_comment_id": None,
    }
    assert (await say(client, bob, video, "big SPOILER ahead")).status_code == 201
    assert (await say(client, bob, video, "pattern x.*y literally")).status_code == 201
    assert (await say(client, bob, video, "pattern xAAy is fine")).status_code == 201
    assert (await say(client, eve, video, "nice")).status_code == 201

    assert await shown(client, video, eve) == ["pattern xAAy is fine", "nice"]
    assert await shown(client, video) == ["pattern xAAy is fine", "nice"]
    # The author sees their own held comments; nobody was notified of them.
    assert len(await shown(client, video, bob)) == 4
    items = (await client.get("/api/v1/notifications", headers=ada.auth)).json()["items"]
    told = [n for n in items if n["kind"] == "comment"]
    assert len(told) == 1
    assert len(told[0]["actors"]) == 2  # bob's visible comment and eve's, grouped

    # One video holds all its comments, whatever the default says.
    own = await put(client, ada, f"/api/v1/videos/{other}/comment-controls", hold="all")
    assert own.json()["hold"] == "all"
    assert (await say(client, eve, other, "anything")).status_code == 201
    assert await shown(client, other, bob) == []

    held = (await client.get("/api/v1/me/held-comments", headers=ada.auth)).json()["items"]
    assert [c["body"] for c in held] == ["big SPOILER ahead", "pattern x.*y literally", "anything"]
    assert (await client.get("/api/v1/me/held-comments", headers=bob.auth)).json()["items"] == []
    # Someone else cannot decide on them.
    theirs = await client.post(
        "/api/v1/me/held-comments/approve", headers=bob.auth, json={"ids": [c["id"] for c in held]}
    )
    assert theirs.json() == {"done": 0}

    approved = await client.post(
        "/api/v1/me/held-comments/approve", headers=ada.auth, json={"ids": [held[0]["id"], held[2]["id"]]}
    )
    assert approved.json() == {"done": 2}
    deleted = await client.post(
        "/api/v1/me/held-comments/delete", headers=ada.auth, json={"ids": [held[1]["id"]]}
    )
    assert deleted.json() == {"done": 1}
    assert await shown(client, video, eve) == ["big SPOILER ahead", "pattern xAAy is fine", "nice"]
    assert await shown(client, other, bob) == ["anything"]
    assert (await client.get("/api/v1/me/held-comments", headers=ada.auth)).json()["items"] == []


async def test_accounts_newer_than_the_limit_cannot_comment(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ada = await make_account(client, "ada")
    bob = await make_account(client, "bob")
    video = await plant(runtime, ada)
    assert (
        await put(client, ada, f"/api/v1/videos/{video}/comment-controls", min_account_days=3)
    ).status_code == 200
    body = assert_problem(await say(client, bob, video, "hello"), 403, "comments-restricted")
    assert "3 days" in body["detail"]
    async with runtime.databases.transaction("us") as session:
        await session.execute(
            update(User)
            .where(User.id == int(bob.id))
            .values(created_at=datetime.now(UTC) - timedelta(days=4))
        )
    # A fresh session (sessions keep the account as it was when they were resolved).
    session_made = await client.post("/api/v1/sessions", json={"login": "bob", "password": PASSWORD})
    older = Account(handle="bob", token=session_made.json()["token"], id=bob.id, realm=bob.realm)
    assert (await say(client, older, video, "hello")).status_code == 201


async def test_one_comment_is_pinned_by_the_creator(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ada = await make_account(client, "ada")
    bob = await make_account(client, "bob")
    video = await plant(runtime, ada)
    other = await plant(runtime, ada, "another")
    first = (await say(client, bob, video, "first")).json()["id"]
    second = (await say(client, bob, video, "second")).json()["id"]
    elsewhere = (await say(client, bob, other, "elsewhere")).json()["id"]

    pinned = await put(client, ada, f"/api/v1/videos/{video}/pinned-comment", comment_id=second)
    assert pinned.json()["pinned_comment_id"] == second
    page = (await client.get(f"/api/v1/videos/{video}/comments")).json()
    assert page["pinned_id"] == second
    assert (await put(client, ada, f"/api/v1/videos/{video}/pinned-comment", comment_id=first)).json()[
        "pinned_comment_id"
    ] == first  # one at a time: the new pin replaces the old
    assert_problem(
        await put(client, ada, f"/api/v1/videos/{video}/pinned-comment", comment_id=elsewhere),
        404,
        "not-found",
    )
    assert_problem(
        await put(client, bob, f"/api/v1/videos/{video}/pinned-comment", comment_id=first), 403, "forbidden"
    )
    unpinned = await put(client, ada, f"/api/v1/videos/{video}/pinned-comment", comment_id=None)
    assert unpinned.json()["pinned_comment_id"] is None
    assert (await client.get(f"/api/v1/videos/{video}/comments")).json()["pinned_id"] is None


async def test_bad_controls_are_refused_clearly(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ada = await make_account(client, "ada")
    bob = await make_account(client, "bob")
    video = await plant(runtime, ada)
    path = "/api/v1/me/comment-controls"
    assert_problem(
        await put(client, ada, path, keywords=[f"w{n}" for n in range(51)]), 422, "invalid-request"
    )
    assert_problem(await put(client, ada, path, keywords=["x" * 10_000]), 422, "invalid-request")
    assert_problem(await put(client, ada, path, min_account_days=1000), 422, "invalid-request")
    assert_problem(await put(client, ada, path, hold="sometimes"), 422, "invalid-request")
    assert_problem(
        await put(client, bob, f"/api/v1/videos/{video}/comment-controls", hold="all"), 403, "forbidden"
    )
    too_many = await client.post(
        "/api/v1/me/held-comments/approve", headers=ada.auth, json={"ids": [str(n + 1) for n in range(101)]}
    )
    assert_problem(too_many, 422, "invalid-request")
