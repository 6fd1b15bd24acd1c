"""Conversations, their members and messages, blocks and who may message whom; all in the home realm.

Everything here is protected: who talks to whom, when, and what they say stays in the home realm of the
person whose copy it is. A conversation among people of one realm lives whole in that realm's database.
A conversation with people of other realms exists once in each of their realms, each copy numbered on
its own, and messages cross as deliveries (reelm.crossrealm.deliveries): a direct copy names the other
realm's participant as its `peer_id`, a group copy lists them as `ConversationPeer`s (they have no user
or member row here; reelm.messages.inbound, reelm.messages.group_inbound).

Each conversation numbers its events 1, 2, 3 … (`seq`): a message is one event, and so is the unsending
of one. Clients remember the last number they saw and ask for what follows, which is how a client that
reconnects gets everything it missed, in order and once.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped

from reelm.db import TZ, RealmBase, protected, utcnow


class ConversationKind(enum.StrEnum):
    DIRECT = "direct"  # two people; at most one such conversation per pair
    GROUP = "group"


class MemberState(enum.StrEnum):
    ACCEPTED = "accepted"  # in the inbox
    REQUEST = "request"  # from someone this member does not follow: in the requests folder
    LEFT = "left"  # left the group or declined the request; sees nothing new


class EventKind(enum.StrEnum):
    MESSAGE = "message"
    UNSEND = "unsend"  # the sender took a message back; `target_seq` names it


class AllowFrom(enum.StrEnum):
    """Who may start a conversation with a user (their own setting)."""

    EVERYONE = "everyone"  # people they do not follow land in requests
    FOLLOWING = "following"  # only people they follow
    NOBODY = "nobody"


class Conversation(RealmBase):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_origin", "origin_id", unique=True),
        # The residency check attributes a conversation to whoever started it (reelm.residency.scan).
        {"info": {"owner_column": "created_by_id"}},
    )

    id: Mapped[int] = protected(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = protected(String(8))
    # A conversation goes with the account that started it: that account's key is shredded on purge.
    created_by_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    # "<smaller id>:<larger id>" for a direct conversation, so a pair never gets two.
    direct_pair: Mapped[str | None] = protected(String(40), unique=True)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
    last_seq: Mapped[int] = protected(Integer, default=0)  # the latest event's number
    last_message_seq: Mapped[int] = protected(Integer, default=0)  # the latest message's (unread counts)
    last_message_at: Mapped[datetime] = protected(TZ, default=utcnow)  # orders the inbox
    title: Mapped[str | None] = protected(String(80))  # a group's name, set by any member
    # A direct conversation with someone of another realm: who (no member row here), and how far they
    # have read, in this copy's numbering.
    peer_id: Mapped[int | None] = protected(BigInteger)
    peer_read_seq: Mapped[int] = protected(Integer, default=0, server_default="0")
    # A group: the id of its first copy, shared by the copies of every realm its people live in.
    origin_id: Mapped[int | None] = protected(BigInteger)


class ConversationMember(RealmBase):
    __tablename__ = "conversation_members"
    __table_args__ = (Index("ix_conversation_members_user_state", "user_id", "state"),)

    conversation_id: Mapped[int] = protected(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = protected(String(8))
    joined_at: Mapped[datetime] = protected(TZ, default=utcnow)
    last_read_seq: Mapped[int] = protected(Integer, default=0)
    # "Delete conversation" for oneself: events up to here are hidden from this member.
    cleared_seq: Mapped[int] = protected(Integer, default=0)
    muted: Mapped[bool] = protected(Boolean, default=False)


class Message(RealmBase):
    """One event of a conversation: a message, or the unsending of one."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_seq", "conversation_id", "seq", unique=True),
        # A client's retry of a send it never got an answer for finds the message it already made.
        Index(
            "ix_messages_sender_client_key",
            "sender_id",
            "client_key",
            unique=True,
            postgresql_where=text("client_key IS NOT NULL"),
        ),
        Index("ix_messages_created", "created_at"),  # retention sweeps
        Index("ix_messages_key_owner", "key_owner_id"),
        Index("ix_messages_sender", "sender_id"),
        # A message belongs to the copy of the conversation it is in, which its realm minted.
        {"info": {"owner_column": "conversation_id"}},
    )

    id: Mapped[int] = protected(BigInteger, primary_key=True, autoincrement=False)
    conversation_id: Mapped[int] = protected(BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = protected(Integer)
    # No foreign key: the sender of a message from another realm has no user row here.
    sender_id: Mapped[int] = protected(BigInteger)
    # Whose field key seals the body: the sender's own (shredding it makes every copy in this realm
    # unreadable); for a direct message from another realm, the key of the member whose copy it is; NULL
    # for a group message from another realm: the key of this realm's copy of the group, named by its id
    # (reelm.messages.group_inbound).
    key_owner_id: Mapped[int | None] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = protected(String(8))
    # AES-256-GCM under the key owner's field key (reelm.crypto.fields). NULL when the message only
    # shares a video, and once unsent.
    body: Mapped[bytes | None] = protected(LargeBinary)
    # A shared video; no foreign key, so deleting the video leaves the message saying it is gone.
    video_id: Mapped[int | None] = protected(BigInteger)
    target_seq: Mapped[int | None] = protected(Integer)  # for an unsend: the message taken back
    client_key: Mapped[str | None] = protected(String(64))
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
    unsent_at: Mapped[datetime | None] = protected(TZ)
    # Why the recipient's realm did not take this message in (reelm.messages.inbound.Refusal).
    refusal: Mapped[str | None] = protected(String(40))


class ConversationPeer(RealmBase):
    """Someone of another realm in a group: they have no user row (nor member row) here."""

    __tablename__ = "conversation_peers"
    __table_args__ = (
        Index("ix_conversation_peers_user", "user_id"),
        {"info": {"owner_column": "conversation_id"}},  # this realm's copy of the group
    )

    conversation_id: Mapped[int] = protected(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = protected(BigInteger, primary_key=True)
    realm: Mapped[str] = protected(String(16))
    read_seq: Mapped[int] = protected(Integer, default=0)  # how far they read, in this copy's numbering
    joined_at: Mapped[datetime] = protected(TZ, default=utcnow)


class HiddenMessage(RealmBase):
    """'Delete for me': one member no longer sees one message."""

    __tablename__ = "hidden_messages"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    message_id: Mapped[int] = protected(
        BigInteger, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )


class MessageSettings(RealmBase):
    """A user's own messaging settings; no row means the defaults."""

    __tablename__ = "message_settings"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    allow_from: Mapped[str] = protected(String(10), default=AllowFrom.EVERYONE)
    updated_at: Mapped[datetime] = protected(TZ, default=utcnow)
