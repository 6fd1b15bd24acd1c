"""The inbox: a member's conversations by folder, as clients see them, and the unread counts."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, exists, func, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from reelm.messages.ciphers import CipherCache
from reelm.messages.models import (
    Conversation,
    ConversationKind,
    ConversationMember,
    ConversationPeer,
    EventKind,
    HiddenMessage,
    MemberState,
    Message,
)
from reelm.messages.reading import gone, messages_out
from reelm.messages.schemas import ConversationOut, MemberOut
from reelm.notifications.service import people_out


class Folder(enum.StrEnum):
    INBOX = "inbox"
    REQUESTS = "requests"


async def list_conversations(
    session: AsyncSession,
    user_id: int,
    *,
    folder: str,
    before: tuple[datetime, int] | None,
    limit: int,
) -> list[tuple[Conversation, ConversationMember]]:
    """The member's conversations, latest activity first: groups they are in, and direct conversations
    with a message they can see or that they started (a direct one someone else opened shows once it
    says something)."""
    state = MemberState.REQUEST if folder == Folder.REQUESTS else MemberState.ACCEPTED
    query = (
        select(Conversation, ConversationMember)
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(
            ConversationMember.user_id == user_id,
            ConversationMember.state == state,
            (Conversation.kind == ConversationKind.GROUP)
            | (Conversation.last_message_seq > ConversationMember.cleared_seq)
            | ((Conversation.created_by_id == user_id) & (ConversationMember.cleared_seq == 0)),
        )
    )
    if before is not None:
        query = query.where(tuple_(Conversation.last_message_at, Conversation.id) < tuple_(*before))
    query = query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(limit)
    return [(c, m) for c, m in (await session.execute(query)).all()]


async def conversations_out(
    session: AsyncSession,
    realm: str,
    ciphers: CipherCache,
    user_id: int,
    rows: Sequence[tuple[Conversation, ConversationMember]],
) -> list[ConversationOut]:
    if not rows:
        return []
    conversation_ids = [c.id for c, _ in rows]
    all_members = list(
        await session.scalars(
            select(ConversationMember)
            .where(ConversationMember.conversation_id.in_(conversation_ids))
            .order_by(ConversationMember.joined_at, ConversationMember.user_id)
        )
    )
    group_peers = list(
        await session.scalars(
            select(ConversationPeer)
            .where(ConversationPeer.conversation_id.in_(conversation_ids))
            .order_by(ConversationPeer.joined_at, ConversationPeer.user_id)
        )
    )
    peers = {c.peer_id for c, _ in rows if c.peer_id is not None} | {p.user_id for p in group_peers}
    people = await people_out(session, realm, {m.user_id for m in all_members} | peers)
    unread = await _unread_by_conversation(session, user_id, conversation_ids)
    latest = await _latest_messages(session, [m for _, m in rows])
    latest_out = {
        m.conversation_id: m for m in await messages_out(session, realm, ciphers, list(latest.values()))
    }
    out = []
    for conversation, mine in rows:
        others = [
            MemberOut(
                user=people[m.user_id],
                state=m.state,
                last_read_seq=m.last_read_seq if m.state == MemberState.ACCEPTED else None,
            )
            for m in all_members
            if m.conversation_id == conversation.id and m.user_id != user_id and m.user_id in people
        ]
        # People of other realms: their realm holds their membership; this copy, how far they read.
        if conversation.peer_id is not None:
            peer = people.get(conversation.peer_id) or gone(conversation.peer_id)
            others.append(
                MemberOut(user=peer, state=MemberState.ACCEPTED, last_read_seq=conversation.peer_read_seq)
            )
        others += [
            MemberOut(
                user=people.get(p.user_id) or gone(p.user_id),
                state=MemberState.ACCEPTED,
                last_read_seq=p.read_seq,
            )
            for p in group_peers
            if p.conversation_id == conversation.id
        ]
        out.append(
            ConversationOut(
                id=str(conversation.id),
                kind=conversation.kind,
                title=conversation.title,
                members=others,
                state=mine.state,
                muted=mine.muted,
                last_seq=conversation.last_seq,
                last_read_seq=mine.last_read_seq,
                unread=unread.get(conversation.id, 0),
                last_message=latest_out.get(str(conversation.id)),
                last_message_at=conversation.last_message_at,
            )
        )
    return out


async def _unread_by_conversation(
    session: AsyncSession, user_id: int, conversation_ids: Sequence[int]
) -> dict[int, int]:
    rows = await session.execute(
        select(Message.conversation_id, func.count())
        .join(
            ConversationMember,
            and_(
                ConversationMember.conversation_id == Message.conversation_id,
                ConversationMember.user_id == user_id,
            ),
        )
        .where(
            Message.conversation_id.in_(conversation_ids),
            Message.seq > ConversationMember.last_read_seq,
            Message.sender_id != user_id,
            Message.kind == EventKind.MESSAGE,
            Message.unsent_at.is_(None),
        )
        .group_by(Message.conversation_id)
    )
    return dict(rows.all())


async def _latest_messages(
    session: AsyncSession, members: Sequence[ConversationMember]
) -> dict[int, Message]:
    """Each conversation's latest message this member can see (the inbox's preview line), in one query
    whatever the number of conversations: the newest visible message per conversation (DISTINCT ON)."""
    if not members:
        return {}
    user_id = members[0].user_id
    member = aliased(ConversationMember)
    rows = await session.scalars(
        select(Message)
        .join(
            member,
            and_(member.conversation_id == Message.conversation_id, member.user_id == user_id),
        )
        .where(
            Message.conversation_id.in_([m.conversation_id for m in members]),
            Message.kind == EventKind.MESSAGE,
            Message.seq > member.cleared_seq,
            ~exists().where(HiddenMessage.user_id == user_id, HiddenMessage.message_id == Message.id),
        )
        .ext(distinct_on(Message.conversation_id))
        .order_by(Message.conversation_id, Message.seq.desc())
    )
    return {message.conversation_id: message for message in rows}


async def unread_counts(session: AsyncSession, user_id: int) -> tuple[int, int]:
    """(inbox conversations with something unread, not muted; requests with something unread)."""
    rows = await session.execute(
        select(ConversationMember.state, func.count())
        .join(Conversation, Conversation.id == ConversationMember.conversation_id)
        .where(
            ConversationMember.user_id == user_id,
            Conversation.last_message_seq > ConversationMember.last_read_seq,
            ((ConversationMember.state == MemberState.ACCEPTED) & ~ConversationMember.muted)
            | (ConversationMember.state == MemberState.REQUEST),
        )
        .group_by(ConversationMember.state)
    )
    counts = dict(rows.all())
    return counts.get(MemberState.ACCEPTED, 0), counts.get(MemberState.REQUEST, 0)
