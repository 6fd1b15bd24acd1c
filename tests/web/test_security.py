"""Web security: CSRF on cookie sessions, safe redirects, escaping, access to other people's videos, media
paths, and the operational endpoints."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from reelm.accounts.models import User
from reelm.runtime import Runtime
from tests.conftest import PASSWORD, make_account
from tests.factories import app_of, assert_problem, make_tiny_clip, publish, upload

XSS = "<script>alert(1)</script>"
META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("security"))


async def login_page_csrf(client: httpx.AsyncClient) -> str:
    """GET /login, as a browser would: sets the `reelm_csrf` cookie; returns the page's CSRF token."""
    page = await client.get("/login")
    assert page.status_code == 200, page.text
    assert "reelm_csrf" in client.cookies
    match = META_CSRF.search(page.text)
    assert match, "the page has no csrf-token meta tag"
    return match.group(1)


async def browser_login(client: httpx.AsyncClient, handle: str, next_path: str = "/") -> str:
    """Log in through the HTML form, leaving the `reelm_session` cookie; returns the page's CSRF token."""
    token = await login_page_csrf(client)
    response = await client.post(
        "/login", data={"login": handle, "password": PASSWORD, "csrf_token": token, "next": next_path}
    )
    assert response.status_code == 303, response.text
    assert "reelm_session" in client.cookies
    return token


async def display_name(runtime: Runtime, handle: str) -> str:
    async with runtime.databases.sessionmaker("us")() as session:
        name = await session.scalar(select(User.display_name).where(User.handle == handle))
    assert name is not None
    return name


# --- CSRF --------------------------------------------------------------------------------------------


async def test_cookie_session_needs_csrf_token_for_unsafe_requests(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_account(client, "alice")
    token = await browser_login(client, "alice")
    me = await client.get("/api/v1/me")  # safe methods need no token
    assert me.status_code == 200, me.text
    assert me.json()["handle"] == "alice"

    refused = [
        await client.patch("/api/v1/me", json={"display_name": "Hacked"}),
        await client.patch("/api/v1/me", json={"display_name": "Hacked"}, headers={"X-CSRF-Token": "0" * 64}),
        await client.patch("/api/v1/me", json={"display_name": "Hacked"}, headers={"X-CSRF-Token": ""}),
        await client.post("/api/v1/users/alice/follow"),
        await client.delete("/api/v1/sessions/current"),
    ]
    for response in refused:
        assert_problem(response, 403, "csrf")
    assert await display_name(runtime, "alice") == "alice"
    assert (await client.get("/api/v1/me")).status_code == 200  # the session was not logged out

    accepted = await client.patch(
        "/api/v1/me", json={"display_name": "Alice"}, headers={"X-CSRF-Token": token}
    )
    assert accepted.status_code == 200, accepted.text
    assert await display_name(runtime, "alice") == "Alice"


async def test_csrf_token_is_bound_to_the_browsers_cookie(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """A token copied from another browser's page is worthless without that browser's `reelm_csrf` cookie."""
    await make_account(client, "alice")
    await browser_login(client, "alice")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app_of(client)), base_url="http://test"
    ) as attacker:
        attackers_token = await login_page_csrf(attacker)
    refused = await client.patch(
        "/api/v1/me", json={"display_name": "Hacked"}, headers={"X-CSRF-Token": attackers_token}
    )
    assert_problem(refused, 403, "csrf")
    assert await display_name(runtime, "alice") == "alice"


async def test_html_form_posts_need_the_csrf_field(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await make_account(client, "alice")
    await login_page_csrf(client)
    refused = await client.post("/login", data={"login": "alice", "password": PASSWORD})
    assert refused.status_code == 403
    assert "reelm_session" not in client.cookies
    wrong = await client.post("/login", data={"login": "alice", "password": PASSWORD, "csrf_token": "nope"})
    assert wrong.status_code == 403
    assert "reelm_session" not in client.cookies

    token = await browser_login(client, "alice")
    # The settings form of a logged-in browser is refused without its token, and accepted with it.
    no_token = await client.post("/settings", data={"display_name": "Hacked"})
    assert_problem(no_token, 403, "csrf")
    assert await display_name(runtime, "alice") == "alice"
    saved = await client.post("/settings", data={"display_name": "Alice", "csrf_token": token})
    assert saved.status_code == 303, saved.text
    assert await display_name(runtime, "alice") == "Alice"


async def test_bearer_requests_need_no_csrf_token(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    updated = await client.patch("/api/v1/me", headers=alice.auth, json={"display_name": "Via API"})
    assert updated.status_code == 200, updated.text
    assert await display_name(runtime, "alice") == "Via API"


async def test_login_redirects_only_to_local_paths(client: httpx.AsyncClient) -> None:
    assert (
        await client.post(
            "/api/v1/accounts",
            json={"handle": "alice", "email": "alice@example.org", "password": PASSWORD, "country": "US"},
        )
    ).status_code == 201
    token = await login_page_csrf(client)
    targets = {
        "//evil.example": "/",
        "//evil.example/@alice": "/",
        "https://evil.example/": "/",
        "/\\evil.example": "/",
        "\\\\evil.example": "/",
        "javascript:alert(1)": "/",
        "": "/",
        "/@alice?tab=likes": "/@alice?tab=likes",
    }
    for target, expected in targets.items():
        response = await client.post(
            "/login", data={"login": "alice", "password": PASSWORD, "csrf_token": token, "next": target}
        )
        assert response.status_code == 303, (target, response.text)
        location = response.headers["location"]
        assert location == expected, target
        assert urlsplit(location).netloc == ""
    # The login page itself only carries a local `next` into its form.
    page = await client.get("/login", params={"next": "//evil.example"})
    assert '<input type="hidden" name="next" value="/">' in page.text


async def test_settings_form_with_a_bad_avatar_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    """Bad input gets a clear error and changes nothing else (DESIGN.md, convention 11)."""
    await make_account(client, "alice")
    token = await browser_login(client, "alice")
    not_image = tmp_path / "avatar.png"
    not_image.write_text("not a picture\n")
    with not_image.open("rb") as f:
        response = await client.post(
            "/settings",
            data={"display_name": "Renamed", "bio": "new bio", "csrf_token": token},
            files={"avatar": ("avatar.png", f, "image/png")},
        )
    assert response.status_code == 422
    assert "image" in response.text.lower()
    assert await display_name(runtime, "alice") == "alice"


# --- escaping ----------------------------------------------------------------------------------------


async def test_caption_html_is_verbatim_in_json_and_escaped_in_the_page(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    alice = await make_account(client, "alice")
    video_id = await publish(client, runtime, alice, clip, caption=f"look {XSS} & <b>bold</b>")

    api = (await client.get(f"/api/v1/videos/{video_id}")).json()
    assert api["caption"] == f"look {XSS} & <b>bold</b>"

    page = await client.get(f"/v/{video_id}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert XSS not in page.text
    assert "<b>bold</b>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    # The JSON embedded for the page's script cannot close its <script> element either.
    assert "</script> &" not in page.text
    assert "\\u003cscript\\u003e" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


# --- who may see and change what ----------------------------------------------------------------------


async def test_unknown_video_and_profile_pages_are_404(client: httpx.AsyncClient) -> None:
    for path in ("/v/123456789", "/v/not-a-number", "/v/99999999999999999999", "/@nobody", "/@a%20b"):
        page = await client.get(path)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
    assert (await client.get("/api/v1/users/nobody")).status_code == 404
    assert (await client.get("/api/v1/videos/123456789")).status_code == 404


async def test_private_video_is_404_for_others_and_visible_to_its_owner(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    owner = await make_account(client, "owner")
    other = await make_account(client, "other")
    video_id = await publish(client, runtime, owner, clip, caption="secret", visibility="private")

    mine = await client.get(f"/api/v1/videos/{video_id}", headers=owner.auth)
    assert mine.status_code == 200
    assert (mine.json()["status"], mine.json()["visibility"]) == ("ready", "private")
    for headers in (other.auth, {}):
        assert_problem(await client.get(f"/api/v1/videos/{video_id}", headers=headers), 404, "not-found")
    assert (await client.get(f"/v/{video_id}")).status_code == 404
    others_view = (await client.get("/api/v1/users/owner/videos", headers=other.auth)).json()
    assert others_view["items"] == []
    owners_view = (await client.get("/api/v1/users/owner/videos", headers=owner.auth)).json()
    assert [v["id"] for v in owners_view["items"]] == [video_id]

    await browser_login(client, "owner")
    page = await client.get(f"/v/{video_id}")
    assert page.status_code == 200
    assert "secret" in page.text


async def test_others_cannot_edit_delete_or_see_processing_videos(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    owner = await make_account(client, "owner")
    other = await make_account(client, "other")
    ready = await publish(client, runtime, owner, clip, caption="original caption")
    processing = await upload(client, owner, clip, caption="still processing")

    assert_problem(
        await client.patch(f"/api/v1/videos/{ready}", headers=other.auth, json={"caption": "mine now"}),
        403,
        "forbidden",
    )
    assert_problem(await client.delete(f"/api/v1/videos/{ready}", headers=other.auth), 403, "forbidden")
    assert_problem(
        await client.patch(f"/api/v1/videos/{ready}", json={"caption": "anon"}), 401, "login-required"
    )
    assert_problem(await client.delete(f"/api/v1/videos/{ready}"), 401, "login-required")
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method,
            f"/api/v1/videos/{processing}",
            headers=other.auth,
            json={"caption": "x"} if method == "PATCH" else None,
        )
        assert_problem(response, 404, "not-found")
    assert (await client.get(f"/v/{processing}")).status_code == 404

    video = (await client.get(f"/api/v1/videos/{ready}")).json()
    assert video["caption"] == "original caption"
    assert (await client.get(video["mp4_url"])).status_code == 200
    assert (await client.get(f"/api/v1/videos/{processing}", headers=owner.auth)).json()[
        "status"
    ] == "processing"


# --- media paths ---------------------------------------------------------------------------------------


async def test_media_route_refuses_traversal_and_originals(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    alice = await make_account(client, "alice")
    video_id = await publish(client, runtime, alice, clip)
    poster = (await client.get(f"/api/v1/videos/{video_id}")).json()["poster_url"]
    assert (await client.get(poster)).status_code == 200

    refused = [
        f"/media/us/videos/{video_id}/original",
        f"/media/us/videos/{video_id}/%2E%2E/{video_id}/original",
        f"/media/us/videos/{video_id}/%2e%2e/%2e%2e/avatars/1/x.jpg",
        f"/media/us/videos/{video_id}/..%2F..%2F..%2Fetc%2Fpasswd",
        f"/media/us/videos/{video_id}/poster.jpg/..",
        "/media/us/..%2F..%2Fetc/passwd",
        f"/media/nowhere/videos/{video_id}/poster.jpg",
        f"/media/eu/videos/{video_id}/poster.jpg",
        f"/media/us/originals/{video_id}/poster.jpg",
    ]
    for path in refused:
        response = await client.get(path)
        assert response.status_code == 404, path
    # HEAD is answered like GET.
    assert (await client.head(f"/media/us/videos/{video_id}/original")).status_code == 404


async def test_original_is_not_served_through_a_trailing_slash(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    """The original upload is protected; a key that names it with a trailing '/' must not reach the store."""
    alice = await make_account(client, "alice")
    processing = await upload(client, alice, clip)  # not even published yet
    for path in (f"/media/us/videos/{processing}/original/", f"/media/us/videos/{processing}/original%2F"):
        assert (await client.get(path)).status_code == 404, path
        assert (await client.head(path)).status_code == 404, path


async def test_media_of_private_videos_is_not_served_to_others(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    """Private videos are protected data: their renditions and poster must not be fetchable by anyone who
    learns (or guesses: ids are a timestamp and 16 random bits) the video id."""
    owner = await make_account(client, "owner")
    video_id = await publish(client, runtime, owner, clip, visibility="private")
    video = (await client.get(f"/api/v1/videos/{video_id}", headers=owner.auth)).json()
    for url in (video["hls_url"], video["mp4_url"], video["poster_url"]):
        assert url.startswith(f"/media/us/videos/{video_id}/")
        assert (await client.get(url)).status_code == 404, url


# --- operational endpoints ---------------------------------------------------------------------------


async def test_openapi_lists_the_main_paths(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/accounts",
        "/api/v1/sessions",
        "/api/v1/sessions/current",
        "/api/v1/me",
        "/api/v1/me/avatar",
        "/api/v1/users/{handle}",
        "/api/v1/users/{handle}/follow",
        "/api/v1/videos",
        "/api/v1/videos/{video_id}",
        "/api/v1/videos/{video_id}/like",
        "/api/v1/videos/{video_id}/comments",
        "/api/v1/feed/for-you",
        "/api/v1/feed/following",
    ):
        assert path in paths, path
    # Pages, media and operations are not part of the API description.
    assert not any(p.startswith(("/media", "/login", "/v/", "/healthz", "/metrics")) for p in paths)


async def test_healthz_checks_every_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"directory": "ok", "us": "ok", "eu": "ok", "global": "ok"},
    }
