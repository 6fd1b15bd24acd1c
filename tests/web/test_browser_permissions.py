"""Browser story of per-video permissions, at phone and desktop widths.

Maya's defaults for new videos (comments from people she follows, downloads on) prefill the upload form's
"Who can…" section; she unticks duets there, and the upload sends every permission. On a published video's
page she turns comments off for everyone; Bob then finds the comment box saying why instead of a box, and
downloads the video (allowed by her defaults): the page waits while the worker makes the watermarked file,
then the browser saves it. Last, Maya changes her defaults in settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from reelm.runtime import Runtime
from reelm.videos.models import Video
from tests import live
from tests.conftest import Account, make_account, run_jobs
from tests.factories import make_tiny_clip, publish
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_accessibility import log_in
from tests.web.test_browser import Pages, is_upload, press, shot

# The browser stories' fixture, used here too: its `live_server` is the one defined below.
pages = test_browser.pages
DEFAULTS = {
    "comment_policy": "followed_back",
    "allow_duet": True,
    "allow_stitch": True,
    "allow_sound_reuse": False,
    "allow_download": True,
    "allow_embed": True,
}


@pytest.fixture
def live_server(runtime: Runtime, tmp_path: Path) -> Iterator[str]:
    """A server process on the test databases; this test runs the realm's jobs itself (no worker)."""
    server, base = live.start_server(runtime, tmp_path / "server.log")
    yield base
    live.stop(server)


@pytest.fixture
async def maya(client: httpx.AsyncClient) -> Account:
    account = await make_account(client, "maya")
    put = await client.put("/api/v1/me/video-defaults", headers=account.auth, json=DEFAULTS)
    assert put.status_code == 200, put.text
    return account


async def open_comments(page: Page) -> None:
    """The comments: a bottom sheet opened by the comment button on phones, the side panel on desktops."""
    await press(page, page.get_by_test_id("comment-button"))


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_permissions_at_upload_on_the_video_page_and_for_viewers(
    client: httpx.AsyncClient, runtime: Runtime, maya: Account, pages: Pages, tmp_path: Path
) -> None:
    clip = make_tiny_clip(tmp_path)
    video_id = await publish(client, runtime, maya, clip, caption="Comments welcome")
    await make_account(client, "bob")

    # --- the upload form starts from Maya's defaults; every permission is sent ------------------------------
    creator = await pages.new()
    await log_in(creator, "maya")
    await creator.goto("/upload")
    section = creator.get_by_test_id("upload-permissions")
    await expect(section).to_be_visible()
    await expect(section.get_by_test_id("upload-comments-followed_back")).to_be_checked()
    await expect(section.get_by_test_id("upload-allow_download")).to_be_checked()
    await expect(section.get_by_test_id("upload-allow_sound_reuse")).not_to_be_checked()
    duet = section.get_by_test_id("upload-allow_duet")
    await expect(duet).to_be_checked()
    box = await section.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= pages.viewport["width"]  # no sideways scrolling at 390 px
    await duet.uncheck()
    await shot(creator, "upload-permissions")
    # Every permission is sent, ticked or not: one left out would get the default (duets on).
    await creator.get_by_test_id("upload-file").set_input_files(clip)
    await creator.get_by_test_id("upload-caption").fill("No duets please")
    async with creator.expect_response(is_upload) as answer:
        await creator.get_by_test_id("upload-submit").click()
    accepted = await answer.value
    assert accepted.status == 202, await accepted.text()
    async with runtime.databases.sessionmaker("us")() as session:
        posted = await session.get(Video, int((await accepted.json())["id"]))
    assert posted is not None
    assert {k: getattr(posted, k) for k in DEFAULTS} == {**DEFAULTS, "allow_duet": False}
    await expect(creator.get_by_test_id("upload-status")).to_contain_text("Processing")
    await expect(duet).to_be_disabled()  # set at upload; changed later on the video's page

    # --- on the published video's page, Maya turns comments off and lets others use the sound -------------
    await creator.goto(f"/v/{video_id}")
    editor = creator.get_by_test_id("permissions-editor")
    await press(creator, creator.get_by_test_id("permissions-toggle"))
    # The video's own permissions: those of the defaults when it was posted.
    await expect(editor.get_by_test_id("edit-comments-followed_back")).to_be_checked()
    await expect(editor.get_by_test_id("edit-allow_sound_reuse")).not_to_be_checked()
    await editor.get_by_test_id("edit-comments-no_one").check()
    await editor.get_by_test_id("edit-allow_sound_reuse").check()
    await shot(creator, "video-permissions")
    edit = f"/api/v1/videos/{video_id}"
    async with creator.expect_response(
        lambda r: r.url.endswith(edit) and r.request.method == "PATCH"
    ) as answer:
        await press(creator, editor.get_by_test_id("permissions-save"))
    saved = await answer.value
    assert saved.status == 200, await saved.text()
    assert (await saved.json())["permissions"]["comment_policy"] == "no_one"
    await expect(creator.locator(".toast").filter(has_text="Saved")).to_be_visible()
    async with runtime.databases.sessionmaker("us")() as session:
        row = await session.get(Video, int(video_id))
    assert row is not None
    assert (row.comment_policy, row.allow_sound_reuse, row.allow_download) == ("no_one", True, True)

    # --- Bob: the comment box says why; the download is prepared, then saved -------------------------------
    viewer = await pages.new()
    await log_in(viewer, "bob")
    await viewer.goto(f"/v/{video_id}")
    await open_comments(viewer)
    closed = viewer.get_by_test_id("comments-closed")
    await expect(closed).to_have_text("Comments are turned off for this video.")
    await expect(closed).to_be_in_viewport()
    await expect(viewer.get_by_test_id("comment-input")).to_be_hidden()
    await shot(viewer, "comments-closed")
    if pages.viewport == PHONE:
        await viewer.get_by_role("button", name="Close comments").click()

    download = viewer.get_by_test_id("download-button")
    await expect(download).to_be_visible()
    async with viewer.expect_download() as saving:
        async with viewer.expect_response(lambda r: r.url.endswith(f"/videos/{video_id}/download")) as first:
            await press(viewer, download)
        assert (await first.value).status == 202
        await expect(viewer.locator(".toast").filter(has_text="Preparing your download…")).to_be_visible()
        await run_jobs(runtime, "us")  # the realm's worker makes the watermarked file
    saved_file = await saving.value
    assert saved_file.suggested_filename == f"reelm-maya-{video_id}.mp4"
    assert b"ftypisom" in (await saved_file.path()).read_bytes()[:32]  # an MP4

    # --- Maya's defaults for new videos, in settings (a form that works without scripts) -------------------
    await creator.goto("/settings/privacy")
    defaults = creator.get_by_test_id("video-defaults-form")
    await expect(defaults).to_be_visible()
    await expect(defaults.get_by_test_id("defaults-comments-followed_back")).to_be_checked()
    await defaults.get_by_test_id("defaults-comments-everyone").check()
    await defaults.get_by_test_id("defaults-allow_download").uncheck()
    await defaults.get_by_test_id("defaults-allow_sound_reuse").check()
    await press(creator, defaults.get_by_test_id("video-defaults-submit"))
    await expect(creator.get_by_test_id("settings-notice")).to_have_text("Saved.")
    await expect(defaults.get_by_test_id("defaults-comments-everyone")).to_be_checked()
    await expect(defaults.get_by_test_id("defaults-allow_download")).not_to_be_checked()
    stored = await client.get("/api/v1/me/video-defaults", headers=maya.auth)
    assert stored.json() == {
        **DEFAULTS,
        "comment_policy": "everyone",
        "allow_download": False,
        "allow_sound_reuse": True,
    }
