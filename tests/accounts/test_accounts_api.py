"""Accounts through the JSON API: sign-up into the home realm, log-in, sessions, profiles, avatars, limits."""

from __future__ import annotations

from pathlib import Path

import av
import httpx
import pytest
from sqlalchemy import func, select, text

from reelm.accounts.models import AuthSession, HandleEntry, User
from reelm.accounts.service import read_email
from reelm.runtime import Runtime
from tests import clips
from tests.conftest import PASSWORD, make_account
from tests.factories import assert_problem

REALMS = ("us", "eu", "global")


def sign_up_body(
    handle: str, *, country: str = "US", email: str | None = None, **extra: str
) -> dict[str, str]:
    return {
        "handle": handle,
        "email": email or f"{handle}@example.org",
        "password": PASSWORD,
        "country": country,
        **extra,
    }


async def sign_up(client: httpx.AsyncClient, handle: str, **kwargs: str) -> httpx.Response:
    return await client.post("/api/v1/accounts", json=sign_up_body(handle, **kwargs))


async def realm_users(runtime: Runtime, realm: str) -> list[User]:
    async with runtime.databases.sessionmaker(realm)() as session:
        return list((await session.scalars(select(User).order_by(User.handle))).all())


async def directory_entries(runtime: Runtime) -> list[HandleEntry]:
    async with runtime.databases.sessionmaker(None)() as session:
        return list((await session.scalars(select(HandleEntry).order_by(HandleEntry.handle))).all())


async def row_counts(runtime: Runtime) -> dict[str, int]:
    """Rows of every account table in every database, to show that a refused request wrote nothing."""
    counts: dict[str, int] = {}
    for realm in REALMS:
        async with runtime.databases.sessionmaker(realm)() as session:
            counts[f"{realm}.users"] = await session.scalar(select(func.count()).select_from(User)) or 0
            counts[f"{realm}.sessions"] = (
                await session.scalar(select(func.count()).select_from(AuthSession)) or 0
            )
    async with runtime.databases.sessionmaker(None)() as session:
        counts["directory.handles"] = await session.scalar(select(func.count()).select_from(HandleEntry)) or 0
    return counts


# --- sign-up ---------------------------------------------------------------------------------------


async def test_signup_picks_home_realm_from_country_and_writes_only_there(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    homes = {"sam": ("US", "us"), "dora": ("DE", "eu"), "kenji": ("JP", "global")}
    for handle, (country, _) in homes.items():
        created = await sign_up(client, handle, country=country)
        assert created.status_code == 201, created.text
        me = created.json()
        assert me["handle"] == handle
        assert me["realm"] == homes[handle][1]
        assert me["country"] == country
        assert me["email"] == f"{handle}@example.org"

    for realm in REALMS:
        users = await realm_users(runtime, realm)
        expected = [h for h, (_, home) in homes.items() if home == realm]
        assert [u.handle for u in users] == expected
        for user in users:
            # Stored encrypted; it reads back only through the user's key.
            assert f"{user.handle}@example.org".encode() not in user.email
            assert await read_email(runtime, realm, user) == f"{user.handle}@example.org"
            assert user.password_hash != PASSWORD
            assert user.password_hash.startswith("$argon2")

    entries = await directory_entries(runtime)
    assert {(e.handle, e.realm, e.state) for e in entries} == {
        ("dora", "eu", "active"),
        ("kenji", "global", "active"),
        ("sam", "us", "active"),
    }
    for entry in entries:
        (user,) = [u for u in await realm_users(runtime, entry.realm) if u.handle == entry.handle]
        assert entry.user_id == user.id
    # Only what routing needs: no e-mail, password, country or profile in the directory.
    async with runtime.databases.sessionmaker(None)() as session:
        row = (await session.execute(text("SELECT * FROM handles WHERE handle = 'sam'"))).mappings().one()
    assert set(row) - {"created_at"} == {"handle", "user_id", "realm", "state"}
    assert "sam@example.org" not in {str(v) for v in row.values()}


async def test_duplicate_handle_is_refused_case_insensitively(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert (await sign_up(client, "Alice")).status_code == 201
    before = await row_counts(runtime)

    taken = await sign_up(client, "ALICE", email="other@example.org", country="DE")
    assert_problem(taken, 409, "handle-taken")
    also_taken = await sign_up(client, "@alice", email="third@example.org")
    assert_problem(also_taken, 409, "handle-taken")
    assert await row_counts(runtime) == before
    assert [await read_email(runtime, "us", u) for u in await realm_users(runtime, "us")] == [
        "alice@example.org"
    ]


async def test_duplicate_email_is_refused_and_releases_the_handle(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert (await sign_up(client, "alice", email="shared@example.org")).status_code == 201

    dup = await sign_up(client, "bob", email="Shared@Example.org")
    assert_problem(dup, 409, "email-taken")
    assert [e.handle for e in await directory_entries(runtime)] == ["alice"]

    # The reservation of @bob was released: the handle can be signed up right away.
    again = await sign_up(client, "bob", email="bob@example.org")
    assert again.status_code == 201, again.text
    assert [u.handle for u in await realm_users(runtime, "us")] == ["alice", "bob"]


async def test_duplicate_email_in_another_realm_is_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """An e-mail address identifies one account, whichever realm holds it: log-in by e-mail looks in
    every realm and takes the first match, so a second account with that address could never log in by it."""
    assert (await sign_up(client, "alice", email="shared@example.org", country="US")).status_code == 201

    dup = await sign_up(client, "bob", email="shared@example.org", country="DE")
    assert_problem(dup, 409, "email-taken")
    assert await realm_users(runtime, "eu") == []
    assert [e.handle for e in await directory_entries(runtime)] == ["alice"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"handle": "no spaces"}, "handle"),
        ({"handle": ".dotted"}, "handle"),
        ({"handle": "x"}, "handle"),
        ({"handle": "admin"}, "handle"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "two@@example.org"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "1234567890"}, "password"),
        ({"country": "ZZZ"}, "country"),
        ({"country": "1A"}, "country"),
        ({"display_name": "bell\x07"}, "display_name"),
    ],
)
async def test_invalid_signup_is_422_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, overrides: dict[str, str], field: str
) -> None:
    body = sign_up_body("valid_handle") | overrides
    refused = await client.post("/api/v1/accounts", json=body)
    problem = assert_problem(refused, 422, "invalid-request")
    assert problem["detail"].startswith(f"{field}:"), problem
    assert [e["field"] for e in problem["errors"]] == [field]
    assert set((await row_counts(runtime)).values()) == {0}


# --- log-in and sessions ----------------------------------------------------------------------------


async def test_login_by_handle_or_email_and_wrong_password(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert (await sign_up(client, "alice")).status_code == 201

    by_handle = await client.post("/api/v1/sessions", json={"login": "@Alice", "password": PASSWORD})
    assert by_handle.status_code == 201, by_handle.text
    by_email = await client.post(
        "/api/v1/sessions", json={"login": "ALICE@example.org", "password": PASSWORD}
    )
    assert by_email.status_code == 201, by_email.text
    for session in (by_handle.json(), by_email.json()):
        assert session["token_type"] == "bearer"
        assert session["token"].startswith("us.")
        assert session["user"]["handle"] == "alice"
        assert session["user"]["realm"] == "us"
        assert "email" not in session["user"]
    assert by_handle.json()["token"] != by_email.json()["token"]
    async with runtime.databases.sessionmaker("us")() as db:
        stored = list((await db.scalars(select(AuthSession))).all())
    assert len(stored) == 2
    # Only digests are stored, never the tokens themselves.
    assert all(
        s.token_hash not in {by_handle.json()["token"].encode(), by_email.json()["token"].encode()}
        for s in stored
    )

    wrong = await client.post("/api/v1/sessions", json={"login": "alice", "password": "not the password"})
    unknown = await client.post("/api/v1/sessions", json={"login": "nobody", "password": "not the password"})
    unknown_email = await client.post(
        "/api/v1/sessions", json={"login": "nobody@example.org", "password": "x"}
    )
    bodies = [assert_problem(r, 401, "bad-credentials") for r in (wrong, unknown, unknown_email)]
    # The same answer whether or not the account exists: nothing to enumerate.
    assert len({(b["title"], b["detail"]) for b in bodies}) == 1
    assert (await row_counts(runtime))["us.sessions"] == 2  # the refused attempts opened no session


async def test_bearer_token_reads_me_until_logout(client: httpx.AsyncClient) -> None:
    alice = await make_account(client, "alice")
    me = await client.get("/api/v1/me", headers=alice.auth)
    assert me.status_code == 200, me.text
    assert me.json()["handle"] == "alice"
    assert me.json()["email"] == "alice@example.org"
    assert me.json()["id"] == alice.id

    assert_problem(await client.get("/api/v1/me"), 401, "login-required")
    bogus = await client.get("/api/v1/me", headers={"Authorization": "Bearer us.forged"})
    assert_problem(bogus, 401, "bad-token")

    out = await client.delete("/api/v1/sessions/current", headers=alice.auth)
    assert out.status_code == 204
    after = await client.get("/api/v1/me", headers=alice.auth)
    assert_problem(after, 401, "bad-token")
    assert after.headers["www-authenticate"] == "Bearer"


# --- profile -----------------------------------------------------------------------------------------


async def test_patch_me_validates_and_updates_profile(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    updated = await client.patch(
        "/api/v1/me", headers=alice.auth, json={"display_name": "  Alice Á  ", "bio": "line one\nline two"}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["display_name"] == "Alice Á"
    assert updated.json()["bio"] == "line one\nline two"

    for bad in (
        {"display_name": "tab\x1bescape"},
        {"display_name": "two\nlines"},
        {"display_name": "   "},
        {"bio": "null\x00byte"},
        {"bio": "x" * 301},
        {"display_name": "y" * 51},
    ):
        field = next(iter(bad))
        refused = await client.patch("/api/v1/me", headers=alice.auth, json=bad)
        assert_problem(refused, 422, "invalid-request")
        assert refused.json()["detail"].startswith(f"{field}:"), refused.json()

    (user,) = await realm_users(runtime, "us")
    assert (user.display_name, user.bio) == ("Alice Á", "line one\nline two")
    profile = (await client.get("/api/v1/users/alice")).json()
    assert profile["display_name"] == "Alice Á"
    assert "email" not in profile


async def test_avatar_accepts_png_as_jpeg_and_refuses_text(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    alice = await make_account(client, "alice")
    not_image = tmp_path / "avatar.png"
    not_image.write_text("definitely not a picture\n")
    with not_image.open("rb") as f:
        refused = await client.put(
            "/api/v1/me/avatar", headers=alice.auth, files={"file": ("a.png", f, "image/png")}
        )
    assert_problem(refused, 422, "image-rejected")
    assert (await client.get("/api/v1/me", headers=alice.auth)).json()["avatar_url"] is None

    png = clips.make_image(tmp_path)
    assert png.read_bytes().startswith(b"\x89PNG")
    with png.open("rb") as f:
        accepted = await client.put(
            "/api/v1/me/avatar", headers=alice.auth, files={"file": ("me.png", f, "image/png")}
        )
    assert accepted.status_code == 200, accepted.text
    avatar_url = accepted.json()["avatar_url"]
    assert avatar_url.startswith(f"/media/us/avatars/{alice.id}/")
    assert avatar_url.endswith(".jpg")

    served = await client.get(avatar_url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.content.startswith(b"\xff\xd8\xff")
    jpeg = tmp_path / "served.jpg"
    jpeg.write_bytes(served.content)
    with av.open(str(jpeg)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.width, stream.codec_context.height) == (
            "mjpeg",
            320,
            320,
        )
    assert (await client.get("/api/v1/users/alice")).json()["avatar_url"] == avatar_url


# --- rate limits --------------------------------------------------------------------------------------


async def test_login_is_rate_limited(client: httpx.AsyncClient, runtime: Runtime) -> None:
    assert (await sign_up(client, "alice")).status_code == 201
    runtime.settings.login_attempts_per_minute = 3
    for _ in range(3):
        r = await client.post("/api/v1/sessions", json={"login": "alice", "password": "wrong password"})
        assert r.status_code == 401
    # Even the right password is refused once the window is full.
    limited = await client.post("/api/v1/sessions", json={"login": "alice", "password": PASSWORD})
    assert_problem(limited, 429, "rate-limited")
    assert int(limited.headers["retry-after"]) >= 1
    assert (await row_counts(runtime))["us.sessions"] == 0


async def test_signup_is_rate_limited(client: httpx.AsyncClient, runtime: Runtime) -> None:
    runtime.settings.signups_per_hour = 2
    assert (await sign_up(client, "alice")).status_code == 201
    assert (await sign_up(client, "bob")).status_code == 201
    limited = await sign_up(client, "carol")
    assert_problem(limited, 429, "rate-limited")
    assert int(limited.headers["retry-after"]) >= 1
    assert [e.handle for e in await directory_entries(runtime)] == ["alice", "bob"]
    assert [u.handle for u in await realm_users(runtime, "us")] == ["alice", "bob"]
