"""A video's duets and stitches (GET /videos/{id}/remixes), and the notifications their creators' originals
get when a duet, a stitch or a use of a sound is published, in the same realm and across realms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update

from reelm.runtime import Runtime
from reelm.sounds.models import Sound
from reelm.videos.models import Video
from tests import clips
from tests.conftest import Account, make_account, run_jobs
from tests.factories import assert_problem, delivered, eventually, make_tiny_clip, publish, transit_ready
from tests.sounds import tracks
from tests.sounds.test_making import song_video


async def post_remix(
    client: httpx.AsyncClient, account: Account, clip: Path, *, visibility: str = "public", **fields: str
) -> str:
    """Upload `clip` as a remix (the upload API's form fields); the video processes until jobs run."""
    with clip.open("rb") as f:
        accepted = await client.post(
            "/api/v1/videos",
            headers=account.auth,
            files={"file": (clip.name, f, "video/mp4")},
            data={"visibility": visibility, **fields},
        )
    assert accepted.status_code == 202, accepted.text
    video_id: str = accepted.json()["id"]
    return video_id


async def remixes(
    client: httpx.AsyncClient, video_id: str, account: Account | None = None, **params: str
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/videos/{video_id}/remixes", params=params, headers=account.auth if account else {}
    )
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def notifications(client: httpx.AsyncClient, account: Account) -> list[tuple[str, str, str]]:
    response = await client.get("/api/v1/notifications", headers=account.auth)
    assert response.status_code == 200, response.text
    return [(n["kind"], n["text"], n["url"]) for n in response.json()["items"]]


async def test_duets_stitches_and_sound_uses_notify_the_creator_and_duets_and_stitches_are_listed(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    ada = await make_account(client, "ada")
    bob = await make_account(client, "bob")
    eve = await make_account(client, "eve", country="DE")  # another realm
    await transit_ready(runtime)
    original = await publish(
        client, runtime, ada, song_video(tmp_path, "song", tracks.song(seed=7, seconds=6.0), "red")
    )
    await run_jobs(runtime, ada.realm)  # the original's sound is made
    async with runtime.databases.read(ada.realm) as session:
        sound = (await session.scalars(select(Sound))).one()

    async def public_in_eu() -> bool:
        return (await client.get(f"/api/v1/videos/{original}", headers=eve.auth)).status_code == 200

    await eventually(public_in_eu)

    # Bob stitches the original and uses its sound; a private duet of his tells nobody. Eve, in eu, duets it.
    clip = clips.make_clip(tmp_path, width=180, height=320, duration_s=1.5, name="clip.mp4")
    stitch = await post_remix(
        client, bob, clip, remix_kind="stitch", remix_of=original, stitch_start_s="1", stitch_end_s="3"
    )
    used = await post_remix(client, bob, clip, remix_kind="sound", remix_of=str(sound.id), sound_offset_s="1")
    await post_remix(client, bob, clip, visibility="private", remix_kind="duet", remix_of=original)
    duet = await post_remix(client, eve, clip, remix_kind="duet", remix_of=original, own_level="0.5")
    await run_jobs(runtime, bob.realm)
    await run_jobs(runtime, eve.realm)

    # Ada hears of the stitch and the sound at once (her realm), of Eve's duet once its notice crossed.
    async def three() -> bool:
        return len(await notifications(client, ada)) == 3

    await delivered(runtime, three)
    assert sorted(await notifications(client, ada)) == [
        ("duet", "@eve made a duet with your video", f"/v/{duet}"),
        ("sound_used", "@bob used your sound", f"/sound/{sound.id}"),
        ("stitch", "@bob stitched your video", f"/v/{stitch}"),
    ]

    # Her video's duets and stitches, from both realms, newest first; the sound's use is not one of them.
    async def both_listed() -> bool:
        return len((await remixes(client, original, ada))["items"]) == 2

    await eventually(both_listed)
    for viewer in (ada, eve, None):  # from either realm, logged in or not
        page = await remixes(client, original, viewer)
        assert [v["id"] for v in page["items"]] == [duet, stitch]
        assert [v["creator"]["handle"] for v in page["items"]] == ["eve", "bob"]
        assert page["next_cursor"] is None
    assert (await remixes(client, used))["items"] == []


async def test_the_remixes_page_through_and_refuse_what_is_not_there(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    ada, bob = await make_account(client, "ada"), await make_account(client, "bob")
    clip = make_tiny_clip(tmp_path)
    original = await publish(client, runtime, ada, clip)
    made = [await publish(client, runtime, bob, clip) for _ in range(3)]
    private = await publish(client, runtime, bob, clip, visibility="private")
    # Marked as the upload marks remixes (composing them is the worker's, tested in test_remixing).
    async with runtime.databases.transaction(bob.realm) as session:
        for video_id, kind in zip([*made, private], ["duet", "stitch", "duet", "duet"], strict=True):
            await session.execute(
                update(Video)
                .where(Video.id == int(video_id))
                .values(remix_kind=kind, remix_of_id=int(original))
            )

    first = await remixes(client, original, ada, limit="2")
    assert [v["id"] for v in first["items"]] == [made[2], made[1]]
    rest = await remixes(client, original, ada, limit="2", cursor=first["next_cursor"])
    assert [v["id"] for v in rest["items"]] == [made[0]]  # the private one is nobody's to list
    assert rest["next_cursor"] is None

    # A cursor of another video's list, or forged, is refused; so is a video nobody may see.
    other = await remixes(client, made[0], ada, limit="1")
    assert other["items"] == []
    wrong = await client.get(f"/api/v1/videos/{made[0]}/remixes", params={"cursor": first["next_cursor"]})
    assert_problem(wrong, 400, "bad-cursor")
    assert_problem(await client.get(f"/api/v1/videos/{private}/remixes", headers=ada.auth), 404, "not-found")
    assert_problem(await client.get("/api/v1/videos/123/remixes"), 404, "not-found")
    too_many = await client.get(f"/api/v1/videos/{original}/remixes", params={"limit": "500"})
    assert too_many.status_code == 422
