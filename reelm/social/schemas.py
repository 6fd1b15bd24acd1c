"""Comment and follow payloads of the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from reelm.inputs import Id, Text
from reelm.videos.schemas import Creator


class CommentIn(BaseModel):
    body: Text = Field(min_length=1, max_length=1000)
    parent_id: Id | None = Field(default=None, description="reply to this comment (one level deep)")


class CommentOut(BaseModel):
    id: str
    video_id: str
    parent_id: str | None
    author: Creator
    body: str
    created_at: datetime
    like_count: int
    reply_count: int
    liked_by_me: bool | None
    label: str | None = Field(default=None, description="a moderation label shown with the comment")


class CommentPage(BaseModel):
    items: list[CommentOut]
    next_cursor: str | None


class LikeState(BaseModel):
    liked: bool
    like_count: int


class FollowState(BaseModel):
    following: bool
    follower_count: int


class PeoplePage(BaseModel):
    """Followers or followees: public profiles, the latest follow first."""

    items: list[Creator]
    next_cursor: str | None


class PinsOut(BaseModel):
    video_ids: list[str] = Field(description="the creator's pinned videos, the latest pinned first (up to 3)")
