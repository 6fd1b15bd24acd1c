"""Browser story of sounds, at phone and desktop widths.

Maya's video has a sound, and Bob's video uses it. A viewer on For You finds the sound chip on the card and
follows it to the sound's page: the cover on its disc, "original sound - @maya" (with an en dash), 2 videos,
the waveform, a preview that plays and pauses, and the videos in a grid; a poster opens them in the vertical
player, and "Use this sound" leads to the upload page with the sound chosen. Maya renames her sound on its
page. Search finds the sound by its new title.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy import update

from reelm import ffmpeg
from reelm.runtime import Runtime
from reelm.videos.models import Video
from tests import live
from tests.conftest import make_account
from tests.factories import make_tiny_clip, publish
from tests.sounds.test_sound_pages import plant_sound
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_accessibility import log_in, whole_controls
from tests.web.test_browser import Pages, press, shot

pages = test_browser.pages  # the browser stories' fixture; its `live_server` is the one below


@pytest.fixture
def live_server(runtime: Runtime, tmp_path: Path) -> Iterator[str]:
    """A server process on the test databases; the test publishes through the API and runs the jobs."""
    server, base = live.start_server(runtime, tmp_path / "server.log")
    yield base
    live.stop(server)


def sound_file(directory: Path) -> Path:
    """Two seconds of tone as AAC, where a sound's audio would be."""
    out = directory / "audio.m4a"
    ffmpeg.run_sync(
        ["-f", "lavfi", "-i", "sine=f=440:d=2", "-c:a", "aac", "-b:a", "64k", "-f", "mp4", str(out)],
        timeout_s=60,
    ).raise_if_failed()
    return out


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_a_sound_from_a_card_to_its_page_its_videos_and_use(
    client: httpx.AsyncClient, runtime: Runtime, pages: Pages, tmp_path: Path
) -> None:
    maya, bob = await make_account(client, "maya"), await make_account(client, "bob")  # Bob watches
    clip = make_tiny_clip(tmp_path)
    original = await publish(client, runtime, maya, clip, caption="My tune")
    sound = await plant_sound(runtime, maya, original)
    await runtime.storage.realm("us").put_file(f"sounds/{sound}/audio.m4a", sound_file(tmp_path))
    used = await publish(client, runtime, bob, clip, caption="Dancing to Maya's tune")
    async with runtime.databases.transaction("us") as session:
        await session.execute(update(Video).where(Video.id == int(used)).values(sound_id=int(sound)))

    # --- For You: the card's chip leads to the sound -------------------------------------------------------
    viewer = await pages.new()
    await log_in(viewer, "bob")
    await viewer.goto("/")
    active = viewer.locator(".feed-item.is-active")
    chip = active.get_by_test_id("sound-chip")
    await expect(chip).to_have_text("♪original sound \u2013 @maya")
    await expect(chip).to_have_attribute("href", f"/sound/{sound}")
    box = await chip.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= pages.viewport["width"]
    await shot(viewer, "sound-chip")
    await press(viewer, chip)
    await expect(viewer).to_have_url(f"{pages.base_url}/sound/{sound}")

    # --- the sound's page ---------------------------------------------------------------------------------
    page = viewer.get_by_test_id("sound-page")
    await expect(page.get_by_test_id("sound-title")).to_contain_text("original sound \u2013 @maya")
    await expect(page.get_by_test_id("sound-creator")).to_have_attribute("href", "/@maya")
    await expect(page.get_by_test_id("sound-count")).to_have_text("2 videos")
    await expect(page.get_by_test_id("sound-waveform")).to_be_visible()
    tiles = page.get_by_test_id("sound-videos").get_by_test_id("grid-tile")
    await expect(tiles).to_have_count(2)
    assert await whole_controls(viewer, page) == []  # nothing cut or off the screen at 390 px
    await shot(viewer, "sound-page")

    play = page.get_by_test_id("sound-play")
    await press(viewer, play)
    await expect(play).to_have_attribute("aria-pressed", "true")
    await expect(page.get_by_test_id("sound-disc")).to_have_class("sound-disc is-playing")
    await viewer.wait_for_function("() => document.querySelector('.sound-audio').currentTime > 0")
    await press(viewer, play)
    await expect(play).to_have_attribute("aria-pressed", "false")
    await expect(play).to_have_accessible_name("Play the sound")

    # A poster opens the sound's videos in the vertical player, from that one.
    await press(viewer, page.locator(f'a.tile[data-video-id="{original}"]'))
    await expect(viewer).to_have_url(f"{pages.base_url}/sound/{sound}/watch?start={original}")
    await expect(viewer.locator(".feed-item.is-active")).to_have_attribute("data-video-id", original)
    await expect(viewer.get_by_test_id("sound-watch-back")).to_have_attribute("href", f"/sound/{sound}")
    await viewer.go_back()

    # "Use this sound" leads to the upload page with the sound chosen.
    await press(viewer, viewer.get_by_test_id("use-sound"))
    await viewer.wait_for_url(f"**/upload?sound={sound}")
    assert urlsplit(viewer.url).query == f"sound={sound}"

    # --- Maya names her sound; search finds it by that name ------------------------------------------------
    creator = await pages.new()
    await log_in(creator, "maya")
    await creator.goto(f"/sound/{sound}")
    await expect(creator.get_by_test_id("use-sound")).to_be_visible()
    rename = creator.get_by_test_id("sound-rename")
    await press(creator, rename.locator("summary"))
    await rename.get_by_test_id("sound-title-input").fill("Maya's Morning Tune")
    await press(creator, rename.get_by_test_id("sound-rename-save"))
    await expect(creator.get_by_test_id("sound-title")).to_contain_text("Maya's Morning Tune")

    await viewer.goto("/search?q=morning%20tune&tab=sounds")
    found = viewer.get_by_test_id("result-sound")
    await expect(found).to_have_count(1)
    await expect(found).to_contain_text("Maya's Morning Tune")
    await press(viewer, found.get_by_role("link"))
    await expect(viewer).to_have_url(f"{pages.base_url}/sound/{sound}")
