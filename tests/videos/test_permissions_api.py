"""Per-video permissions through the JSON API: set at upload (the creator's defaults where left out), edited
later, enforced on comments, shown as what each viewer may do, and carried to other realms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Row, select

from reelm.crossrealm.views import public_videos
from reelm.runtime import Runtime
from reelm.videos.models import RemixKind, Video
from reelm.videos.permissions import PLATFORM_DEFAULTS, check_remix_allowed, remix_refusal
from tests.conftest import Account, make_account, run_jobs
from tests.factories import assert_problem, eventually, make_tiny_clip, publish, upload

ALL_OFF = {
    "comment_policy": "no_one",
    "allow_duet": False,
    "allow_stitch": False,
    "allow_sound_reuse": False,
    "allow_download": False,
    "allow_embed": False,
}
FLAGS = ("can_duet", "can_stitch", "can_use_sound", "can_download", "can_embed")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("permissions"))


async def db_video(runtime: Runtime, realm: str, video_id: str) -> Video:
    async with runtime.databases.sessionmaker(realm)() as session:
        video = await session.get(Video, int(video_id))
    assert video is not None
    return video


async def video_as(client: httpx.AsyncClient, account: Account | None, video_id: str) -> dict[str, Any]:
    got = await client.get(f"/api/v1/videos/{video_id}", headers=account.auth if account else {})
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def post_comment(
    client: httpx.AsyncClient, account: Account, video_id: str, text: str
) -> httpx.Response:
    return await client.post(f"/api/v1/videos/{video_id}/comments", headers=account.auth, json={"body": text})


async def follow(client: httpx.AsyncClient, who: Account, whom: Account) -> None:
    followed = await client.post(f"/api/v1/users/{whom.handle}/follow", headers=who.auth)
    assert followed.status_code == 200, followed.text


async def test_account_defaults_fill_what_an_upload_leaves_out(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    defaults = await client.get("/api/v1/me/video-defaults", headers=creator.auth)
    assert defaults.json() == PLATFORM_DEFAULTS.model_dump(mode="json")
    assert defaults.json()["allow_download"] is False  # the one permission off unless chosen

    chosen = {**ALL_OFF, "comment_policy": "followed_back", "allow_download": True}
    put = await client.put("/api/v1/me/video-defaults", headers=creator.auth, json=chosen)
    assert put.status_code == 200, put.text
    assert (await client.get("/api/v1/me/video-defaults", headers=creator.auth)).json() == chosen

    # Nothing given: the defaults. Some given: those, and the defaults for the rest.
    plain = await upload(client, creator, clip)
    with clip.open("rb") as f:
        accepted = await client.post(
            "/api/v1/videos",
            headers=creator.auth,
            files={"file": ("clip.mp4", f, "video/mp4")},
            data={"comment_policy": "everyone", "allow_duet": "true"},
        )
    assert accepted.status_code == 202, accepted.text
    mixed = accepted.json()["id"]
    plain_row, mixed_row = await db_video(runtime, "us", plain), await db_video(runtime, "us", mixed)
    assert (plain_row.comment_policy, plain_row.allow_duet, plain_row.allow_download) == (
        "followed_back",
        False,
        True,
    )
    assert (mixed_row.comment_policy, mixed_row.allow_duet, mixed_row.allow_stitch) == (
        "everyone",
        True,
        False,
    )
    assert mixed_row.allow_download is True

    # The creator sees the settings; the video's own permissions, not the defaults of now.
    await client.put("/api/v1/me/video-defaults", headers=creator.auth, json=PLATFORM_DEFAULTS.model_dump())
    await run_jobs(runtime, "us")
    mine = await video_as(client, creator, mixed)
    assert mine["permissions"] == {**chosen, "comment_policy": "everyone", "allow_duet": True}
    assert all(mine[flag] for flag in FLAGS[:4])  # the creator may do everything with their own video
    assert mine["can_embed"] is False  # but nobody embeds what the creator did not allow


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("comment_policy", "friends"),
        ("allow_duet", "maybe"),
    ],
)
async def test_an_upload_with_a_bad_permission_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, field: str, value: str
) -> None:
    creator = await make_account(client, "creator")
    with clip.open("rb") as f:
        refused = await client.post(
            "/api/v1/videos",
            headers=creator.auth,
            files={"file": ("clip.mp4", f, "video/mp4")},
            data={field: value},
        )
    body = assert_problem(refused, 422, "invalid-request")
    assert field in str(body)
    async with runtime.databases.sessionmaker("us")() as session:
        assert (await session.scalars(select(Video.id))).all() == []


@pytest.mark.parametrize(
    "body",
    [
        {"allow_duet": "false"},  # a string is not a JSON boolean
        {"allow_download": 1},
        {"comment_policy": "friends"},
        {"comment_policy": None, "allow_embed": "yes"},
    ],
)
async def test_bad_permission_values_are_a_422_that_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, body: dict[str, Any]
) -> None:
    creator = await make_account(client, "creator")
    video_id = await publish(client, runtime, creator, clip)
    edited = await client.patch(f"/api/v1/videos/{video_id}", headers=creator.auth, json=body)
    assert_problem(edited, 422, "invalid-request")
    put = await client.put("/api/v1/me/video-defaults", headers=creator.auth, json={**ALL_OFF, **body})
    assert_problem(put, 422, "invalid-request")
    partial = await client.put("/api/v1/me/video-defaults", headers=creator.auth, json={"allow_duet": True})
    assert_problem(partial, 422, "invalid-request")  # PUT replaces them all: each must be given
    row = await db_video(runtime, "us", video_id)
    assert (row.comment_policy, row.allow_duet, row.allow_embed) == ("everyone", True, True)


async def test_permissions_are_edited_later_by_the_creator_only(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    other = await make_account(client, "other")
    video_id = await publish(client, runtime, creator, clip, caption="keep me")
    assert (await video_as(client, other, video_id))["can_duet"] is True

    refused = await client.patch(f"/api/v1/videos/{video_id}", headers=other.auth, json={"allow_duet": False})
    assert_problem(refused, 403, "forbidden")

    edited = await client.patch(
        f"/api/v1/videos/{video_id}", headers=creator.auth, json={"allow_duet": False, "allow_download": True}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["caption"] == "keep me"  # what was not given stays
    assert edited.json()["permissions"]["allow_duet"] is False
    seen = await video_as(client, other, video_id)
    assert seen["permissions"] is None  # the settings are the creator's to see
    assert (seen["can_duet"], seen["can_stitch"], seen["can_download"]) == (False, True, True)
    anonymous = await video_as(client, None, video_id)
    assert anonymous["can_comment"] is False  # log in first
    assert anonymous["can_download"] is True  # allowed: the page asks a visitor to log in


async def test_comment_policies_for_the_creator_a_followed_account_a_follower_and_a_stranger(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    friend = await make_account(client, "friend")  # the creator follows them
    fan = await make_account(client, "fan")  # follows the creator, who does not follow back
    stranger = await make_account(client, "stranger")
    await follow(client, creator, friend)
    await follow(client, fan, creator)
    video_id = await publish(client, runtime, creator, clip)
    everyone = [creator, friend, fan, stranger]

    for account in everyone:
        assert (await post_comment(client, account, video_id, "open")).status_code == 201
        assert (await video_as(client, account, video_id))["can_comment"] is True

    await client.patch(
        f"/api/v1/videos/{video_id}", headers=creator.auth, json={"comment_policy": "followed_back"}
    )
    allowed = {creator.handle, friend.handle}
    for account in everyone:
        posted = await post_comment(client, account, video_id, "followed back")
        seen = await video_as(client, account, video_id)
        assert seen["comment_policy"] == "followed_back"
        assert seen["can_comment"] is (account.handle in allowed)
        if account.handle in allowed:
            assert posted.status_code == 201, posted.text
        else:
            body = assert_problem(posted, 403, "comments-restricted")
            assert body["detail"] == "Only accounts the creator follows can comment on this video."

    await client.patch(f"/api/v1/videos/{video_id}", headers=creator.auth, json={"comment_policy": "no_one"})
    for account in everyone:
        posted = await post_comment(client, account, video_id, "no one")
        if account is creator:
            assert posted.status_code == 201, posted.text
        else:
            assert assert_problem(posted, 403, "comments-restricted")["detail"] == (
                "Comments are turned off for this video."
            )
    # A reply is a comment too, and what was said before stays readable.
    first = (await client.get(f"/api/v1/videos/{video_id}/comments")).json()["items"][0]
    reply = await client.post(
        f"/api/v1/videos/{video_id}/comments", headers=fan.auth, json={"body": "re", "parent_id": first["id"]}
    )
    assert_problem(reply, 403, "comments-restricted")
    listed = (await client.get(f"/api/v1/videos/{video_id}/comments?limit=100")).json()["items"]
    assert [c["body"] for c in listed] == ["open"] * 4 + ["followed back"] * 2 + ["no one"]
    assert (await db_video(runtime, "us", video_id)).comment_count == 7


async def test_other_realms_hold_the_permissions_and_apply_them(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator", country="US")
    visitor = await make_account(client, "visitor", country="DE")
    assert visitor.realm == "eu"
    await follow(client, creator, visitor)  # stored in us: eu cannot tell
    video_id = await publish(client, runtime, creator, clip)

    async def in_eu() -> Row[Any] | None:
        async with runtime.databases.sessionmaker("eu")() as session:
            return (
                await session.execute(select(public_videos).where(public_videos.c.id == int(video_id)))
            ).first()

    async def replicated(**expected: object) -> bool:
        row = await in_eu()
        return row is not None and all(row._mapping[k] == v for k, v in expected.items())

    await eventually(lambda: replicated(comment_policy="everyone", allow_duet=True, allow_download=False))
    seen = await video_as(client, visitor, video_id)
    assert (seen["can_comment"], seen["can_duet"], seen["can_download"]) == (True, True, False)
    assert (await post_comment(client, visitor, video_id, "hallo")).status_code == 201

    await client.patch(
        f"/api/v1/videos/{video_id}",
        headers=creator.auth,
        json={**ALL_OFF, "comment_policy": "followed_back", "allow_download": True},
    )
    await eventually(
        lambda: replicated(comment_policy="followed_back", allow_duet=False, allow_download=True)
    )
    row = await in_eu()
    assert row is not None
    assert (row.allow_stitch, row.allow_sound_reuse, row.allow_embed) == (False, False, False)
    seen = await video_as(client, visitor, video_id)
    assert (seen["can_comment"], seen["can_duet"], seen["can_download"], seen["can_embed"]) == (
        False,
        False,
        True,
        False,
    )
    # The creator follows the visitor, but that follow is stored in us: eu refuses rather than guess.
    refused = assert_problem(
        await post_comment(client, visitor, video_id, "again"), 403, "comments-restricted"
    )
    assert "another region" in refused["detail"]
    # A duet from eu is checked against eu's copy.
    assert remix_refusal(RemixKind.DUET, row) == "The creator doesn't allow duets with this video."


async def test_remix_refusal_names_what_the_creator_does_not_allow(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "creator")
    other = await make_account(client, "other")
    video_id = await publish(client, runtime, creator, clip)
    video = await db_video(runtime, "us", video_id)
    for kind in RemixKind:
        assert remix_refusal(kind, video, remixer_id=int(other.id)) is None
    await client.patch(
        f"/api/v1/videos/{video_id}",
        headers=creator.auth,
        json={"allow_stitch": False, "allow_sound_reuse": False},
    )
    video = await db_video(runtime, "us", video_id)
    assert remix_refusal(RemixKind.DUET, video, remixer_id=int(other.id)) is None
    assert remix_refusal(RemixKind.STITCH, video, remixer_id=int(other.id)) == (
        "The creator doesn't allow stitches with this video."
    )
    assert (
        remix_refusal(RemixKind.SOUND, video) == "The creator doesn't allow others to use this video's sound."
    )
    assert remix_refusal(RemixKind.STITCH, video, remixer_id=int(creator.id)) is None  # one's own video
    with pytest.raises(Exception, match="stitches") as caught:
        check_remix_allowed(RemixKind.STITCH, video, remixer_id=int(other.id))
    problem: Any = caught.value
    assert (problem.status, problem.type, problem.extra) == (403, "remix-not-allowed", {"remix": "stitch"})
