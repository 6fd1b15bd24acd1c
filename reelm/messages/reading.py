"""Reading: a member's view of the events of a conversation (history, what followed a number), read marks,
"delete for me", and the text of a message as its reader may see it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import User
from reelm.crypto.keys import KeyDestroyedError, RealmKeys
from reelm.crypto.service import user_cipher
from reelm.live.events import Event, EventType, publish
from reelm.messages import crossing, group_crossing
from reelm.messages.ciphers import BODY_COLUMN, CipherCache
from reelm.messages.conversations import listeners, members_of
from reelm.messages.models import (
    Conversation,
    ConversationKind,
    ConversationMember,
    EventKind,
    HiddenMessage,
    MemberState,
    Message,
)
from reelm.messages.permissions import public_person
from reelm.messages.schemas import MessageOut
from reelm.notifications.service import people_out
from reelm.videos.schemas import Creator
from reelm.videos.service import creator_out

UNREADABLE = "This message can no longer be read."  # the sender's key was shredded


def _visible_to(member: ConversationMember) -> list[ColumnElement[bool]]:
    """Conditions on Message for what one member may see: after what they cleared, not hidden by them."""
    return [
        Message.conversation_id == member.conversation_id,
        Message.seq > member.cleared_seq,
        ~exists().where(HiddenMessage.user_id == member.user_id, HiddenMessage.message_id == Message.id),
    ]


async def events_after(
    session: AsyncSession, member: ConversationMember, after_seq: int, limit: int
) -> list[Message]:
    """Every event (messages and unsends) after a number, oldest first: what a reconnecting client missed."""
    rows = await session.scalars(
        select(Message)
        .where(*_visible_to(member), Message.seq > after_seq)
        .order_by(Message.seq)
        .limit(limit)
    )
    return list(rows)


async def messages_before(
    session: AsyncSession, member: ConversationMember, before_seq: int | None, limit: int
) -> list[Message]:
    """A page of history: the messages before a number (the latest without one), oldest first."""
    query = select(Message).where(*_visible_to(member), Message.kind == EventKind.MESSAGE)
    if before_seq is not None:
        query = query.where(Message.seq < before_seq)
    rows = list(await session.scalars(query.order_by(Message.seq.desc()).limit(limit)))
    rows.reverse()
    return rows


async def messages_out(
    session: AsyncSession,
    realm: str,
    ciphers: CipherCache,
    messages: Sequence[Message],
    *,
    known: Sequence[User] = (),
) -> list[MessageOut]:
    """The messages for clients, bodies decrypted; `known` senders are not read again."""
    if not messages:
        return []
    senders = {u.id: creator_out(realm, u) for u in known}
    missing = {m.sender_id for m in messages} - senders.keys()
    if missing:
        senders |= await people_out(session, realm, missing)
    out = []
    for m in messages:
        body = None
        if m.body is not None:
            cipher = await ciphers.get(session, realm, sealed_by(m))
            body = cipher.open(BODY_COLUMN, m.body) if cipher is not None else UNREADABLE
        out.append(
            MessageOut(
                id=str(m.id),
                conversation_id=str(m.conversation_id),
                seq=m.seq,
                kind=m.kind,
                sender=senders.get(m.sender_id) or gone(m.sender_id),
                body=body,
                video_id=str(m.video_id) if m.video_id is not None else None,
                target_seq=m.target_seq,
                created_at=m.created_at,
                unsent=m.unsent_at is not None,
                refusal=m.refusal,
            )
        )
    return out


def sealed_by(message: Message) -> int:
    """Whose key (in this realm) seals the message's body (reelm.messages.models.Message.key_owner_id)."""
    return message.key_owner_id if message.key_owner_id is not None else message.conversation_id


def gone(user_id: int) -> Creator:
    """Someone of another realm whose profile is no longer public (deleted, suspended, moved)."""
    return Creator(
        is_following=None,
        id=str(user_id),
        handle="",
        display_name="Unavailable account",
        avatar_url=None,
        follower_count=0,
    )


async def message_text(session: AsyncSession, keys: RealmKeys, message: Message) -> str | None:
    """One message's text, read without the cipher cache (a reviewer's one-off look at a reported message)."""
    if message.body is None:
        return None
    try:
        cipher = await user_cipher(session, keys, sealed_by(message))
    except KeyDestroyedError:
        return UNREADABLE
    return cipher.open(BODY_COLUMN, message.body)


async def do_hide(session: AsyncSession, user_id: int, message: Message) -> None:
    """Delete for me: the message disappears from this member's history and devices only."""
    await session.execute(
        insert(HiddenMessage).values(user_id=user_id, message_id=message.id).on_conflict_do_nothing()
    )
    await publish(
        session,
        Event(
            EventType.HIDDEN,
            (user_id,),
            conversation_id=message.conversation_id,
            seq=message.seq,
            message_id=message.id,
        ),
    )


async def do_mark_read(
    session: AsyncSession, realm: str, conversation: Conversation, member: ConversationMember, seq: int
) -> None:
    """Move the member's read mark forward (never back); the others see it unless this is a request."""
    seq = min(seq, conversation.last_seq)
    if seq <= member.last_read_seq:
        return
    await session.execute(
        update(ConversationMember)
        .where(
            ConversationMember.conversation_id == conversation.id,
            ConversationMember.user_id == member.user_id,
            ConversationMember.last_read_seq < seq,
        )
        .values(last_read_seq=seq)
    )
    member.last_read_seq = seq
    if member.state == MemberState.REQUEST:
        return  # reading a request says nothing to its sender
    if conversation.peer_id is not None:
        await _tell_peer_read(session, realm, conversation, member, seq)
    elif conversation.kind == ConversationKind.GROUP:
        latest = await session.scalar(
            select(Message.id)
            .where(
                Message.conversation_id == conversation.id,
                Message.sender_id != member.user_id,
                Message.kind == EventKind.MESSAGE,
                Message.seq <= seq,
            )
            .order_by(Message.seq.desc())
            .limit(1)
        )
        if latest is not None:
            payload = {"reader_id": member.user_id, "message_id": latest}
            await group_crossing.tell_realms(session, realm, conversation.id, crossing.Kind.READ, payload)
    members = await members_of(session, conversation.id)
    await publish(
        session,
        Event(
            EventType.READ,
            listeners(members),
            conversation_id=conversation.id,
            seq=seq,
            actor_id=member.user_id,
        ),
    )


async def latest_from(session: AsyncSession, conversation_id: int, sender_id: int, seq: int) -> int | None:
    """The id of the latest message from `sender_id` numbered at most `seq`."""
    found: int | None = await session.scalar(
        select(Message.id)
        .where(
            Message.conversation_id == conversation_id,
            Message.sender_id == sender_id,
            Message.kind == EventKind.MESSAGE,
            Message.seq <= seq,
        )
        .order_by(Message.seq.desc())
        .limit(1)
    )
    return found


async def _tell_peer_read(
    session: AsyncSession, realm: str, conversation: Conversation, member: ConversationMember, seq: int
) -> None:
    """Read receipts cross as the id of the peer's latest message read (numbers differ per copy)."""
    if conversation.peer_id is None:
        return
    latest = await latest_from(session, conversation.id, conversation.peer_id, seq)
    found = await public_person(session, conversation.peer_id)
    if latest is None or found is None:
        return
    payload = {"reader_id": member.user_id, "message_id": latest}
    await crossing.send(session, source=realm, target=found[1], kind=crossing.Kind.READ, payload=payload)
