"""Two-factor log-in through the API: enrolment, the log-in's second step, recovery codes spent once,
codes never replayed, wrong codes limited with a 429, the secret sealed at rest."""

from __future__ import annotations

import httpx
import pyotp
from sqlalchemy import select

from reelm.accounts.factor_models import PendingLogin, RecoveryCode, TotpFactor
from reelm.accounts.models import AuthSession
from reelm.runtime import Runtime
from tests.accounts.two_factor_helpers import API, code_at, enrol_totp
from tests.conftest import PASSWORD, make_account
from tests.factories import assert_problem


async def _log_in(client: httpx.AsyncClient, handle: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post(f"{API}/sessions", json={"login": handle, "password": password})


async def _second_step(client: httpx.AsyncClient, pending: str, code: str) -> httpx.Response:
    return await client.post(f"{API}/sessions/second-factor", json={"pending_token": pending, "code": code})


async def test_enrol_then_log_in_needs_the_code(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    status = await client.get(f"{API}/me/two-factor", headers=alice.auth)
    assert status.json() == {"totp": False, "totp_pending": False, "recovery_codes_left": 0, "passkeys": []}

    begun = await client.post(f"{API}/me/two-factor/totp", headers=alice.auth)
    assert begun.status_code == 201
    body = begun.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/Reelm:%40alice?secret=" + body["secret"])
    assert body["qr_svg"].startswith("<svg")
    # Not on until a code confirms it: a log-in still needs only the password.
    assert (await _log_in(client, "alice")).status_code == 201
    wrong = await client.post(
        f"{API}/me/two-factor/totp/confirm", headers=alice.auth, json={"code": "000000"}
    )
    assert_problem(wrong, 401, "bad-second-factor")

    secret = body["secret"]
    confirming = code_at(secret)
    confirmed = await client.post(
        f"{API}/me/two-factor/totp/confirm", headers=alice.auth, json={"code": confirming}
    )
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    status = (await client.get(f"{API}/me/two-factor", headers=alice.auth)).json()
    assert status["totp"] is True
    assert status["recovery_codes_left"] == 10

    # The secret is sealed at rest, and the recovery codes are kept only as digests.
    async with runtime.databases.read("us") as session:
        factor = await session.get(TotpFactor, int(alice.id))
        assert factor is not None
        assert secret.encode() not in factor.secret
        digests = (await session.scalars(select(RecoveryCode.digest))).all()
        assert all(code.encode() not in d for d in digests for code in codes)

    # The password alone now answers 202 with a pending token, which is not a session.
    first = await _log_in(client, "alice")
    assert first.status_code == 202, first.text
    pending = first.json()
    assert pending["second_factor_required"] is True
    assert pending["methods"] == ["totp"]
    refused = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {pending['pending_token']}"})
    assert_problem(refused, 401, "bad-token")

    # The confirming code was spent; the next step's code is accepted once. (Every code tried counts towards
    # the account's limit of five a minute, so this test tries five.)
    assert_problem(await _second_step(client, pending["pending_token"], confirming), 401, "bad-second-factor")
    used = code_at(secret, 1)  # the next step's: newer than the confirming one, whenever the clock ticks
    done = await _second_step(client, pending["pending_token"], used)
    assert done.status_code == 201, done.text
    token = done.json()["token"]
    me = await client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["handle"] == "alice"
    async with runtime.databases.read("us") as session:
        factors = set(
            await session.scalars(
                select(AuthSession.second_factor).where(AuthSession.user_id == int(alice.id))
            )
        )
        assert "totp" in factors
        assert await session.scalar(select(PendingLogin.token_hash)) is None  # spent

    # The pending token works once; and a code is never taken twice, even by a new log-in.
    assert_problem(await _second_step(client, pending["pending_token"], used), 401, "log-in-expired")
    again = (await _log_in(client, "alice")).json()["pending_token"]
    assert_problem(await _second_step(client, again, used), 401, "bad-second-factor")


async def test_a_recovery_code_works_once(client: httpx.AsyncClient) -> None:
    bob = await make_account(client, "bob")
    _, codes = await enrol_totp(client, bob)
    pending = (await _log_in(client, "bob")).json()["pending_token"]
    typed = codes[0].lower().replace("-", " ")  # as someone might type it
    assert (await _second_step(client, pending, typed)).status_code == 201
    pending = (await _log_in(client, "bob")).json()["pending_token"]
    assert_problem(await _second_step(client, pending, codes[0]), 401, "bad-second-factor")
    assert (await _second_step(client, pending, codes[1])).status_code == 201
    status = (await client.get(f"{API}/me/two-factor", headers=bob.auth)).json()
    assert status["recovery_codes_left"] == 8


async def test_fifty_wrong_codes_meet_a_clear_429(client: httpx.AsyncClient) -> None:
    carol = await make_account(client, "carol")
    secret, _ = await enrol_totp(client, carol)
    pending = (await _log_in(client, "carol")).json()["pending_token"]
    statuses = [(await _second_step(client, pending, f"{n:06d}")).status_code for n in range(50)]
    # Five codes a minute per account (the enrolment's confirming code was the first), then every one is
    # refused without being checked.
    assert statuses == [401] * 4 + [429] * 46
    limited = await _second_step(client, pending, code_at(secret, 1))  # even the right code, meanwhile
    body = assert_problem(limited, 429, "rate-limited")
    assert "codes tried for this account" in body["detail"]
    assert int(limited.headers["retry-after"]) >= 1
    # The limit is the account's, wherever codes are tried: confirming and turning off count too.
    off = await client.request(
        "DELETE",
        f"{API}/me/two-factor/totp",
        headers=carol.auth,
        json={"password": PASSWORD, "code": "123456"},
    )
    assert_problem(off, 429, "rate-limited")


async def test_bad_codes_are_refused_at_the_edge(client: httpx.AsyncClient) -> None:
    dave = await make_account(client, "dave")
    for code in ("", "12", "<script>", "x" * 10_000, "1234567890123456"):
        answer = await client.post(
            f"{API}/me/two-factor/totp/confirm", headers=dave.auth, json={"code": code}
        )
        assert answer.status_code == 422, answer.text
    nothing = await client.post(
        f"{API}/me/two-factor/totp/confirm", headers=dave.auth, json={"code": "123456"}
    )
    assert_problem(nothing, 409, "nothing-to-confirm")
    forged = await _second_step(client, "us.forged-token-that-names-nothing", "123456")
    assert_problem(forged, 401, "log-in-expired")
    elsewhere = await _second_step(client, "nowhere.forged-token-that-names-nothing", "123456")
    assert_problem(elsewhere, 401, "log-in-expired")


async def test_turning_off_needs_password_and_code(client: httpx.AsyncClient) -> None:
    erin = await make_account(client, "erin")
    secret, codes = await enrol_totp(client, erin)
    assert_problem(await client.post(f"{API}/me/two-factor/totp", headers=erin.auth), 409, "two-factor-on")

    async def turn_off(password: str, code: str) -> httpx.Response:
        return await client.request(
            "DELETE",
            f"{API}/me/two-factor/totp",
            headers=erin.auth,
            json={"password": password, "code": code},
        )

    assert_problem(await turn_off("wrong password", codes[0]), 403, "bad-password")
    assert_problem(await turn_off(PASSWORD, "654321"), 401, "bad-second-factor")
    assert (await turn_off(PASSWORD, codes[0])).status_code == 204
    assert (await _log_in(client, "erin")).status_code == 201  # the password alone again
    status = (await client.get(f"{API}/me/two-factor", headers=erin.auth)).json()
    assert status == {"totp": False, "totp_pending": False, "recovery_codes_left": 0, "passkeys": []}
    assert pyotp.TOTP(secret).now()  # (the old secret is simply forgotten)


async def test_new_recovery_codes_replace_the_old(client: httpx.AsyncClient) -> None:
    fay = await make_account(client, "fay")
    _, old = await enrol_totp(client, fay)
    renewed = await client.post(
        f"{API}/me/two-factor/recovery-codes", headers=fay.auth, json={"code": old[0]}
    )
    assert renewed.status_code == 200, renewed.text
    new = renewed.json()["recovery_codes"]
    assert not set(new) & set(old)
    pending = (await _log_in(client, "fay")).json()["pending_token"]
    assert_problem(await _second_step(client, pending, old[1]), 401, "bad-second-factor")
    assert (await _second_step(client, pending, new[0])).status_code == 201
