"""Groups with people of several realms: what one realm's copy tells the others' (the sending half).

A group has a copy in the realm of each of its people, all named by the id of the first copy
(`origin_id`); a copy holds member rows for its own realm's people and `conversation_peers` rows for the
others. Each copy numbers its own events. What crosses, to every realm that has people in the group:

- `message` with a `group` part (origin, title and everyone in it): the receiving copy is made or
  brought up to date, then the message is numbered there;
- `group` when people are added or the title changes (the same part, no message);
- `left` when someone leaves;
- `unsend` and `read` as for direct conversations (by message id).

Membership is reconciled by union (someone named is added where missing); leaving is the only removal,
so copies converge whatever order realms' deliveries take. reelm.messages.group_inbound is the
receiving half.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.messages import crossing
from reelm.messages.models import Conversation, ConversationMember, ConversationPeer, MemberState


async def peers_of(session: AsyncSession, conversation_id: int) -> list[ConversationPeer]:
    rows = await session.scalars(
        select(ConversationPeer)
        .where(ConversationPeer.conversation_id == conversation_id)
        .order_by(ConversationPeer.joined_at, ConversationPeer.user_id)
    )
    return list(rows)


def add_peer(session: AsyncSession, conversation_id: int, user_id: int, realm: str, now: datetime) -> None:
    session.add(
        ConversationPeer(
            conversation_id=conversation_id, user_id=user_id, realm=realm, read_seq=0, joined_at=now
        )
    )


async def group_part(session: AsyncSession, conversation: Conversation) -> dict[str, Any]:
    """What every copy must agree on: the group's identity, title and people (of every realm)."""
    members = await session.scalars(
        select(ConversationMember.user_id).where(
            ConversationMember.conversation_id == conversation.id,
            ConversationMember.state != MemberState.LEFT,
        )
    )
    peers = await peers_of(session, conversation.id)
    return {
        "origin": conversation.origin_id,
        "title": conversation.title,
        "members": sorted({*members, *(p.user_id for p in peers)}),
    }


async def tell_realms(
    session: AsyncSession, realm: str, conversation_id: int, kind: crossing.Kind, payload: dict[str, Any]
) -> None:
    """Send one delivery to each realm that has people in the group (none when all are of this realm)."""
    for target in sorted({p.realm for p in await peers_of(session, conversation_id)}):
        await crossing.send(session, source=realm, target=target, kind=kind, payload=payload)


async def tell_group(session: AsyncSession, realm: str, conversation: Conversation, by: int) -> None:
    """The group's people or title changed (by `by`, under whose name newcomers are added): every other
    realm's copy follows."""
    payload = {**await group_part(session, conversation), "by": by}
    await tell_realms(session, realm, conversation.id, crossing.Kind.GROUP, payload)


async def tell_left(session: AsyncSession, realm: str, conversation: Conversation, user_id: int) -> None:
    payload = {"origin": conversation.origin_id, "user_id": user_id}
    await tell_realms(session, realm, conversation.id, crossing.Kind.LEFT, payload)


async def send_message(
    session: AsyncSession, realm: str, conversation: Conversation, message_payload: dict[str, Any]
) -> None:
    payload = {**message_payload, "group": await group_part(session, conversation)}
    await tell_realms(session, realm, conversation.id, crossing.Kind.MESSAGE, payload)
