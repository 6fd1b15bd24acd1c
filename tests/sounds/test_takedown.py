"""A sound taken down by review is muted in every video that uses it, in every realm, and can't be used."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from reelm.crossrealm.views import public_sounds
from reelm.moderation.models import Decision
from reelm.runtime import Runtime
from reelm.sounds.models import Sound, SoundStatus
from reelm.sounds.takedown import sync_muted
from reelm.videos.models import Rendition, Video
from tests import clips
from tests.conftest import make_account, run_jobs
from tests.factories import assert_problem, eventually, publish
from tests.moderation.common import decide, make_staff, queue, report
from tests.sounds import tracks
from tests.sounds.test_making import song_video


async def heard(runtime: Runtime, realm: str, video_id: int) -> tuple[bool, bool]:
    """(whether the video is flagged muted, whether any of its renditions carries sound)."""
    async with runtime.databases.read(realm) as session:
        video = await session.get(Video, video_id)
        assert video is not None
        codecs = list(await session.scalars(select(Rendition.codecs).where(Rendition.video_id == video_id)))
    assert codecs
    return video.audio_muted, any("mp4a" in c for c in codecs)


async def test_a_sound_taken_down_is_muted_everywhere_and_refused(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    ada = await make_account(client, "ada")
    eve = await make_account(client, "eve", country="DE")
    original = await publish(
        client, runtime, ada, song_video(tmp_path, "song", tracks.song(seed=31, seconds=7.0), "red")
    )
    await run_jobs(runtime, ada.realm)
    async with runtime.databases.read(ada.realm) as session:
        sound = (await session.scalars(select(Sound))).one()

    async def eu_sees(status: str) -> bool:
        async with runtime.databases.read(eve.realm) as session:
            found = await session.scalar(select(public_sounds.c.status).where(public_sounds.c.id == sound.id))
            return found == status

    await eventually(lambda: eu_sees(SoundStatus.AVAILABLE))
    clip = clips.make_clip(tmp_path, duration_s=2.0, name="eve.mp4")
    with clip.open("rb") as f:
        used = await client.post(
            "/api/v1/videos",
            headers=eve.auth,
            files={"file": ("eve.mp4", f, "video/mp4")},
            data={"remix_kind": "sound", "remix_of": str(sound.id)},
        )
    assert used.status_code == 202, used.text
    await run_jobs(runtime, eve.realm)
    eve_video = int(used.json()["id"])
    assert await heard(runtime, eve.realm, eve_video) == (False, True)

    # Reported, reviewed and removed, as any content: a decision on the sound, logged like the others.
    bob = await make_account(client, "bob")
    filed = await report(client, bob, str(sound.id), content_type="sound", explanation="Not theirs to share")
    assert filed.status_code == 201, filed.text
    reviewer = await make_staff(client, runtime, "rita", "reviewer", "us")
    [case] = (await queue(client, reviewer, "us")).json()["items"]
    decided = await decide(client, reviewer, case["id"], facts="A song published without its owner's leave.")
    assert decided.status_code == 201, decided.text
    async with runtime.databases.read(ada.realm) as session:
        assert (await session.get(Sound, sound.id)).status == SoundStatus.UNAVAILABLE  # type: ignore[union-attr]
        kinds = list(await session.scalars(select(Decision.content_type)))
    assert kinds == ["sound"]

    # Muted where it is: the original at once (its realm's transaction), the remix in eu by its sweep.
    await run_jobs(runtime, ada.realm)
    assert await heard(runtime, ada.realm, int(original)) == (True, False)
    await eventually(lambda: eu_sees(SoundStatus.UNAVAILABLE))
    assert await sync_muted(runtime, eve.realm) == 1
    await run_jobs(runtime, eve.realm)
    assert await heard(runtime, eve.realm, eve_video) == (True, False)
    assert await sync_muted(runtime, eve.realm) == 0  # nothing left to do

    with clip.open("rb") as f:
        refused = await client.post(
            "/api/v1/videos",
            headers=eve.auth,
            files={"file": ("eve.mp4", f, "video/mp4")},
            data={"remix_kind": "sound", "remix_of": str(sound.id)},
        )
    assert_problem(refused, 422, "sound-unavailable")
