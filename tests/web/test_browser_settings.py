"""Browser stories of settings and profiles, at a phone and a desktop size:
- settings are reached section by section from a list (on phones without going through "Edit profile"); the
  password changes, the e-mail changes once the link from the mail (the server's outbox) is opened, and an
  account is deleted with its password;
- a profile's grid has 3 columns on a phone and 5 on a desktop, pinned videos come first with a badge, the
  follower count opens the list, and the Message button starts a conversation; a hashtag sorts by Top or
  Latest and says how many videos it has.
"""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from reelm.runtime import Runtime
from tests.clips import make_clip
from tests.conftest import PASSWORD
from tests.mailserver import LINK
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_browser import Pages, press, shot, sign_up, upload

pages = test_browser.pages

NEW_PASSWORD = "a much longer passphrase"


async def grid_columns(page: Page) -> int:
    columns = await page.locator("#grid").evaluate("(grid) => getComputedStyle(grid).gridTemplateColumns")
    return len(str(columns).split())


async def api_call(page: Page, method: str, path: str) -> int:
    """An API call as the page's own scripts make it (the session cookie and the CSRF header)."""
    status = await page.evaluate(
        """async ([method, path]) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const answer = await fetch(path, { method, headers: { "X-CSRF-Token": token } });
            return answer.status;
        }""",
        [method, path],
    )
    return int(status)


def outbox_link(runtime: Runtime, address: str) -> str:
    """The confirmation link in the mail the server wrote to its outbox (no SMTP server in the tests)."""
    for path in sorted((runtime.settings.data_dir / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == address:
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            found = LINK.search(str(body.get_content()))
            assert found is not None
            return found.group(0)
    raise AssertionError(f"no mail to {address}")


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_settings_sections_password_e_mail_and_deletion(pages: Pages, runtime: Runtime) -> None:
    phone = pages.viewport == PHONE
    page = await pages.new()
    await sign_up(page, "maya", "Maya Settles")

    await page.goto("/settings")
    nav = page.get_by_test_id("settings-nav")
    await expect(nav).to_be_visible()
    if phone:  # the list alone, then one section per address with a way back
        await expect(page.get_by_test_id("section-account")).to_be_hidden()
    else:
        await expect(page.get_by_test_id("section-account")).to_be_visible()
    await shot(page, "settings")
    await press(page, nav.get_by_test_id("settings-link-privacy"))
    await expect(page).to_have_url(re.compile(r"/settings/privacy$"))
    await expect(page.get_by_test_id("section-privacy")).to_be_visible()
    await expect(page.get_by_test_id("section-account")).to_be_hidden()
    await expect(nav).to_be_hidden() if phone else await expect(nav).to_be_visible()
    await page.get_by_test_id("allow-following").check()
    await page.get_by_test_id("privacy-submit").click()
    await expect(page.get_by_test_id("settings-notice")).to_be_visible()
    await expect(page.get_by_test_id("allow-following")).to_be_checked()
    if phone:
        await press(page, page.get_by_test_id("section-privacy").get_by_test_id("settings-back"))
        await expect(page).to_have_url(re.compile(r"/settings$"))
        await press(page, page.get_by_test_id("settings-link-notifications"))
    else:
        await page.get_by_test_id("settings-link-notifications").click()
    await page.get_by_test_id("notify-like").uncheck()
    await page.get_by_test_id("notifications-submit").click()
    await expect(page.get_by_test_id("notify-like")).not_to_be_checked()
    await expect(page.get_by_test_id("notify-follow")).to_be_checked()

    # The password: a wrong current one is refused in place; the right one changes it.
    await page.goto("/settings/account")
    form = page.get_by_test_id("password-form")
    await form.get_by_label("Current password").fill("not my password")
    await form.get_by_label("New password").fill(NEW_PASSWORD)
    await form.get_by_test_id("password-submit").click()
    await expect(page.get_by_test_id("settings-error")).to_have_text("The current password is wrong.")
    await form.get_by_label("Current password").fill(PASSWORD)
    await form.get_by_label("New password").fill(NEW_PASSWORD)
    await form.get_by_test_id("password-submit").click()
    await expect(page.get_by_test_id("settings-notice")).to_contain_text("Your password has been changed")

    # The e-mail: nothing changes until the link in the mail is opened by this account.
    form = page.get_by_test_id("email-form")
    await form.get_by_label("New e-mail address").fill("maya.new@example.org")
    await form.get_by_label("Current password").fill(NEW_PASSWORD)
    await form.get_by_test_id("email-submit").click()
    await expect(page.get_by_test_id("settings-notice")).to_contain_text("confirmation link")
    await expect(page.get_by_test_id("current-email")).to_have_text("maya@example.org")
    await expect(page.get_by_test_id("pending-email")).to_contain_text("maya.new@example.org")
    link = outbox_link(runtime, "maya.new@example.org")
    await page.goto(link)
    await page.get_by_test_id("email-confirm-submit").click()
    await expect(page.get_by_test_id("settings-notice")).to_have_text("Your e-mail address has been changed.")
    await expect(page.get_by_test_id("current-email")).to_have_text("maya.new@example.org")

    # Deleting: the password again, and what happens is said before and after.
    await page.goto("/settings/delete")
    section = page.get_by_test_id("section-delete")
    await expect(section).to_contain_text("7 days")
    await section.get_by_label("Your password, to confirm").fill(NEW_PASSWORD)
    await section.get_by_test_id("delete-understood").check()
    await shot(page, "settings-delete")
    await section.get_by_test_id("delete-submit").click()
    await expect(page.get_by_test_id("account-deleted")).to_contain_text("logged out everywhere")
    await expect(page.locator("body")).not_to_have_attribute("data-viewer-handle", "maya")
    await page.goto("/settings")
    await expect(page).to_have_url(re.compile(r"/login"))


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_profile_grid_pins_followers_message_and_hashtag_sort(pages: Pages, tmp_path: Path) -> None:
    phone = pages.viewport == PHONE
    maya = await pages.new()
    await sign_up(maya, "maya", "Maya Pins")
    older = await upload(maya, make_clip(tmp_path, name="one.mp4"), "Morning #sunrise")
    await maya.goto("/")  # the upload page starts afresh for the next one
    newer = await upload(maya, make_clip(tmp_path, name="two.mp4"), "Evening #sunrise")
    # Pinned from the video's own page, by its owner.
    await maya.goto(f"/v/{older}")
    pin = maya.get_by_test_id("pin-toggle")
    await expect(pin).to_have_attribute("aria-pressed", "false")
    await pin.click()
    await expect(pin).to_have_attribute("aria-pressed", "true")
    assert await api_call(maya, "POST", f"/api/v1/videos/{older}/like") == 200

    await maya.goto("/@maya")
    tiles = maya.get_by_test_id("grid-tile")
    await expect(tiles).to_have_count(2)
    await expect(tiles.first).to_have_attribute("data-video-id", older)  # pinned first, though older
    await expect(tiles.first.get_by_test_id("pinned-badge")).to_be_visible()
    await expect(tiles.nth(1)).to_have_attribute("data-video-id", newer)
    await expect(tiles.nth(1).get_by_test_id("pinned-badge")).to_have_count(0)
    await expect(tiles.first.locator(".tile-views")).to_be_visible()
    assert await grid_columns(maya) == (3 if phone else 5)
    await shot(maya, "profile-pinned")

    # Hashtag: Latest by default, Top by engagement, and how many videos.
    await maya.goto("/tag/sunrise")
    await expect(maya.get_by_test_id("tag-count")).to_have_text("2 videos")
    await expect(maya.get_by_test_id("grid-tile").first).to_have_attribute("data-video-id", newer)
    await press(maya, maya.get_by_test_id("sort-top"))
    await expect(maya).to_have_url(re.compile(r"/tag/sunrise\?sort=top$"))
    await expect(maya.get_by_test_id("sort-top")).to_have_attribute("aria-current", "page")
    await expect(maya.get_by_test_id("grid-tile").first).to_have_attribute("data-video-id", older)
    assert await grid_columns(maya) == (3 if phone else 5)
    await shot(maya, "hashtag-top")

    # Another person: follows, sees the follower list, and writes from the profile.
    leo = await pages.new()
    await sign_up(leo, "leo", "Leo Visits")
    await leo.goto("/@maya")
    await press(leo, leo.get_by_test_id("follow-button"))
    await expect(leo.get_by_test_id("follower-count")).to_have_text("1")
    await press(leo, leo.get_by_test_id("followers-link"))
    dialog = leo.get_by_test_id("people-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_test_id("person")).to_have_attribute("data-handle", "leo")
    await leo.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await leo.goto("/@maya/followers")
    await expect(leo.get_by_test_id("people-page").get_by_test_id("person")).to_have_count(1)

    await leo.goto("/@maya")
    await press(leo, leo.get_by_test_id("message-button"))
    composer = leo.get_by_test_id("new-message-dialog")
    await expect(composer).to_be_visible()
    await expect(composer.get_by_test_id("new-message-to")).to_have_value("@maya")
    await composer.get_by_test_id("new-message-body").fill("Loved the sunrise")
    await composer.get_by_test_id("new-message-send").click()
    # Who may message whom still holds: a new account reaches only people who follow it.
    await expect(composer.get_by_test_id("new-message-error")).to_contain_text("only people who follow them")
    assert await api_call(maya, "POST", "/api/v1/users/leo/follow") == 200
    await composer.get_by_test_id("new-message-send").click()
    await expect(leo.get_by_test_id("thread-title")).to_have_text("Maya Pins")
    # Once the conversation exists, the button opens it.
    await leo.goto("/@maya")
    await press(leo, leo.get_by_test_id("message-button"))
    await expect(leo).to_have_url(re.compile(r"/inbox/\d+$"))
    await expect(leo.get_by_test_id("message-list")).to_contain_text("Loved the sunrise")
    # Maya sees no Message button on her own profile.
    await maya.goto("/@maya")
    await expect(maya.get_by_test_id("message-button")).to_have_count(0)
