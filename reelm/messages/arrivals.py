"""Storing a message that arrived from another realm in this realm's copy of its conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from reelm.crypto.fields import UserCipher
from reelm.live.events import Event, EventType, publish
from reelm.messages import conversations
from reelm.messages.ciphers import BODY_COLUMN
from reelm.messages.models import Conversation, EventKind, Message


async def record_arrival(
    session: AsyncSession,
    conversation: Conversation,
    payload: dict[str, Any],
    cipher: UserCipher,
    *,
    key_owner_id: int | None,
    now: datetime,
) -> None:
    """Number a message that arrived from another realm in this copy (locked by the caller), store it
    sealed with `cipher`, and tell the members' live connections."""
    body, video_id = payload.get("body"), payload.get("video_id")
    conversation.last_seq += 1
    conversation.last_message_seq = conversation.last_seq
    conversation.last_message_at = now
    session.add(
        Message(
            id=int(payload["id"]),
            conversation_id=conversation.id,
            seq=conversation.last_seq,
            sender_id=int(payload["sender_id"]),
            key_owner_id=key_owner_id,
            kind=EventKind.MESSAGE,
            body=cipher.seal(BODY_COLUMN, body) if body else None,
            video_id=int(video_id) if video_id is not None else None,
            target_seq=None,
            client_key=None,
            created_at=datetime.fromisoformat(payload["created_at"]),
            unsent_at=None,
            refusal=None,
        )
    )
    # The message must be in the table before members_of and the live NOTIFY read what the copy holds.
    await session.flush()
    members = await conversations.members_of(session, conversation.id)
    await publish(
        session,
        Event(
            EventType.MESSAGE,
            conversations.listeners(members),
            conversation_id=conversation.id,
            seq=conversation.last_seq,
            message_id=int(payload["id"]),
        ),
    )
