"""Changing the password and the e-mail address through the API; the confirmation mail goes through a real
SMTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from reelm.accounts import credentials
from reelm.accounts.models import AuthSession, EmailChange, User
from reelm.accounts.service import read_email
from reelm.runtime import Runtime
from reelm.web.app import create_app
from tests.conftest import PASSWORD, Account, make_account
from tests.factories import assert_problem
from tests.mailserver import MailServer, confirmation_token, mail_server

__all__ = ["mail_server"]  # the fixture, used by name

NEW_PASSWORD = "a much longer passphrase"


@pytest.fixture
async def client(runtime: Runtime, mail_server: MailServer) -> AsyncIterator[httpx.AsyncClient]:
    """The API, sending its mail to the test's SMTP server."""
    runtime.settings.smtp_url = SecretStr(mail_server.url)
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def log_in(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/sessions", json={"login": login, "password": password})


async def sessions_of(runtime: Runtime, account: Account) -> int:
    async with runtime.databases.read(account.realm) as session:
        count = await session.scalar(
            select(func.count()).select_from(AuthSession).where(AuthSession.user_id == int(account.id))
        )
    return int(count or 0)


async def email_of(runtime: Runtime, account: Account) -> str:
    async with runtime.databases.read(account.realm) as session:
        user = await session.get(User, int(account.id))
    assert user is not None
    return await read_email(runtime, account.realm, user)


# --- password ---------------------------------------------------------------------------------------------


async def test_changing_the_password_ends_the_other_sessions(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ana = await make_account(client, "ana")
    other = (await log_in(client, "ana", PASSWORD)).json()["token"]
    assert await sessions_of(runtime, ana) == 2

    changed = await client.put(
        "/api/v1/me/password",
        headers=ana.auth,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 204, changed.text
    assert await sessions_of(runtime, ana) == 1
    assert (await client.get("/api/v1/me", headers=ana.auth)).status_code == 200  # the asking one stays
    gone = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"})
    assert_problem(gone, 401, "bad-token")
    assert_problem(await log_in(client, "ana", PASSWORD), 401, "bad-credentials")
    assert (await log_in(client, "ana", NEW_PASSWORD)).status_code == 201


@pytest.mark.parametrize(
    ("current", "new", "status", "kind"),
    [
        ("not the password", NEW_PASSWORD, 403, "bad-password"),
        (PASSWORD, "short", 422, "invalid-request"),  # under 10 characters: refused at the edge
        (PASSWORD, "1234567890", 422, "invalid-request"),  # too easy to guess
        (PASSWORD, PASSWORD, 422, "invalid-request"),  # the same password again
    ],
)
async def test_a_refused_password_change_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, current: str, new: str, status: int, kind: str
) -> None:
    ana = await make_account(client, "ana")
    await log_in(client, "ana", PASSWORD)
    refused = await client.put(
        "/api/v1/me/password", headers=ana.auth, json={"current_password": current, "new_password": new}
    )
    assert_problem(refused, status, kind)
    assert await sessions_of(runtime, ana) == 2
    assert (await log_in(client, "ana", PASSWORD)).status_code == 201


async def test_a_password_change_needs_a_session(client: httpx.AsyncClient) -> None:
    refused = await client.put(
        "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert_problem(refused, 401, "login-required")


# --- e-mail -----------------------------------------------------------------------------------------------


async def test_a_new_address_counts_once_its_link_is_opened(
    client: httpx.AsyncClient, runtime: Runtime, mail_server: MailServer
) -> None:
    ana = await make_account(client, "ana")
    asked = await client.post(
        "/api/v1/me/email", headers=ana.auth, json={"email": "Ana.New@Example.org", "password": PASSWORD}
    )
    assert asked.status_code == 202, asked.text
    assert asked.json()["pending_email"] == "ana.new@example.org"
    (sent,) = mail_server.inbox.to("ana.new@example.org")
    assert "Confirm your new e-mail address" in sent["Subject"]
    # Nothing changes until the link is opened: the old address still logs in, the new one does not.
    assert await email_of(runtime, ana) == "ana@example.org"
    assert (await log_in(client, "ana@example.org", PASSWORD)).status_code == 201
    assert_problem(await log_in(client, "ana.new@example.org", PASSWORD), 401, "bad-credentials")

    token = confirmation_token(sent)
    confirmed = await client.post("/api/v1/me/email/confirm", headers=ana.auth, json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email"] == "ana.new@example.org"
    assert await email_of(runtime, ana) == "ana.new@example.org"
    assert (await log_in(client, "ana.new@example.org", PASSWORD)).status_code == 201
    assert_problem(await log_in(client, "ana@example.org", PASSWORD), 401, "bad-credentials")
    # The link works once.
    again = await client.post("/api/v1/me/email/confirm", headers=ana.auth, json={"token": token})
    assert_problem(again, 400, "bad-confirmation-link")


async def test_a_link_opened_by_another_account_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, mail_server: MailServer
) -> None:
    ana = await make_account(client, "ana")
    bo = await make_account(client, "bo")
    await client.post(
        "/api/v1/me/email", headers=ana.auth, json={"email": "new@example.org", "password": PASSWORD}
    )
    token = confirmation_token(mail_server.inbox.to("new@example.org")[0])
    refused = await client.post("/api/v1/me/email/confirm", headers=bo.auth, json={"token": token})
    assert_problem(refused, 403, "wrong-account")
    assert await email_of(runtime, ana) == "ana@example.org"
    assert await email_of(runtime, bo) == "bo@example.org"
    anonymous = await client.post("/api/v1/me/email/confirm", json={"token": token})
    assert_problem(anonymous, 401, "login-required")


async def test_a_forged_replaced_or_expired_link_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, mail_server: MailServer
) -> None:
    ana = await make_account(client, "ana")
    for address in ("first@example.org", "second@example.org"):
        asked = await client.post(
            "/api/v1/me/email", headers=ana.auth, json={"email": address, "password": PASSWORD}
        )
        assert asked.status_code == 202, asked.text
    first = confirmation_token(mail_server.inbox.to("first@example.org")[0])
    second = confirmation_token(mail_server.inbox.to("second@example.org")[0])
    replaced = await client.post("/api/v1/me/email/confirm", headers=ana.auth, json={"token": first})
    assert_problem(replaced, 400, "bad-confirmation-link")
    user_id, expiry, nonce, _ = second.split(".")
    forged = await client.post(
        "/api/v1/me/email/confirm",
        headers=ana.auth,
        json={"token": f"{user_id}.{int(expiry) + 9999}.{nonce}.{'0' * 32}"},
    )
    assert_problem(forged, 400, "bad-confirmation-link")
    past = datetime.now(UTC) - timedelta(minutes=1)
    expired_token = credentials.make_token(runtime.settings.secret_key, int(ana.id), nonce, past)
    expired = await client.post("/api/v1/me/email/confirm", headers=ana.auth, json={"token": expired_token})
    assert_problem(expired, 410, "link-expired")
    assert await email_of(runtime, ana) == "ana@example.org"
    # The latest link still works.
    confirmed = await client.post("/api/v1/me/email/confirm", headers=ana.auth, json={"token": second})
    assert confirmed.status_code == 200, confirmed.text


async def test_a_taken_address_is_refused_without_saying_whose(
    client: httpx.AsyncClient, runtime: Runtime, mail_server: MailServer
) -> None:
    ana = await make_account(client, "ana")
    await make_account(client, "dora", country="DE")  # another realm answers for its own addresses
    refused = await client.post(
        "/api/v1/me/email", headers=ana.auth, json={"email": "DORA@example.org", "password": PASSWORD}
    )
    body = assert_problem(refused, 409, "email-taken")
    assert "dora" not in body["detail"].lower()
    assert mail_server.inbox.messages == []
    async with runtime.databases.read(ana.realm) as session:
        assert await session.scalar(select(func.count()).select_from(EmailChange)) == 0


async def test_an_address_taken_before_the_link_is_opened_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, mail_server: MailServer
) -> None:
    ana = await make_account(client, "ana")
    await client.post(
        "/api/v1/me/email", headers=ana.auth, json={"email": "wanted@example.org", "password": PASSWORD}
    )
    token = confirmation_token(mail_server.inbox.to("wanted@example.org")[0])
    created = await client.post(
        "/api/v1/accounts",
        json={"handle": "quick", "email": "wanted@example.org", "password": PASSWORD, "country": "US"},
    )
    assert created.status_code == 201, created.text
    refused = await client.post("/api/v1/me/email/confirm", headers=ana.auth, json={"token": token})
    assert_problem(refused, 409, "email-taken")
    assert await email_of(runtime, ana) == "ana@example.org"


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        ({"email": "new@example.org", "password": "wrong password"}, 403, "bad-password"),
        ({"email": "ana@example.org", "password": PASSWORD}, 422, "invalid-request"),  # the current one
        ({"email": "not an address", "password": PASSWORD}, 422, "invalid-request"),
    ],
)
async def test_a_refused_e_mail_request_sends_and_records_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    mail_server: MailServer,
    body: dict[str, str],
    status: int,
    kind: str,
) -> None:
    ana = await make_account(client, "ana")
    assert_problem(await client.post("/api/v1/me/email", headers=ana.auth, json=body), status, kind)
    assert mail_server.inbox.messages == []
    async with runtime.databases.read(ana.realm) as session:
        assert await session.scalar(select(func.count()).select_from(EmailChange)) == 0


async def test_e_mail_requests_are_rate_limited(client: httpx.AsyncClient, mail_server: MailServer) -> None:
    ana = await make_account(client, "ana")
    for n in range(5):
        asked = await client.post(
            "/api/v1/me/email", headers=ana.auth, json={"email": f"n{n}@example.org", "password": PASSWORD}
        )
        assert asked.status_code == 202, asked.text
    refused = await client.post(
        "/api/v1/me/email", headers=ana.auth, json={"email": "n9@example.org", "password": PASSWORD}
    )
    assert_problem(refused, 429, "rate-limited")
    assert len(mail_server.inbox.messages) == 5


async def test_an_unreachable_mail_server_is_a_clear_503(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ana = await make_account(client, "ana")
    runtime.settings.smtp_url = SecretStr("smtp://127.0.0.1:9")  # nothing listens on the discard port
    refused = await client.post(
        "/api/v1/me/email", headers=ana.auth, json={"email": "new@example.org", "password": PASSWORD}
    )
    assert_problem(refused, 503, "mail-unavailable")
