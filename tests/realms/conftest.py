"""Fixtures of the switch tests: the test app's switchboard, started as the server's lifespan would."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from reelm.realms.switches import Switchboard
from tests.factories import app_of


@pytest.fixture
async def board(client: httpx.AsyncClient) -> AsyncIterator[Switchboard]:
    """The switchboard of `client`'s app, loaded and listening (the test client runs no lifespan)."""
    switchboard: Switchboard = app_of(client).state.switchboard
    await switchboard.start()
    yield switchboard
    await switchboard.stop()
