"""Conversations: starting one (direct or group, also with someone of another realm), joining, accepting,
leaving, renaming and adding people; and `access_conversation`, the one way to the conversation a viewer may
act on.

Each conversation numbers its events (see reelm.messages.models). A new number is taken under the
conversation's row lock, held until commit, so numbers are gap-free and commit in order; the NOTIFY
that tells the live hubs (reelm.live.events) goes out with the same commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.models import User
from reelm.errors import not_found
from reelm.live.events import Event, EventType, publish
from reelm.messages import group_crossing
from reelm.messages.models import (
    Conversation,
    ConversationKind,
    ConversationMember,
    MemberState,
)
from reelm.messages.permissions import Person, Someone, blocked_problem, check_may_message, public_person
from reelm.messages.policy import MAX_MEMBERS, MAX_TITLE_CHARS, MessagingSettings
from reelm.notifications.models import NotificationKind
from reelm.notifications.service import do_notify
from reelm.safety.blocks import is_blocked_between
from reelm.text import clean_text, invalid


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
            raise blocked_problem(person)
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
    # Members and peers must be in their tables before tell_group reads who the group reaches.
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
            raise blocked_problem(recipient)
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
        raise blocked_problem(peer)
    if existing is not None:
        await _rejoin(session, existing.id, sender.id, MemberState.ACCEPTED)
        return Started(existing, created=False)
    conversation = new_conversation(realm_code, ConversationKind.DIRECT, sender.id, pair, now, peer.id)
    session.add(conversation)
    # The conversation needs its row before its member refers to it.
    await session.flush()
    session.add(member_row(conversation.id, sender.id, MemberState.ACCEPTED, now))
    # The member row must exist before the live NOTIFY makes open pages ask for the conversation.
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


def do_mute(member: ConversationMember, *, muted: bool) -> None:
    """A muted conversation still receives messages but no longer counts in the unread badge."""
    member.muted = muted


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
            raise blocked_problem(someone)
        group_crossing.add_peer(session, conversation.id, someone.id, someone_realm, now)
    # The new peers must be in their table before tell_group reads who the group reaches.
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
