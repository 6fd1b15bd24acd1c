"""Sounds as people see them: a sound's API and page, its count of videos across realms, the creator's
rename, a sound taken down, the chip on every card, search (the Sounds tab, typeahead) and trending sounds.

Sounds are planted as rows on published video rows (no media: these read the projections the triggers keep;
tests/sounds/test_making.py makes real ones from audio).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from reelm import ids
from reelm.crossrealm.views import public_sounds, public_videos
from reelm.runtime import Runtime
from reelm.sounds.models import Sound, SoundStatus
from reelm.videos.models import Video
from tests.conftest import Account, make_account
from tests.factories import assert_problem, eventually
from tests.search.test_search import plant_video
from tests.staff.common import make_staff
from tests.web.test_security import browser_login

API = "/api/v1"
WAVEFORM = [0, 20, 55, 100, 70, 30, 5]


async def plant_sound(runtime: Runtime, owner: Account, video_id: str, *, title: str | None = None) -> str:
    """The sound of `video_id` (a published video of `owner`), as reelm.sounds.making would record it."""
    sound_id = ids.new_id(runtime.settings.realm(owner.realm).code)
    async with runtime.databases.transaction(owner.realm) as session:
        session.add(
            Sound(
                id=sound_id,
                owner_id=int(owner.id),
                video_id=int(video_id),
                title=title,
                audio_key=f"sounds/{sound_id}/audio.m4a",
                duration_s=12.5,
                loudness_lufs=-14.0,
                waveform=WAVEFORM,
                status=SoundStatus.AVAILABLE,
            )
        )
        await session.flush()  # the sound's row before the video names it
        await session.execute(update(Video).where(Video.id == int(video_id)).values(sound_id=sound_id))
    return str(sound_id)


async def reached(runtime: Runtime, realm: str, *, sound: str, videos: list[str]) -> None:
    """Wait until `realm`'s database holds the sound and these videos (replication)."""

    async def there() -> bool:
        async with runtime.databases.read(realm) as session:
            found = await session.scalar(select(public_sounds.c.id).where(public_sounds.c.id == int(sound)))
            held = set(
                await session.scalars(
                    select(public_videos.c.id).where(public_videos.c.id.in_([int(v) for v in videos]))
                )
            )
        return found is not None and held == {int(v) for v in videos}

    await eventually(there)


async def get(client: httpx.AsyncClient, path: str, who: Account | None = None, **params: Any) -> Any:
    response = await client.get(f"{API}{path}", params=params, headers=who.auth if who else {})
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_sound_counts_the_videos_of_every_realm_that_use_it(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ada = await make_account(client, "ada")
    eve = await make_account(client, "eve", country="DE")  # realm eu
    assert (ada.realm, eve.realm) == ("us", "eu")
    original = await plant_video(runtime, ada, "my song", published_at=datetime.now(UTC) - timedelta(hours=2))
    sound = await plant_sound(runtime, ada, original)
    used = await plant_video(runtime, eve, "dancing to it", sound_id=int(sound))
    for realm in ("us", "eu"):
        await reached(runtime, realm, sound=sound, videos=[original, used])

    for who in (None, ada, eve):  # anonymous visitors read realm us; Eve reads her own realm's copies
        body = await get(client, f"/sounds/{sound}", who)
        assert body["title"] == "original sound \u2013 @ada"
        assert body["named"] is False
        assert body["creator"]["handle"] == "ada"
        assert body["video_count"] == 2
        assert body["original"] == {"id": original, "realm": "us", "poster_url": None}
        assert body["waveform"] == WAVEFORM
        assert body["duration_s"] == 12.5
        assert body["audio_url"] == f"/media/us/sounds/{sound}/audio.m4a"
        assert (body["status"], body["available"], body["message"]) == ("available", True, None)
        assert body["can_use"] is True
        assert body["can_rename"] is (who is ada)

        # The videos using it, newest first, in pages; from a tapped one on.
        page = await get(client, f"/sounds/{sound}/videos", who)
        assert [v["id"] for v in page["items"]] == [used, original]
        first = await get(client, f"/sounds/{sound}/videos", who, limit=1)
        assert [v["id"] for v in first["items"]] == [used]
        rest = await get(client, f"/sounds/{sound}/videos", who, limit=1, cursor=first["next_cursor"])
        assert [v["id"] for v in rest["items"]] == [original]
        assert rest["next_cursor"] is None
        tapped = await get(client, f"/sounds/{sound}/videos", who, start=original)
        assert [v["id"] for v in tapped["items"]] == [original]

    # Every card carries the chip: another realm's video (the projections) and one's own (the realm's tables).
    chip = {"id": sound, "realm": "us", "title": "original sound \u2013 @ada", "named": False}
    for who, video in ((eve, used), (ada, original), (ada, used), (None, original)):
        card = await get(client, f"/videos/{video}", who)
        assert {k: card["sound"][k] for k in chip} == chip
        assert card["sound"]["creator_handle"] == "ada"
        assert card["sound"]["available"] is True
        assert card["audio_muted"] is False
    lonely = await plant_video(runtime, ada, "no sound")
    assert (await get(client, f"/videos/{lonely}", ada))["sound"] is None


async def test_the_creator_renames_a_sound_and_every_realm_sees_it(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ada, bob = await make_account(client, "ada"), await make_account(client, "bob")
    eve = await make_account(client, "eve", country="DE")
    original = await plant_video(runtime, ada, "my song")
    sound = await plant_sound(runtime, ada, original)
    used = await plant_video(runtime, eve, "to ada's song", sound_id=int(sound))
    await reached(runtime, "eu", sound=sound, videos=[original, used])

    path = f"{API}/sounds/{sound}"
    assert_problem(
        await client.patch(path, json={"title": "Mine now"}, headers=bob.auth), 403, "not-sound-creator"
    )
    assert_problem(
        await client.patch(path, json={"title": "Mine now"}, headers=eve.auth), 403, "not-sound-creator"
    )
    assert (await client.patch(path, json={"title": "Mine now"})).status_code == 401
    for bad in ("", " ", "x" * 81, "two\nlines", "nul\x00", "\u202eevil"):
        assert (await client.patch(path, json={"title": bad}, headers=ada.auth)).status_code == 422, repr(bad)
    assert (await client.patch(path, json={}, headers=ada.auth)).status_code == 422
    assert_problem(
        await client.patch(f"{API}/sounds/12345", json={"title": "x"}, headers=ada.auth), 404, "not-found"
    )
    assert (await get(client, f"/sounds/{sound}", ada))["title"] == "original sound \u2013 @ada"

    renamed = await client.patch(path, json={"title": "  Sunny Day  "}, headers=ada.auth)
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["title"], renamed.json()["named"]) == ("Sunny Day", True)
    async with runtime.databases.read(ada.realm) as session:
        assert (await session.get(Sound, int(sound))) is not None
        assert await session.scalar(select(Sound.title).where(Sound.id == int(sound))) == "Sunny Day"

    async def renamed_in_eu() -> bool:
        return bool((await get(client, f"/sounds/{sound}", eve))["title"] == "Sunny Day")

    await eventually(renamed_in_eu)
    card = await get(client, f"/videos/{used}", eve)
    assert (card["sound"]["title"], card["sound"]["named"]) == ("Sunny Day", True)


async def test_a_sound_taken_down_or_not_allowed_cannot_be_used(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ada, bob = await make_account(client, "ada"), await make_account(client, "bob")
    original = await plant_video(runtime, ada, "my song")
    sound = await plant_sound(runtime, ada, original, title="Sunny Day")
    used = await plant_video(runtime, bob, "with ada's sound", sound_id=int(sound))

    audio = f"/media/us/sounds/{sound}/audio.m4a"  # the sound's audio, served while it is available
    await runtime.storage.realm(ada.realm).put_bytes(f"sounds/{sound}/audio.m4a", b"m4a bytes")
    assert (await client.get(audio)).content == b"m4a bytes"
    assert_problem(await client.get("/media/us/sounds/12345/audio.m4a"), 404, "not-found")

    async with runtime.databases.transaction(ada.realm) as session:
        await session.execute(update(Video).where(Video.id == int(original)).values(allow_sound_reuse=False))
    for_bob = await get(client, f"/sounds/{sound}", bob)
    assert (for_bob["can_use"], for_bob["available"]) == (False, True)
    assert for_bob["use_refusal"] == "not_allowed"
    assert (await get(client, f"/sounds/{sound}", ada))["can_use"] is True  # the creator always may

    async with runtime.databases.transaction(ada.realm) as session:
        await session.execute(
            update(Sound)
            .where(Sound.id == int(sound))
            .values(status=SoundStatus.UNAVAILABLE, status_reason="x")
        )
    assert_problem(await client.get(audio), 404, "not-found")  # withheld, whoever kept its address
    for who in (None, ada, bob):
        body = await get(client, f"/sounds/{sound}", who)
        assert (body["status"], body["available"], body["can_use"]) == ("unavailable", False, False)
        assert body["audio_url"] is None
        assert body["use_refusal"] == "unavailable"
        assert body["message"].startswith("This sound isn't available")
        assert body["title"] == "Sunny Day"
        page = await get(client, f"/sounds/{sound}/videos", who)  # the videos stay, muted
        assert {v["id"] for v in page["items"]} == {original, used}
        assert (await get(client, f"/videos/{used}", who))["sound"]["available"] is False

    # A sound whose video is no longer public is no longer anywhere: its page, its list and the chips.
    async with runtime.databases.transaction(ada.realm) as session:
        await session.execute(update(Video).where(Video.id == int(original)).values(visibility="private"))
    assert_problem(await client.get(f"{API}/sounds/{sound}"), 404, "not-found")
    assert_problem(await client.get(f"{API}/sounds/{sound}/videos"), 404, "not-found")
    assert (await get(client, f"/videos/{used}", bob))["sound"] is None


async def test_bad_sound_addresses_get_a_clear_4xx(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ada = await make_account(client, "ada")
    sound = await plant_sound(runtime, ada, await plant_video(runtime, ada, "x"))
    for path in ("/sounds/0", "/sounds/12345", "/sounds/99999999999999999999", "/sounds/0/videos"):
        assert_problem(await client.get(f"{API}{path}"), 404, "not-found")
    assert_problem(
        await client.get(f"{API}/sounds/{sound}/videos", params={"cursor": "forged"}), 400, "bad-cursor"
    )
    other = await plant_sound(runtime, ada, await plant_video(runtime, ada, "y"))
    cursor = (await get(client, f"/sounds/{sound}/videos", limit=1))["next_cursor"]
    assert cursor is None  # one video: no next page
    many = [await plant_video(runtime, ada, f"v{n}", sound_id=int(other)) for n in range(2)]
    assert many
    cursor = (await get(client, f"/sounds/{other}/videos", limit=1))["next_cursor"]
    # A cursor continues the list it came from only.
    assert_problem(
        await client.get(f"{API}/sounds/{sound}/videos", params={"cursor": cursor}), 400, "bad-cursor"
    )
    for start in ("x", "-1", "\u00b2"):
        response = await client.get(f"{API}/sounds/{sound}/videos", params={"start": start})
        assert_problem(response, 422, "invalid-request")


# ---- search and Explore ------------------------------------------------------------------------------------


async def found_sounds(client: httpx.AsyncClient, q: str, tab: str = "sounds") -> list[str]:
    body = await get(client, "/search", q=q, tab=tab)
    return [sound["id"] for sound in body["sounds"]]


async def test_search_finds_sounds_by_title_or_creator_most_used_first(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ada, bob = await make_account(client, "ada"), await make_account(client, "bob")
    groove = await plant_sound(
        runtime, ada, await plant_video(runtime, ada, "a"), title="Sunny Morning Groove"
    )
    afternoon = await plant_sound(runtime, bob, await plant_video(runtime, bob, "b"), title="Sunny Afternoon")
    for n in range(2):  # two more videos use it: it comes first
        await plant_video(runtime, ada, f"to it {n}", sound_id=int(afternoon))
    unnamed = await plant_sound(runtime, bob, await plant_video(runtime, bob, "c"))

    assert await found_sounds(client, "sunny") == [afternoon, groove]
    assert await found_sounds(client, "SUNNY morn") == [groove]
    assert await found_sounds(client, "grove") == [groove]  # one typo away from a title's word
    assert await found_sounds(client, "original sound bob") == [unnamed]
    assert await found_sounds(client, "bob") == [unnamed]  # an unnamed sound is its creator's
    assert await found_sounds(client, "original sound") == [unnamed]
    assert await found_sounds(client, "ada") == []  # Ada's sound has a name of its own
    assert await found_sounds(client, "sunny", tab="top") == [afternoon, groove]
    assert await found_sounds(client, "sunny", tab="videos") == []

    hit = (await get(client, "/search", q="afternoon", tab="sounds"))["sounds"][0]
    assert hit["title"] == "Sunny Afternoon"
    assert (hit["video_count"], hit["available"], hit["creator"]["handle"]) == (3, True, "bob")

    suggested = await get(client, "/search/suggestions", q="sunn")
    assert [sound["id"] for sound in suggested["sounds"]] == [afternoon, groove]

    # A sound taken down is no longer offered.
    async with runtime.databases.transaction(ada.realm) as session:
        await session.execute(
            update(Sound).where(Sound.id == int(groove)).values(status=SoundStatus.UNAVAILABLE)
        )
    assert await found_sounds(client, "sunny") == [afternoon]


async def test_explore_lists_the_weeks_most_used_sounds(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ada, bob = await make_account(client, "ada"), await make_account(client, "bob")
    eve = await make_account(client, "eve", country="DE")
    old = datetime.now(UTC) - timedelta(days=10)

    async def sound_used(owner: Account, title: str, uses: int, **fields: Any) -> str:
        sound = await plant_sound(
            runtime, owner, await plant_video(runtime, owner, title, **fields), title=title
        )
        for n in range(uses - 1):
            await plant_video(runtime, bob, f"{title} {n}", sound_id=int(sound), **fields)
        return sound

    top = await sound_used(ada, "Top tune", 3)
    second = await sound_used(eve, "Second tune", 1)  # eu's sound, used once in eu and once in us
    await plant_video(runtime, bob, "with eve's", sound_id=int(second))
    await sound_used(ada, "Lonely tune", 1)  # one video is its own sound, not a trend
    await sound_used(ada, "Old tune", 3, published_at=old)  # not this week
    await reached(runtime, "us", sound=second, videos=[])

    async def listed() -> list[tuple[str, int]]:
        return [(t["sound"]["id"], t["recent"]) for t in (await get(client, "/explore"))["sounds"]]

    async def both_listed() -> bool:
        return await listed() == [(top, 3), (second, 2)]

    await eventually(both_listed)
    page = await client.get("/explore")
    assert page.status_code == 200
    assert "Top tune" in page.text
    assert f'href="/sound/{top}"' in page.text
    assert "Old tune" not in page.text


# ---- pages -------------------------------------------------------------------------------------------------


async def test_the_sound_page(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ada, bob = await make_account(client, "ada"), await make_account(client, "bob")
    original = await plant_video(runtime, ada, "my song")
    sound = await plant_sound(runtime, ada, original)
    await plant_video(runtime, bob, "with it", sound_id=int(sound))

    page = await client.get(f"/sound/{sound}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "original sound \u2013 @ada" in html
    assert f'href="/upload?sound={sound}"' in html
    assert f'href="/sound/{sound}/watch?start={original}"' in html
    assert 'data-testid="sound-waveform"' in html
    assert f'src="/media/us/sounds/{sound}/audio.m4a"' in html
    assert "2 videos" in html
    assert 'data-testid="sound-rename"' not in html  # not the creator

    watch = await client.get(f"/sound/{sound}/watch", params={"start": original})
    assert watch.status_code == 200
    assert f"/api/v1/sounds/{sound}/videos?start={original}" in watch.text
    assert (await client.get("/sound/12345")).status_code == 404
    assert (await client.get("/sound/12345/watch")).status_code == 404
    assert (await client.get("/sound/x1")).status_code == 404

    async with runtime.databases.transaction(ada.realm) as session:
        await session.execute(
            update(Sound).where(Sound.id == int(sound)).values(status=SoundStatus.UNAVAILABLE)
        )
    html = (await client.get(f"/sound/{sound}")).text
    assert "This sound isn\u2019t available" in html or "This sound isn&#39;t available" in html
    assert "/upload?sound=" not in html
    assert "/audio.m4a" not in html


async def test_the_rename_form_works_without_scripts(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ada = await make_account(client, "ada")
    await make_account(client, "bob")
    sound = await plant_sound(runtime, ada, await plant_video(runtime, ada, "my song"))
    form = f"/sound/{sound}/title"

    token = await browser_login(client, "bob")
    page = await client.get(f"/sound/{sound}")
    assert 'data-testid="sound-rename"' not in page.text
    assert (await client.post(form, data={"title": "Mine", "csrf_token": token})).status_code == 403

    client.cookies.clear()
    token = await browser_login(client, "ada")
    assert 'data-testid="sound-rename"' in (await client.get(f"/sound/{sound}")).text
    assert (await client.post(form, data={"title": "Mine", "csrf_token": "forged"})).status_code == 403
    refused = await client.post(form, data={"title": "   ", "csrf_token": token})
    assert refused.status_code == 422
    assert "must not be empty" in refused.text  # said on the page, beside the field
    renamed = await client.post(form, data={"title": "Sunny Day", "csrf_token": token})
    assert (renamed.status_code, renamed.headers["location"]) == (303, f"/sound/{sound}")
    assert "Sunny Day" in (await client.get(f"/sound/{sound}")).text
    assert (await get(client, f"/sounds/{sound}"))["title"] == "Sunny Day"


async def test_a_title_the_realms_caption_rules_hold_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    operator = await make_staff(client, runtime, "otto", "operator", "us")
    rule = {
        "name": "scam",
        "scope": "caption",
        "kind": "term",
        "value": "free money",
        "action": "hold",
        "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    }
    created = await client.post(f"{API}/moderation/realms/us/rules", headers=operator.auth, json=rule)
    assert created.status_code == 201, created.text
    ada, bob = await make_account(client, "ada"), await make_account(client, "bob")
    sound = await plant_sound(runtime, ada, await plant_video(runtime, ada, "my song"))
    path = f"{API}/sounds/{sound}"

    assert_problem(
        await client.patch(path, json={"title": "FREE MONEY beat"}, headers=ada.auth), 422, "name-refused"
    )
    # Someone else's sound is still theirs to refuse, whatever the title says.
    assert_problem(
        await client.patch(path, json={"title": "free money"}, headers=bob.auth), 403, "not-sound-creator"
    )
    assert (await get(client, f"/sounds/{sound}", ada))["title"] == "original sound \u2013 @ada"
    renamed = await client.patch(path, json={"title": "Money talks"}, headers=ada.auth)
    assert renamed.status_code == 200, renamed.text
