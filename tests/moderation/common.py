"""Helpers of the content-review tests: staff, reports and decisions through the API, rows and log entries."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from reelm.moderation.models import (
    Appeal,
    Case,
    Decision,
    LegalOrder,
    Report,
    StoredHashEntry,
    StoredHashList,
)
from reelm.runtime import Runtime
from reelm.videos.models import Video
from tests.conftest import Account
from tests.staff.common import make_staff, outbox

API = "/api/v1"
CATEGORY = "STATEMENT_CATEGORY_VIOLENCE"
TERMS = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"

__all__ = ["make_staff", "outbox"]


async def report(
    client: httpx.AsyncClient,
    account: Account,
    content_id: str,
    *,
    content_type: str = "video",
    category: str = CATEGORY,
    explanation: str = "Shows a fight",
    legal_ground: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {
        "content_type": content_type,
        "content_id": content_id,
        "category": category,
        "explanation": explanation,
    }
    if legal_ground is not None:
        body["legal_ground"] = legal_ground
    return await client.post(f"{API}/reports", headers=account.auth, json=body)


async def queue(client: httpx.AsyncClient, staff: Account, realm: str) -> httpx.Response:
    return await client.get(f"{API}/moderation/realms/{realm}/queue", headers=staff.auth)


async def decide(client: httpx.AsyncClient, staff: Account, case_id: str, **fields: Any) -> httpx.Response:
    body: dict[str, Any] = {
        "action": "remove",
        "category": CATEGORY,
        "ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "terms_ground": "Terms 4.2: no graphic violence",
        "facts": "The video shows a street fight in detail.",
        **fields,
    }
    return await client.post(f"{API}/moderation/cases/{case_id}/decision", headers=staff.auth, json=body)


async def counts(runtime: Runtime, realm: str) -> dict[str, int]:
    found = {}
    async with runtime.databases.sessionmaker(realm)() as session:
        for model in (Case, Report, Decision, Appeal, LegalOrder, StoredHashList, StoredHashEntry):
            found[model.__tablename__] = await session.scalar(select(func.count()).select_from(model)) or 0
    return found


async def video_row(runtime: Runtime, realm: str, video_id: str) -> Video:
    async with runtime.databases.sessionmaker(realm)() as session:
        video = await session.get(Video, int(video_id))
    assert video is not None
    return video


async def moderation_entries(runtime: Runtime, realm: str, event_type: str) -> list[dict[str, Any]]:
    return await outbox(runtime, realm, event_type)
