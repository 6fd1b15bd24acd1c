"""The live WebSocket, /api/v1/live: who may connect, the hello and catch-up, and frames from clients.

Protocol (the hub's side is in reelm.messages.live):
- client, first: `{"type": "hello", "csrf": <the page's token, for cookie sessions>,
  "cursors": [{"conversation_id": ..., "seq": <last held>}]}`;
- server: what was missed after those numbers, then `{"type": "ready"}`, then the live stream;
- client, later: `{"type": "typing", "conversation_id": ...}` and
  `{"type": "send", "conversation_id": ..., "body": ..., "video_id": ..., "client_key": ...}`, answered
  with `{"type": "sent", "client_key": ..., "message": {...}}` once stored, or
  `{"type": "send-failed", "client_key": ..., "problem": {...}}` with the problem the API would give.

Sending over the socket saves an HTTP request per message, which is most of what a send costs beside
the database; it runs the very transaction of POST /conversations/{id}/messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import Field, TypeAdapter, ValidationError

from reelm import ids
from reelm.accounts.models import User
from reelm.accounts.service import resolve_session
from reelm.errors import Problem, not_found
from reelm.live.events import Event, EventType, publish
from reelm.messages import conversations, live
from reelm.messages.messaging import Messaging
from reelm.messages.models import ConversationMember, MemberState
from reelm.messages.schemas import HelloIn, SendIn, TypingIn
from reelm.messages.sending import send_one
from reelm.ratelimit import RateLimiter
from reelm.realms.models import Capability
from reelm.realms.switches import Switchboard
from reelm.runtime import Runtime
from reelm.security import check_csrf
from reelm.web.capabilities import capability_off
from reelm.web.deps import CSRF_COOKIE, SESSION_COOKIE

log = logging.getLogger(__name__)
router = APIRouter()

PATH = "/api/v1/live"
HELLO_TIMEOUT_S = 10.0
REVALIDATE_S = 300.0  # how often a long-lived connection checks that its session still stands
MAX_CLIENT_FRAME = 8192
SENDS_IN_FLIGHT = 8  # per connection; reading further frames waits meanwhile

ClientFrame: TypeAdapter[TypingIn | SendIn] = TypeAdapter(
    Annotated[TypingIn | SendIn, Field(discriminator="type")]
)


def origin_allowed(websocket: WebSocket, base_url: str) -> bool:
    """Browsers send the page's origin; a page of another site must not ride the visitor's cookie."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser; such a client must then authenticate with a bearer token
    expected = urlsplit(base_url)
    return origin.rstrip("/") == f"{expected.scheme}://{expected.netloc}"


def credentials(websocket: WebSocket) -> tuple[str | None, bool]:
    """(token, whether it came from the session cookie)."""
    authorization = websocket.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip(), False
    return websocket.cookies.get(SESSION_COOKIE), True


async def read_hello(websocket: WebSocket) -> HelloIn | None:
    async with asyncio.timeout(HELLO_TIMEOUT_S):
        text = await websocket.receive_text()
    if len(text) > MAX_CLIENT_FRAME * 4:
        return None
    try:
        return HelloIn.model_validate_json(text)
    except ValidationError:
        return None


@router.websocket("/live")
async def live_connection(websocket: WebSocket) -> None:
    """Live events of the viewer's conversations and notifications, and sending (see the module)."""
    runtime: Runtime = websocket.app.state.runtime
    token, via_cookie = credentials(websocket)
    if (
        token is None
        or not origin_allowed(websocket, runtime.settings.base_url)
        or (via_cookie and "origin" not in websocket.headers)
    ):
        await websocket.close(live.POLICY_VIOLATION)  # before accepting: the handshake gets a 403
        return
    resolved = await resolve_session(runtime, token)
    if resolved is None:
        await websocket.close(live.POLICY_VIOLATION)
        return
    realm, user, _ = resolved
    await websocket.accept()
    try:
        hello = await read_hello(websocket)
    except (TimeoutError, WebSocketDisconnect):
        return
    secret = runtime.settings.secret_key
    if hello is None or (
        via_cookie and not check_csrf(secret, websocket.cookies.get(CSRF_COOKIE), hello.csrf)
    ):
        await websocket.close(live.POLICY_VIOLATION)
        return
    await Connection(websocket, runtime, realm, user, token).serve(hello)


class Connection:
    """One client's connection after its hello: its place in the hub, its session, its frames."""

    def __init__(self, websocket: WebSocket, runtime: Runtime, realm: str, user: User, token: str) -> None:
        self.websocket = websocket
        self.runtime = runtime
        self.realm = realm
        self.user = user
        self.token = token
        self.messaging: Messaging = websocket.app.state.messaging
        self.limiter: RateLimiter = websocket.app.state.limiter
        self.board: Switchboard = websocket.app.state.switchboard
        self.subscriber = live.Subscriber(user_id=user.id, realm=realm)
        self.typing = live.TypingGate()
        self.sending = asyncio.Semaphore(SENDS_IN_FLIGHT)
        self.sends: set[asyncio.Task[None]] = set()

    async def serve(self, hello: HelloIn) -> None:
        hub = self.messaging.hub
        try:
            await hub.attach(self.subscriber)
        except TimeoutError:
            await self.websocket.close(live.TRY_AGAIN_LATER)
            return
        pumping: asyncio.Task[int] | None = None
        receiving: asyncio.Task[None] | None = None
        try:
            for item in await hub.catch_up(self.subscriber, hello.cursors):
                await self.websocket.send_text(item.text)
            await self.websocket.send_text(live.frame({"type": "ready"}).text)
            pumping = asyncio.create_task(live.pump(self.subscriber, self.websocket.send_text))
            receiving = asyncio.create_task(self.receive())
            done, _ = await asyncio.wait({pumping, receiving}, return_when=asyncio.FIRST_COMPLETED)
            if pumping in done and not pumping.cancelled() and pumping.exception() is None:
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await self.websocket.close(pumping.result())
        except WebSocketDisconnect:
            pass
        finally:
            hub.detach(self.subscriber)
            for task in (pumping, receiving, *self.sends):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                        await task

    async def receive(self) -> None:
        """Client frames until the client goes. The session is checked now and then: a socket may stay
        open for days after a log-out elsewhere."""
        while True:
            try:
                async with asyncio.timeout(REVALIDATE_S):
                    text = await self.websocket.receive_text()
            except TimeoutError:
                if not await self.session_stands():
                    self.subscriber.close(live.SESSION_ENDED)
                    return
                continue
            except WebSocketDisconnect:
                return
            try:
                frame = ClientFrame.validate_json(text) if len(text) <= MAX_CLIENT_FRAME else None
            except ValidationError:
                frame = None
            if isinstance(frame, TypingIn):
                await self.on_typing(int(frame.conversation_id))
            elif isinstance(frame, SendIn):
                await self.sending.acquire()  # released when the send is done: at most a few at once
                task = asyncio.create_task(self.on_send(frame))
                self.sends.add(task)
                task.add_done_callback(self.sends.discard)
            else:
                self.subscriber.offer(live.frame({"type": "error", "detail": "Unknown or malformed frame."}))

    async def session_stands(self) -> bool:
        resolved = await resolve_session(self.runtime, self.token)
        if resolved is None or resolved[1].id != self.user.id:
            return False
        self.user = resolved[1]  # a changed name or avatar shows in what is sent from now on
        return True

    def allowed(self) -> bool:
        return self.board.allowed(self.realm, Capability.MESSAGE, self.user.id)

    def check_send(self, frame: SendIn) -> int:
        """The conversation to send to, if sending is open to this user; the problem otherwise."""
        if not self.allowed():
            raise capability_off(self.runtime, self.board.switch(self.realm, Capability.MESSAGE))
        conversation_id = ids.parse_id(frame.conversation_id)
        if conversation_id is None or self.runtime.settings.realm_of_id(conversation_id) != self.realm:
            raise not_found("Conversation")
        return conversation_id

    async def on_send(self, frame: SendIn) -> None:
        try:
            conversation_id = self.check_send(frame)
            out, _ = await send_one(
                self.runtime, self.messaging, self.limiter, self.realm, self.user, conversation_id, frame
            )
            reply = {"type": "sent", "client_key": frame.client_key, "message": out.model_dump(mode="json")}
        except Problem as problem:
            reply = {"type": "send-failed", "client_key": frame.client_key, "problem": problem.body(PATH)}
        except Exception:  # the client must hear that this one failed; the connection goes on
            log.exception("live: a send failed")
            failed = Problem(500, "internal", "Not sent", "Something went wrong; the message was not sent.")
            reply = {"type": "send-failed", "client_key": frame.client_key, "problem": failed.body(PATH)}
        finally:
            self.sending.release()
        self.subscriber.offer(live.frame(reply))

    async def on_typing(self, conversation_id: int) -> None:
        if not self.allowed():
            return  # typing is sending: not while messaging is switched off
        if self.runtime.settings.realm_of_id(conversation_id) != self.realm or not self.typing.allow(
            conversation_id
        ):
            return
        async with self.runtime.databases.transaction(self.realm) as session:
            member = await session.get(ConversationMember, (conversation_id, self.user.id))
            if member is None or member.state != MemberState.ACCEPTED:
                return  # not theirs, or a request not accepted yet: a stranger's typing is not shown
            members = await conversations.members_of(session, conversation_id)
            await publish(
                session,
                Event(
                    EventType.TYPING,
                    conversations.listeners(members),
                    conversation_id=conversation_id,
                    actor_id=self.user.id,
                ),
            )
