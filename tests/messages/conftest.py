"""Fixtures of the messaging tests: test accounts are minutes old, so the account-age rule is off here
(its own test turns it on), and the switchboard for the tests that switch messaging off."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from reelm.messages.messaging import Messaging
from reelm.messages.policy import MessagingSettings
from reelm.realms.switches import Switchboard
from tests.factories import app_of


@pytest.fixture(autouse=True)
def messaging(client: httpx.AsyncClient) -> Messaging:
    state: Messaging = app_of(client).state.messaging
    state.policy = MessagingSettings(min_account_age_hours=0)
    return state


@pytest.fixture
async def board(client: httpx.AsyncClient) -> AsyncIterator[Switchboard]:
    """The app's switchboard, loaded and listening (the test client runs no lifespan)."""
    switchboard: Switchboard = app_of(client).state.switchboard
    await switchboard.start()
    yield switchboard
    await switchboard.stop()
