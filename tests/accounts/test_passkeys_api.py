"""Passkeys through the API, answered by a software authenticator: registration, a log-in without a
password, the second step of a log-in, challenges used once and for their own ceremony, bad answers."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from reelm.accounts.factor_models import Passkey, WebAuthnChallenge
from reelm.accounts.models import AuthSession
from reelm.runtime import Runtime
from tests.accounts.soft_authenticator import SoftAuthenticator, b64url
from tests.accounts.two_factor_helpers import API
from tests.conftest import PASSWORD, Account, make_account
from tests.factories import assert_problem


async def add_passkey(
    client: httpx.AsyncClient, account: Account, device: SoftAuthenticator
) -> httpx.Response:
    options = await client.post(f"{API}/me/passkey-options", headers=account.auth)
    assert options.status_code == 200, options.text
    assert options.json()["rp"]["id"] == "test"
    answer = device.create(options.json())
    return await client.post(f"{API}/me/passkeys", headers=account.auth, json={"credential": answer})


async def passkey_log_in(
    client: httpx.AsyncClient, device: SoftAuthenticator, pending: str | None = None
) -> tuple[httpx.Response, dict[str, object]]:
    body = {"pending_token": pending} if pending else {}
    options = await client.post(f"{API}/sessions/passkey/options", json=body)
    assert options.status_code == 200, options.text
    answer = device.get(options.json())
    return await client.post(f"{API}/sessions/passkey", json={"credential": answer, **body}), answer


async def test_register_then_log_in_without_a_password(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    device = SoftAuthenticator()
    added = await add_passkey(client, alice, device)
    assert added.status_code == 201, added.text
    assert added.json()["name"].startswith("python-httpx")  # named after the client when not named
    listed = (await client.get(f"{API}/me/two-factor", headers=alice.auth)).json()["passkeys"]
    assert [key["id"] for key in listed] == [added.json()["id"]]

    logged_in, answer = await passkey_log_in(client, device)
    assert logged_in.status_code == 201, logged_in.text
    assert logged_in.json()["user"]["handle"] == "alice"
    token = logged_in.json()["token"]
    assert (await client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    async with runtime.databases.read("us") as session:
        factors = (
            await session.scalars(
                select(AuthSession.second_factor).where(AuthSession.user_id == int(alice.id))
            )
        ).all()
        assert factors == ["passkey", "passkey"]  # the session that added it proved it too
        key = await session.scalar(select(Passkey))
        assert key is not None
        assert key.sign_count == 1
        assert key.last_used_at is not None

    # The same answer again: its challenge was spent.
    replayed = await client.post(f"{API}/sessions/passkey", json={"credential": answer})
    assert_problem(replayed, 400, "passkey-refused")
    # Since a passkey is a second factor, the password alone no longer opens a session.
    pending = await client.post(f"{API}/sessions", json={"login": "alice", "password": PASSWORD})
    assert pending.status_code == 202
    assert pending.json()["methods"] == ["passkey"]


async def test_a_passkey_as_the_second_step(client: httpx.AsyncClient) -> None:
    bob = await make_account(client, "bob")
    device = SoftAuthenticator()
    assert (await add_passkey(client, bob, device)).status_code == 201
    pending = (await client.post(f"{API}/sessions", json={"login": "bob", "password": PASSWORD})).json()
    options = await client.post(
        f"{API}/sessions/passkey/options", json={"pending_token": pending["pending_token"]}
    )
    allowed = [c["id"] for c in options.json()["allowCredentials"]]
    assert allowed == [b64url(device.credential_id)]
    answer = device.get(options.json())
    done = await client.post(
        f"{API}/sessions/passkey", json={"credential": answer, "pending_token": pending["pending_token"]}
    )
    assert done.status_code == 201, done.text
    assert done.json()["user"]["handle"] == "bob"

    # Someone else's passkey does not finish bob's log-in.
    mallory = await make_account(client, "mallory")
    other = SoftAuthenticator()
    assert (await add_passkey(client, mallory, other)).status_code == 201
    again = (await client.post(f"{API}/sessions", json={"login": "bob", "password": PASSWORD})).json()
    refused, _ = await passkey_log_in(client, other, again["pending_token"])
    assert_problem(refused, 400, "passkey-refused")


async def test_challenges_are_single_use_and_for_one_ceremony(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    carol = await make_account(client, "carol")
    device = SoftAuthenticator()
    options = (await client.post(f"{API}/me/passkey-options", headers=carol.auth)).json()
    answer = device.create(options)
    assert (
        await client.post(f"{API}/me/passkeys", headers=carol.auth, json={"credential": answer})
    ).status_code == 201
    replay = await client.post(f"{API}/me/passkeys", headers=carol.auth, json={"credential": answer})
    assert_problem(replay, 400, "passkey-refused")

    # A log-in challenge answered as if it were a registration's is refused, and so is the reverse.
    login_options = (await client.post(f"{API}/sessions/passkey/options", json={})).json()
    wrong = SoftAuthenticator().create({**login_options, "user": {"id": b64url(b"1")}})
    assert_problem(
        await client.post(f"{API}/me/passkeys", headers=carol.auth, json={"credential": wrong}),
        400,
        "passkey-refused",
    )
    register_options = (await client.post(f"{API}/me/passkey-options", headers=carol.auth)).json()
    assert_problem(
        await client.post(f"{API}/sessions/passkey", json={"credential": device.get(register_options)}),
        400,
        "passkey-refused",
    )
    # Unanswered challenges are swept as new ones are made; none outlives its few minutes.
    async with runtime.databases.read(None) as directory:
        assert len((await directory.scalars(select(WebAuthnChallenge))).all()) <= 3


async def test_bad_answers_get_clear_errors(client: httpx.AsyncClient) -> None:
    dave = await make_account(client, "dave")
    device = SoftAuthenticator()
    options = (await client.post(f"{API}/me/passkey-options", headers=dave.auth)).json()
    answer = device.create(options)
    huge = {**answer, "id": "A" * 10_000}
    assert (
        await client.post(f"{API}/me/passkeys", headers=dave.auth, json={"credential": huge})
    ).status_code == 422
    not_b64 = {**answer, "response": {**answer["response"], "clientDataJSON": "<script>"}}
    assert (
        await client.post(f"{API}/me/passkeys", headers=dave.auth, json={"credential": not_b64})
    ).status_code == 422
    garbage = {**answer, "response": {**answer["response"], "clientDataJSON": b64url(b"not json")}}
    assert_problem(
        await client.post(f"{API}/me/passkeys", headers=dave.auth, json={"credential": garbage}),
        400,
        "passkey-refused",
    )
    wrong_origin = SoftAuthenticator(origin="https://evil.example")
    forged = wrong_origin.create(options)
    assert_problem(
        await client.post(f"{API}/me/passkeys", headers=dave.auth, json={"credential": forged}),
        400,
        "passkey-refused",
    )
    # A passkey nobody registered logs no one in.
    stranger, _ = await passkey_log_in(client, SoftAuthenticator(user_handle=dave.id.encode()))
    assert_problem(stranger, 400, "passkey-refused")
    assert (await client.delete(f"{API}/me/passkeys/12345", headers=dave.auth)).status_code == 404
