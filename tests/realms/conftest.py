"""Fixtures of the switch tests: the test app's switchboard, started as the server's lifespan would."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from reelm.realms.switches import Switchboard


@pytest.fixture
async def board(client: httpx.AsyncClient) -> AsyncIterator[Switchboard]:
    """The switchboard of `client`'s app, loaded and listening (the test client runs no lifespan)."""
    switchboard: Switchboard = client.app.state.switchboard  # type: ignore[attr-defined]
    await switchboard.start()
    yield switchboard
    await switchboard.stop()
