"""Conversations and messages: who may message whom, sending, reading and unsending (the inbox is
reelm.messages.inbox).

Each conversation numbers its events (see reelm.messages.models). A new number is taken under the
conversation's row lock, held until commit, so numbers are gap-free and commit in order; the NOTIFY
that tells the live hubs (reelm.live.events) goes out with the same commit. A message is therefore
accepted exactly when it is stored: a process killed before the commit loses a request, never a
message it answered for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, and_, delete, exists, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.models import User
from reelm.crossrealm.views import public_profiles, public_videos
from reelm.crypto.keys import KeyDestroyedError, RealmKeys
from reelm.crypto.service import user_cipher
from reelm.errors import Problem, not_found
from reelm.live.events import Event, EventType, publish
from reelm.messages import crossing, group_crossing, sending_sql
from reelm.messages.ciphers import BODY_COLUMN, CipherCache
from reelm.messages.models import (
    AllowFrom,
    Conversation,
    ConversationKind,
    ConversationMember,
    EventKind,
    HiddenMessage,
    MemberState,
    Message,
    MessageSettings,
)
from reelm.messages.policy import MAX_BODY_CHARS, MAX_MEMBERS, MAX_TITLE_CHARS, MessagingSettings
from reelm.messages.schemas import MessageOut
from reelm.notifications.models import NotificationKind
from reelm.notifications.service import do_notify, people_out
from reelm.safety.blocks import is_blocked_between
from reelm.social.models import Follow
from reelm.text import clean_text, invalid
from reelm.videos.schemas import Creator
from reelm.videos.service import creator_out

UNREADABLE = "This message can no longer be read."  # the sender's key was shredded


class Someone(Protocol):
    """A person taking part: a user row of this realm, or a Person of another realm (their profile)."""

    @property
    def id(self) -> int: ...
    @property
    def handle(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


@dataclass(frozen=True)
class Person:
    """Someone of another realm, as their public profile describes them."""

    id: int
    handle: str
    created_at: datetime


async def public_person(session: AsyncSession, user_id: int) -> tuple[Person, str] | None:
    """Someone of another realm and their realm, while their profile is public (as this realm heard)."""
    row = (await session.execute(select(public_profiles).where(public_profiles.c.id == user_id))).first()
    return (Person(row.id, row.handle, row.created_at), row.realm) if row is not None else None


# --- who may message whom -----------------------------------------------------------------------------


async def follows(session: AsyncSession, follower_id: int, followee_id: int) -> bool:
    found = await session.scalar(
        select(Follow.follower_id).where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
    )
    return found is not None


async def allow_from(session: AsyncSession, user_id: int) -> AllowFrom:
    value = await session.scalar(select(MessageSettings.allow_from).where(MessageSettings.user_id == user_id))
    return AllowFrom(value) if value is not None else AllowFrom.EVERYONE


def _refused(type_: str, title: str, detail: str) -> Problem:
    return Problem(403, type_, title, detail)


def _blocked(recipient: Someone) -> Problem:
    return _refused("blocked", "You can't message this account", f"@{recipient.handle} can't be messaged.")


async def check_may_message(
    session: AsyncSession, policy: MessagingSettings, sender: Someone, recipient: User, now: datetime
) -> MemberState:
    """Where a conversation from `sender` lands for `recipient`: their inbox or their requests; or 403.

    A block either way refuses without saying who blocked whom. People the recipient follows reach the
    inbox; others reach the requests folder, unless the recipient allows only people they follow, or
    nobody; and an account younger than the policy's minimum age cannot send requests at all.
    """
    if recipient.id == sender.id:
        raise invalid("handles", "you cannot start a conversation with yourself")
    if await is_blocked_between(session, sender.id, recipient.id):
        raise _blocked(recipient)
    setting = await allow_from(session, recipient.id)
    if setting is AllowFrom.NOBODY:
        raise _refused(
            "messages-closed", "Not accepting messages", f"@{recipient.handle} does not accept messages."
        )
    if await follows(session, recipient.id, sender.id):
        return MemberState.ACCEPTED
    if setting is AllowFrom.FOLLOWING:
        raise _refused(
            "messages-closed",
            "Not accepting messages",
            f"@{recipient.handle} accepts messages only from people they follow.",
        )
    if now - sender.created_at < timedelta(hours=policy.min_account_age_hours):
        raise _refused(
            "account-too-new",
            "Your account is too new",
            f"New accounts can message only people who follow them for the first "
            f"{policy.min_account_age_hours:g} hours.",
        )
    return MemberState.REQUEST


def check_body(body: str, video_id: int | None) -> str | None:
    """The message text, cleaned; None when the message only shares a video. 422 for nothing at all."""
    text = clean_text("body", body, max_len=MAX_BODY_CHARS)
    if not text and video_id is None:
        raise invalid("body", "write something or share a video")
    return text or None


async def check_shared_video(session: AsyncSession, video_id: int) -> None:
    """Only what every member can watch may be shared: a public, published video of any realm."""
    found = await session.scalar(select(public_videos.c.id).where(public_videos.c.id == video_id))
    if found is None:
        raise invalid("video_id", "no such public video")


# --- conversations ------------------------------------------------------------------------------------


def direct_pair(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


async def access_conversation(
    session: AsyncSession, user_id: int, conversation_id: int, *, for_update: bool = False
) -> tuple[Conversation, ConversationMember]:
    """The conversation and the viewer's membership; 404 for anyone not in it (nor still in it).

    `for_update` locks both rows until commit: the conversation's, because new event numbers are taken
    under it, and the member's, so that what this transaction reads of it stays true (one query, as a
    send is the hottest path there is).
    """
    query = (
        select(Conversation, ConversationMember)
        .join(
            ConversationMember,
            and_(
                ConversationMember.conversation_id == Conversation.id, ConversationMember.user_id == user_id
            ),
        )
        .where(Conversation.id == conversation_id)
    )
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None or row[1].state == MemberState.LEFT:
        raise not_found("Conversation")
    return row[0], row[1]


async def members_of(session: AsyncSession, conversation_id: int) -> list[ConversationMember]:
    rows = await session.scalars(
        select(ConversationMember)
        .where(ConversationMember.conversation_id == conversation_id)
        .order_by(ConversationMember.joined_at, ConversationMember.user_id)
    )
    return list(rows)


def listeners(members: Sequence[ConversationMember]) -> tuple[int, ...]:
    """Whose connections hear a conversation's events: everyone who has not left it."""
    return tuple(sorted(m.user_id for m in members if m.state != MemberState.LEFT))


async def people_named(
    session: AsyncSession, realm: str, recipients: list[tuple[int, str]]
) -> tuple[list[User], list[tuple[Person, str]]]:
    """The recipients of this realm (their rows) and of other realms (their public profiles); 404 for
    someone not found (or not public, as this realm has heard)."""
    local, foreign = [], []
    for user_id, home in recipients:
        if home == realm:
            user = await session.get(User, user_id)
            if user is None:
                raise not_found("User")
            local.append(user)
        else:
            found = await public_person(session, user_id)
            if found is None:
                raise not_found("User")
            foreign.append(found)
    return local, foreign


@dataclass
class Started:
    conversation: Conversation
    created: bool


async def do_start_conversation(
    session: AsyncSession,
    *,
    realm_code: int,
    policy: MessagingSettings,
    sender: User,
    recipients: Sequence[User],
    now: datetime,
    realm: str,
    foreign: Sequence[tuple[Person, str]] = (),
) -> Started:
    """Open a conversation (a direct one is reused); recipients who do not follow the sender get a request.

    `foreign` people (with their realm) make it a group across realms: their realms decide, when the
    group reaches them, where it lands for them (reelm.messages.inbound).
    """
    unique = {r.id: r for r in recipients}
    if sender.id in unique or any(person.id == sender.id for person, _ in foreign):
        raise invalid("handles", "you cannot start a conversation with yourself")
    pair, kind = None, ConversationKind.GROUP
    if len(unique) == 1 and not foreign:
        (recipient,) = unique.values()
        pair, kind = direct_pair(sender.id, recipient.id), ConversationKind.DIRECT
        existing = await _reuse_direct(session, pair, sender, recipient)
        if existing is not None:
            return Started(existing, created=False)
    for person, _ in foreign:
        if await is_blocked_between(session, sender.id, person.id):
            raise _blocked(person)
    states = {r.id: await check_may_message(session, policy, sender, r, now) for r in unique.values()}
    conversation = new_conversation(realm_code, kind, sender.id, pair, now)
    if kind == ConversationKind.GROUP:
        conversation.origin_id = conversation.id  # the group's name in every realm it may reach
    session.add(conversation)
    # The conversation row must exist before its members refer to it; a concurrent start of the same
    # direct pair fails here on the unique pair and the client's retry finds the conversation.
    await session.flush()
    session.add(member_row(conversation.id, sender.id, MemberState.ACCEPTED, now))
    for user_id, state in states.items():
        session.add(member_row(conversation.id, user_id, state, now))
    for person, person_realm in foreign:
        group_crossing.add_peer(session, conversation.id, person.id, person_realm, now)
    await session.flush()
    if foreign:
        await group_crossing.tell_group(session, realm, conversation, sender.id)
    for user_id, state in states.items():
        if state == MemberState.REQUEST:
            await do_notify(
                session,
                recipient_id=user_id,
                kind=NotificationKind.MESSAGE_REQUEST,
                actor_id=sender.id,
                object_id=conversation.id,
            )
    await publish(
        session,
        Event(EventType.CONVERSATION, tuple(sorted({sender.id, *states})), conversation_id=conversation.id),
    )
    return Started(conversation, created=True)


async def _reuse_direct(
    session: AsyncSession, pair: str, sender: User, recipient: User
) -> Conversation | None:
    """The pair's direct conversation, locked, if they talked before: only a block stands in the way."""
    existing = await session.scalar(
        select(Conversation).where(Conversation.direct_pair == pair).with_for_update()
    )
    if existing is not None:
        if await is_blocked_between(session, sender.id, recipient.id):
            raise _blocked(recipient)
        await _rejoin(session, existing.id, sender.id, MemberState.ACCEPTED)
    return existing


async def do_start(
    session: AsyncSession,
    *,
    realm: str,
    realm_code: int,
    policy: MessagingSettings,
    sender: User,
    recipients: list[tuple[int, str]],
    now: datetime,
) -> Started:
    """Start (or reopen) a conversation with people named by (user id, home realm): one person of another
    realm makes a direct conversation across realms, anything else one of this realm, maybe with peers."""
    local, foreign = await people_named(session, realm, recipients)
    if not local and len(foreign) == 1:
        return await do_start_with_peer(
            session, realm_code=realm_code, sender=sender, peer=foreign[0][0], now=now
        )
    return await do_start_conversation(
        session,
        realm_code=realm_code,
        policy=policy,
        sender=sender,
        recipients=local,
        now=now,
        realm=realm,
        foreign=foreign,
    )


def new_conversation(
    realm_code: int,
    kind: ConversationKind,
    created_by: int,
    pair: str | None,
    now: datetime,
    peer_id: int | None = None,
) -> Conversation:
    return Conversation(
        id=ids.new_id(realm_code),
        kind=kind,
        created_by_id=created_by,
        direct_pair=pair,
        created_at=now,
        last_seq=0,
        last_message_seq=0,
        last_message_at=now,
        peer_id=peer_id,
        peer_read_seq=0,
    )


async def do_start_with_peer(
    session: AsyncSession, *, realm_code: int, sender: User, peer: Person, now: datetime
) -> Started:
    """This realm's copy of a direct conversation with someone of another realm (reused if it exists).

    Only what this realm knows is checked here (a block by the sender); whether it lands in the peer's
    inbox or requests, or is refused, their realm decides when the first message arrives
    (reelm.messages.inbound), and a refusal comes back to the message.
    """
    pair = direct_pair(sender.id, peer.id)
    existing = await session.scalar(
        select(Conversation).where(Conversation.direct_pair == pair).with_for_update()
    )
    if await is_blocked_between(session, sender.id, peer.id):
        raise _blocked(peer)
    if existing is not None:
        await _rejoin(session, existing.id, sender.id, MemberState.ACCEPTED)
        return Started(existing, created=False)
    conversation = new_conversation(realm_code, ConversationKind.DIRECT, sender.id, pair, now, peer.id)
    session.add(conversation)
    await session.flush()
    session.add(member_row(conversation.id, sender.id, MemberState.ACCEPTED, now))
    await session.flush()
    await publish(session, Event(EventType.CONVERSATION, (sender.id,), conversation_id=conversation.id))
    return Started(conversation, created=True)


def member_row(conversation_id: int, user_id: int, state: MemberState, now: datetime) -> ConversationMember:
    return ConversationMember(
        conversation_id=conversation_id,
        user_id=user_id,
        state=state,
        joined_at=now,
        last_read_seq=0,
        cleared_seq=0,
        muted=False,
    )


async def _rejoin(session: AsyncSession, conversation_id: int, user_id: int, state: MemberState) -> None:
    """A direct conversation someone deleted comes back to them (history they cleared stays cleared)."""
    await session.execute(
        update(ConversationMember)
        .where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.user_id == user_id,
            ConversationMember.state == MemberState.LEFT,
        )
        .values(state=state)
    )


async def do_accept(session: AsyncSession, conversation: Conversation, member: ConversationMember) -> None:
    if member.state != MemberState.REQUEST:
        return
    member.state = MemberState.ACCEPTED
    await publish(session, Event(EventType.CONVERSATION, (member.user_id,), conversation_id=conversation.id))


async def do_leave(
    session: AsyncSession, realm: str, conversation: Conversation, member: ConversationMember
) -> None:
    """Delete a conversation for oneself: its history is cleared for this member and it leaves the inbox.

    A direct conversation comes back with the next message; a group is left for good.
    """
    member.state = MemberState.LEFT
    member.cleared_seq = conversation.last_seq
    member.last_read_seq = conversation.last_seq
    if conversation.kind == ConversationKind.GROUP:
        await group_crossing.tell_left(session, realm, conversation, member.user_id)
    members = await members_of(session, conversation.id)
    await publish(
        session,
        Event(EventType.CONVERSATION, (*listeners(members), member.user_id), conversation_id=conversation.id),
    )


def _check_group(conversation: Conversation, field: str) -> None:
    if conversation.kind != ConversationKind.GROUP:
        raise invalid(field, "only a group can be renamed or get new people")


async def do_rename(
    session: AsyncSession, realm: str, conversation: Conversation, by: int, title: str
) -> None:
    """Any member may name a group (an empty title removes the name); everyone in it sees the change."""
    _check_group(conversation, "title")
    conversation.title = clean_text("title", title, max_len=MAX_TITLE_CHARS) or None
    await group_crossing.tell_group(session, realm, conversation, by)
    members = await members_of(session, conversation.id)
    await publish(session, Event(EventType.CONVERSATION, listeners(members), conversation_id=conversation.id))


async def do_add_members(
    session: AsyncSession,
    *,
    realm: str,
    policy: MessagingSettings,
    conversation: Conversation,
    adder: User,
    people: Sequence[User],
    now: datetime,
    foreign: Sequence[tuple[Person, str]] = (),
) -> None:
    """Add people to a group (the caller holds its lock). Each of this realm lands as a conversation
    started by the adder would (inbox, requests or refused); people of other realms land as their realm
    decides when the group reaches it. Newcomers see only what is said from now on."""
    _check_group(conversation, "handles")
    members = {m.user_id: m for m in await members_of(session, conversation.id)}
    peers = {p.user_id for p in await group_crossing.peers_of(session, conversation.id)}
    present = {user_id for user_id, m in members.items() if m.state != MemberState.LEFT} | peers
    joining = [p for p in {p.id: p for p in people}.values() if p.id not in present]
    arriving = [(p, r) for p, r in {p.id: (p, r) for p, r in foreign}.values() if p.id not in present]
    if len(present) + len(joining) + len(arriving) > MAX_MEMBERS:
        raise invalid("handles", f"a group has at most {MAX_MEMBERS} people")
    for person in joining:
        await join(session, policy, conversation, members.get(person.id), adder, person, now)
    for someone, someone_realm in arriving:
        if await is_blocked_between(session, adder.id, someone.id):
            raise _blocked(someone)
        group_crossing.add_peer(session, conversation.id, someone.id, someone_realm, now)
    await session.flush()
    if arriving or peers:
        await group_crossing.tell_group(session, realm, conversation, adder.id)
    everyone = tuple(sorted((present - peers) | {p.id for p in joining}))
    await publish(session, Event(EventType.CONVERSATION, everyone, conversation_id=conversation.id))


async def join(
    session: AsyncSession,
    policy: MessagingSettings,
    conversation: Conversation,
    member: ConversationMember | None,
    adder: Someone,
    person: User,
    now: datetime,
) -> ConversationMember:
    """Make `person` a member of a group from now on (a Problem when the rules refuse it): their inbox or
    requests, as a conversation started by `adder` would land; earlier history stays with those there."""
    state = await check_may_message(session, policy, adder, person, now)
    if member is None:
        member = member_row(conversation.id, person.id, state, now)
        session.add(member)
    member.state, member.joined_at = state, now
    member.cleared_seq = member.last_read_seq = conversation.last_seq
    if state == MemberState.REQUEST:
        await do_notify(
            session,
            recipient_id=person.id,
            kind=NotificationKind.MESSAGE_REQUEST,
            actor_id=adder.id,
            object_id=conversation.id,
        )
    return member


# --- messages -----------------------------------------------------------------------------------------


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
        raise _blocked(peer)
    payload = crossing.message_payload(
        message_id=message.id,
        sender_id=sender.id,
        recipient_id=peer_id,
        body=body,
        video_id=message.video_id,
        created_at=message.created_at,
        # What one sends, one has read: the peer's copy moves its read mark for the sender too.
        read_through=await _latest_from(session, message.conversation_id, peer_id, message.seq),
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
            raise _blocked(recipient)
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


async def _latest_from(session: AsyncSession, conversation_id: int, sender_id: int, seq: int) -> int | None:
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
    latest = await _latest_from(session, conversation.id, conversation.peer_id, seq)
    found = await public_person(session, conversation.peer_id)
    if latest is None or found is None:
        return
    payload = {"reader_id": member.user_id, "message_id": latest}
    await crossing.send(session, source=realm, target=found[1], kind=crossing.Kind.READ, payload=payload)


# --- reading ------------------------------------------------------------------------------------------


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


# --- settings ------------------------------------------------------------------------------


async def do_set_allow_from(session: AsyncSession, user_id: int, value: AllowFrom, now: datetime) -> None:
    await session.execute(
        insert(MessageSettings)
        .values(user_id=user_id, allow_from=value, updated_at=now)
        .on_conflict_do_update(
            index_elements=[MessageSettings.user_id], set_={"allow_from": value, "updated_at": now}
        )
    )


# --- retention -----------------------------------------------------------------------------------------


async def do_expire_messages(session: AsyncSession, *, older_than: datetime, limit: int) -> int:
    """Delete up to `limit` messages (and unsend events) created before `older_than`; how many went.

    Numbers are never reused, so a client holding an expired number simply receives what is left.
    """
    doomed = select(Message.id).where(Message.created_at < older_than).limit(limit).scalar_subquery()
    deleted = await session.execute(delete(Message).where(Message.id.in_(doomed)).returning(Message.id))
    return len(deleted.all())


async def message_text(session: AsyncSession, keys: RealmKeys, message: Message) -> str | None:
    """One message's text, read without the cipher cache (a reviewer's one-off look at a reported message)."""
    if message.body is None:
        return None
    try:
        cipher = await user_cipher(session, keys, sealed_by(message))
    except KeyDestroyedError:
        return UNREADABLE
    return cipher.open(BODY_COLUMN, message.body)
