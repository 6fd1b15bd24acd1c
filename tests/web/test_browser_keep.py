"""Browser stories of keeping, sharing and not seeing, at a phone and a desktop size: save a video to a new
public collection and find it on the profile's Favourites tab, repost it (a follower's Following feed says
who reposted it), mute an account from its profile, and add a keyword filter in settings; a creator holds
comments with their keywords, approves one and pins a comment; every page passes axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from reelm.runtime import Runtime
from tests import live
from tests.conftest import Account, make_account
from tests.factories import make_tiny_clip, publish
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_accessibility import log_in, serious_violations
from tests.web.test_browser import Pages, press, shot

pages = test_browser.pages


@pytest.fixture
def live_server(runtime: Runtime, tmp_path: Path) -> Iterator[str]:
    """A server process on the test databases; the test publishes through the realm's jobs itself."""
    server, base = live.start_server(runtime, tmp_path / "server.log")
    yield base
    live.stop(server)


async def api(client: httpx.AsyncClient, who: Account, path: str, **params: Any) -> Any:
    got = await client.get(path, params=params, headers=who.auth)
    assert got.status_code == 200, got.text
    return got.json()


async def accessible(page: Page) -> None:
    assert await serious_violations(page) == []


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_save_repost_mute_and_filter(
    pages: Pages, client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    clip = make_tiny_clip(tmp_path)
    ada = await make_account(client, "ada")
    eve = await make_account(client, "eve")
    bob = await make_account(client, "bob")
    fan = await make_account(client, "fan")
    lake = await publish(client, runtime, ada, clip, caption="lake at dawn #lake")
    await publish(client, runtime, eve, clip, caption="eve rides")
    await publish(client, runtime, ada, clip, caption="quiet forest")
    for who, whom in ((bob, eve), (bob, ada), (fan, bob)):
        assert (await client.post(f"/api/v1/users/{whom.handle}/follow", headers=who.auth)).status_code == 200

    page = await pages.new()
    await log_in(page, "bob")

    # Save to a new public collection.
    await page.goto(f"/v/{lake}")
    await accessible(page)
    await press(page, page.get_by_test_id("save-button"))
    await expect(page.get_by_test_id("save-page")).to_be_visible()
    await page.get_by_test_id("new-collection").fill("Trips")
    await press(page, page.get_by_test_id("new-collection-public"))
    await accessible(page)
    await shot(page, "keep-save")
    await press(page, page.get_by_test_id("save-submit"))
    await expect(page).to_have_url(re.compile(rf"/v/{lake}\?kept=saved$"))
    await expect(page.get_by_test_id("save-button")).to_contain_text("Saved")

    await page.goto("/@bob")
    await press(page, page.get_by_test_id("tab-link-favourites"))
    await expect(page).to_have_url(re.compile(r"/@bob/favourites$"))
    await expect(page.get_by_test_id("collection")).to_contain_text("Trips (1)")
    await expect(page.get_by_test_id("grid-tile")).to_have_attribute("data-video-id", lake)
    await accessible(page)
    # The collection is public: anyone sees it on bob's profile.
    assert [i["target"] for i in (await api(client, ada, "/api/v1/users/bob/favourites"))["items"]] == [lake]

    # A hashtag too, from its page.
    await page.goto("/tag/lake")
    await press(page, page.get_by_test_id("keep-hashtag"))
    await expect(page).to_have_url(re.compile(r"/@bob/favourites$"))
    await expect(page.get_by_test_id("kept-others")).to_contain_text("#lake")

    # Repost: the follower's Following feed says who reposted it.
    await page.goto(f"/v/{lake}")
    await press(page, page.get_by_test_id("repost-button"))
    await expect(page.get_by_test_id("repost-button")).to_contain_text("Undo repost")
    await expect(page.get_by_test_id("repost-button")).to_have_attribute("aria-pressed", "true")
    items = (await api(client, fan, "/api/v1/feed/following"))["items"]
    assert [(i["caption"], i["reposted_by"]) for i in items] == [("lake at dawn #lake", "bob")]
    await page.goto("/@bob/reposts")
    await expect(page.get_by_test_id("grid-tile")).to_have_attribute("data-video-id", lake)
    await accessible(page)

    # Mute eve from her profile: her video leaves bob's Following; she is not told.
    await page.goto("/@eve")
    await press(page, page.get_by_test_id("mute-link"))
    await expect(page.get_by_test_id("mute-page")).to_be_visible()
    await accessible(page)
    await press(page, page.get_by_test_id("mute-submit"))
    await expect(page.get_by_test_id("mute-state")).to_contain_text("They have not been told")
    captions = [i["caption"] for i in (await api(client, bob, "/api/v1/feed/following"))["items"]]
    assert captions == ["quiet forest", "lake at dawn #lake"]

    # A keyword filter, added in settings, applies to the next page read.
    await page.goto("/settings")
    await press(page, page.get_by_test_id("settings-link-filters"))
    await expect(page).to_have_url(re.compile(r"/settings/filters$"))
    await page.get_by_test_id("filter-phrase").fill("DAWN")
    await page.get_by_test_id("filter-days").select_option("7")
    await press(page, page.get_by_test_id("filter-add"))
    await expect(page.get_by_test_id("filters-notice")).to_be_visible()
    await expect(page.get_by_test_id("filter")).to_contain_text("DAWN")
    await expect(page.get_by_test_id("muted-account")).to_contain_text("@eve")
    await accessible(page)
    await shot(page, "keep-filters")
    captions = [i["caption"] for i in (await api(client, bob, "/api/v1/feed/following"))["items"]]
    assert captions == ["quiet forest"]

    await page.get_by_test_id("hide-ai").check()
    await press(page, page.get_by_test_id("hide-ai-save"))
    await expect(page.get_by_test_id("hide-ai")).to_be_checked()
    assert (await api(client, bob, "/api/v1/me/viewing-preferences")) == {"hide_ai_generated": True}

    # Unmuting from settings brings eve back.
    await press(page, page.get_by_test_id("unmute"))
    await expect(page.get_by_test_id("muted-empty")).to_be_visible()
    captions = [i["caption"] for i in (await api(client, bob, "/api/v1/feed/following"))["items"]]
    assert captions == ["quiet forest", "eve rides"]


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_a_held_comment_is_approved(
    pages: Pages, client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    ada = await make_account(client, "ada")
    bob = await make_account(client, "bob")
    eve = await make_account(client, "eve")
    video = await publish(client, runtime, ada, make_tiny_clip(tmp_path), caption="ask me anything")

    page = await pages.new()
    await log_in(page, "ada")
    await page.goto("/settings")
    await press(page, page.get_by_test_id("settings-link-comments"))
    await expect(page).to_have_url(re.compile(r"/settings/comments$"))
    await expect(page.get_by_test_id("held-empty")).to_be_visible()
    await page.get_by_test_id("hold-keywords").check()
    await page.locator("#keywords").fill("spoiler, ending")
    await press(page, page.get_by_test_id("controls-save"))
    await expect(page.get_by_test_id("comments-notice")).to_be_visible()
    await expect(page.locator("#keywords")).to_have_value("spoiler, ending")

    for body in ("the ENDING is great", "no spoiler here", "hello"):
        said = await client.post(f"/api/v1/videos/{video}/comments", headers=bob.auth, json={"body": body})
        assert said.status_code == 201, said.text
    shown = (await api(client, eve, f"/api/v1/videos/{video}/comments"))["items"]
    assert [c["body"] for c in shown] == ["hello"]

    await page.reload()
    await expect(page.get_by_test_id("held-comment")).to_have_count(2)
    await accessible(page)
    await shot(page, "keep-held")
    await page.get_by_test_id("held-pick").first.check()
    await press(page, page.get_by_test_id("held-approve"))
    await expect(page.get_by_test_id("comments-notice")).to_contain_text("Approved")
    await expect(page.get_by_test_id("held-comment")).to_have_count(1)
    shown = (await api(client, eve, f"/api/v1/videos/{video}/comments"))["items"]
    assert [c["body"] for c in shown] == ["the ENDING is great", "hello"]

    await page.get_by_test_id("held-pick").check()
    await press(page, page.get_by_test_id("held-delete"))
    await expect(page.get_by_test_id("held-empty")).to_be_visible()
    assert (await api(client, ada, "/api/v1/me/held-comments"))["items"] == []

    # The creator pins a comment from the video's comments: it goes first, labelled, for everyone.
    await page.goto(f"/v/{video}")
    await press(page, page.get_by_test_id("comment-button").first)
    drawer = page.get_by_test_id("comments")
    await expect(drawer.get_by_test_id("comment")).to_have_count(2)
    hello = drawer.get_by_test_id("comment").filter(has_text="hello")
    await press(page, hello.get_by_test_id("comment-pin"))
    await expect(drawer.get_by_test_id("comment").first).to_contain_text("hello")
    await expect(hello.get_by_test_id("comment-pinned")).to_be_visible()
    await expect(hello.get_by_test_id("comment-pin")).to_have_attribute("aria-pressed", "true")
    await accessible(page)
    page_for_eve = await api(client, eve, f"/api/v1/videos/{video}/comments")
    assert page_for_eve["pinned_id"] == next(c["id"] for c in page_for_eve["items"] if c["body"] == "hello")

    # This video's own controls, from its permissions editor: every new comment on it waits.
    await page.goto(f"/v/{video}")
    await press(page, page.get_by_test_id("permissions-toggle"))
    await press(page, page.get_by_test_id("comment-controls-link"))
    await expect(page.get_by_test_id("video-comment-controls")).to_be_visible()
    await page.get_by_test_id("hold-all").check()
    await press(page, page.get_by_test_id("controls-save"))
    await expect(page.get_by_test_id("comments-notice")).to_be_visible()
    await expect(page.get_by_test_id("hold-all")).to_be_checked()
    await accessible(page)
    assert (await api(client, ada, f"/api/v1/videos/{video}/comment-controls"))["hold"] == "all"
    assert (await api(client, ada, "/api/v1/me/comment-controls"))["hold"] == "keywords"
