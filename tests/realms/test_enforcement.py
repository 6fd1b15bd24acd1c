"""Each capability switched off answers 451 with the notice and writes nothing; restored, it works again."""

from __future__ import annotations

import asyncio
import html
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from reelm.accounts.models import HandleEntry, User
from reelm.publishing.tasks import PAUSED_DETAIL
from reelm.realms.models import Capability
from reelm.realms.switches import Switchboard, bucket
from reelm.runtime import Runtime
from reelm.social.models import Comment
from reelm.videos.models import Video, VideoStatus
from tests import clips
from tests.conftest import PASSWORD, make_account, run_jobs
from tests.factories import make_tiny_clip, publish, upload
from tests.realms.common import NOTICE, assert_capability_off, count, set_switch

US = "us"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("switches"))


def stored_files(runtime: Runtime, *parts: str) -> list[str]:
    root = runtime.settings.data_dir.joinpath(*parts)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_notice_page(response: httpx.Response, *, realm: str = US) -> None:
    """The HTML error page for a refusal: status 451, the notice, and the RFC 7725 link."""
    assert response.status_code == 451, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert html.escape(NOTICE) in response.text
    assert f"/api/v1/realms/{realm}/capabilities" in response.headers["link"]


def signup_body(handle: str, country: str) -> dict[str, str]:
    return {"handle": handle, "email": f"{handle}@example.org", "password": PASSWORD, "country": country}


async def test_signup_off_refuses_newcomers_of_that_realm_only(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    await set_switch(runtime, board, US, "signup", 0)

    refused = await client.post("/api/v1/accounts", json=signup_body("amy", "US"))
    body = assert_capability_off(refused, Capability.SIGNUP, US)
    assert body["notice"] == NOTICE
    assert body["detail"] == NOTICE
    assert await count(runtime, US, User) == 0
    assert await count(runtime, None, HandleEntry) == 0

    elsewhere = await client.post("/api/v1/accounts", json=signup_body("bea", "DE"))
    assert elsewhere.status_code == 201, elsewhere.text  # the eu realm still signs people up

    await set_switch(runtime, board, US, "signup", 100)
    assert (await client.post("/api/v1/accounts", json=signup_body("amy", "US"))).status_code == 201


async def test_the_signup_form_shows_the_notice_page(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    await set_switch(runtime, board, US, "signup", 0)
    page = await client.get("/signup")
    token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    refused = await client.post("/signup", data=signup_body("amy", "US") | {"csrf_token": token})
    assert_notice_page(refused)
    assert await count(runtime, US, User) == 0


async def test_watch_off_refuses_the_content_of_that_realm(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard, clip: Path
) -> None:
    alice = await make_account(client, "alice")  # us
    bob = await make_account(client, "bob", country="DE")  # eu
    video_id = await publish(client, runtime, alice, clip, caption="#sunset")
    poster = f"/media/{US}/videos/{video_id}/poster.jpg"
    assert (await client.get(poster)).status_code == 200

    await set_switch(runtime, board, US, "watch", 0)
    for response in [
        await client.get(f"/api/v1/videos/{video_id}"),
        await client.get(f"/api/v1/videos/{video_id}", headers=bob.auth),  # the content's realm decides
        await client.get("/api/v1/feed/for-you", headers=alice.auth),
        await client.get("/api/v1/feed/following", headers=alice.auth),
        await client.get("/api/v1/users/alice/videos", headers=bob.auth),
        await client.get(poster),
        await client.head(poster),
    ]:
        if response.request.method != "HEAD":
            assert assert_capability_off(response, Capability.WATCH, US)["notice"] == NOTICE
        assert response.status_code == 451
    assert_notice_page(await client.get(f"/v/{video_id}", headers=bob.auth))
    assert_notice_page(await client.get("/", headers=alice.auth))
    assert_notice_page(await client.get("/@alice"))
    # Another realm's feed goes on; so does everything in the us realm that is not watching.
    assert (await client.get("/api/v1/feed/for-you", headers=bob.auth)).status_code == 200
    assert (await client.get("/api/v1/users/alice")).status_code == 200

    await set_switch(runtime, board, US, "watch", 100)
    assert (await client.get(f"/api/v1/videos/{video_id}")).json()["status"] == "ready"
    assert (await client.get(poster)).status_code == 200
    assert (await client.get(f"/v/{video_id}")).status_code == 200
    assert (await client.get("/", headers=alice.auth)).status_code == 200


async def test_a_refused_upload_is_answered_before_its_body_is_read(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard, clip: Path
) -> None:
    alice = await make_account(client, "alice")
    await set_switch(runtime, board, US, "upload", 0)

    boundary = "reelm-test-boundary"
    video = await asyncio.to_thread(clip.read_bytes)
    payload = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
            f"Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + video
        + f"\r\n--{boundary}--\r\n".encode()
    )
    sent: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        sent.append(len(payload))
        yield payload

    refused = await client.post(
        "/api/v1/videos",
        headers=alice.auth | {"content-type": f"multipart/form-data; boundary={boundary}"},
        content=body(),
    )
    assert assert_capability_off(refused, Capability.UPLOAD, US)["notice"] == NOTICE
    assert sent == []  # not one byte of the body was asked for

    with clip.open("rb") as f:  # an ordinary client sends the body anyway: still nothing is kept
        plain = await client.post(
            "/api/v1/videos", headers=alice.auth, files={"file": ("clip.mp4", f, "video/mp4")}
        )
    assert_capability_off(plain, Capability.UPLOAD, US)
    assert await count(runtime, US, Video) == 0
    assert stored_files(runtime, "objects", US) == []
    assert stored_files(runtime, "tmp") == []
    assert_notice_page(await client.get("/upload", headers=alice.auth))

    await set_switch(runtime, board, US, "upload", 100)
    await upload(client, alice, clip)
    assert await count(runtime, US, Video) == 1


async def test_work_accepted_before_a_suspension_waits_for_the_restore_and_data_stays(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard, clip: Path
) -> None:
    alice = await make_account(client, "alice")
    video_id = await upload(client, alice, clip, caption="made before the switch")
    await set_switch(runtime, board, US, "all", 0)
    await run_jobs(runtime, US)  # uploads off: the transcode accepted before waits, its video kept
    async with runtime.databases.sessionmaker(US)() as session:
        waiting = (await session.execute(select(Video.status, Video.status_detail))).one()
    assert tuple(waiting) == (VideoStatus.PROCESSING, PAUSED_DETAIL)

    await set_switch(runtime, board, US, "all", 100)
    # The waiting job looks again PAUSED_RECHECK_S after it stopped; here that time has come at once.
    async with runtime.databases.transaction(US) as session:
        due = "UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'"
        await session.execute(text(due))
    await run_jobs(runtime, US)
    video = (await client.get(f"/api/v1/videos/{video_id}", headers=alice.auth)).json()
    assert (video["status"], video["caption"]) == ("ready", "made before the switch")


async def test_comment_off_refuses_new_comments(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard, clip: Path
) -> None:
    alice = await make_account(client, "alice")
    video_id = await publish(client, runtime, alice, clip)
    await set_switch(runtime, board, US, "comment", 0)
    refused = await client.post(
        f"/api/v1/videos/{video_id}/comments", headers=alice.auth, json={"body": "hi"}
    )
    assert_capability_off(refused, Capability.COMMENT, US)
    assert await count(runtime, US, Comment) == 0
    assert (await client.get(f"/api/v1/videos/{video_id}/comments")).status_code == 200  # reading goes on

    await set_switch(runtime, board, US, "comment", 100)
    posted = await client.post(f"/api/v1/videos/{video_id}/comments", headers=alice.auth, json={"body": "hi"})
    assert posted.status_code == 201, posted.text


async def test_profile_edit_off_refuses_every_way_of_editing(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard, tmp_path: Path
) -> None:
    alice = await make_account(client, "alice")
    await set_switch(runtime, board, US, "profile_edit", 0)
    png = clips.make_image(tmp_path)
    with png.open("rb") as f:
        avatar = await client.put(
            "/api/v1/me/avatar", headers=alice.auth, files={"file": ("me.png", f, "image/png")}
        )
    assert_capability_off(avatar, Capability.PROFILE_EDIT, US)
    assert_capability_off(
        await client.patch("/api/v1/me", headers=alice.auth, json={"display_name": "Changed"}),
        Capability.PROFILE_EDIT,
        US,
    )
    assert_notice_page(await client.post("/settings", headers=alice.auth, data={"display_name": "Changed"}))
    me = (await client.get("/api/v1/me", headers=alice.auth)).json()
    assert (me["display_name"], me["avatar_url"]) == ("alice", None)
    assert stored_files(runtime, "objects", US) == []

    await set_switch(runtime, board, US, "profile_edit", 100)
    patched = await client.patch("/api/v1/me", headers=alice.auth, json={"display_name": "Changed"})
    assert patched.json()["display_name"] == "Changed"


async def test_search_off_refuses_hashtag_listings_of_the_viewers_realm(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    alice = await make_account(client, "alice")
    bob = await make_account(client, "bob", country="DE")
    await set_switch(runtime, board, US, "search", 0)
    assert_capability_off(
        await client.get("/api/v1/hashtags/sunset/videos", headers=alice.auth), Capability.SEARCH, US
    )
    assert_notice_page(await client.get("/tag/sunset", headers=alice.auth))
    assert (await client.get("/api/v1/hashtags/sunset/videos", headers=bob.auth)).status_code == 200
    # The search field and the Search and Explore links leave the pages while it is off.
    for who, shown in ((alice, False), (bob, True)):
        page = (await client.get("/upload", headers=who.auth)).text
        assert ('href="/explore"' in page, 'href="/search"' in page) == (shown, shown), who.handle

    await set_switch(runtime, board, US, "search", 100)
    assert (await client.get("/api/v1/hashtags/sunset/videos", headers=alice.auth)).status_code == 200


async def test_a_partial_rollout_admits_exactly_the_accounts_in_its_buckets(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard, clip: Path
) -> None:
    accounts = [await make_account(client, handle) for handle in ("ann", "ben", "cat")]
    by_bucket = sorted(accounts, key=lambda a: bucket(US, Capability.COMMENT, int(a.id)))
    low, high = by_bucket[0], by_bucket[-1]
    cut = bucket(US, Capability.COMMENT, int(high.id))
    if cut == bucket(US, Capability.COMMENT, int(low.id)) or cut == 0:
        pytest.skip("three accounts drew the same bucket")  # about one run in ten thousand
    video_id = await publish(client, runtime, low, clip)

    await set_switch(runtime, board, US, "comment", cut)  # the lowest bucket is in, the highest out
    for _ in range(3):  # and stays so, request after request
        inside = await client.post(
            f"/api/v1/videos/{video_id}/comments", headers=low.auth, json={"body": "in"}
        )
        assert inside.status_code == 201, inside.text
        outside = await client.post(
            f"/api/v1/videos/{video_id}/comments", headers=high.auth, json={"body": "out"}
        )
        body = assert_capability_off(outside, Capability.COMMENT, US, state="percent")
        assert body["percent"] == cut
    assert await count(runtime, US, Comment) == 3


async def test_pages_show_a_banner_while_the_viewers_realm_is_limited(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    alice = await make_account(client, "alice")
    assert 'data-testid="realm-banner"' not in (await client.get("/login")).text
    await set_switch(runtime, board, US, "upload,comment", 0)
    await set_switch(runtime, board, US, "watch", 10, notice=None)

    page = (await client.get("/settings", headers=alice.auth)).text
    assert 'data-testid="realm-banner"' in page
    assert "Uploading off" in page
    assert "Comments off" in page
    assert "Watching videos back for 10 % of accounts" in page
    assert page.count(html.escape(NOTICE)) == 1  # one notice shared by all three is said once
    # Anonymous visitors browse the default realm, which is not limited.
    assert 'data-testid="realm-banner"' not in (await client.get("/login")).text
