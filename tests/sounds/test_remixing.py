"""Remixes planned against public projections and composed by the worker before the transcode."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from reelm.crossrealm.models import RealmFlow
from reelm.crossrealm.views import public_sounds
from reelm.errors import Problem
from reelm.runtime import Runtime
from reelm.sounds.models import Sound
from reelm.sounds.remixing import (
    REMIX_MEDIA,
    RemixAsked,
    compose_remix,
    composed_key,
    plan_remix,
    preview_key,
)
from reelm.videos.models import RemixKind, Rendition, Video, VideoStatus
from reelm.videos.transcode import transcode
from tests import clips
from tests.conftest import make_account, run_jobs
from tests.factories import assert_problem, eventually, publish, upload
from tests.sounds import tracks
from tests.sounds.test_making import song_video


async def plan(runtime: Runtime, realm: str, remixer: str, asked: RemixAsked, video_id: str) -> None:
    """Check the remix as the upload does, and keep its plan on the uploaded video."""
    async with runtime.databases.transaction(realm) as session:
        planned = await plan_remix(session, int(remixer), asked)
        await session.execute(update(Video).where(Video.id == int(video_id)).values(remix=planned))


async def video_row(runtime: Runtime, realm: str, video_id: str) -> Video:
    async with runtime.databases.read(realm) as session:
        video = await session.get(Video, int(video_id))
    assert video is not None
    return video


async def test_a_sound_used_in_another_realm_and_a_duet_and_a_stitch(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    ada = await make_account(client, "ada")
    eve = await make_account(client, "eve", country="DE")  # another realm
    song = tracks.song(seed=21, seconds=8.0)
    original = await publish(client, runtime, ada, song_video(tmp_path, "song", song, "red"))
    await run_jobs(runtime, ada.realm)
    async with runtime.databases.read(ada.realm) as session:
        sound = (await session.scalars(select(Sound))).one()

    async def sound_reached_eu() -> bool:
        async with runtime.databases.read(eve.realm) as session:
            found = await session.execute(select(public_sounds.c.id).where(public_sounds.c.id == sound.id))
            return found.first() is not None

    await eventually(sound_reached_eu)

    # Eve films to Ada's sound from its third second, her own audio muted.
    clip = clips.make_clip(tmp_path, width=180, height=320, duration_s=3.0, name="eve.mp4")
    used = await upload(client, eve, clip)
    asked = RemixAsked(RemixKind.SOUND, sound.id, own_level=0.0, other_level=1.0, offset_s=3.0)
    await plan(runtime, eve.realm, eve.id, asked, used)
    await run_jobs(runtime, eve.realm)
    video = await video_row(runtime, eve.realm, used)
    assert video.status == VideoStatus.READY
    assert video.sound_id == sound.id
    assert video.remix is not None
    assert video.remix["composed"] is True
    assert video.original_key.endswith("composed.mp4")
    async with runtime.databases.read(eve.realm) as session:
        crossed = await session.scalar(
            select(RealmFlow.rows).where(
                RealmFlow.relation == REMIX_MEDIA, RealmFlow.source_realm == ada.realm
            )
        )
    assert crossed == 1

    # A duet and a stitch of Ada's video, in her realm.
    duet = await upload(client, ada, clips.make_clip(tmp_path, duration_s=2.0, name="duet.mp4"))
    await plan(runtime, ada.realm, ada.id, RemixAsked(RemixKind.DUET, int(original)), duet)
    stitch = await upload(client, ada, clips.make_clip(tmp_path, duration_s=2.0, name="stitch.mp4"))
    asked = RemixAsked(RemixKind.STITCH, int(original), start_s=1.0, end_s=3.5)
    await plan(runtime, ada.realm, ada.id, asked, stitch)
    await run_jobs(runtime, ada.realm)
    duet_row, stitch_row = (
        await video_row(runtime, ada.realm, duet),
        await video_row(runtime, ada.realm, stitch),
    )
    assert duet_row.status == stitch_row.status == VideoStatus.READY
    assert duet_row.height is not None
    assert duet_row.width is not None
    assert duet_row.height * 9 == duet_row.width * 16  # one 9:16 picture, both sides in it
    assert duet_row.remix is not None
    assert duet_row.remix["previewed"] is duet_row.remix["composed"] is True
    assert stitch_row.duration_s is not None
    assert abs(stitch_row.duration_s - 4.5) < 0.3  # 2.5 s of the original, then the 2 s clip


async def test_remixes_refused_by_permission_range_or_takedown_store_nothing(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    ada, bob = await make_account(client, "ada"), await make_account(client, "bob")
    original = await publish(
        client, runtime, ada, song_video(tmp_path, "song", tracks.song(seed=4, seconds=6.0), "red")
    )
    await run_jobs(runtime, ada.realm)
    async with runtime.databases.transaction(ada.realm) as session:
        await session.execute(update(Video).where(Video.id == int(original)).values(allow_duet=False))
        sound = (await session.scalars(select(Sound))).one()

    async def refused(asked: RemixAsked) -> Problem:
        async with runtime.databases.read(bob.realm) as session:
            with pytest.raises(Problem) as caught:
                await plan_remix(session, int(bob.id), asked)
        return caught.value

    assert (await refused(RemixAsked(RemixKind.DUET, int(original)))).status == 403
    assert (await refused(RemixAsked(RemixKind.STITCH, int(original), start_s=2.0, end_s=2.0))).status == 422
    assert (await refused(RemixAsked(RemixKind.STITCH, int(original), start_s=0.0, end_s=9.0))).status == 422
    assert (await refused(RemixAsked(RemixKind.SOUND, sound.id, offset_s=36_000.0))).status == 422
    assert (await refused(RemixAsked(RemixKind.SOUND, 12345))).status == 404
    async with runtime.databases.transaction(ada.realm) as session:
        await session.execute(update(Sound).where(Sound.id == sound.id).values(status="unavailable"))
    assert (await refused(RemixAsked(RemixKind.SOUND, sound.id))).type == "sound-unavailable"


async def test_the_upload_api_takes_a_remix_and_refuses_one_before_storing_anything(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    ada, bob = await make_account(client, "ada"), await make_account(client, "bob")
    original = await publish(client, runtime, ada, clips.make_clip(tmp_path, duration_s=3.0, name="a.mp4"))
    clip = clips.make_clip(tmp_path, duration_s=1.5, name="b.mp4")

    async def post(**fields: str) -> httpx.Response:
        with clip.open("rb") as f:
            return await client.post(
                "/api/v1/videos", headers=bob.auth, files={"file": ("b.mp4", f, "video/mp4")}, data=fields
            )

    accepted = await post(remix_kind="duet", remix_of=original, own_level="0.5")
    assert accepted.status_code == 202, accepted.text
    await run_jobs(runtime, bob.realm)
    duet = await video_row(runtime, bob.realm, accepted.json()["id"])
    assert (duet.status, duet.remix_kind, duet.remix_of_id) == (VideoStatus.READY, "duet", int(original))

    async with runtime.databases.transaction(ada.realm) as session:
        await session.execute(update(Video).where(Video.id == int(original)).values(allow_stitch=False))
    refused = await post(remix_kind="stitch", remix_of=original, stitch_start_s="0", stitch_end_s="2")
    assert_problem(refused, 403, "remix-not-allowed")
    assert_problem(await post(remix_kind="duet"), 422, "remix-incomplete")
    assert (await post(remix_kind="duet", remix_of=original, own_level="2")).status_code == 422
    assert_problem(await post(remix_kind="sound", remix_of="42"), 404, "not-found")
    async with runtime.databases.read(bob.realm) as session:
        kept = list(await session.scalars(select(Video.id).where(Video.owner_id == int(bob.id))))
    assert kept == [duet.id]


async def test_a_duet_is_published_from_its_small_preview_then_gets_every_rung(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    ada = await make_account(client, "ada")
    original = await publish(client, runtime, ada, clips.make_clip(tmp_path, duration_s=3.0, name="o.mp4"))
    duet = await upload(client, ada, clips.make_clip(tmp_path, duration_s=2.0, name="duet.mp4"))
    await plan(runtime, ada.realm, ada.id, RemixAsked(RemixKind.DUET, int(original)), duet)

    async def rungs() -> dict[str, tuple[int, int]]:
        async with runtime.databases.read(ada.realm) as session:
            rows = await session.execute(
                select(Rendition.name, Rendition.width, Rendition.height).where(
                    Rendition.video_id == int(duet)
                )
            )
            return {name: (width, height) for name, width, height in rows}

    async def screened(*_: object, **__: object) -> bool:
        return True

    # The job's first step on its own: the duet composed at the smallest rung's size, published as that rung.
    assert await compose_remix(runtime, ada.realm, int(duet), preview=True) is True
    await transcode(runtime, ada.realm, int(duet), screened)
    first = await video_row(runtime, ada.realm, duet)
    assert first.status == VideoStatus.READY
    assert first.original_key == preview_key(int(duet))
    assert (first.width, first.height) == (360, 640)
    assert await rungs() == {"360p": (360, 640)}
    first_poster = await runtime.storage.realm(ada.realm).read(f"videos/{duet}/poster.jpg")

    # The job then composes at full size and adds the other rungs, with a poster from the full picture.
    await run_jobs(runtime, ada.realm)
    full = await video_row(runtime, ada.realm, duet)
    assert full.original_key == composed_key(int(duet))
    assert (full.width, full.height) == (1080, 1920)
    assert await rungs() == {
        "360p": (360, 640),
        "480p": (480, 854),
        "720p": (720, 1280),
        "1080p": (1080, 1920),
    }
    assert await runtime.storage.realm(ada.realm).read(f"videos/{duet}/poster.jpg") != first_poster
