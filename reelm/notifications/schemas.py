"""Notification payloads of the JSON API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictBool

from reelm.videos.schemas import Creator


class NotificationOut(BaseModel):
    id: str
    kind: str
    object_id: str | None
    actors: list[Creator] = Field(description="the latest few, most recent first")
    actor_count: int
    text: str = Field(description='ready to show: "@alice and 3 others liked your video"')
    url: str
    updated_at: datetime
    read: bool


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


class UnreadCounts(BaseModel):
    notifications: int
    messages: int = Field(description="inbox conversations with unread messages (muted ones aside)")
    requests: int = Field(description="message requests with unread messages")


# The kinds a person may turn off (preferences.CHOOSABLE: review outcomes always reach them).
ChoosableKind = Literal[
    "like",
    "comment",
    "reply",
    "mention",
    "follow",
    "message_request",
    "duet",
    "stitch",
    "sound_used",
    "post_published",
]


class NotificationSettingsIO(BaseModel):
    kinds: dict[ChoosableKind, StrictBool] = Field(
        description="each kind on (true) or off (false); a kind left out keeps its setting"
    )
