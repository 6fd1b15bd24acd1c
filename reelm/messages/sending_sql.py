"""The SQL of a send: one statement, built once.

Sending is what the service does most, and all messages of a conversation queue for its row lock (it
keeps their numbers gap-free and in commit order), so the time between taking the lock and committing
decides how many messages a conversation can take per second. Everything that can be done before is
done before (sealing the body, minting the id); then one statement locks the conversation, takes the
next number, inserts the message, moves the sender's read mark and queues the NOTIFY, and returns what
the caller must still check; the commit follows at once. Building SQLAlchemy statements afresh for
every message also cost more CPU than running them, hence the cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    DateTime,
    LargeBinary,
    Select,
    String,
    Table,
    Text,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from reelm.live.events import CHANNEL, EventType
from reelm.messages.models import (
    Conversation,
    ConversationMember,
    ConversationPeer,
    EventKind,
    MemberState,
    Message,
)
from reelm.safety.models import UserBlock


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


@dataclass(frozen=True)
class Sent:
    """What the send statement reports about the conversation the message went to."""

    seq: int
    kind: str
    sender_state: str
    listeners: tuple[int, ...]  # members who have not left: whose connections were notified
    someone_left: bool  # another member left (or deleted the conversation)
    blocked: bool  # a block between the sender and another member
    peer_id: int | None  # the other realm's participant, whose realm must receive the message
    has_peers: bool  # a group with people of other realms (reelm.messages.group_crossing)


@cache
def _sending() -> Select[Any]:
    conversations = _table(Conversation)
    members = _table(ConversationMember)
    messages = _table(Message)
    blocks = _table(UserBlock)
    peers = _table(ConversationPeer)
    member = members.alias("member")
    other = members.alias("other")
    conversation_id: BindParameter[int] = bindparam("p_conversation", type_=BigInteger)
    sender: BindParameter[int] = bindparam("p_sender", type_=BigInteger)
    message_id: BindParameter[int] = bindparam("p_id", type_=BigInteger)
    of_conversation = member.c.conversation_id == conversations.c.id
    others = and_(other.c.conversation_id == conversations.c.id, other.c.user_id != sender)
    numbered = (
        update(conversations)
        .where(
            conversations.c.id == conversation_id,
            exists().where(
                of_conversation, member.c.user_id == sender, member.c.state != MemberState.LEFT.value
            ),
        )
        .values(
            last_seq=conversations.c.last_seq + 1,
            last_message_seq=conversations.c.last_seq + 1,
            last_message_at=bindparam("p_now", type_=DateTime(timezone=True)),
        )
        .returning(
            conversations.c.id,
            conversations.c.last_seq.label("seq"),
            conversations.c.kind,
            conversations.c.peer_id,
            select(member.c.state)
            .where(of_conversation, member.c.user_id == sender)
            .scalar_subquery()
            .label("sender_state"),
            select(func.array_agg(member.c.user_id))
            .where(of_conversation, member.c.state != MemberState.LEFT.value)
            .scalar_subquery()
            .label("listeners"),
            exists().where(others, other.c.state == MemberState.LEFT.value).label("someone_left"),
            exists().where(peers.c.conversation_id == conversations.c.id).label("has_peers"),
            exists()
            .where(
                others,
                or_(
                    and_(blocks.c.blocker_id == sender, blocks.c.blocked_id == other.c.user_id),
                    and_(blocks.c.blocker_id == other.c.user_id, blocks.c.blocked_id == sender),
                ),
            )
            .label("blocked"),
        )
        .cte("numbered")
    )
    stored = insert(messages).from_select(
        [
            *("id", "conversation_id", "seq", "sender_id", "key_owner_id", "kind", "body", "video_id"),
            *("client_key", "created_at"),
        ],
        select(
            message_id,
            conversation_id,
            numbered.c.seq,
            sender,
            sender,
            literal(EventKind.MESSAGE.value, String),
            bindparam("p_body", type_=LargeBinary),
            bindparam("p_video", type_=BigInteger),
            bindparam("p_client_key", type_=String),
            bindparam("p_now", type_=DateTime(timezone=True)),
        ).select_from(numbered),
    )
    # What one sends, one has read.
    read = (
        update(members)
        .where(members.c.conversation_id == numbered.c.id, members.c.user_id == sender)
        .values(last_read_seq=numbered.c.seq)
    )
    # The payload of reelm.live.events.Event, built here because only here is the number known.
    payload = func.json_build_object(
        *("t", EventType.MESSAGE.value, "u", numbered.c.listeners, "c", conversation_id),
        *("s", numbered.c.seq, "m", message_id),
    )
    return (
        select(
            numbered.c.seq,
            numbered.c.kind,
            numbered.c.sender_state,
            numbered.c.listeners,
            numbered.c.someone_left,
            numbered.c.has_peers,
            numbered.c.blocked,
            numbered.c.peer_id,
            func.pg_notify(CHANNEL, sql_cast(payload, Text)),
        )
        # Data-modifying CTEs run whether or not the query reads them.
        .add_cte(stored.cte("stored"), read.cte("read"))
    )


async def send(
    session: AsyncSession,
    *,
    message_id: int,
    conversation_id: int,
    sender_id: int,
    body: bytes | None,
    video_id: int | None,
    client_key: str | None,
    now: datetime,
) -> Sent | None:
    """Run the send statement; None (and nothing written) unless the sender is a member. A `client_key`
    used before fails it with IntegrityError. The caller's checks may still refuse: then it rolls back,
    and neither the message, its number nor its notification ever existed."""
    parameters = {
        "p_id": message_id,
        "p_conversation": conversation_id,
        "p_sender": sender_id,
        "p_body": body,
        "p_video": video_id,
        "p_client_key": client_key,
        "p_now": now,
    }
    row = (await session.execute(_sending(), parameters)).first()
    if row is None:
        return None
    seq, kind, sender_state, listening, someone_left, has_peers, blocked, peer_id, _ = row
    return Sent(seq, kind, sender_state, tuple(sorted(listening)), someone_left, blocked, peer_id, has_peers)
