"""Public content crosses realms through the replicated projections; activity stays in the actor's realm."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from reelm.accounts.models import User
from reelm.cli.main import app as cli_app
from reelm.crossrealm.models import RealmFlow
from reelm.crossrealm.replication import ensure_cross_realm, prepare_realm, realm_databases
from reelm.db import RealmBase
from reelm.runtime import Runtime
from reelm.social.models import Comment, CommentLike, Follow, VideoLike
from reelm.videos.models import Video
from tests.conftest import PASSWORD, Account, make_account
from tests.factories import assert_problem, eventually, make_tiny_clip, publish
from tests.residency.test_residency import command_env

M = TypeVar("M", bound=RealmBase)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("crossrealm"))


async def rows(runtime: Runtime, realm: str) -> dict[str, int]:
    async with runtime.databases.sessionmaker(realm)() as session:
        return {
            model.__tablename__: await session.scalar(select(func.count()).select_from(model)) or 0
            for model in (VideoLike, Comment, CommentLike, Follow)
        }


async def db_get(runtime: Runtime, realm: str, model: type[M], key: str) -> M:
    async with runtime.databases.sessionmaker(realm)() as session:
        row = await session.get(model, int(key))
    assert row is not None, f"no {model.__name__} {key} in {realm}"
    return row


async def visible(client: httpx.AsyncClient, account: Account, video_id: str) -> bool:
    return (await client.get(f"/api/v1/videos/{video_id}", headers=account.auth)).status_code == 200


async def test_activity_is_stored_at_home_and_only_counts_reach_the_video_realm(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator", country="US")
    visitor = await make_account(client, "visitor", country="DE")
    bystander = await make_account(client, "bystander", country="JP")
    assert (visitor.realm, bystander.realm) == ("eu", "global")
    video_id = await publish(client, runtime, creator, clip)
    top = (
        await client.post(f"/api/v1/videos/{video_id}/comments", headers=creator.auth, json={"body": "hi"})
    ).json()
    await eventually(lambda: visible(client, visitor, video_id))

    liked = await client.post(f"/api/v1/videos/{video_id}/like", headers=visitor.auth)
    assert liked.json() == {"liked": True, "like_count": 1}
    again = await client.post(f"/api/v1/videos/{video_id}/like", headers=visitor.auth)
    assert again.json()["like_count"] <= 1  # liking twice counts once
    posted = await client.post(
        f"/api/v1/videos/{video_id}/comments", headers=visitor.auth, json={"body": "hallo aus Berlin"}
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["author"]["handle"] == "visitor"
    reply = await client.post(
        f"/api/v1/videos/{video_id}/comments",
        headers=visitor.auth,
        json={"body": "antwort", "parent_id": top["id"]},
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["parent_id"] == top["id"]
    assert (
        await client.post(f"/api/v1/videos/{video_id}/comments/{top['id']}/like", headers=visitor.auth)
    ).json() == {"liked": True, "like_count": 1}
    followed = await client.post("/api/v1/users/creator/follow", headers=visitor.auth)
    assert followed.json() == {"following": True, "follower_count": 1}

    # The activity rows live in the visitor's realm only.
    assert await rows(runtime, "eu") == {"video_likes": 1, "comments": 2, "comment_likes": 1, "follows": 1}
    assert await rows(runtime, "us") == {"video_likes": 0, "comments": 1, "comment_likes": 0, "follows": 0}

    # The video's realm receives the counts, and passes the totals on to every realm.
    async def counted() -> bool:
        video = await db_get(runtime, "us", Video, video_id)
        user = await db_get(runtime, "us", User, creator.id)
        first = await db_get(runtime, "us", Comment, top["id"])
        return (
            (video.like_count, video.comment_count) == (1, 3)
            and (user.follower_count, user.likes_received) == (1, 1)
            and (first.like_count, first.reply_count) == (1, 1)
        )

    await eventually(counted)

    async def seen_by_bystander() -> bool:
        card = await client.get(f"/api/v1/videos/{video_id}", headers=bystander.auth)
        return card.status_code == 200 and card.json()["counts"]["likes"] == 1

    await eventually(seen_by_bystander)
    card = (await client.get(f"/api/v1/videos/{video_id}", headers=visitor.auth)).json()
    assert card["liked_by_me"] is True
    assert card["creator"]["is_following"] is True

    # Everyone sees every realm's public comments, the creator included.
    async def creator_sees_both() -> bool:
        page = (await client.get(f"/api/v1/videos/{video_id}/comments", headers=creator.auth)).json()
        return [c["body"] for c in page["items"]] == ["hi", "hallo aus Berlin"]

    await eventually(creator_sees_both)
    await eventually(lambda: _bodies(client, video_id, bystander, top["id"], ["antwort"]))

    # Profiles of other realms are read from the viewer's own realm, with the viewer's follow.
    profile = (await client.get("/api/v1/users/creator", headers=visitor.auth)).json()
    assert (profile["realm"], profile["is_following"]) == ("us", True)

    # Every crossing was counted where it arrived.
    async with runtime.databases.sessionmaker("us")() as session:
        from_eu = await session.scalar(select(func.sum(RealmFlow.rows)).where(RealmFlow.source_realm == "eu"))
    assert (from_eu or 0) >= 4  # comments, tallies and the profile at least

    # Taking it all back takes the counts back.
    await client.delete(f"/api/v1/videos/{video_id}/like", headers=visitor.auth)
    await client.delete("/api/v1/users/creator/follow", headers=visitor.auth)

    async def taken_back() -> bool:
        video = await db_get(runtime, "us", Video, video_id)
        user = await db_get(runtime, "us", User, creator.id)
        return (video.like_count, user.follower_count, user.likes_received) == (0, 0, 0)

    await eventually(taken_back)


async def _bodies(
    client: httpx.AsyncClient, video_id: str, viewer: Account, parent_id: str, expected: list[str]
) -> bool:
    page = await client.get(
        f"/api/v1/videos/{video_id}/comments", params={"parent_id": parent_id}, headers=viewer.auth
    )
    return [c["body"] for c in page.json()["items"]] == expected


async def test_other_realms_appear_in_for_you_following_and_hashtags(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator", country="US")
    viewer = await make_account(client, "viewer", country="FR")
    video_id = await publish(client, runtime, creator, clip, caption="sunset #beach")
    await eventually(lambda: visible(client, viewer, video_id))

    feed = (await client.get("/api/v1/feed/for-you", headers=viewer.auth)).json()
    item = next(i for i in feed["items"] if i["id"] == video_id)
    assert item["realm"] == "us"
    assert item["mp4_url"].startswith("/media/us/")  # public renditions are served from their realm
    assert item["reason"]
    tagged = (await client.get("/api/v1/hashtags/beach/videos", headers=viewer.auth)).json()
    assert [v["id"] for v in tagged["items"]] == [video_id]

    assert (await client.get("/api/v1/feed/following", headers=viewer.auth)).json()["items"] == []
    await client.post("/api/v1/users/creator/follow", headers=viewer.auth)
    following = (await client.get("/api/v1/feed/following", headers=viewer.auth)).json()
    assert [v["id"] for v in following["items"]] == [video_id]
    videos = (await client.get("/api/v1/users/creator/videos", headers=viewer.auth)).json()
    assert [v["id"] for v in videos["items"]] == [video_id]


async def test_private_and_deleted_videos_leave_every_other_realm(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator", country="US")
    visitor = await make_account(client, "visitor", country="DE")
    video_id = await publish(client, runtime, creator, clip)
    await eventually(lambda: visible(client, visitor, video_id))
    await client.post(f"/api/v1/videos/{video_id}/comments", headers=visitor.auth, json={"body": "wow"})

    async def gone() -> bool:
        return not await visible(client, visitor, video_id)

    made_private = await client.patch(
        f"/api/v1/videos/{video_id}", headers=creator.auth, json={"visibility": "private"}
    )
    assert made_private.status_code == 200
    await eventually(gone, seconds=5)

    # The visitor's comment is no longer public anywhere, but it is kept in the visitor's realm.
    async def comment_withdrawn() -> bool:
        return await _public_count(runtime, "us", "public_comments") == 0

    await eventually(comment_withdrawn, seconds=5)
    assert (await rows(runtime, "eu"))["comments"] == 1
    assert_problem(
        await client.post(f"/api/v1/videos/{video_id}/like", headers=visitor.auth), 404, "not-found"
    )
    assert (await rows(runtime, "eu"))["video_likes"] == 0

    await client.patch(f"/api/v1/videos/{video_id}", headers=creator.auth, json={"visibility": "public"})
    await eventually(lambda: visible(client, visitor, video_id))

    async def comment_back() -> bool:
        return await _public_count(runtime, "global", "public_comments") == 1

    await eventually(comment_back)

    assert (await client.delete(f"/api/v1/videos/{video_id}", headers=creator.auth)).status_code == 204
    await eventually(gone, seconds=5)
    for realm in ("us", "eu", "global"):
        assert await _public_count(runtime, realm, "public_videos") == 0


async def _public_count(runtime: Runtime, realm: str, view: str) -> int:
    async with runtime.databases.sessionmaker(realm)() as session:
        return await session.scalar(text(f"SELECT count(*) FROM {view}")) or 0


async def test_a_creator_removes_another_realms_comment_from_their_video(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator", country="US")
    visitor = await make_account(client, "visitor", country="DE")
    stranger = await make_account(client, "stranger", country="JP")
    video_id = await publish(client, runtime, creator, clip)
    await eventually(lambda: visible(client, visitor, video_id))
    posted = (
        await client.post(f"/api/v1/videos/{video_id}/comments", headers=visitor.auth, json={"body": "spam"})
    ).json()

    async def counted(n: int) -> bool:
        return (await db_get(runtime, "us", Video, video_id)).comment_count == n

    await eventually(lambda: counted(1))
    await eventually(lambda: visible(client, stranger, video_id))
    forbidden = await client.delete(
        f"/api/v1/videos/{video_id}/comments/{posted['id']}", headers=stranger.auth
    )
    assert_problem(forbidden, 403, "forbidden")

    removed = await client.delete(f"/api/v1/videos/{video_id}/comments/{posted['id']}", headers=creator.auth)
    assert removed.status_code == 204

    async def deleted_at_home() -> bool:
        return (await rows(runtime, "eu"))["comments"] == 0

    await eventually(deleted_at_home)
    await eventually(lambda: counted(0))


async def test_unknown_targets_in_other_realms_are_refused_and_write_nothing(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator", country="US")
    visitor = await make_account(client, "visitor", country="DE")
    video_id = await publish(client, runtime, creator, clip)
    other_id = await publish(client, runtime, creator, clip)
    await eventually(lambda: visible(client, visitor, other_id))
    top = (
        await client.post(f"/api/v1/videos/{other_id}/comments", headers=creator.auth, json={"body": "hi"})
    ).json()
    await eventually(lambda: _bodies_top(client, other_id, visitor, ["hi"]))

    missing = str(int(video_id) + 1)  # a well-formed id of realm us that names no video
    assert_problem(
        await client.post(f"/api/v1/videos/{missing}/like", headers=visitor.auth), 404, "not-found"
    )
    # A reply must name a comment on the same video.
    wrong_parent = await client.post(
        f"/api/v1/videos/{video_id}/comments",
        headers=visitor.auth,
        json={"body": "x", "parent_id": top["id"]},
    )
    assert_problem(wrong_parent, 422, "invalid-request")
    assert_problem(
        await client.post(
            f"/api/v1/videos/{video_id}/comments/{int(top['id']) + 1}/like", headers=visitor.auth
        ),
        404,
        "not-found",
    )
    assert set((await rows(runtime, "eu")).values()) == {0}


async def _bodies_top(client: httpx.AsyncClient, video_id: str, viewer: Account, expected: list[str]) -> bool:
    page = await client.get(f"/api/v1/videos/{video_id}/comments", headers=viewer.auth)
    return [c["body"] for c in page.json()["items"]] == expected


async def test_an_account_pending_deletion_disappears_from_every_realm(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator", country="US")
    visitor = await make_account(client, "visitor", country="DE")
    video_id = await publish(client, runtime, creator, clip)
    await eventually(lambda: visible(client, visitor, video_id))
    deleted = await client.request("DELETE", "/api/v1/me", headers=creator.auth, json={"password": PASSWORD})
    assert deleted.status_code == 202, deleted.text

    async def gone() -> bool:
        profile = await client.get("/api/v1/users/creator", headers=visitor.auth)
        return profile.status_code == 404 and not await visible(client, visitor, video_id)

    await eventually(gone, seconds=5)


# pg_subscription is shared by the whole cluster: this database's own subscriptions only.
OWN_SUBSCRIPTIONS = (
    "SELECT subname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid "
    "WHERE d.datname = current_database()"
)


async def test_only_the_outbound_schema_is_published(runtime: Runtime) -> None:
    for realm in runtime.settings.realm_names:
        async with runtime.databases.sessionmaker(realm)() as session:
            published = set(
                (
                    await session.execute(text("SELECT DISTINCT schemaname FROM pg_publication_tables"))
                ).scalars()
            )
            all_tables = await session.scalar(text("SELECT count(*) FROM pg_publication WHERE puballtables"))
            subscriptions = set((await session.execute(text(OWN_SUBSCRIPTIONS))).scalars())
        assert published == {f"outbound_{realm}"}
        assert all_tables == 0
        others = [r for r in runtime.settings.realm_names if r != realm]
        assert subscriptions == {f"reelm_{other}_to_{realm}" for other in others}


async def test_crossings_are_listed_per_realm_pair_and_day(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator", country="US")
    visitor = await make_account(client, "visitor", country="DE")
    video_id = await publish(client, runtime, creator, clip)
    await eventually(lambda: visible(client, visitor, video_id))
    await client.post(f"/api/v1/videos/{video_id}/like", headers=visitor.auth)

    async def tally_arrived() -> bool:
        return (await db_get(runtime, "us", Video, video_id)).like_count == 1

    await eventually(tally_arrived)
    result = await asyncio.to_thread(
        CliRunner().invoke, cli_app, ["realm", "flows", "--json"], env=command_env(runtime)
    )
    assert result.exit_code == 0, result.output
    flows = [json.loads(line) for line in result.output.splitlines()]
    pairs = {(f["source"], f["destination"], f["relation"]) for f in flows}
    assert ("us", "eu", "videos") in pairs  # the video reached eu
    assert ("eu", "us", "tallies") in pairs  # the like's count reached us
    assert ("us", "global", "profiles") in pairs
    assert all(f["rows"] > 0 and f["source"] != f["destination"] for f in flows)


async def test_preparing_an_unchanged_realm_again_takes_no_locks(runtime: Runtime) -> None:
    """Every start prepares the realms; replacing triggers under live traffic deadlocked, so an
    unchanged database must be left alone (its digest says so)."""
    databases = realm_databases(runtime.settings, runtime.databases.realm_urls)
    realms = sorted(databases)
    prepared = [await asyncio.to_thread(prepare_realm, d, realms) for d in databases.values()]
    assert prepared == [False, False, False]
    assert await asyncio.to_thread(ensure_cross_realm, databases) == 0  # subscriptions exist already
