"""Helpers of the two-factor tests: turn an authenticator app on through the API, and compute its codes."""

from __future__ import annotations

import time

import httpx
import pyotp

from tests.conftest import Account

API = "/api/v1"


def code_at(secret: str, step_offset: int = 0) -> str:
    """The app's code for the current 30-second step, or one next to it."""
    return pyotp.TOTP(secret).at(int(time.time()) + 30 * step_offset)


async def enrol_totp(client: httpx.AsyncClient, account: Account) -> tuple[str, list[str]]:
    """Turn the app on for the account (its current session then counts as confirmed with it); returns the
    secret and the recovery codes."""
    begun = await client.post(f"{API}/me/two-factor/totp", headers=account.auth)
    assert begun.status_code == 201, begun.text
    secret: str = begun.json()["secret"]
    confirmed = await client.post(
        f"{API}/me/two-factor/totp/confirm", headers=account.auth, json={"code": code_at(secret)}
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"]
