"""What the live hubs of every server process hear: one NOTIFY per change, sent with the change.

`publish` runs inside the transaction that makes the change. PostgreSQL delivers the notification only
when that transaction commits, in commit order, and never for a rolled-back one; so a hub never tells
a client about a message that was not kept. Payloads carry ids and numbers only (convention 3): each
hub reads what it delivers from the database, which also keeps message text out of the notification.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

CHANNEL = "reelm_live"


class EventType(enum.StrEnum):
    MESSAGE = "message"  # a numbered event of a conversation (a message or an unsend)
    READ = "read"  # a member read up to a number
    TYPING = "typing"
    CONVERSATION = "conversation"  # membership or state changed: clients reload the conversation
    HIDDEN = "hidden"  # deleted for one member: their other devices drop it
    REFUSED = "refused"  # the recipient's realm did not deliver a message (reelm.messages.inbound)
    NOTIFICATIONS = "notifications"  # the recipient's notifications changed


@dataclass(frozen=True)
class Event:
    type: EventType
    users: tuple[int, ...]  # whose open connections hear it
    conversation_id: int | None = None
    seq: int | None = None
    message_id: int | None = None
    actor_id: int | None = None  # who read or typed
    extra: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> str:
        data: dict[str, Any] = {"t": self.type.value, "u": list(self.users)}
        for name, value in (
            ("c", self.conversation_id),
            ("s", self.seq),
            ("m", self.message_id),
            ("a", self.actor_id),
        ):
            if value is not None:
                data[name] = value
        if self.extra:
            data["x"] = self.extra
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def parse(cls, payload: str) -> Event:
        """Raises ValueError (or KeyError, TypeError) on a payload no release of ours wrote."""
        data = json.loads(payload)
        return cls(
            type=EventType(data["t"]),
            users=tuple(int(u) for u in data["u"]),
            conversation_id=data.get("c"),
            seq=data.get("s"),
            message_id=data.get("m"),
            actor_id=data.get("a"),
            extra=data.get("x") or {},
        )


async def publish(session: AsyncSession, event: Event) -> None:
    """Queue the event on the session's transaction; it is delivered when (and if) that commits."""
    if event.users:
        await session.execute(select(func.pg_notify(CHANNEL, event.payload())))
