"""Likes, comments and follows through the JSON API, on real published videos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from reelm.accounts.models import User
from reelm.runtime import Runtime
from reelm.social.models import Comment, CommentLike, Follow, VideoLike
from reelm.videos.models import Video
from tests.conftest import Account, make_account
from tests.factories import assert_problem, eventually, make_tiny_clip, publish


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("social"))


async def social_rows(runtime: Runtime, realm: str) -> dict[str, int]:
    async with runtime.databases.sessionmaker(realm)() as session:
        return {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model)) or 0
            for model in (VideoLike, Comment, CommentLike, Follow)
        }


async def db_video(runtime: Runtime, realm: str, video_id: str) -> Video:
    async with runtime.databases.sessionmaker(realm)() as session:
        video = await session.get(Video, int(video_id))
    assert video is not None
    return video


async def db_user(runtime: Runtime, realm: str, user_id: str) -> User:
    async with runtime.databases.sessionmaker(realm)() as session:
        user = await session.get(User, int(user_id))
    assert user is not None
    return user


async def comment(
    client: httpx.AsyncClient, account: Account, video_id: str, body: str, parent_id: str | None = None
) -> dict[str, Any]:
    posted = await client.post(
        f"/api/v1/videos/{video_id}/comments",
        headers=account.auth,
        json={"body": body, "parent_id": parent_id},
    )
    assert posted.status_code == 201, posted.text
    created: dict[str, Any] = posted.json()
    return created


# --- likes -------------------------------------------------------------------------------------------


async def test_like_and_unlike_are_idempotent_and_keep_counts(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    fan = await make_account(client, "fan")
    video_id = await publish(client, runtime, creator, clip)
    like_url = f"/api/v1/videos/{video_id}/like"

    assert_problem(await client.post(like_url), 401, "login-required")
    assert (await social_rows(runtime, "us"))["video_likes"] == 0

    for _ in range(2):
        liked = await client.post(like_url, headers=fan.auth)
        assert liked.status_code == 200, liked.text
        assert liked.json() == {"liked": True, "like_count": 1}
    as_fan = (await client.get(f"/api/v1/videos/{video_id}", headers=fan.auth)).json()
    assert as_fan["liked_by_me"] is True
    assert as_fan["counts"]["likes"] == 1
    assert (await client.get(f"/api/v1/videos/{video_id}", headers=creator.auth)).json()[
        "liked_by_me"
    ] is False
    assert (await client.get(f"/api/v1/videos/{video_id}")).json()["liked_by_me"] is None
    assert (await db_user(runtime, "us", creator.id)).likes_received == 1

    for _ in range(2):
        unliked = await client.delete(like_url, headers=fan.auth)
        assert unliked.status_code == 200, unliked.text
        assert unliked.json() == {"liked": False, "like_count": 0}
    assert (await client.get(f"/api/v1/videos/{video_id}", headers=fan.auth)).json()["liked_by_me"] is False
    assert (await db_video(runtime, "us", video_id)).like_count == 0
    assert (await db_user(runtime, "us", creator.id)).likes_received == 0
    assert (await social_rows(runtime, "us"))["video_likes"] == 0


# --- comments ----------------------------------------------------------------------------------------


async def test_comments_list_oldest_first_with_cursor_pages(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip)
    posted = [await comment(client, creator, video_id, f"comment {i}") for i in range(5)]
    assert posted[0]["author"]["handle"] == "creator"
    assert posted[0]["parent_id"] is None
    assert posted[0]["reply_count"] == 0

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await client.get(f"/api/v1/videos/{video_id}/comments", params=params)  # anonymous may read
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [c["id"] for c in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert len(body["items"]) == 2
    assert seen == [c["id"] for c in posted]
    assert pages == 3
    assert (await client.get(f"/api/v1/videos/{video_id}")).json()["counts"]["comments"] == 5

    tampered = await client.get(f"/api/v1/videos/{video_id}/comments", params={"cursor": "AAAA" + "x" * 30})
    assert_problem(tampered, 400, "bad-cursor")


async def test_replies_are_one_level_deep_and_counted(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    fan = await make_account(client, "fan")
    video_id = await publish(client, runtime, creator, clip)
    top = await comment(client, creator, video_id, "first!")
    other = await comment(client, fan, video_id, "second")
    reply = await comment(client, fan, video_id, "a reply", parent_id=top["id"])
    assert reply["parent_id"] == top["id"]
    # Answering a reply attaches to the thread's top-level comment.
    nested = await comment(client, creator, video_id, "reply to the reply", parent_id=reply["id"])
    assert nested["parent_id"] == top["id"]

    listing = (await client.get(f"/api/v1/videos/{video_id}/comments")).json()
    assert [(c["id"], c["reply_count"]) for c in listing["items"]] == [(top["id"], 2), (other["id"], 0)]
    replies = (
        await client.get(f"/api/v1/videos/{video_id}/comments", params={"parent_id": top["id"]})
    ).json()
    assert [c["id"] for c in replies["items"]] == [reply["id"], nested["id"]]
    assert all(c["parent_id"] == top["id"] for c in replies["items"])

    wrong_parent = await client.post(
        f"/api/v1/videos/{video_id}/comments",
        headers=fan.auth,
        json={"body": "orphan", "parent_id": "123456789"},
    )
    assert_problem(wrong_parent, 422, "invalid-request")
    assert (await db_video(runtime, "us", video_id)).comment_count == 4


async def test_comment_likes_are_idempotent(client: httpx.AsyncClient, runtime: Runtime, clip: Path) -> None:
    creator = await make_account(client, "creator")
    fan = await make_account(client, "fan")
    video_id = await publish(client, runtime, creator, clip)
    top = await comment(client, creator, video_id, "like me")
    like_url = f"/api/v1/videos/{video_id}/comments/{top['id']}/like"

    assert_problem(await client.post(like_url), 401, "login-required")
    for _ in range(2):
        liked = await client.post(like_url, headers=fan.auth)
        assert liked.status_code == 200, liked.text
        assert liked.json() == {"liked": True, "like_count": 1}
    as_fan = (await client.get(f"/api/v1/videos/{video_id}/comments", headers=fan.auth)).json()["items"]
    assert (as_fan[0]["like_count"], as_fan[0]["liked_by_me"]) == (1, True)
    as_creator = (await client.get(f"/api/v1/videos/{video_id}/comments", headers=creator.auth)).json()[
        "items"
    ]
    assert as_creator[0]["liked_by_me"] is False

    for _ in range(2):
        unliked = await client.delete(like_url, headers=fan.auth)
        assert unliked.json() == {"liked": False, "like_count": 0}
    assert (await social_rows(runtime, "us"))["comment_likes"] == 0


async def test_comment_delete_by_author_or_creator_but_not_others(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    author = await make_account(client, "author")
    stranger = await make_account(client, "stranger")
    video_id = await publish(client, runtime, creator, clip)
    first = await comment(client, author, video_id, "by the author")
    second = await comment(client, author, video_id, "also by the author")
    reply = await comment(client, stranger, video_id, "reply", parent_id=second["id"])
    url = f"/api/v1/videos/{video_id}/comments/{{}}"

    assert_problem(await client.delete(url.format(first["id"]), headers=stranger.auth), 403, "forbidden")
    assert (await social_rows(runtime, "us"))["comments"] == 3

    assert (await client.delete(url.format(first["id"]), headers=author.auth)).status_code == 204
    assert (await db_video(runtime, "us", video_id)).comment_count == 2
    # A reply deleted by its author lowers its thread's reply count.
    assert (await client.delete(url.format(reply["id"]), headers=stranger.auth)).status_code == 204
    listing = (await client.get(f"/api/v1/videos/{video_id}/comments")).json()["items"]
    assert [(c["id"], c["reply_count"]) for c in listing] == [(second["id"], 0)]
    # The creator of the video may delete anyone's comment on it.
    assert (await client.delete(url.format(second["id"]), headers=creator.auth)).status_code == 204
    assert (await client.get(f"/api/v1/videos/{video_id}/comments")).json()["items"] == []
    assert (await db_video(runtime, "us", video_id)).comment_count == 0
    assert_problem(await client.delete(url.format(second["id"]), headers=creator.auth), 404, "not-found")


async def test_deleting_a_thread_removes_its_replies_from_the_count(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip)
    top = await comment(client, creator, video_id, "thread")
    for i in range(2):
        await comment(client, creator, video_id, f"reply {i}", parent_id=top["id"])
    assert (await db_video(runtime, "us", video_id)).comment_count == 3

    gone = await client.delete(f"/api/v1/videos/{video_id}/comments/{top['id']}", headers=creator.auth)
    assert gone.status_code == 204
    assert (await social_rows(runtime, "us"))["comments"] == 0
    assert (await db_video(runtime, "us", video_id)).comment_count == 0


async def test_comment_body_is_validated_and_html_kept_as_text(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip)
    url = f"/api/v1/videos/{video_id}/comments"

    for bad in ("", "   \n ", "x" * 1001, "bell\x07"):
        refused = await client.post(url, headers=creator.auth, json={"body": bad})
        problem = assert_problem(refused, 422, "invalid-request")
        assert problem["detail"].startswith("body:"), problem
    assert (await social_rows(runtime, "us"))["comments"] == 0
    assert (await db_video(runtime, "us", video_id)).comment_count == 0

    html = '<script>alert("x")</script> <b>bold</b> & <img src=x onerror=alert(1)>'
    posted = await comment(client, creator, video_id, html)
    assert posted["body"] == html

    # Anonymous visitors read from realm global, which holds the comment a moment later.
    async def listed() -> bool:
        page = await client.get(url)
        return page.status_code == 200 and [c["body"] for c in page.json()["items"]] == [html]

    await eventually(listed)
    async with runtime.databases.sessionmaker("us")() as session:
        assert await session.scalar(select(Comment.body)) == html


async def test_comments_on_invisible_videos_are_404(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    fan = await make_account(client, "fan")
    private_id = await publish(client, runtime, creator, clip, visibility="private")

    for response in (
        await client.get(f"/api/v1/videos/{private_id}/comments"),
        await client.post(f"/api/v1/videos/{private_id}/comments", headers=fan.auth, json={"body": "hi"}),
        await client.post(f"/api/v1/videos/{private_id}/like", headers=fan.auth),
        await client.get("/api/v1/videos/999/comments"),
        await client.get("/api/v1/videos/not-an-id/comments"),
    ):
        assert_problem(response, 404, "not-found")
    assert set((await social_rows(runtime, "us")).values()) == {0}


# --- follows -----------------------------------------------------------------------------------------


async def test_follow_and_unfollow_update_counts(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob")

    assert_problem(await client.post("/api/v1/users/bob/follow"), 401, "login-required")
    for _ in range(2):
        followed = await client.post("/api/v1/users/bob/follow", headers=alice.auth)
        assert followed.status_code == 200, followed.text
        assert followed.json() == {"following": True, "follower_count": 1}
    bob_profile = (await client.get("/api/v1/users/bob", headers=alice.auth)).json()
    assert (bob_profile["follower_count"], bob_profile["following_count"], bob_profile["is_following"]) == (
        1,
        0,
        True,
    )
    alice_profile = (await client.get("/api/v1/users/alice")).json()
    assert (alice_profile["follower_count"], alice_profile["following_count"]) == (0, 1)
    assert (await client.get("/api/v1/users/alice", headers=bob.auth)).json()["is_following"] is False
    assert (await client.get("/api/v1/users/bob")).json()["is_following"] is None

    for _ in range(2):
        unfollowed = await client.delete("/api/v1/users/@Bob/follow", headers=alice.auth)
        assert unfollowed.status_code == 200, unfollowed.text
        assert unfollowed.json() == {"following": False, "follower_count": 0}
    assert (await db_user(runtime, "us", alice.id)).following_count == 0
    assert (await db_user(runtime, "us", bob.id)).follower_count == 0
    assert (await social_rows(runtime, "us"))["follows"] == 0

    assert_problem(
        await client.post("/api/v1/users/alice/follow", headers=alice.auth), 422, "invalid-request"
    )
    assert_problem(await client.post("/api/v1/users/nobody/follow", headers=alice.auth), 404, "not-found")
    assert (await social_rows(runtime, "us"))["follows"] == 0
    assert (await db_user(runtime, "us", alice.id)).following_count == 0
