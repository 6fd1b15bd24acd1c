"""Taking in what another realm says of a group: the receiving half of reelm.messages.group_crossing.

This realm's copy of a group is made when the group first reaches one of its people here, and brought
up to date by every `message` and `group` delivery (union: people named and missing are added, the
title follows). Each person of this realm joins under this realm's rules, as if the one who added them
had started a conversation with them (inbox, requests, or kept out by a block or their settings); one
who left stays out. A message from another realm is sealed under the copy's own key (a data key named
by the copy's id, made on first use), so it does not depend on any one member here staying; when the
sender's realm says they were purged, their messages are deleted (reelm.messages.inbound, `forget`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.models import User
from reelm.crossrealm.deliveries import Inbound
from reelm.crypto.fields import UserCipher
from reelm.crypto.service import do_create_user_key
from reelm.errors import Problem
from reelm.live.events import Event, EventType, publish
from reelm.messages import conversations, group_crossing, permissions
from reelm.messages.arrivals import record_arrival
from reelm.messages.ciphers import CipherCache
from reelm.messages.models import (
    Conversation,
    ConversationKind,
    ConversationPeer,
    MemberState,
    Message,
)
from reelm.messages.policy import MAX_MEMBERS, MAX_TITLE_CHARS, MessagingSettings
from reelm.runtime import Runtime
from reelm.text import clean_text


class GroupTaking:
    def __init__(self, runtime: Runtime, policy: MessagingSettings, ciphers: CipherCache) -> None:
        self.runtime = runtime
        self.policy = policy
        self.ciphers = ciphers

    async def message(self, session: AsyncSession, inbound: Inbound, sender: permissions.Person) -> None:
        p = inbound.payload
        now = datetime.now(UTC)
        conversation = await self.copy(session, inbound, p["group"], sender, now)
        if conversation is None:
            return  # nobody of this realm is (or may be) in it
        cipher = await self._copy_cipher(session, inbound.realm, conversation.id)
        await record_arrival(session, conversation, p, cipher, key_owner_id=None, now=now)  # the copy's key

    async def group(self, session: AsyncSession, inbound: Inbound) -> None:
        """People were added or the title changed, in another realm."""
        found = await permissions.public_person(session, int(inbound.payload["by"]))
        if found is not None:
            await self.copy(session, inbound, inbound.payload, found[0], datetime.now(UTC))

    async def left(self, session: AsyncSession, inbound: Inbound) -> None:
        """Someone of the sending realm left the group (a realm speaks for its own people only)."""
        conversation = await self._find(session, int(inbound.payload["origin"]))
        if conversation is None:
            return
        await session.execute(
            delete(ConversationPeer).where(
                ConversationPeer.conversation_id == conversation.id,
                ConversationPeer.user_id == int(inbound.payload["user_id"]),
                ConversationPeer.realm == inbound.source,
            )
        )
        await self._announce(session, conversation, [])

    async def read(
        self, session: AsyncSession, inbound: Inbound, conversation: Conversation, message: Message
    ) -> None:
        """Someone of the sending realm read up to a message: their read mark in this copy moves forward."""
        reader_id = int(inbound.payload["reader_id"])
        moved = await session.execute(
            update(ConversationPeer)
            .where(
                ConversationPeer.conversation_id == conversation.id,
                ConversationPeer.user_id == reader_id,
                ConversationPeer.realm == inbound.source,
                ConversationPeer.read_seq < message.seq,
            )
            .values(read_seq=message.seq)
            .returning(ConversationPeer.user_id)
        )
        if moved.first() is None:
            return
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

    # --- the copy -------------------------------------------------------------------------------------

    async def copy(
        self,
        session: AsyncSession,
        inbound: Inbound,
        part: dict[str, Any],
        actor: permissions.Person,
        now: datetime,
    ) -> Conversation | None:
        """This realm's copy of the group, locked, made or brought up to date from `part`; None when none of
        its people here may be in it."""
        code = self.runtime.settings.realm(inbound.realm).code
        named = [int(u) for u in part["members"]][:MAX_MEMBERS]
        local = {
            u.id: u
            for u in await session.scalars(
                select(User).where(
                    User.id.in_([u for u in named if ids.realm_code_of(u) == code]),
                    User.deletion_due_at.is_(None),
                )
            )
        }
        conversation = await self._find(session, int(part["origin"]))
        members = (
            {m.user_id: m for m in await conversations.members_of(session, conversation.id)}
            if conversation
            else {}
        )
        joining = [
            u
            for user_id, u in local.items()
            if user_id not in members and await self._may(session, actor, u, now)
        ]
        if conversation is None:
            if not joining:
                return None
            conversation = conversations.new_conversation(
                code, ConversationKind.GROUP, joining[0].id, None, now
            )
            conversation.origin_id = int(part["origin"])
            session.add(conversation)
            # The copy needs its id before members and peers refer to it.
            await session.flush()
        try:
            title = clean_text("title", part.get("title") or "", max_len=MAX_TITLE_CHARS) or None
        except Problem:
            # A title the sending realm stored under older rules (a bidi override, refused since): the
            # copy keeps its own, and the message still arrives; refusing would hold the delivery forever.
            title = conversation.title
        changed = bool(joining) or title != conversation.title
        conversation.title = title
        for user in joining:
            await conversations.join(session, self.policy, conversation, None, actor, user, now)
        peers = {p.user_id for p in await group_crossing.peers_of(session, conversation.id)}
        for user_id in named:
            if user_id in local or user_id in peers or ids.realm_code_of(user_id) == code:
                continue
            found = await permissions.public_person(session, user_id)
            if found is not None:
                group_crossing.add_peer(session, conversation.id, user_id, found[1], now)
                changed = True
        # The new members and peers must be visible to the SQL that announces and counts them below.
        await session.flush()
        if changed:  # open pages reload the conversation (its title, its people)
            await self._announce(session, conversation, [u.id for u in joining])
        if not any(m.state != MemberState.LEFT for m in members.values()) and not joining:
            return None  # everyone here left it
        return conversation

    async def _may(self, session: AsyncSession, actor: permissions.Person, user: User, now: datetime) -> bool:
        try:
            await permissions.check_may_message(session, self.policy, actor, user, now)
        except Problem:
            return False  # their rules keep them out: they are not in this realm's copy
        return True

    async def _find(self, session: AsyncSession, origin: int) -> Conversation | None:
        found: Conversation | None = await session.scalar(
            select(Conversation).where(Conversation.origin_id == origin).with_for_update()
        )
        return found

    async def _announce(self, session: AsyncSession, conversation: Conversation, joined: list[int]) -> None:
        members = await conversations.members_of(session, conversation.id)
        everyone = tuple(sorted({*conversations.listeners(members), *joined}))
        await publish(session, Event(EventType.CONVERSATION, everyone, conversation_id=conversation.id))

    async def _copy_cipher(self, session: AsyncSession, realm: str, conversation_id: int) -> UserCipher:
        """The copy's key, made on first use. Ids are unique across users and conversations, so it lives
        with users' keys, named by the copy's id, which also tells the residency check it is this realm's."""
        cipher = await self.ciphers.get(session, realm, conversation_id)
        if cipher is None:
            cipher = await do_create_user_key(session, self.runtime.keys.realm(realm), conversation_id)
        return cipher
