"""Browser story of drafts and scheduled posts, at phone and desktop widths.

Maya, in Berlin, uploads a clip choosing "Schedule" for tomorrow; once processed, the upload page sends
her to her drafts, where the post is listed with its time in her zone. She tries a time that has passed (the
row says why, beside the field), then moves it to a valid time. When its time comes, the worker's sweep
publishes it: the drafts list is empty and Bob can watch the video. A second draft she posts by hand.
Every page passes axe-core.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect
from sqlalchemy import update

from reelm.publishing.scheduled import publish_due
from reelm.runtime import Runtime
from reelm.videos.models import Video
from tests import live
from tests.conftest import make_account, run_jobs
from tests.factories import make_tiny_clip
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_accessibility import log_in, serious_violations
from tests.web.test_browser import Pages, is_upload, press, shot

pages = test_browser.pages
ZONE = "Europe/Berlin"


@pytest.fixture
def live_server(runtime: Runtime, tmp_path: Path) -> Iterator[str]:
    """A server process on the test databases; this test runs the realm's jobs and sweep itself."""
    server, base = live.start_server(runtime, tmp_path / "server.log")
    yield base
    live.stop(server)


def local_input(when: datetime) -> str:
    """What a datetime-local field in Berlin holds for this instant."""
    return when.astimezone(zoneinfo.ZoneInfo(ZONE)).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_draft_schedule_and_publish(
    client: httpx.AsyncClient, runtime: Runtime, pages: Pages, tmp_path: Path
) -> None:
    clip = make_tiny_clip(tmp_path)
    maya = await make_account(client, "maya")
    bob = await make_account(client, "bob")
    creator = await pages.new(timezone_id=ZONE)
    await log_in(creator, "maya")

    # --- upload, scheduled ---------------------------------------------------------------------------------
    await creator.goto("/upload")
    schedule_box = creator.locator("#upload-schedule")
    await expect(schedule_box).to_be_hidden()
    await press(creator, creator.get_by_test_id("when-schedule"))
    await expect(schedule_box).to_be_visible()
    await expect(creator.get_by_test_id("upload-submit")).to_have_text("Schedule")
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    await creator.get_by_test_id("upload-publish-at").fill(local_input(tomorrow))
    await creator.get_by_test_id("upload-file").set_input_files(clip)
    await creator.get_by_test_id("upload-caption").fill("Tomorrow's dance")
    assert await serious_violations(creator) == []
    async with creator.expect_response(is_upload) as answer:
        await creator.get_by_test_id("upload-submit").click()
    accepted = await answer.value
    assert accepted.status == 202, await accepted.text()
    video_id = (await accepted.json())["id"]
    await run_jobs(runtime, maya.realm)
    await expect(creator.get_by_test_id("upload-status")).to_contain_text("Scheduled", timeout=15000)
    await shot(creator, "upload-scheduled")
    await press(creator, creator.get_by_test_id("upload-drafts-link"))

    # --- the drafts list: the time in her zone; a past time refused beside the field -----------------------
    await expect(creator).to_have_url(f"{pages.base_url}/studio/drafts")
    row = creator.locator(f'[data-testid="draft"][data-draft-id="{video_id}"]')
    scheduled = row.get_by_test_id("draft-scheduled")
    await expect(scheduled).to_contain_text(local_input(tomorrow).replace("T", " "))
    await expect(row.get_by_test_id("draft-scheduled")).to_contain_text(ZONE)
    assert await serious_violations(creator) == []
    box = await row.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= pages.viewport["width"]  # no sideways scrolling at 390 px

    at = row.get_by_test_id("draft-at")
    await at.fill(local_input(datetime.now(UTC) - timedelta(hours=2)))
    await press(creator, row.get_by_test_id("draft-schedule"))
    await expect(row.get_by_test_id("draft-error")).to_contain_text("must be in the future")
    await expect(at).to_have_attribute("aria-invalid", "true")
    later = datetime.now(UTC) + timedelta(days=2)
    await at.fill(local_input(later))
    await press(creator, row.get_by_test_id("draft-schedule"))
    await expect(row.get_by_test_id("draft-scheduled")).to_contain_text(local_input(later).replace("T", " "))
    await expect(row.get_by_test_id("draft-error")).to_be_empty()
    await shot(creator, "drafts")

    # Bob cannot see it yet.
    hidden = await client.get(f"/api/v1/videos/{video_id}", headers=bob.auth)
    assert hidden.status_code == 404

    # --- its time comes: the worker's sweep publishes it ---------------------------------------------------
    async with runtime.databases.transaction(maya.realm) as session:
        await session.execute(
            update(Video)
            .where(Video.id == int(video_id))
            .values(publish_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert await publish_due(runtime, maya.realm) == 1
    await creator.reload()
    await expect(creator.get_by_test_id("drafts-empty")).to_be_visible()
    shown = await client.get(f"/api/v1/videos/{video_id}", headers=bob.auth)
    assert shown.status_code == 200, shown.text
    assert shown.json()["caption"] == "Tomorrow's dance"
    watcher = await pages.new()
    await log_in(watcher, "bob")
    await watcher.goto(f"/v/{video_id}")
    await expect(watcher.locator("#single")).to_be_visible()
    await expect(watcher.get_by_text("Tomorrow's dance").filter(visible=True).first).to_be_visible()

    # --- a plain draft, posted by hand ---------------------------------------------------------------------
    with clip.open("rb") as f:
        draft = await client.post(
            "/api/v1/videos",
            headers=maya.auth,
            files={"file": ("clip.mp4", f, "video/mp4")},
            data={"caption": "Kept for later", "draft": "true"},
        )
    assert draft.status_code == 202, draft.text
    await run_jobs(runtime, maya.realm)
    await creator.reload()
    row = creator.locator(f'[data-testid="draft"][data-draft-id="{draft.json()["id"]}"]')
    await expect(row.get_by_test_id("draft-unscheduled")).to_be_visible()
    async with creator.expect_response(lambda r: r.url.endswith("/publish")) as posted:
        await press(creator, row.get_by_test_id("draft-publish"))
    assert (await posted.value).status == 200
    await expect(row).to_have_count(0)
    assert pages.errors == []
