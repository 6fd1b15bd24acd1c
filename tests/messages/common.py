"""Helpers of the messaging tests: follows and videos straight in the database, API calls, live servers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select, update
from websockets.asyncio.client import ClientConnection, connect

from reelm import ids
from reelm.accounts.models import HandleEntry, User
from reelm.messages.models import Message
from reelm.runtime import Runtime
from reelm.social.models import Follow
from reelm.videos.models import Video, VideoStatus, Visibility
from tests.conftest import Account
from tests.live import free_port

# Waits for live frames; generous, because the machine running the tests may be busy (never a timing check).
FRAME_TIMEOUT_S = 15.0


async def follow(runtime: Runtime, follower: Account, followee: Account) -> None:
    """A follow row as the social domain stores it (its API is not what these tests are about)."""
    async with runtime.databases.transaction(follower.realm) as session:
        session.add(Follow(follower_id=int(follower.id), followee_id=int(followee.id)))


async def age_account(runtime: Runtime, account: Account, days: float) -> None:
    async with runtime.databases.transaction(account.realm) as session:
        await session.execute(
            update(User)
            .where(User.id == int(account.id))
            .values(created_at=datetime.now(UTC) - timedelta(days=days))
        )


async def bare_account(runtime: Runtime, handle: str, realm: str = "us") -> int:
    """A user who only needs to exist (resolvable handle, realm row): no key, no password to hash."""
    user_id = ids.new_id(runtime.settings.realm(realm).code)
    async with runtime.databases.transaction(None) as directory:
        directory.add(HandleEntry(handle=handle, user_id=user_id, realm=realm, state="active"))
    async with runtime.databases.transaction(realm) as session:
        session.add(
            User(
                id=user_id,
                handle=handle,
                display_name=handle,
                email=b"-",
                email_index=f"index-{user_id}".encode(),
                password_hash="-",
                country="US",
            )
        )
    return user_id


async def make_video(runtime: Runtime, owner: Account, *, visibility: str = Visibility.PUBLIC) -> str:
    """A published video row without media: sharing needs only its id and its state."""
    video_id = ids.new_id(runtime.settings.realm(owner.realm).code)
    async with runtime.databases.transaction(owner.realm) as session:
        session.add(
            Video(
                id=video_id,
                owner_id=int(owner.id),
                caption="shared clip",
                hashtags=[],
                mentions=[],
                visibility=visibility,
                status=VideoStatus.READY,
                original_key=f"videos/{video_id}/original",
                original_size=1,
                published_at=datetime.now(UTC),
            )
        )
    return str(video_id)


async def start(
    client: httpx.AsyncClient, sender: Account, *handles: str, body: str | None = None, expect: int = 201
) -> dict[str, Any]:
    payload: dict[str, Any] = {"handles": list(handles)}
    if body is not None:
        payload["message"] = {"body": body}
    response = await client.post("/api/v1/conversations", headers=sender.auth, json=payload)
    assert response.status_code == expect, response.text
    result: dict[str, Any] = response.json()
    return result


async def send(
    client: httpx.AsyncClient, sender: Account, conversation_id: str, body: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", headers=sender.auth, json={"body": body, **extra}
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def folder(client: httpx.AsyncClient, account: Account, name: str = "inbox") -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/conversations?folder={name}", headers=account.auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def history(
    client: httpx.AsyncClient, account: Account, conversation_id: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/conversations/{conversation_id}/messages", headers=account.auth, params=params
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def message_rows(runtime: Runtime, realm: str = "us") -> int:
    async with runtime.databases.sessionmaker(realm)() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


# --- live servers and clients -------------------------------------------------------------------------


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The app on a loopback port in this event loop (sharing the test's databases); yields host:port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn offers no start event
        assert not task.done(), "the server did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class LiveClient:
    """A WebSocket client of /api/v1/live that keeps every frame it receives."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def next(self, type_: str | None = None) -> dict[str, Any]:
        """The next frame (of that type, skipping others)."""
        while True:
            async with asyncio.timeout(FRAME_TIMEOUT_S):
                frame: dict[str, Any] = json.loads(await self.connection.recv())
            if type_ is None or frame["type"] == type_:
                return frame

    async def messages(self, count: int) -> list[dict[str, Any]]:
        return [(await self.next("message"))["message"] for _ in range(count)]

    async def typing(self, conversation_id: str) -> None:
        await self.connection.send(json.dumps({"type": "typing", "conversation_id": conversation_id}))


@asynccontextmanager
async def live_client(
    host: str, account: Account, cursors: dict[str, int] | None = None
) -> AsyncIterator[LiveClient]:
    """Connected, with the hello sent; the catch-up, then `ready`, then live frames are read with `next`."""
    url = f"ws://{host}/api/v1/live"
    async with connect(url, additional_headers=account.auth, proxy=None) as connection:
        hello = {
            "type": "hello",
            "cursors": [{"conversation_id": c, "seq": s} for c, s in (cursors or {}).items()],
        }
        await connection.send(json.dumps(hello))
        yield LiveClient(connection)
