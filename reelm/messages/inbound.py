"""Taking in what another realm delivers about a conversation: the receiving half of messages across realms.

Runs in the recipient's realm, in the worker's transaction for one delivery (reelm.crossrealm.deliveries),
so whatever a handler writes commits together with the delivery's removal: exactly once. The rules of
the recipient's realm apply here, where its data is: a first message from someone of another realm
lands in the inbox or the requests folder as a local one would, and a block, closed messages or a
sender's account that is too new refuse it; the refusal goes back to the sender's copy, which shows it.
A message is sealed under the recipient's own key: this copy is theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import User
from reelm.crossrealm.deliveries import Handler, Inbound
from reelm.errors import Problem
from reelm.live.events import Event, EventType, publish
from reelm.messages import conversations, crossing, permissions, sending
from reelm.messages.arrivals import record_arrival
from reelm.messages.ciphers import CipherCache
from reelm.messages.group_inbound import GroupTaking
from reelm.messages.models import (
    Conversation,
    ConversationKind,
    ConversationMember,
    ConversationPeer,
    EventKind,
    MemberState,
    Message,
)
from reelm.messages.policy import MAX_BODY_CHARS, MessagingSettings
from reelm.notifications.models import NotificationActor, NotificationKind
from reelm.notifications.service import do_notify
from reelm.runtime import Runtime
from reelm.safety.blocks import is_blocked_between

# Why a message was not taken in; shown to its sender. The first three are check_may_message's types.
REFUSALS = {"blocked", "messages-closed", "account-too-new", "unavailable"}


def handlers(runtime: Runtime, policy: MessagingSettings | None = None) -> Mapping[str, Handler]:
    """The handlers of every conversation delivery kind, for one realm's worker."""
    taking = _Taking(runtime, policy or MessagingSettings(), CipherCache(runtime.keys))
    return {
        crossing.Kind.MESSAGE: taking.message,
        crossing.Kind.UNSEND: taking.unsend,
        crossing.Kind.READ: taking.read,
        crossing.Kind.REFUSED: taking.refused,
        crossing.Kind.FORGET: taking.forget,
        crossing.Kind.GROUP: taking.groups.group,
        crossing.Kind.LEFT: taking.groups.left,
    }


class _Taking:
    def __init__(self, runtime: Runtime, policy: MessagingSettings, ciphers: CipherCache) -> None:
        self.runtime = runtime
        self.policy = policy
        self.ciphers = ciphers
        self.groups = GroupTaking(runtime, policy, ciphers)

    def _code(self, realm: str) -> int:
        return self.runtime.settings.realm(realm).code

    async def message(self, session: AsyncSession, inbound: Inbound) -> None:
        p = inbound.payload
        message_id, sender_id = int(p["id"]), int(p["sender_id"])
        body = p.get("body")
        if (body is not None and not isinstance(body, str)) or len(body or "") > MAX_BODY_CHARS:
            raise ValueError(f"message {message_id}: malformed body")
        if await session.get(Message, message_id) is not None:
            return  # taken in before
        found = await permissions.public_person(session, sender_id)
        if found is None or found[1] != inbound.source:
            return  # the sender is not (or no longer) a public user of that realm: nobody to deliver from
        sender, _ = found
        if "group" in p:
            await self.groups.message(session, inbound, sender)
            return
        recipient = await session.get(User, int(p["recipient_id"]))
        if recipient is None or recipient.deletion_due_at is not None:
            await _refuse(session, inbound, message_id, sender_id, "unavailable")
            return
        now = datetime.now(UTC)
        try:
            conversation = await self._conversation(session, inbound.realm, sender, recipient, now)
        except Problem as refused:
            await _refuse(session, inbound, message_id, sender_id, refused.type)
            return
        cipher = await self.ciphers.get(session, inbound.realm, recipient.id)
        if cipher is None:
            await _refuse(session, inbound, message_id, sender_id, "unavailable")
            return
        await record_arrival(session, conversation, p, cipher, key_owner_id=recipient.id, now=now)
        if p.get("read_through") is not None:
            await _peer_read(session, conversation, sender.id, int(p["read_through"]))

    async def _conversation(
        self, session: AsyncSession, realm: str, sender: permissions.Person, recipient: User, now: datetime
    ) -> Conversation:
        """The recipient's copy of the direct conversation, locked; made (or re-joined) under the rules of
        this realm. A Problem says why the message is refused."""
        pair = conversations.direct_pair(sender.id, recipient.id)
        conversation = await session.scalar(
            select(Conversation).where(Conversation.direct_pair == pair).with_for_update()
        )
        member = (
            await session.get(ConversationMember, (conversation.id, recipient.id))
            if conversation is not None
            else None
        )
        if conversation is not None and member is not None and member.state != MemberState.LEFT:
            if await is_blocked_between(session, sender.id, recipient.id):
                raise Problem(403, "blocked", "Blocked")
            return conversation
        state = await permissions.check_may_message(session, self.policy, sender, recipient, now)
        if conversation is None:
            conversation = conversations.new_conversation(
                self._code(realm), ConversationKind.DIRECT, recipient.id, pair, now, sender.id
            )
            session.add(conversation)
            # The conversation needs its row before its member refers to it.
            await session.flush()
        if member is None:
            session.add(conversations.member_row(conversation.id, recipient.id, state, now))
        else:  # they had deleted it: it comes back as a new one would land
            member.state = state
        # The member row must be stored before the notice and the live NOTIFY that point to it.
        await session.flush()
        if state == MemberState.REQUEST:
            await do_notify(
                session,
                recipient_id=recipient.id,
                kind=NotificationKind.MESSAGE_REQUEST,
                actor_id=sender.id,
                object_id=conversation.id,
            )
        await publish(
            session, Event(EventType.CONVERSATION, (recipient.id,), conversation_id=conversation.id)
        )
        return conversation

    async def unsend(self, session: AsyncSession, inbound: Inbound) -> None:
        message = await _peer_message(session, inbound)
        if message is None or message.unsent_at is not None:
            return
        conversation = await session.get(Conversation, message.conversation_id, with_for_update=True)
        if conversation is not None:
            await sending.record_unsend(
                session, self._code(inbound.realm), conversation, message, datetime.now(UTC)
            )

    async def read(self, session: AsyncSession, inbound: Inbound) -> None:
        """The peer read up to a message: this copy's read mark for them moves (never back)."""
        message = await session.get(Message, int(inbound.payload["message_id"]))
        if message is None:
            return  # expired or deleted here since
        conversation = await session.get(Conversation, message.conversation_id, with_for_update=True)
        if conversation is not None and conversation.kind == ConversationKind.GROUP:
            await self.groups.read(session, inbound, conversation, message)
        elif conversation is not None:
            await _peer_read(session, conversation, int(inbound.payload["reader_id"]), message.id)

    async def refused(self, session: AsyncSession, inbound: Inbound) -> None:
        """The recipient's realm refused one of our messages: the sender's copy says so."""
        reason = str(inbound.payload["reason"])
        message = await session.get(Message, int(inbound.payload["message_id"]))
        if message is None or message.sender_id != int(inbound.payload["sender_id"]):
            return
        message.refusal = reason if reason in REFUSALS else "unavailable"
        await publish(
            session,
            Event(
                EventType.REFUSED,
                (message.sender_id,),
                conversation_id=message.conversation_id,
                seq=message.seq,
                message_id=message.id,
            ),
        )

    async def forget(self, session: AsyncSession, inbound: Inbound) -> None:
        """An account of the sending realm was purged: what its person said and did here goes too."""
        user_id = int(inbound.payload["user_id"])
        if self.runtime.settings.realm_of_id(user_id) != inbound.source:
            raise ValueError(f"realm {inbound.source} may not speak for user {user_id}")
        await session.execute(delete(Message).where(Message.sender_id == user_id))
        await session.execute(delete(NotificationActor).where(NotificationActor.actor_id == user_id))
        await session.execute(delete(ConversationPeer).where(ConversationPeer.user_id == user_id))


async def _peer_message(session: AsyncSession, inbound: Inbound) -> Message | None:
    """The message a delivery names, if its sender is who the delivery says (a realm speaks for its own)."""
    message = await session.get(Message, int(inbound.payload["message_id"]))
    sender_id = int(inbound.payload["sender_id"])
    if message is None or message.sender_id != sender_id or message.kind != EventKind.MESSAGE:
        return None
    return message


async def _peer_read(
    session: AsyncSession, conversation: Conversation, reader_id: int, message_id: int
) -> None:
    """The peer has read through a message (of this copy): their read mark here moves, never back."""
    message = await session.get(Message, message_id)
    if (
        message is None
        or message.conversation_id != conversation.id
        or conversation.peer_id != reader_id
        or message.seq <= conversation.peer_read_seq
    ):
        return
    conversation.peer_read_seq = message.seq
    members = await conversations.members_of(session, conversation.id)
    await publish(
        session,
        Event(
            EventType.READ,
            conversations.listeners(members),
            conversation_id=conversation.id,
            seq=message.seq,
            actor_id=reader_id,
        ),
    )


async def _refuse(
    session: AsyncSession, inbound: Inbound, message_id: int, sender_id: int, reason: str
) -> None:
    payload = {"message_id": message_id, "sender_id": sender_id, "reason": reason}
    await crossing.send(
        session, source=inbound.realm, target=inbound.source, kind=crossing.Kind.REFUSED, payload=payload
    )
