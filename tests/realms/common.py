"""Helpers of the switch tests: changing switches as the operator CLI does, waiting, reading the log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from reelm.audit.models import DirectoryAuditOutbox
from reelm.audit.service import CAPABILITY_CHANGE
from reelm.realms import service
from reelm.realms.models import Capability
from reelm.realms.switches import Switch, Switchboard
from reelm.runtime import Runtime

PROBLEM_JSON = "application/problem+json"
CLI_ACTOR = {"kind": "operator-cli"}
NOTICE = "Paused while we answer an order of the regulator; nothing you posted is lost."
# Changes are promised to reach every process within 2 s; the deadline leaves room for a busy machine.
DEADLINE_S = 10.0


async def set_switch(
    runtime: Runtime,
    board: Switchboard | None,
    realm: str,
    capabilities: str,
    percent: int,
    *,
    notice: str | None = NOTICE,
    reason: str = "test",
) -> list[Switch]:
    """Change switches as an operator would; the board (when given) reads them before this returns."""
    changed = await service.do_set_switches(
        runtime,
        realm=realm,
        capabilities=service.parse_capabilities(capabilities),
        percent=percent,
        notice=notice,
        reason=reason,
        actor=CLI_ACTOR,
    )
    if board is not None:
        await board.reload()
    return changed


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait until `condition()` holds, failing after DEADLINE_S."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while not condition():
        assert loop.time() < deadline, f"not within {DEADLINE_S} s: {what}"
        await asyncio.sleep(0.02)


def assert_capability_off(
    response: httpx.Response, capability: Capability, realm: str, *, state: str = "off"
) -> dict[str, Any]:
    assert response.status_code == 451, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["type"] == "/problems/capability-off"
    assert (body["capability"], body["realm"], body["state"]) == (capability.value, realm, state)
    assert response.headers["link"] == f'<http://test/api/v1/realms/{realm}/capabilities>; rel="blocked-by"'
    return body


async def capability_entries(runtime: Runtime) -> list[dict[str, Any]]:
    async with runtime.databases.sessionmaker(None)() as session:
        rows = await session.scalars(
            select(DirectoryAuditOutbox.entry)
            .where(DirectoryAuditOutbox.event_type == CAPABILITY_CHANGE)
            .order_by(DirectoryAuditOutbox.id)
        )
        return [json.loads(raw) for raw in rows]


async def count(runtime: Runtime, realm: str | None, model: Any) -> int:
    async with runtime.databases.sessionmaker(realm)() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)
