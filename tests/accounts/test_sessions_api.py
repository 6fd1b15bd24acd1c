"""The account's list of sessions: device and network shown to its holder only, one or all others logged
out; a log-in from a new network is told to the account holder."""

from __future__ import annotations

import httpx
import pytest

from reelm.accounts.sessions import device_of, place_of
from reelm.runtime import Runtime
from reelm.web.app import create_app
from tests.accounts.two_factor_helpers import API
from tests.conftest import PASSWORD, make_account
from tests.factories import assert_problem

PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def _client_from(runtime: Runtime, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime), client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _log_in(runtime: Runtime, address: str, agent: str) -> str:
    async with _client_from(runtime, address) as client:
        answer = await client.post(
            f"{API}/sessions", json={"login": "alice", "password": PASSWORD}, headers={"User-Agent": agent}
        )
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return token


@pytest.mark.parametrize(
    ("agent", "device"),
    [
        (PHONE, "Chrome on Android"),
        (DESKTOP, "Firefox on Windows"),
        ("python-httpx/0.28.1", "python-httpx/0.28.1"),
        ("<b>odd</b> client", "bodd/b"),
        (None, "Unknown device"),
    ],
)
def test_device_names(agent: str | None, device: str) -> None:
    assert device_of(agent) == device


def test_places_are_coarse_networks() -> None:
    assert place_of("203.0.113.77") == "203.0.113.0/24"
    assert place_of("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert place_of("unknown") is None
    assert place_of(None) is None


async def test_list_and_end_sessions(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    phone = await _log_in(runtime, "198.51.100.7", PHONE)
    desktop = await _log_in(runtime, "2001:db8:aa:bb::9", DESKTOP)
    listed = (await client.get(f"{API}/me/sessions", headers={"Authorization": f"Bearer {phone}"})).json()
    items = {item["device"]: item for item in listed["items"]}
    assert len(items) == 3
    assert {"Chrome on Android", "Firefox on Windows"} < set(items)
    assert any(device.startswith("python-httpx/") for device in items)  # make_account's own session
    assert items["Chrome on Android"]["current"] is True
    assert items["Chrome on Android"]["place"] == "198.51.100.0/24"
    assert items["Firefox on Windows"]["place"] == "2001:db8:aa::/48"
    assert items["Firefox on Windows"]["current"] is False
    assert all(item["last_seen_at"] for item in listed["items"])

    # Someone else cannot see or end them.
    bob = await make_account(client, "bob")
    bobs = (await client.get(f"{API}/me/sessions", headers=bob.auth)).json()["items"]
    assert len(bobs) == 1
    assert bobs[0]["device"].startswith("python-httpx/")
    desktop_id = items["Firefox on Windows"]["id"]
    assert_problem(await client.delete(f"{API}/me/sessions/{desktop_id}", headers=bob.auth), 404, "not-found")
    assert (await client.get(f"{API}/me", headers={"Authorization": f"Bearer {desktop}"})).status_code == 200
    assert (await client.delete(f"{API}/me/sessions/not-an-id", headers=alice.auth)).status_code == 404

    # One ends: its token stops working at once (this process's cache is emptied too).
    ended = await client.delete(
        f"{API}/me/sessions/{desktop_id}", headers={"Authorization": f"Bearer {phone}"}
    )
    assert ended.status_code == 204
    assert_problem(
        await client.get(f"{API}/me", headers={"Authorization": f"Bearer {desktop}"}), 401, "bad-token"
    )

    # All others end: only the asking one is left.
    assert (
        await client.delete(f"{API}/me/sessions/others", headers={"Authorization": f"Bearer {phone}"})
    ).status_code == 204
    assert_problem(await client.get(f"{API}/me", headers=alice.auth), 401, "bad-token")
    left = (await client.get(f"{API}/me/sessions", headers={"Authorization": f"Bearer {phone}"})).json()[
        "items"
    ]
    assert [item["device"] for item in left] == ["Chrome on Android"]


async def test_a_new_log_in_is_notified(client: httpx.AsyncClient, runtime: Runtime) -> None:
    alice = await make_account(client, "alice")
    assert (await client.post(f"{API}/notifications/read-all", headers=alice.auth)).status_code == 204
    await _log_in(runtime, "198.51.100.7", PHONE)
    listed = (await client.get(f"{API}/notifications", headers=alice.auth)).json()["items"]
    unread = [item for item in listed if not item["read"]]
    assert [item["kind"] for item in unread] == ["new_login"]
    assert unread[0]["url"] == "/settings/security"
    assert unread[0]["actors"] == []

    # The same network again is no news (another browser there neither); nor was the first log-in after
    # sign-up.
    assert (await client.post(f"{API}/notifications/read-all", headers=alice.auth)).status_code == 204
    await _log_in(runtime, "198.51.100.99", DESKTOP)
    listed = (await client.get(f"{API}/notifications", headers=alice.auth)).json()["items"]
    assert [item for item in listed if not item["read"]] == []
    assert len(listed) == 1
