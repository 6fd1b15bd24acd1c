"""The live hub of one server process: its open connections, fed by LISTEN on each realm's database.

Fan-out across processes is PostgreSQL's: every change commits with a NOTIFY (reelm.live.events),
and every process LISTENs on the realm databases of the people connected to it (one connection per
realm, opened when the first of them connects). A process forwards an event only to its own
connections of the users the event names, reading the message once however many of them there are.

Exactly once, in order. Conversation events are numbered and commit in number order, and one listening
connection receives notifications in commit order, so each connection's live stream is in order. A
client that connects (or reconnects) says which number it holds per conversation; the hub registers
the connection first, then reads what came after those numbers, sends that, and only then starts the
live stream, dropping the live events the catch-up already covered. Nothing falls between the two,
and nothing arrives twice. Should a listening connection drop, notifications may have been lost in
the meantime: every connection of that realm is closed (1012) so its client reconnects and catches up.
A client too slow to keep up is closed too (1013) rather than buffered without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import psycopg

from reelm import ids
from reelm.live.events import CHANNEL, Event, EventType
from reelm.messages import reading
from reelm.messages.ciphers import CipherCache
from reelm.messages.models import Conversation, ConversationMember, MemberState, Message
from reelm.messages.schemas import Cursor, MessageOut
from reelm.runtime import Runtime

log = logging.getLogger(__name__)

QUEUE_FRAMES = 1000  # a connection this far behind is closed, and catches up when it reconnects
RECENT_FRAMES = 1000  # sent here, notification not yet heard: a second's worth at a high rate
CATCH_UP_MAX = 500  # events per conversation sent on connect; beyond, the client reloads it
READY_TIMEOUT_S = 10.0
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 15.0

# Close codes (RFC 6455 §7.4 and the private range): what a client should do next.
POLICY_VIOLATION = 1008  # bad origin, credentials or CSRF token: do not retry as is
GOING_AWAY = 1001
SERVICE_RESTART = 1012  # reconnect now and catch up
TRY_AGAIN_LATER = 1013  # reconnect after a pause and catch up
SESSION_ENDED = 4401  # logged out or expired: log in again


@dataclass(frozen=True)
class Frame:
    text: str
    conversation_id: int | None = None
    seq: int | None = None  # conversation events only


def frame(data: dict[str, Any], conversation_id: int | None = None, seq: int | None = None) -> Frame:
    return Frame(json.dumps(data, separators=(",", ":"), default=str), conversation_id, seq)


@dataclass(eq=False)  # compared and hashed by identity: each is one connection
class Subscriber:
    """One open connection: whose it is, what waits to be sent, and what the catch-up already sent."""

    user_id: int
    realm: str
    queue: asyncio.Queue[Frame | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_FRAMES))
    floors: dict[int, int] = field(default_factory=dict)  # conversation -> highest number sent on connect
    close_code: int | None = None

    def offer(self, item: Frame) -> None:
        if self.close_code is not None:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.close(TRY_AGAIN_LATER)

    def close(self, code: int) -> None:
        """Ask the connection to close; what is still queued is dropped (the client catches up)."""
        if self.close_code is not None:
            return
        self.close_code = code
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    def is_new(self, item: Frame) -> bool:
        if item.conversation_id is None or item.seq is None:
            return True
        return item.seq > self.floors.get(item.conversation_id, 0)


class RealmListener:
    """The LISTEN connection to one realm's database, re-opened with a growing delay when it drops."""

    def __init__(self, url: str, on_payload: Callable[[str], Awaitable[None]], on_lost: Callable[[], None]):
        self._url = url
        self._on_payload = on_payload
        self._on_lost = on_lost
        self.ready = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="messages-listener")

    async def _run(self) -> None:
        delay = RECONNECT_MIN_S
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=10, keepalives=1, keepalives_idle=10
                )
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.ready.set()
                    delay = RECONNECT_MIN_S
                    async for notify in conn.notifies():
                        await self._on_payload(notify.payload)
            except (psycopg.Error, OSError) as exc:
                log.warning("live: lost the realm database's notifications (%s); reconnecting", exc)
            if self.ready.is_set():
                self.ready.clear()
                self._on_lost()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class Hub:
    def __init__(self, runtime: Runtime, ciphers: CipherCache) -> None:
        self._runtime = runtime
        self._ciphers = ciphers
        self._subscribers: dict[int, set[Subscriber]] = defaultdict(set)
        self._listeners: dict[str, RealmListener] = {}
        self.delivered = 0  # frames queued for connections: a cheap liveness figure
        # Frames of messages sent through this process, until their notification comes back.
        # By (conversation, message): a message keeps its id in the copies of other realms, whose
        # conversations have ids of their own.
        self._recent: OrderedDict[tuple[int, int], Frame] = OrderedDict()

    def remember(self, message: MessageOut) -> None:
        """A message this process just stored: its notification needs no read back from the database."""
        self._recent[(int(message.conversation_id), int(message.id))] = self._message_frame(
            message.model_dump(mode="json"), int(message.conversation_id)
        )
        while len(self._recent) > RECENT_FRAMES:
            self._recent.popitem(last=False)

    @property
    def connections(self) -> int:
        return sum(len(subs) for subs in self._subscribers.values())

    # --- connections ---------------------------------------------------------------------------------

    async def attach(self, subscriber: Subscriber) -> None:
        """Register a connection once its realm's notifications are heard (TimeoutError otherwise)."""
        listener = self._listeners.get(subscriber.realm)
        if listener is None:
            listener = RealmListener(
                self._runtime.realm_url(subscriber.realm),
                partial(self._dispatch, subscriber.realm),
                partial(self._lost, subscriber.realm),
            )
            self._listeners[subscriber.realm] = listener
        async with asyncio.timeout(READY_TIMEOUT_S):
            await listener.ready.wait()
        self._subscribers[subscriber.user_id].add(subscriber)

    def detach(self, subscriber: Subscriber) -> None:
        subs = self._subscribers.get(subscriber.user_id)
        if subs is not None:
            subs.discard(subscriber)
            if not subs:
                del self._subscribers[subscriber.user_id]

    async def stop(self) -> None:
        for subs in self._subscribers.values():
            for sub in subs:
                sub.close(GOING_AWAY)
        listeners, self._listeners = list(self._listeners.values()), {}
        for listener in listeners:
            await listener.stop()

    def _lost(self, realm: str) -> None:
        for subs in self._subscribers.values():
            for sub in subs:
                if sub.realm == realm:
                    sub.close(SERVICE_RESTART)

    # --- catching up -----------------------------------------------------------------------------------

    async def catch_up(self, subscriber: Subscriber, cursors: Sequence[Cursor]) -> list[Frame]:
        """What the client missed after the numbers it holds; call after `attach`, send before the queue."""
        frames: list[Frame] = []
        wanted: dict[int, int] = {}
        for cursor in cursors:
            conversation_id = ids.parse_id(cursor.conversation_id)
            if conversation_id is not None:
                wanted[conversation_id] = max(cursor.seq, wanted.get(conversation_id, 0))
        if not wanted:
            return frames
        async with self._runtime.databases.read(subscriber.realm) as session:
            for conversation_id, after in wanted.items():
                member = await session.get(ConversationMember, (conversation_id, subscriber.user_id))
                conversation = await session.get(Conversation, conversation_id)
                if member is None or conversation is None or member.state == MemberState.LEFT:
                    continue  # not theirs (or no longer): nothing to say, not even that it exists
                events = await reading.events_after(session, member, after, CATCH_UP_MAX + 1)
                if len(events) > CATCH_UP_MAX:
                    subscriber.floors[conversation_id] = conversation.last_seq
                    frames.append(frame({"type": "reset", "conversation_id": str(conversation_id)}))
                    continue
                outs = await reading.messages_out(session, subscriber.realm, self._ciphers, events)
                frames.extend(
                    self._message_frame(out.model_dump(mode="json"), conversation_id) for out in outs
                )
                subscriber.floors[conversation_id] = events[-1].seq if events else after
        return frames

    @staticmethod
    def _message_frame(message: dict[str, Any], conversation_id: int) -> Frame:
        return frame({"type": "message", "message": message}, conversation_id, int(message["seq"]))

    # --- live events -----------------------------------------------------------------------------------

    async def _dispatch(self, realm: str, payload: str) -> None:
        try:
            event = Event.parse(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("live: ignoring a notification no release of ours wrote: %.200r", payload)
            return
        targets = [
            sub for user in event.users for sub in self._subscribers.get(user, ()) if sub.realm == realm
        ]
        if event.type is EventType.TYPING:  # one's own typing is no news to one's other devices
            targets = [sub for sub in targets if sub.user_id != event.actor_id]
        if not targets:
            return
        try:
            item = await self._frame_for(realm, event)
        except Exception:  # one bad event must not stop the realm's stream; clients resync on reconnect
            log.exception("live: could not build a frame for %s", event.type)
            return
        if item is None:
            return
        for sub in targets:
            sub.offer(item)
            self.delivered += 1

    async def _frame_for(self, realm: str, event: Event) -> Frame | None:
        if event.type is not EventType.MESSAGE:
            return notice_frame(event)
        if event.message_id is None or event.conversation_id is None:
            return None
        if (remembered := self._recent.pop((event.conversation_id, event.message_id), None)) is not None:
            return remembered
        async with self._runtime.databases.read(realm) as session:
            message = await session.get(Message, event.message_id)
            if message is None:  # expired or removed since: the client's next reload shows the truth
                return None
            (out,) = await reading.messages_out(session, realm, self._ciphers, [message])
        return self._message_frame(out.model_dump(mode="json"), event.conversation_id)


def notice_frame(event: Event) -> Frame:
    """Every event but a message becomes a small frame of its ids, e.g.
    `{"type": "read", "conversation_id": "…", "user_id": "…", "seq": 12}`; ids as strings (JavaScript)."""
    data: dict[str, Any] = {"type": event.type.value}
    if event.conversation_id is not None:
        data["conversation_id"] = str(event.conversation_id)
    if event.message_id is not None:
        data["message_id"] = str(event.message_id)
    if event.actor_id is not None:
        data["user_id"] = str(event.actor_id)
    if event.seq is not None:
        data["seq"] = event.seq
    return frame(data)  # never dropped by the catch-up's floors: they apply to numbered events only


async def pump(subscriber: Subscriber, send: Callable[[str], Awaitable[None]]) -> int:
    """Send queued frames until asked to close; returns the close code."""
    while True:
        item = await subscriber.queue.get()
        if item is None:
            return subscriber.close_code or GOING_AWAY
        if subscriber.is_new(item):
            await send(item.text)


class TypingGate:
    """At most one typing event per conversation every few seconds from one connection."""

    def __init__(self, every_s: float = 2.0, remember: int = 64) -> None:
        self.every_s = every_s
        self.remember = remember
        self._last: dict[int, float] = {}

    def allow(self, conversation_id: int) -> bool:
        now = time.monotonic()
        if now - self._last.get(conversation_id, -self.every_s) < self.every_s:
            return False
        if len(self._last) >= self.remember:
            self._last.clear()
        self._last[conversation_id] = now
        return True
