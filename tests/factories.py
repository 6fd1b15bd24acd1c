"""Data factories shared by the API tests: tiny real videos, uploaded and published through the API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from reelm.crossrealm.deliveries import receive
from reelm.crossrealm.views import transit_keys
from reelm.runtime import Runtime
from reelm.worker import delivery_handlers
from tests import clips
from tests.conftest import Account, run_jobs


def make_tiny_clip(directory: Path) -> Path:
    """The cheapest clip the upload checks accept: the minimum side, one second, no audio."""
    return clips.make_clip(directory, width=144, height=256, duration_s=1.0, audio=False, name="tiny.mp4")


async def upload(
    client: httpx.AsyncClient, account: Account, clip: Path, *, caption: str = "", visibility: str = "public"
) -> str:
    """Upload a clip; the video stays `processing` until the realm's jobs run. Returns its id."""
    with clip.open("rb") as f:
        accepted = await client.post(
            "/api/v1/videos",
            headers=account.auth,
            files={"file": ("clip.mp4", f, "video/mp4")},
            data={"caption": caption, "visibility": visibility},
        )
    assert accepted.status_code == 202, accepted.text
    video_id: str = accepted.json()["id"]
    return video_id


async def publish(
    client: httpx.AsyncClient,
    runtime: Runtime,
    account: Account,
    clip: Path,
    *,
    caption: str = "",
    visibility: str = "public",
) -> str:
    """Upload a clip and run the transcode, so the video is `ready`. Returns its id."""
    video_id = await upload(client, account, clip, caption=caption, visibility=visibility)
    await run_jobs(runtime, account.realm)
    return video_id


async def eventually(check: Callable[[], Awaitable[bool]], *, seconds: float = 10.0) -> None:
    """Wait for something another realm learns by replication (milliseconds; the limit only keeps a
    broken link from hanging the test)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not replicated in time"
        await asyncio.sleep(0.05)


def app_of(client: httpx.AsyncClient) -> FastAPI:
    """The app behind the `client` fixture, which conftest keeps on the client as `app`."""
    app = vars(client)["app"]
    assert isinstance(app, FastAPI)
    return app


PROBLEM_JSON = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, type_suffix: str) -> dict[str, Any]:
    """The response is RFC 9457 problem details of this status and type; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].endswith(type_suffix), body
    return body


async def transit_ready(runtime: Runtime) -> None:
    """Wait until every realm holds every other realm's newest transit key (each test makes new ones)."""

    async def everywhere() -> bool:
        for source in runtime.databases.realm_urls:
            table = transit_keys(source)
            async with runtime.databases.sessionmaker(source)() as session:
                newest = await session.scalar(select(func.max(table.c.version)))
            for reader in runtime.databases.realm_urls:
                async with runtime.databases.sessionmaker(reader)() as session:
                    if await session.scalar(select(func.max(table.c.version))) != newest:
                        return False
        return True

    await eventually(everywhere)


async def take_deliveries(runtime: Runtime) -> int:
    """Take in whatever other realms delivered to each realm, as its worker would; how many."""
    return sum(
        [await receive(runtime, realm, delivery_handlers(runtime)) for realm in runtime.databases.realm_urls]
    )


async def delivered(runtime: Runtime, check: Callable[[], Awaitable[bool]]) -> None:
    """Wait for a delivery to cross (replication) and be taken in (the worker's part, run here)."""

    async def taken() -> bool:
        await take_deliveries(runtime)
        return await check()

    await eventually(taken)
