"""Sending: a message (or a shared video) into a conversation, also to someone of another realm, and taking
one back (unsend); `send_one` is the transaction shared by POST /conversations/{id}/messages and the live
connection's `send` frames (reelm.web.routes.live).

Each conversation numbers its events (see reelm.messages.models). A new number is taken under the
conversation's row lock, held until commit, so numbers are gap-free and commit in order; the NOTIFY
that tells the live hubs (reelm.live.events) goes out with the same commit. A message is therefore
accepted exactly when it is stored: a process killed before the commit loses a request, never a
message it answered for.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.models import User
from reelm.errors import Problem, not_found
from reelm.live.events import Event, EventType, publish
from reelm.messages import crossing, group_crossing, sending_sql
from reelm.messages.ciphers import BODY_COLUMN, CipherCache
from reelm.messages.conversations import listeners, members_of
from reelm.messages.messaging import Messaging
from reelm.messages.models import (
    Conversation,
    ConversationKind,
    ConversationMember,
    EventKind,
    MemberState,
    Message,
)
from reelm.messages.permissions import (
    blocked_problem,
    check_body,
    check_may_message,
    check_shared_video,
    public_person,
)
from reelm.messages.policy import MessagingSettings
from reelm.messages.reading import latest_from, messages_out
from reelm.messages.schemas import MessageIn, MessageOut
from reelm.notifications.models import NotificationKind
from reelm.notifications.service import do_notify
from reelm.ratelimit import RateLimiter
from reelm.runtime import Runtime
from reelm.safety.blocks import is_blocked_between
from reelm.text import invalid


def _next_seq(conversation: Conversation) -> int:
    """Number an event that is not a message (an unsend); the caller holds the row lock (access ...
    for_update). Messages take theirs in their own statement (reelm.messages.sending_sql)."""
    conversation.last_seq += 1
    return conversation.last_seq


async def find_retry(session: AsyncSession, sender_id: int, client_key: str | None) -> Message | None:
    if client_key is None:
        return None
    return await session.scalar(
        select(Message).where(Message.sender_id == sender_id, Message.client_key == client_key)
    )


async def do_send(
    session: AsyncSession,
    *,
    realm: str,
    realm_code: int,
    ciphers: CipherCache,
    policy: MessagingSettings,
    conversation_id: int,
    sender: User,
    body: str | None,
    video_id: int | None,
    client_key: str | None,
    now: datetime,
) -> Message:
    """Store one message: its number, the row, the sender's read mark and the notification.

    One statement in the usual case (reelm.messages.sending_sql), as a send is what the service does
    most; the rare cases (a request answered, a deleted direct conversation coming back, a block) take
    more. 404 for a non-member; a block in a direct conversation refuses, and the rollback takes back
    the message, its number and its notification. A `client_key` used before fails the statement
    (IntegrityError): the caller looks the message up.
    """
    cipher = await ciphers.get(session, realm, sender.id)
    if cipher is None:  # only an account being purged lacks a key, and it cannot log in
        raise Problem(409, "account-closing", "Account closing", "This account can no longer send messages.")
    message = Message(
        id=ids.new_id(realm_code),
        conversation_id=conversation_id,
        sender_id=sender.id,
        kind=EventKind.MESSAGE,
        key_owner_id=sender.id,
        body=cipher.seal(BODY_COLUMN, body) if body is not None else None,
        video_id=video_id,
        target_seq=None,
        client_key=client_key,
        created_at=now,
        unsent_at=None,
        refusal=None,
    )
    sent = await sending_sql.send(
        session,
        message_id=message.id,
        conversation_id=conversation_id,
        sender_id=sender.id,
        body=message.body,
        video_id=video_id,
        client_key=client_key,
        now=now,
    )
    if sent is None:
        raise not_found("Conversation")
    message.seq = sent.seq
    if sent.kind == ConversationKind.DIRECT and (sent.blocked or sent.someone_left):
        await _reopen_direct(session, policy, conversation_id, sender, now)
    if sent.peer_id is not None:
        await _send_to_peer(session, realm, sender, sent.peer_id, message, body)
    elif sent.has_peers:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None  # the send statement locked it
        payload = crossing.message_payload(
            message_id=message.id,
            sender_id=sender.id,
            recipient_id=None,
            body=body,
            video_id=message.video_id,
            created_at=message.created_at,
            read_through=None,
        )
        await group_crossing.send_message(session, realm, conversation, payload)
    if sent.sender_state == MemberState.REQUEST:  # replying to a request accepts it
        await session.execute(
            update(ConversationMember)
            .where(
                ConversationMember.conversation_id == conversation_id, ConversationMember.user_id == sender.id
            )
            .values(state=MemberState.ACCEPTED)
        )
    return message


async def _send_to_peer(
    session: AsyncSession, realm: str, sender: User, peer_id: int, message: Message, body: str | None
) -> None:
    """The message crosses to the peer's realm with this transaction (their copy is sealed there)."""
    found = await public_person(session, peer_id)
    if found is None:  # deleted, suspended, or moved away
        raise Problem(403, "unavailable", "You can't message this account", "This account is not available.")
    peer, peer_realm = found
    if await is_blocked_between(session, sender.id, peer_id):
        raise blocked_problem(peer)
    payload = crossing.message_payload(
        message_id=message.id,
        sender_id=sender.id,
        recipient_id=peer_id,
        body=body,
        video_id=message.video_id,
        created_at=message.created_at,
        # What one sends, one has read: the peer's copy moves its read mark for the sender too.
        read_through=await latest_from(session, message.conversation_id, peer_id, message.seq),
    )
    await crossing.send(session, source=realm, target=peer_realm, kind=crossing.Kind.MESSAGE, payload=payload)


async def _reopen_direct(
    session: AsyncSession, policy: MessagingSettings, conversation_id: int, sender: User, now: datetime
) -> None:
    """A direct conversation's rare cases: a block refuses (the caller's transaction rolls the message
    back); one who deleted the conversation gets it back, in their inbox or requests as a new one would
    land, and is told to reload it (the message's own notification went to the members before)."""
    returning = []
    for other in await members_of(session, conversation_id):
        if other.user_id == sender.id:
            continue
        recipient = await session.get(User, other.user_id)
        assert recipient is not None  # a member's user row goes with the membership (cascade)
        if other.state == MemberState.LEFT:
            other.state = await check_may_message(session, policy, sender, recipient, now)
            returning.append(other.user_id)
            if other.state == MemberState.REQUEST:
                await do_notify(
                    session,
                    recipient_id=other.user_id,
                    kind=NotificationKind.MESSAGE_REQUEST,
                    actor_id=sender.id,
                    object_id=conversation_id,
                )
        elif await is_blocked_between(session, sender.id, other.user_id):
            raise blocked_problem(recipient)
    await publish(session, Event(EventType.CONVERSATION, tuple(returning), conversation_id=conversation_id))


async def do_unsend(
    session: AsyncSession,
    *,
    realm: str,
    realm_code: int,
    conversation: Conversation,
    sender: User,
    message: Message,
    now: datetime,
) -> Message:
    """Take a message back for everyone: its content is erased, and an unsend event tells every client
    (and the peer's realm, whose copy is erased too)."""
    if message.sender_id != sender.id:
        raise Problem(403, "forbidden", "Not allowed", "Only the sender can unsend a message.")
    if message.kind != EventKind.MESSAGE:
        raise invalid("message_id", "only a message can be unsent")
    if message.unsent_at is not None:
        existing = await session.scalar(
            select(Message).where(
                Message.conversation_id == conversation.id,
                Message.kind == EventKind.UNSEND,
                Message.target_seq == message.seq,
            )
        )
        if existing is not None:  # unsending twice is one unsend
            return existing
    return await take_back(session, realm, realm_code, conversation, message, now)


async def take_back(
    session: AsyncSession,
    realm: str,
    realm_code: int,
    conversation: Conversation,
    message: Message,
    now: datetime,
) -> Message:
    """Erase a message in this copy and in the peer's realm (an unsend, or a removal by content review);
    the caller holds the conversation's lock. Returns the unsend event."""
    event = await record_unsend(session, realm_code, conversation, message, now)
    payload = {"message_id": message.id, "sender_id": message.sender_id}
    if conversation.kind == ConversationKind.GROUP:
        await group_crossing.tell_realms(session, realm, conversation.id, crossing.Kind.UNSEND, payload)
        return event
    found = await public_person(session, conversation.peer_id) if conversation.peer_id is not None else None
    if found is not None and message.refusal is None:
        await crossing.send(
            session, source=realm, target=found[1], kind=crossing.Kind.UNSEND, payload=payload
        )
    return event


async def record_unsend(
    session: AsyncSession, realm_code: int, conversation: Conversation, message: Message, now: datetime
) -> Message:
    """Erase a message and number the event that says so; the caller holds the conversation's lock."""
    message.body = None
    message.video_id = None
    message.unsent_at = now
    seq = _next_seq(conversation)
    event = Message(
        id=ids.new_id(realm_code),
        conversation_id=conversation.id,
        seq=seq,
        sender_id=message.sender_id,
        key_owner_id=message.key_owner_id,
        kind=EventKind.UNSEND,
        body=None,
        video_id=None,
        target_seq=message.seq,
        client_key=None,
        created_at=now,
    )
    session.add(event)
    members = await members_of(session, conversation.id)
    await publish(
        session,
        Event(
            EventType.MESSAGE,
            listeners(members),
            conversation_id=conversation.id,
            seq=seq,
            message_id=event.id,
        ),
    )
    return event


async def access_message(session: AsyncSession, conversation: Conversation, message_id: int) -> Message:
    message = await session.get(Message, message_id)
    if message is None or message.conversation_id != conversation.id:
        raise not_found("Message")
    return message


def conflict() -> Problem:
    return Problem(409, "conflict", "Changed meanwhile", "Something changed at the same moment; try again.")


def video_id_of(text: str | None) -> int | None:
    if text is None:
        return None
    parsed = ids.parse_id(text)
    if parsed is None:
        raise invalid("video_id", "no such public video")
    return parsed


async def send_one(
    runtime: Runtime,
    messaging: Messaging,
    limiter: RateLimiter,
    realm: str,
    me: User,
    conversation_id: int,
    body: MessageIn,
) -> tuple[MessageOut, bool]:
    """One message in one transaction; (the message, whether it is new). Shared by the API and the live
    connection's `send` frames; the caller has checked the realm's `message` switch."""
    video_id = video_id_of(body.video_id)
    text = check_body(body.body, video_id)
    limiter.hit("message", str(me.id), limit=messaging.policy.messages_per_minute, per_seconds=60)
    try:
        async with runtime.databases.transaction(realm) as session:
            if video_id is not None:
                await check_shared_video(session, video_id)
            message = await do_send(
                session,
                realm=realm,
                realm_code=runtime.settings.realm(realm).code,
                ciphers=messaging.ciphers,
                policy=messaging.policy,
                conversation_id=conversation_id,
                sender=me,
                body=text,
                video_id=video_id,
                client_key=body.client_key,
                now=datetime.now(UTC),
            )
            (out,) = await messages_out(session, realm, messaging.ciphers, [message], known=[me])
            # Before the commit, whose notification may be heard at once: this process's hub then
            # delivers the message without reading it back (other processes read it).
            messaging.hub.remember(out)
    except IntegrityError as exc:  # its client key was used before: most likely a retry of a stored send
        retried = await _stored_before(runtime, messaging, realm, me, conversation_id, body.client_key)
        if retried is None:
            raise conflict() from exc
        return retried, False
    return out, True


async def _stored_before(
    runtime: Runtime, messaging: Messaging, realm: str, me: User, conversation_id: int, client_key: str | None
) -> MessageOut | None:
    """The message a retried send stored the first time (its answer was lost on the way)."""
    async with runtime.databases.read(realm) as session:
        stored = await find_retry(session, me.id, client_key)
        if stored is None:
            return None
        if stored.conversation_id != conversation_id:
            raise invalid("client_key", "already used for another conversation")
        (out,) = await messages_out(session, realm, messaging.ciphers, [stored], known=[me])
    return out
