"""Drafts and scheduled posts through the JSON API: a draft is transcoded but private and unlisted until
published; a schedule is checked (future, at most 30 days, a real time zone); the worker's sweep publishes due
posts, holds them while the realm's uploads are suspended for their creator, and tells the creator when it
publishes a held one after restore; other people's videos cannot be scheduled or published."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from reelm.crossrealm.views import public_videos
from reelm.notifications.models import Notification, NotificationKind
from reelm.publishing.scheduled import HELD_DETAIL, publish_due
from reelm.runtime import Runtime
from reelm.videos.models import Video
from reelm.worker import FREQUENT_EVERY_S, FREQUENT_SWEEPS
from tests.conftest import Account, make_account, run_jobs
from tests.factories import app_of, assert_problem, make_tiny_clip, publish
from tests.realms.common import set_switch

BERLIN = "Europe/Berlin"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("drafts"))


async def upload_draft(client: httpx.AsyncClient, account: Account, clip: Path, **fields: str) -> str:
    with clip.open("rb") as f:
        accepted = await client.post(
            "/api/v1/videos",
            headers=account.auth,
            files={"file": ("clip.mp4", f, "video/mp4")},
            data={"caption": "a draft #plans", **fields},
        )
    assert accepted.status_code == 202, accepted.text
    video_id: str = accepted.json()["id"]
    return video_id


async def db_video(runtime: Runtime, realm: str, video_id: str) -> Video:
    async with runtime.databases.sessionmaker(realm)() as session:
        video = await session.get(Video, int(video_id))
    assert video is not None
    return video


async def projected(runtime: Runtime, realm: str, video_id: str) -> bool:
    async with runtime.databases.sessionmaker(realm)() as session:
        found = await session.scalar(select(public_videos.c.id).where(public_videos.c.id == int(video_id)))
    return found is not None


async def drafts(client: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    got = await client.get("/api/v1/me/drafts", headers=account.auth)
    assert got.status_code == 200, got.text
    items: list[dict[str, Any]] = got.json()["items"]
    return items


async def listed(client: httpx.AsyncClient, account: Account, who: Account | None) -> list[str]:
    got = await client.get(f"/api/v1/users/{account.handle}/videos", headers=who.auth if who else {})
    assert got.status_code == 200, got.text
    return [v["id"] for v in got.json()["items"]]


async def make_due(runtime: Runtime, realm: str, video_id: str) -> None:
    """Its time has come (the API refuses a time in the past, so the test moves it back)."""
    async with runtime.databases.transaction(realm) as session:
        await session.execute(
            update(Video)
            .where(Video.id == int(video_id))
            .values(publish_at=datetime.now(UTC) - timedelta(seconds=1))
        )


def tomorrow_at(hour: int, zone: str) -> datetime:
    """Tomorrow at `hour`:00 local time in `zone`, without an offset (as a datetime-local field sends it)."""
    local_tomorrow = datetime.now(zoneinfo.ZoneInfo(zone)).date() + timedelta(days=1)
    return datetime(local_tomorrow.year, local_tomorrow.month, local_tomorrow.day, hour, 0)


async def test_a_draft_is_transcoded_but_private_until_published(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "drafter")
    viewer = await make_account(client, "onlooker")
    video_id = await upload_draft(client, creator, clip, draft="true")
    await run_jobs(runtime, creator.realm)

    video = await db_video(runtime, creator.realm, video_id)
    assert (video.status, video.draft, video.visibility) == ("ready", True, "private")
    assert video.renditions, "a draft is transcoded, so publishing it later is instant"
    assert not await projected(runtime, creator.realm, video_id)
    # Not on the creator's profile (for them or anyone), not visible to others at all; in the drafts list.
    assert video_id not in await listed(client, creator, creator)
    assert video_id not in await listed(client, creator, viewer)
    assert (await client.get(f"/api/v1/videos/{video_id}", headers=viewer.auth)).status_code == 404
    [draft] = await drafts(client, creator)
    assert (draft["id"], draft["status"], draft["visibility"], draft["publish_at"]) == (
        video_id,
        "ready",
        "public",
        None,
    )
    # Editable while a draft: the caption, and who may watch once published (still private now).
    edited = await client.patch(
        f"/api/v1/videos/{video_id}",
        headers=creator.auth,
        json={"caption": "final words", "visibility": "public"},
    )
    assert edited.status_code == 200, edited.text
    assert (await db_video(runtime, creator.realm, video_id)).visibility == "private"

    published = await client.post(f"/api/v1/videos/{video_id}/publish", headers=creator.auth)
    assert published.status_code == 200, published.text
    assert (published.json()["visibility"], published.json()["caption"]) == ("public", "final words")
    video = await db_video(runtime, creator.realm, video_id)
    assert video.draft is False
    assert video.published_at is not None
    assert await projected(runtime, creator.realm, video_id)
    assert video_id in await listed(client, creator, viewer)
    assert await drafts(client, creator) == []
    again = await client.post(f"/api/v1/videos/{video_id}/publish", headers=creator.auth)
    assert_problem(again, 409, "not-a-draft")


async def test_a_private_draft_is_published_private(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "quietdrafter")
    video_id = await upload_draft(client, creator, clip, draft="true", visibility="private")
    await run_jobs(runtime, creator.realm)
    published = await client.post(f"/api/v1/videos/{video_id}/publish", headers=creator.auth)
    assert published.status_code == 200, published.text
    assert published.json()["visibility"] == "private"
    assert not await projected(runtime, creator.realm, video_id)


async def test_a_draft_still_processing_cannot_be_published_yet(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "eagerdrafter")
    video_id = await upload_draft(client, creator, clip, draft="true")
    refused = await client.post(f"/api/v1/videos/{video_id}/publish", headers=creator.auth)
    assert_problem(refused, 409, "draft-processing")


async def test_a_schedule_is_read_in_the_creators_time_zone(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "planner")
    local = tomorrow_at(18, BERLIN)
    video_id = await upload_draft(
        client, creator, clip, publish_at=local.strftime("%Y-%m-%dT%H:%M"), time_zone=BERLIN
    )
    [draft] = await drafts(client, creator)
    offset = zoneinfo.ZoneInfo(BERLIN).utcoffset(local)
    assert offset is not None
    expected = (local - offset).replace(tzinfo=UTC)  # local time minus the zone's offset that day
    assert datetime.fromisoformat(draft["publish_at"]) == expected
    assert (draft["time_zone"], draft["publish_at_local"]) == (BERLIN, local.strftime("%Y-%m-%dT%H:%M"))

    # Moved to another zone's evening; then taken off (it stays a draft).
    tokyo = tomorrow_at(9, "Asia/Tokyo")
    moved = await client.put(
        f"/api/v1/videos/{video_id}/schedule",
        headers=creator.auth,
        json={"publish_at": tokyo.isoformat(), "time_zone": "Asia/Tokyo"},
    )
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["publish_at"]) == (tokyo - timedelta(hours=9)).replace(
        tzinfo=UTC
    )
    # A time with an offset is that instant, whatever zone is named for showing it.
    instant = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    exact = await client.put(
        f"/api/v1/videos/{video_id}/schedule",
        headers=creator.auth,
        json={"publish_at": instant.isoformat()},
    )
    assert exact.status_code == 200, exact.text
    assert datetime.fromisoformat(exact.json()["publish_at"]) == instant
    off = await client.delete(f"/api/v1/videos/{video_id}/schedule", headers=creator.auth)
    assert off.status_code == 200, off.text
    assert off.json()["publish_at"] is None
    assert (await db_video(runtime, creator.realm, video_id)).draft is True


async def test_a_schedule_in_the_past_too_far_ahead_or_in_no_zone_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "badplanner")
    video_id = await upload_draft(client, creator, clip, draft="true")
    url = f"/api/v1/videos/{video_id}/schedule"
    now = datetime.now(UTC)

    past = await client.put(
        url, headers=creator.auth, json={"publish_at": (now - timedelta(minutes=5)).isoformat()}
    )
    body = assert_problem(past, 422, "schedule-in-past")
    assert body["errors"][0]["field"] == "publish_at"
    far = await client.put(
        url, headers=creator.auth, json={"publish_at": (now + timedelta(days=31)).isoformat()}
    )
    assert_problem(far, 422, "schedule-too-far")
    # 30 days less a minute is still fine.
    edge = await client.put(
        url, headers=creator.auth, json={"publish_at": (now + timedelta(days=30, minutes=-1)).isoformat()}
    )
    assert edge.status_code == 200, edge.text
    naive = await client.put(url, headers=creator.auth, json={"publish_at": "2030-01-01T10:00"})
    assert_problem(naive, 422, "schedule-time-zone")
    unknown = await client.put(
        url, headers=creator.auth, json={"publish_at": "2030-01-01T10:00", "time_zone": "Mars/Olympus_Mons"}
    )
    assert_problem(unknown, 422, "invalid-request")
    assert "time_zone" in unknown.json()["detail"]

    # At upload: refused before anything is stored.
    with clip.open("rb") as f:
        late = await client.post(
            "/api/v1/videos",
            headers=creator.auth,
            files={"file": ("clip.mp4", f, "video/mp4")},
            data={"publish_at": (now - timedelta(hours=1)).isoformat()},
        )
    assert_problem(late, 422, "schedule-in-past")
    assert len(await drafts(client, creator)) == 1


async def test_other_peoples_videos_cannot_be_scheduled_or_published(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "owner")
    other = await make_account(client, "meddler")
    draft_id = await upload_draft(client, creator, clip, draft="true")
    public_id = await publish(client, runtime, creator, clip)
    when = {"publish_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}

    # A draft is private: to anyone else it does not exist. A published video is theirs to see, not change.
    assert_problem(
        await client.post(f"/api/v1/videos/{draft_id}/publish", headers=other.auth), 404, "not-found"
    )
    assert_problem(
        await client.put(f"/api/v1/videos/{draft_id}/schedule", headers=other.auth, json=when),
        404,
        "not-found",
    )
    assert_problem(
        await client.delete(f"/api/v1/videos/{draft_id}/schedule", headers=other.auth), 404, "not-found"
    )
    assert_problem(
        await client.post(f"/api/v1/videos/{public_id}/publish", headers=other.auth), 403, "forbidden"
    )
    assert_problem(
        await client.put(f"/api/v1/videos/{public_id}/schedule", headers=other.auth, json=when),
        403,
        "forbidden",
    )
    # The creator cannot schedule what is already out.
    assert_problem(
        await client.put(f"/api/v1/videos/{public_id}/schedule", headers=creator.auth, json=when),
        409,
        "not-a-draft",
    )
    assert (await client.get("/api/v1/me/drafts")).status_code == 401
    assert await drafts(client, other) == []


async def test_the_worker_publishes_due_posts_and_no_others(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    assert ("scheduled posts published", publish_due) in FREQUENT_SWEEPS
    assert FREQUENT_EVERY_S <= 60  # "within a minute" of its time

    creator = await make_account(client, "scheduler")
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    due_id = await upload_draft(client, creator, clip, publish_at=soon)
    later_id = await upload_draft(client, creator, clip, publish_at=soon)
    unscheduled_id = await upload_draft(client, creator, clip, draft="true")
    await make_due(runtime, creator.realm, due_id)
    # Due but still processing: it waits for its transcode.
    assert await publish_due(runtime, creator.realm) == 0
    await run_jobs(runtime, creator.realm)
    assert not await projected(runtime, creator.realm, due_id), "the transcode publishes no draft"

    assert await publish_due(runtime, creator.realm) == 1
    assert await projected(runtime, creator.realm, due_id)
    assert not await projected(runtime, creator.realm, later_id)
    assert {d["id"] for d in await drafts(client, creator)} == {later_id, unscheduled_id}
    assert await publish_due(runtime, creator.realm) == 0  # idempotent


async def test_suspended_uploads_hold_scheduled_posts_until_restored_then_tell_the_creator(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator = await make_account(client, "heldcreator")
    video_id = await upload_draft(
        client, creator, clip, publish_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat()
    )
    other_id = await upload_draft(client, creator, clip, draft="true")
    await run_jobs(runtime, creator.realm)
    await make_due(runtime, creator.realm, video_id)
    board = app_of(client).state.switchboard

    await set_switch(runtime, board, creator.realm, "upload", 0)
    assert await publish_due(runtime, creator.realm) == 0
    video = await db_video(runtime, creator.realm, video_id)
    assert (video.draft, video.status_detail) == (True, HELD_DETAIL)
    assert video.publish_held_at is not None
    assert not await projected(runtime, creator.realm, video_id)
    held = {d["id"]: d for d in await drafts(client, creator)}
    assert held[video_id]["held"] is True
    # Publishing by hand is an upload's last step: refused with the operator's notice while switched off.
    refused = await client.post(f"/api/v1/videos/{other_id}/publish", headers=creator.auth)
    assert refused.status_code == 451, refused.text

    await set_switch(runtime, board, creator.realm, "upload", 100)
    assert await publish_due(runtime, creator.realm) == 1
    video = await db_video(runtime, creator.realm, video_id)
    assert (video.draft, video.status_detail, video.publish_held_at) == (False, "", None)
    assert await projected(runtime, creator.realm, video_id)
    async with runtime.databases.sessionmaker(creator.realm)() as session:
        told = list(
            await session.scalars(
                select(Notification.object_id).where(
                    Notification.recipient_id == int(creator.id),
                    Notification.kind == NotificationKind.POST_PUBLISHED,
                )
            )
        )
    assert told == [int(video_id)]
    listed_notifications = await client.get("/api/v1/notifications", headers=creator.auth)
    assert listed_notifications.status_code == 200, listed_notifications.text
    assert "held while uploads were paused" in listed_notifications.text
