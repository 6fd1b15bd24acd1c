"""Video payloads of the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from reelm.inputs import Text


class Creator(BaseModel):
    id: str
    handle: str
    display_name: str
    avatar_url: str | None
    follower_count: int
    is_following: bool | None = None  # None when anonymous, the viewer themself, or another realm


class RenditionOut(BaseModel):
    name: str
    width: int
    height: int
    bandwidth: int
    codecs: str
    mp4_url: str
    hls_url: str


class Counts(BaseModel):
    likes: int
    comments: int
    shares: int
    views: int


class VideoOut(BaseModel):
    id: str
    realm: str
    creator: Creator
    caption: str
    hashtags: list[str]
    mentions: list[str]
    visibility: str
    status: str
    status_detail: str
    reject_code: str | None
    reject_reason: str | None
    width: int | None
    height: int | None
    duration_s: float | None
    poster_url: str | None
    hls_url: str | None = Field(description="HLS master playlist with every rendition")
    mp4_url: str | None = Field(description="progressive MP4 for players without HLS")
    renditions: list[RenditionOut]
    counts: Counts
    liked_by_me: bool | None
    created_at: datetime
    published_at: datetime | None
    share_url: str
    label: str | None = Field(default=None, description="a moderation label shown with the video")
    age_restricted: bool = Field(default=False, description="shown to logged-in (adult) viewers only")


class VideoAccepted(BaseModel):
    id: str
    status: str
    status_url: str


class VideoUpdateIn(BaseModel):
    caption: Text | None = Field(default=None, max_length=2200)
    visibility: str | None = Field(default=None, pattern="^(public|private)$")


class VideoPage(BaseModel):
    items: list[VideoOut]
    next_cursor: str | None


class HashtagOut(BaseModel):
    name: str
    video_count: int = Field(description="public videos carrying it, as the viewer may see them")
