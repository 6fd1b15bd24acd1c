"""Log-in attempts are limited per address and per account, in every server process at once, and stored
only as keyed digests."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from reelm.accounts.login_limits import check_login_rate
from reelm.accounts.models import LoginAttempt
from reelm.errors import Problem
from reelm.runtime import Runtime
from reelm.web.app import create_app
from tests.conftest import PASSWORD
from tests.factories import assert_problem


def _client(runtime: Runtime, address: str) -> httpx.AsyncClient:
    """A client of a new app instance (its own in-process state, as another server process has)."""
    transport = httpx.ASGITransport(app=create_app(runtime), client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _log_in(client: httpx.AsyncClient, login: str, password: str = "wrong password") -> httpx.Response:
    return await client.post("/api/v1/sessions", json={"login": login, "password": password})


async def _sign_up(runtime: Runtime, handle: str) -> None:
    async with _client(runtime, "192.0.2.200") as client:
        created = await client.post(
            "/api/v1/accounts",
            json={"handle": handle, "email": f"{handle}@example.org", "password": PASSWORD, "country": "US"},
        )
        assert created.status_code == 201, created.text


async def test_an_address_is_limited_across_server_processes(runtime: Runtime) -> None:
    await _sign_up(runtime, "alice")
    runtime = dataclasses.replace(
        runtime, settings=runtime.settings.model_copy(update={"login_attempts_per_minute": 3})
    )
    async with _client(runtime, "192.0.2.1") as first, _client(runtime, "192.0.2.1") as second:
        assert (await _log_in(first, "alice")).status_code == 401
        assert (await _log_in(second, "alice")).status_code == 401
        assert (await _log_in(first, "bob")).status_code == 401  # any name: the address is counted
        refused = await _log_in(second, "alice", PASSWORD)  # even the right password, in the other process
        body = assert_problem(refused, 429, "rate-limited")
        assert "from this address" in body["detail"]
        assert int(refused.headers["retry-after"]) >= 1
    async with _client(runtime, "192.0.2.2") as elsewhere:  # another address is not held back
        assert (await _log_in(elsewhere, "alice", PASSWORD)).status_code == 201


async def test_an_account_is_limited_whatever_the_address(runtime: Runtime) -> None:
    await _sign_up(runtime, "alice")
    await _sign_up(runtime, "bob")
    runtime = dataclasses.replace(
        runtime, settings=runtime.settings.model_copy(update={"login_attempts_per_account_per_minute": 3})
    )
    for n in range(3):
        async with _client(runtime, f"198.51.100.{n}") as client:
            assert (await _log_in(client, "Alice")).status_code == 401  # names count as typed, any case
    async with _client(runtime, "198.51.100.99") as client:
        refused = await _log_in(client, "alice", PASSWORD)
        body = assert_problem(refused, 429, "rate-limited")
        assert "for this account" in body["detail"]
        assert (await _log_in(client, "bob", PASSWORD)).status_code == 201  # other accounts are not


async def test_the_window_slides_and_refused_attempts_do_not_count(runtime: Runtime) -> None:
    settings = runtime.settings.model_copy(update={"login_attempts_per_account_per_minute": 2})
    limited = dataclasses.replace(runtime, settings=settings)
    start = datetime(2026, 12, 7, 12, 0, 30, tzinfo=UTC)
    for seconds in (0, 20):
        await check_login_rate(
            limited, address="203.0.113.1", login="alice", now=start + timedelta(seconds=seconds)
        )
    for seconds in (40, 59):
        with pytest.raises(Problem) as refused:
            await check_login_rate(
                limited, address="203.0.113.1", login="alice", now=start + timedelta(seconds=seconds)
            )
        assert refused.value.status == 429
    # A minute after the first attempt one fits again (the refused ones were not counted).
    await check_login_rate(limited, address="203.0.113.1", login="alice", now=start + timedelta(seconds=61))


async def test_only_keyed_digests_are_stored(runtime: Runtime) -> None:
    await check_login_rate(runtime, address="203.0.113.7", login="maya.moves@example.org")
    async with runtime.databases.read(None) as directory:
        rows = list(await directory.scalars(select(LoginAttempt)))
    assert {r.bucket for r in rows} == {"address", "account"}
    for row in rows:
        assert len(row.key_digest) == 32
        assert b"203.0.113.7" not in row.key_digest
        assert b"maya" not in row.key_digest
