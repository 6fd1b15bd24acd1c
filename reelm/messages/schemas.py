"""Conversation and message payloads of the JSON API and of the live connection."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from reelm.inputs import Handle, Id, Line, Text
from reelm.messages.models import AllowFrom
from reelm.messages.policy import MAX_BODY_CHARS, MAX_MEMBERS, MAX_TITLE_CHARS
from reelm.videos.schemas import Creator

MAX_SEQ = 2**31 - 1  # event numbers are PostgreSQL integers


class MessageIn(BaseModel):
    body: Text = Field(default="", max_length=MAX_BODY_CHARS, description="text and emoji")
    video_id: Id | None = Field(default=None, description="share this video")
    # A retry of a send whose answer was lost gives the same key and gets the first message back.
    client_key: str | None = Field(default=None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class ConversationIn(BaseModel):
    handles: list[Handle] = Field(min_length=1, max_length=MAX_MEMBERS - 1, description="everyone but you")
    message: MessageIn | None = Field(default=None, description="the first message")


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    seq: int
    kind: str  # "message", or "unsend" (then `target_seq` names the message taken back)
    sender: Creator
    body: str | None  # None once unsent, or when the message only shares a video
    video_id: str | None
    target_seq: int | None
    created_at: datetime
    unsent: bool
    # The recipient's realm did not deliver it: "blocked", "messages-closed", "account-too-new" or
    # "unavailable" (a conversation with someone of another realm; see reelm.messages.inbound).
    refusal: str | None = None


class MessagePage(BaseModel):
    items: list[MessageOut] = Field(description="oldest first")
    # The conversation's latest event number when read: a client asking `after_seq` is current through it.
    through_seq: int
    has_more: bool


class MemberOut(BaseModel):
    user: Creator
    state: str
    last_read_seq: int | None  # None while the member's reading is not shown (a request not accepted)


class ConversationOut(BaseModel):
    id: str
    kind: str
    title: str | None = None  # a group's name; clients name a conversation by its members without one
    members: list[MemberOut] = Field(description="everyone else in the conversation")
    state: str  # the viewer's own: accepted, request or left
    muted: bool
    last_seq: int
    last_read_seq: int
    unread: int
    last_message: MessageOut | None
    last_message_at: datetime


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None


class GroupIn(BaseModel):
    title: Line = Field(max_length=MAX_TITLE_CHARS * 2, description="the group's name; empty removes it")


class MembersIn(BaseModel):
    handles: list[Handle] = Field(min_length=1, max_length=MAX_MEMBERS - 1, description="people to add")


class ReadIn(BaseModel):
    seq: int = Field(ge=0, le=MAX_SEQ)


class MuteIn(BaseModel):
    muted: bool


class BlockState(BaseModel):
    blocked: bool


class MessageSettingsIO(BaseModel):
    allow_from: AllowFrom


class Cursor(BaseModel):
    """Where a live client is in one conversation: the last event number it holds."""

    conversation_id: Id
    seq: int = Field(ge=0, le=MAX_SEQ)


class HelloIn(BaseModel):
    """The first frame of a live connection."""

    type: Literal["hello"]
    csrf: Line | None = Field(default=None, max_length=100)  # required when the connection used a cookie
    cursors: list[Cursor] = Field(default_factory=list, max_length=200)


class TypingIn(BaseModel):
    type: Literal["typing"]
    conversation_id: Id


class SendIn(MessageIn):
    """A message sent over the live connection."""

    type: Literal["send"]
    conversation_id: Id


class BlockedPage(BaseModel):
    items: list[Creator]
