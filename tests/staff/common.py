"""Helpers of the staff tests: accounts with roles, justifications through the API, outbox entries."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import func, select

from reelm.audit.models import DirectoryAuditOutbox, RealmAuditOutbox
from reelm.cli import staff as staff_cli
from reelm.runtime import Runtime
from reelm.staff.models import AccessJustification, StaffRole
from tests.conftest import Account, make_account

REALMS = ("us", "eu", "global")
API = "/api/v1/staff"


async def make_staff(
    client: httpx.AsyncClient,
    runtime: Runtime,
    handle: str,
    role: str,
    realm: str = "us",
    *,
    country: str = "US",
) -> Account:
    account = await make_account(client, handle, country=country)
    await staff_cli.grant(runtime, handle=handle, role=role, realm=realm)
    return account


async def request_justification(
    client: httpx.AsyncClient,
    staff: Account,
    subject: str,
    *,
    purpose: str = "support",
    reason: str = "Ticket 4711",
) -> httpx.Response:
    return await client.post(
        f"{API}/justifications",
        headers=staff.auth,
        json={"subject_handle": subject, "purpose": purpose, "reason": reason},
    )


async def new_justification(client: httpx.AsyncClient, staff: Account, subject: str, **kwargs: str) -> str:
    created = await request_justification(client, staff, subject, **kwargs)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending"
    justification_id: str = created.json()["id"]
    return justification_id


async def approve(client: httpx.AsyncClient, approver: Account, justification_id: str) -> httpx.Response:
    return await client.post(f"{API}/justifications/{justification_id}/approve", headers=approver.auth)


async def read_protected(
    client: httpx.AsyncClient,
    staff: Account,
    handle: str,
    *,
    purpose: str = "support",
    justification_id: str | None = None,
) -> httpx.Response:
    params = {"purpose": purpose} | ({"justification_id": justification_id} if justification_id else {})
    return await client.get(f"{API}/users/{handle}/protected", headers=staff.auth, params=params)


async def outbox(runtime: Runtime, realm: str | None, event_type: str | None = None) -> list[dict[str, Any]]:
    """Outbox entries of one database (the directory when realm is None), oldest first, parsed."""
    return [json.loads(raw) for raw in await outbox_bytes(runtime, realm, event_type)]


async def outbox_bytes(runtime: Runtime, realm: str | None, event_type: str | None = None) -> list[bytes]:
    model = DirectoryAuditOutbox if realm is None else RealmAuditOutbox
    query = select(model.entry).order_by(model.id)
    if event_type is not None:
        query = query.where(model.event_type == event_type)
    async with runtime.databases.sessionmaker(realm)() as session:
        return list((await session.scalars(query)).all())


async def justifications(runtime: Runtime, realm: str) -> list[AccessJustification]:
    async with runtime.databases.sessionmaker(realm)() as session:
        return list((await session.scalars(select(AccessJustification))).all())


async def row_counts(runtime: Runtime) -> dict[str, int]:
    """Rows of every table the staff code writes, in every database."""
    counts: dict[str, int] = {}
    for realm in REALMS:
        async with runtime.databases.sessionmaker(realm)() as session:
            for model in (AccessJustification, RealmAuditOutbox):
                counts[f"{realm}.{model.__tablename__}"] = (
                    await session.scalar(select(func.count()).select_from(model)) or 0
                )
    async with runtime.databases.sessionmaker(None)() as session:
        for dmodel in (StaffRole, DirectoryAuditOutbox):
            counts[f"directory.{dmodel.__tablename__}"] = (
                await session.scalar(select(func.count()).select_from(dmodel)) or 0
            )
    return counts
