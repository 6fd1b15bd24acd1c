"""Comment, follow, favourite and repost payloads of the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, StrictBool, StrictInt

from reelm.inputs import Id, Line, Text
from reelm.social.models import COLLECTION_NAME_MAX, CommentHold, FavouriteKind
from reelm.videos.schemas import Creator, VideoOut


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
    pinned_id: str | None = Field(
        default=None,
        description="the comment the creator pinned, to show first (first page of top-level only)",
    )


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


# --- favourites, collections, reposts (reelm.social.favourites, reelm.social.reposts) ----------------------


class CollectionIn(BaseModel):
    name: Line = Field(min_length=1, max_length=COLLECTION_NAME_MAX)
    is_public: StrictBool = Field(
        default=False, description="shown on the profile to everyone (else to you only)"
    )


class CollectionPatch(BaseModel):
    name: Line | None = Field(default=None, min_length=1, max_length=COLLECTION_NAME_MAX)
    is_public: StrictBool | None = None


class CollectionOut(BaseModel):
    id: str
    name: str
    is_public: bool
    item_count: int
    created_at: datetime


class CollectionList(BaseModel):
    items: list[CollectionOut]


class FavouriteIn(BaseModel):
    collection_id: Id | None = Field(default=None, description="one of your collections (none: only in All)")


class FavouriteState(BaseModel):
    kind: FavouriteKind
    target: str
    saved: bool
    collection_id: str | None = None


class SavedSound(BaseModel):
    id: str
    realm: str
    title: str | None
    creator_handle: str


class FavouriteOut(BaseModel):
    kind: FavouriteKind
    target: str
    collection_id: str | None
    saved_at: datetime
    video: VideoOut | None = None
    sound: SavedSound | None = None
    hashtag: str | None = None


class FavouritePage(BaseModel):
    items: list[FavouriteOut]
    next_cursor: str | None


class RepostState(BaseModel):
    reposted: bool


# --- comment controls (reelm.social.comment_controls) -----------------------------------------------------


class CommentControlsIn(BaseModel):
    hold: CommentHold = Field(
        default=CommentHold.OFF,
        description="which new comments wait for your approval: off, keywords (containing your words) or all",
    )
    keywords: list[Line] = Field(
        default_factory=list, max_length=50, description="your words (plain text, any case), up to 50"
    )
    min_account_days: StrictInt = Field(
        default=0, ge=0, le=365, description="accounts newer than this many days may not comment (0: any)"
    )


class CommentControlsOut(BaseModel):
    hold: CommentHold
    keywords: list[str]
    min_account_days: int
    pinned_comment_id: str | None = Field(default=None, description="the comment shown first (per video)")


class HeldCommentList(BaseModel):
    items: list[CommentOut]


class CommentIds(BaseModel):
    ids: list[Id] = Field(min_length=1, max_length=100)


class Decided(BaseModel):
    done: int = Field(description="how many held comments were approved or deleted")


class PinIn(BaseModel):
    comment_id: Id | None = Field(description="the comment to show first; none: unpin")
