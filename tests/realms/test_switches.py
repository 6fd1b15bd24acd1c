"""The switchboard: stable rollout buckets, persistence, and changes reaching every process by NOTIFY."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Protocol

import psycopg
import pytest
from sqlalchemy import text

from reelm import ids
from reelm.db import libpq_url
from reelm.realms import service
from reelm.realms.models import Capability, RealmCapability, SwitchState
from reelm.realms.switches import Switch, Switchboard, bucket, decide
from reelm.runtime import Runtime
from tests.realms.common import NOTICE, eventually, set_switch

US = "us"


class Boards(Protocol):
    """The `boards` fixture: starts another switchboard."""

    async def __call__(self, *, refresh_s: float = ...) -> Switchboard: ...


@pytest.fixture
async def boards(runtime: Runtime) -> AsyncIterator[Boards]:
    """Start switchboards of their own (each with its own listening connection); all stop at the end."""
    async with AsyncExitStack() as stack:

        async def make(*, refresh_s: float = 3600.0) -> Switchboard:
            # A long refresh by default: what these boards learn, they learn from notifications.
            board = Switchboard(
                libpq_url(runtime.databases.directory_url), runtime.settings.realm_names, refresh_s=refresh_s
            )
            await board.start()
            stack.push_async_callback(board.stop)
            return board

        yield make


def test_buckets_are_stable_and_a_rollout_admits_about_its_share() -> None:
    users = [ids.new_id(1) for _ in range(20_000)]
    assert [bucket(US, Capability.WATCH, u) for u in users[:100]] == [
        bucket(US, Capability.WATCH, u) for u in users[:100]
    ]
    ten = Switch(realm=US, capability=Capability.WATCH, state=SwitchState.PERCENT, percent=10)
    admitted = sum(decide(ten, u) for u in users)
    assert 1_700 < admitted < 2_300  # 10 % of 20,000, give or take far more than chance allows

    # Widening a rollout never drops anyone already in: nobody flickers from one step to the next.
    steps = [
        Switch(realm=US, capability=Capability.WATCH, state=SwitchState.PERCENT, percent=p) for p in (10, 50)
    ]
    assert all(decide(steps[1], u) for u in users if decide(steps[0], u))

    # Each capability orders users afresh, so the same people are not always the first let back in.
    upload_ten = Switch(realm=US, capability=Capability.UPLOAD, state=SwitchState.PERCENT, percent=10)
    assert {u for u in users if decide(ten, u)} != {u for u in users if decide(upload_ten, u)}


def test_on_off_and_anonymous_visitors() -> None:
    on = Switch(realm=US, capability=Capability.WATCH)
    off = Switch(realm=US, capability=Capability.WATCH, state=SwitchState.OFF, percent=0)
    most = Switch(realm=US, capability=Capability.WATCH, state=SwitchState.PERCENT, percent=99)
    user = ids.new_id(1)
    assert [decide(None, None), decide(on, None), decide(on, user)] == [True, True, True]
    assert [decide(off, None), decide(off, user)] == [False, False]
    assert not decide(most, None)  # anonymous visitors wait until a capability is fully back


async def test_a_fresh_switchboard_reads_the_stored_switches(runtime: Runtime, boards: Boards) -> None:
    await set_switch(runtime, None, US, "upload,comment", 0)
    await set_switch(runtime, None, "eu", "watch", 25)
    board = await boards()
    assert not board.allowed(US, Capability.UPLOAD, 1)
    assert not board.allowed(US, Capability.COMMENT, None)
    assert board.allowed(US, Capability.WATCH, None)
    assert board.switch(US, Capability.UPLOAD).notice == NOTICE
    assert board.switch("eu", Capability.WATCH).percent == 25
    assert [s.capability for s in board.limited(US)] == [Capability.UPLOAD, Capability.COMMENT]
    assert board.limited("global") == []


async def test_a_change_reaches_other_switchboards_by_notification(runtime: Runtime, boards: Boards) -> None:
    first, second = await boards(), await boards()
    await set_switch(runtime, None, US, "all", 0)
    await eventually(
        lambda: not second.allowed(US, Capability.MESSAGE, 1), "second board sees the suspension"
    )
    await eventually(
        lambda: not first.allowed(US, Capability.SIGNUP, None), "first board sees the suspension"
    )
    assert all(not second.allowed(US, c, 1) for c in Capability)
    assert second.allowed("eu", Capability.WATCH, 1)

    await set_switch(runtime, None, US, "message,comment,profile_edit", 100)
    await eventually(lambda: second.allowed(US, Capability.COMMENT, 1), "second board sees the restore")
    assert second.allowed(US, Capability.PROFILE_EDIT, 1)
    assert not second.allowed(US, Capability.WATCH, 1)


async def test_a_rolled_back_change_is_never_seen(runtime: Runtime, boards: Boards) -> None:
    board = await boards()

    async def change_then_fail() -> None:
        async with runtime.databases.transaction(None) as session:
            session.add(
                RealmCapability(
                    realm=US,
                    capability="upload",
                    state="off",
                    percent=0,
                    notice="never",
                    changed_by="test",
                    changed_at=datetime.now(UTC),
                    reason="",
                )
            )
            await service.announce(session, US)
            raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError, match="changed my mind"):
        await change_then_fail()
    await set_switch(runtime, None, US, "search", 0)  # a committed change after it
    await eventually(lambda: not board.allowed(US, Capability.SEARCH, 1), "the committed change arrives")
    assert board.allowed(US, Capability.UPLOAD, 1)


async def test_the_listener_reconnects_after_its_connection_is_dropped(
    runtime: Runtime, boards: Boards
) -> None:
    board = await boards()
    dropped = board.listener_pid
    async with runtime.databases.transaction(None) as session:
        killed = await session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
    assert killed
    await set_switch(runtime, None, US, "comment", 0)  # made while the listener may be away
    await eventually(lambda: not board.allowed(US, Capability.COMMENT, 1), "the change after reconnecting")
    assert board.listener_pid != dropped

    await set_switch(runtime, None, US, "comment", 100)  # and the new connection listens
    await eventually(lambda: board.allowed(US, Capability.COMMENT, 1), "a change on the new connection")


async def test_the_table_is_reread_even_without_a_notification(runtime: Runtime, boards: Boards) -> None:
    board = await boards(refresh_s=0.2)
    async with runtime.databases.transaction(None) as session:  # no pg_notify: as if one were lost
        session.add(
            RealmCapability(
                realm=US,
                capability="watch",
                state="percent",
                percent=30,
                notice="",
                changed_by="test",
                changed_at=datetime.now(UTC),
                reason="",
            )
        )
    await eventually(lambda: board.switch(US, Capability.WATCH).percent == 30, "the periodic re-read")


async def test_a_process_that_cannot_read_its_switches_does_not_start() -> None:
    board = Switchboard("postgresql://postgres@127.0.0.1:1/directory?connect_timeout=2", ["us"])
    with pytest.raises(psycopg.OperationalError):
        await board.start()
    await board.stop()  # nothing was started; stopping is harmless
