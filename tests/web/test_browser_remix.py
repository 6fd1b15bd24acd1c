"""Browser story of remixing, at phone and desktop widths.

Ada has posted a song and a second video whose duets she switched off. Bob, on her song's page, opens the
Remix menu: "Use this sound" leads to the upload page, which shows her sound; he starts it two seconds in,
turns his own audio down and posts a clip, which is mixed and published (the page follows it to Ready).
From the share sheet he duets the song (the original beside his clip) and stitches it, choosing the part
with the range picker while the original plays it. The duet's page says "Duet with @ada" and links back.
Her other video refuses a duet in words, in its menu and on the upload page, which offers no form; and when
Ada switches duets off while Bob's form is open, posting shows her reason. Ada's notifications tell her of
the three remixes, and her song's page lists its duet and stitch.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import FloatRect, Locator, Page, expect
from sqlalchemy import select

from reelm.runtime import Runtime
from reelm.sounds.models import Sound
from reelm.videos.models import Video
from tests import clips, live
from tests.conftest import Account, make_account, run_jobs
from tests.factories import publish
from tests.sounds import tracks
from tests.sounds.test_making import song_video
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_accessibility import log_in, serious_violations
from tests.web.test_browser import TRANSCODE_TIMEOUT_MS, Pages, is_upload, press, shot

# The browser stories' fixture, used here too: its `live_server` is the one defined below.
pages = test_browser.pages


@pytest.fixture
def live_server(runtime: Runtime, tmp_path: Path) -> Iterator[str]:
    """A server process on the test databases; this test runs the realm's jobs itself (no worker)."""
    server, base = live.start_server(runtime, tmp_path / "server.log")
    yield base
    live.stop(server)


class Originals:
    def __init__(self, ada: Account, song: str, closed: str, sound: int) -> None:
        self.ada = ada
        self.song = song
        self.closed = closed
        self.sound = sound


@pytest.fixture
async def originals(client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path) -> Originals:
    ada = await make_account(client, "ada")
    await make_account(client, "bob")
    song = await publish(
        client,
        runtime,
        ada,
        song_video(tmp_path, "song", tracks.song(seed=5, seconds=8.0), "red"),
        caption="La la",
    )
    closed = await publish(client, runtime, ada, clips.make_clip(tmp_path, name="closed.mp4"), caption="Mine")
    await run_jobs(runtime, ada.realm)  # the song's sound is made
    edited = await client.patch(f"/api/v1/videos/{closed}", headers=ada.auth, json={"allow_duet": False})
    assert edited.status_code == 200, edited.text
    async with runtime.databases.read(ada.realm) as session:
        sound = await session.scalar(select(Sound.id).where(Sound.video_id == int(song)))
    assert sound is not None
    return Originals(ada, song, closed, sound)


async def plan_of(runtime: Runtime, video_id: str) -> dict[str, Any]:
    async with runtime.databases.read("us") as session:
        video = await session.get(Video, int(video_id))
    assert video is not None
    assert video.remix is not None
    return video.remix


async def post(page: Page, clip: Path) -> str:
    """Choose the clip and post it; returns the new video's id (it processes until the jobs run)."""
    await page.get_by_test_id("upload-file").set_input_files(clip)
    await expect(page.locator("#preview")).to_be_visible()
    async with page.expect_response(is_upload) as answer:
        await press(page, page.get_by_test_id("upload-submit"))
    accepted = await answer.value
    assert accepted.status == 202, await accepted.text()
    video_id: str = (await accepted.json())["id"]
    return video_id


async def ready(page: Page, runtime: Runtime, video_id: str) -> None:
    """The realm's worker composes and publishes it; the page follows it to Ready."""
    await run_jobs(runtime, "us")
    status = page.get_by_test_id("upload-status")
    await expect(status).to_contain_text("Ready", timeout=TRANSCODE_TIMEOUT_MS)
    await expect(status.get_by_role("link", name="View video")).to_have_attribute("href", f"/v/{video_id}")


async def remix_menu(page: Page) -> Locator:
    menu = page.get_by_test_id("remix-menu")
    await press(page, menu.get_by_test_id("remix-toggle"))
    await expect(menu.get_by_test_id("remix-row")).to_be_visible()
    return menu


def fits(box: FloatRect | None, width: int) -> bool:
    return box is not None and box["x"] >= -0.5 and box["x"] + box["width"] <= width + 0.5


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_use_a_sound_duet_and_stitch_and_the_creator_hears_of_it(
    client: httpx.AsyncClient, runtime: Runtime, originals: Originals, pages: Pages, tmp_path: Path
) -> None:
    width = pages.viewport["width"]
    clip = clips.make_clip(tmp_path, width=180, height=320, duration_s=1.5, name="bob.mp4")
    bob = await pages.new()
    await log_in(bob, "bob")

    # --- Use this sound: from the song's page to the upload page, which shows the sound ------------------
    await bob.goto(f"/v/{originals.song}")
    menu = await remix_menu(bob)
    await shot(bob, "remix-menu")
    assert await serious_violations(bob) == []
    use = menu.get_by_test_id("remix-sound")
    await expect(use).to_have_attribute("href", f"/upload?sound={originals.sound}")
    await press(bob, use)
    await expect(bob).to_have_url(f"{pages.base_url}/upload?sound={originals.sound}")
    await bob.wait_for_load_state()  # upload.js is running
    panel = bob.get_by_test_id("remix-panel")
    await expect(panel.get_by_test_id("remix-source")).to_contain_text("original sound \u2013 @ada")
    await expect(panel.get_by_test_id("remix-duration")).to_have_text("8 seconds")
    offset = panel.get_by_test_id("remix-offset")
    await offset.fill("2")
    await expect(panel.get_by_test_id("remix-offset-shown")).to_have_text("0:02.0 of 0:08.0")
    await panel.get_by_test_id("remix-mix").fill("75")  # the sound louder than Bob's own audio
    await expect(panel.get_by_test_id("remix-mix-shown")).to_have_text("Your audio 50% · the sound 100%")
    assert fits(await panel.bounding_box(), width)  # nothing sideways at 390 px
    await shot(bob, "remix-sound")
    assert await serious_violations(bob) == []
    used = await post(bob, clip)
    await expect(bob.get_by_test_id("upload-status")).to_contain_text("Mixing in the sound…")
    await expect(offset).to_be_disabled()
    plan = await plan_of(runtime, used)
    assert (plan["kind"], plan["source_id"], plan["offset_s"]) == ("sound", originals.sound, 2.0)
    assert (plan["own_level"], plan["other_level"]) == (0.5, 1.0)
    await ready(bob, runtime, used)

    # --- Duet, from the share sheet: the original beside Bob's clip ---------------------------------------
    await bob.goto(f"/v/{originals.song}")
    await press(bob, bob.get_by_test_id("share-button"))
    sheet = bob.get_by_test_id("share-sheet")
    await expect(sheet.get_by_test_id("remix-row")).to_be_in_viewport()
    await shot(bob, "remix-share-sheet")
    await press(bob, sheet.get_by_test_id("remix-duet"))
    await expect(bob).to_have_url(f"{pages.base_url}/upload?duet={originals.song}")
    await bob.wait_for_load_state()  # upload.js is running
    await expect(bob.get_by_role("heading", level=1)).to_have_text("Duet with @ada")
    layout = bob.get_by_test_id("duet-layout")
    original = layout.get_by_test_id("duet-original")
    await expect(original).to_contain_text("@ada")
    await bob.get_by_test_id("upload-file").set_input_files(clip)
    await expect(bob.locator("#preview")).to_be_visible()
    own, theirs = await bob.locator("#preview").bounding_box(), await original.bounding_box()
    assert own is not None
    assert theirs is not None
    assert own["x"] + own["width"] <= theirs["x"] + 1  # side by side: Bob's clip left, the original right
    assert fits(await layout.bounding_box(), width)
    await shot(bob, "remix-duet")
    assert await serious_violations(bob) == []
    duet = await post(bob, clip)
    await expect(bob.get_by_test_id("upload-status")).to_contain_text("Making your duet…")
    assert (await plan_of(runtime, duet))["kind"] == "duet"
    await ready(bob, runtime, duet)
    await bob.get_by_test_id("upload-status").get_by_role("link", name="View video").click()
    credit = bob.get_by_test_id("remix-credit").filter(visible=True)
    await expect(credit).to_have_text("Duet with @ada")
    await credit.get_by_role("link").click()
    await expect(bob).to_have_url(f"{pages.base_url}/v/{originals.song}")

    # --- Stitch: the range picker plays the chosen part of the original, at most five seconds -------------
    menu = await remix_menu(bob)
    await press(bob, menu.get_by_test_id("remix-stitch"))
    await expect(bob).to_have_url(f"{pages.base_url}/upload?stitch={originals.song}")
    await bob.wait_for_load_state()  # upload.js is running
    picker = bob.get_by_test_id("stitch-picker")
    start, end = picker.get_by_test_id("stitch-start"), picker.get_by_test_id("stitch-end")
    await expect(end).to_have_value("5")
    await start.fill("2")  # dragging the start on keeps the part at most 5 s: the end follows
    await end.fill("8")
    await expect(start).to_have_value("3")
    await expect(picker.get_by_test_id("stitch-length")).to_contain_text("5 seconds of the original")
    await end.fill("4.5")
    await expect(picker.get_by_test_id("stitch-length")).to_contain_text("1.5 seconds of the original")
    # The original plays that part: its time stays within it.
    await bob.wait_for_function(
        """() => { const v = document.getElementById("stitch-video");
                   return !v.paused && v.currentTime >= 2.95 && v.currentTime <= 4.6; }"""
    )
    assert fits(await picker.bounding_box(), width)
    await shot(bob, "remix-stitch")
    assert await serious_violations(bob) == []
    stitch = await post(bob, clip)
    plan = await plan_of(runtime, stitch)
    assert (plan["kind"], plan["start_s"], plan["end_s"]) == ("stitch", 3.0, 4.5)
    await ready(bob, runtime, stitch)

    # --- a duet Ada does not allow: said in the menu, and on the upload page instead of the form ------------
    await bob.goto(f"/v/{originals.closed}")
    menu = await remix_menu(bob)
    refused = menu.get_by_test_id("remix-duet")
    await expect(refused).to_have_attribute("aria-disabled", "true")
    reason = menu.get_by_test_id("remix-reason")
    await refused.focus()  # a keyboard reaches it, and hears why
    await expect(reason).to_be_visible()
    await menu.get_by_test_id("remix-stitch").focus()
    await expect(reason).to_be_hidden()
    # A tap says why too (a tool would not tap what is marked disabled, a person may).
    if pages.viewport == PHONE:
        await refused.tap(force=True)
    else:
        await refused.click(force=True)
    await expect(reason).to_have_text("The creator doesn't allow duets with this video.")
    await expect(menu.get_by_test_id("remix-stitch")).to_have_attribute(
        "href", f"/upload?stitch={originals.closed}"
    )
    await bob.goto(f"/upload?duet={originals.closed}")
    await expect(bob.get_by_test_id("remix-refused-reason")).to_have_text(
        "The creator doesn't allow duets with this video."
    )
    await expect(bob.get_by_test_id("upload-file")).to_have_count(0)
    await shot(bob, "remix-refused")
    assert await serious_violations(bob) == []

    # ... and when she switches duets off while Bob's form is open, posting says why.
    await bob.goto(f"/upload?duet={originals.song}")
    await bob.get_by_test_id("upload-file").set_input_files(clip)
    switched = await client.patch(
        f"/api/v1/videos/{originals.song}", headers=originals.ada.auth, json={"allow_duet": False}
    )
    assert switched.status_code == 200, switched.text
    async with bob.expect_response(is_upload) as answer:
        await press(bob, bob.get_by_test_id("upload-submit"))
    assert (await answer.value).status == 403
    await expect(bob.get_by_test_id("upload-status")).to_have_text(
        "The creator doesn't allow duets with this video."
    )

    # --- Ada hears of all three, and her song's page lists its duet and stitch -----------------------------
    ada = await pages.new()
    await log_in(ada, "ada")
    await ada.goto("/notifications")
    texts = ada.get_by_test_id("notification").locator(".notification-text")
    await expect(texts).to_have_text(
        ["@bob stitched your video", "@bob made a duet with your video", "@bob used your sound"]
    )
    await ada.goto(f"/v/{originals.song}")
    section = ada.get_by_test_id("remixes-section")
    await section.scroll_into_view_if_needed()
    tiles = section.get_by_test_id("grid-tile")
    await expect(tiles).to_have_count(2)
    assert [await t.get_attribute("data-video-id") for t in await tiles.all()] == [stitch, duet]
    await shot(ada, "remixes-section")
    assert await serious_violations(ada) == []
    await press(ada, tiles.first)
    await expect(ada).to_have_url(f"{pages.base_url}/v/{stitch}")
    await expect(ada.get_by_test_id("remix-credit").filter(visible=True)).to_have_text("Stitched from @ada")
