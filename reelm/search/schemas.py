"""What the search API answers."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field, StrictBool

from reelm.sounds.schemas import SoundSummary
from reelm.videos.schemas import VideoOut


class SearchTab(StrEnum):
    TOP = "top"
    VIDEOS = "videos"
    ACCOUNTS = "accounts"
    HASHTAGS = "hashtags"
    SOUNDS = "sounds"


class AccountHit(BaseModel):
    id: str
    realm: str
    handle: str
    display_name: str
    bio: str
    avatar_url: str | None
    follower_count: int
    video_count: int
    is_following: bool | None  # None for anonymous visitors and for the viewer themself


class HashtagHit(BaseModel):
    tag: str
    video_count: int
    is_following: bool | None = None  # None for anonymous visitors


class SearchResults(BaseModel):
    query: str
    tab: SearchTab
    # The words that matched, folded as the index folds them: the page highlights them.
    words: list[str]
    videos: list[VideoOut]
    accounts: list[AccountHit]
    hashtags: list[HashtagHit]
    sounds: list[SoundSummary] = Field(default_factory=list)
    next_cursor: str | None


class RecentSearch(BaseModel):
    id: str
    query: str
    searched_at: datetime


class Suggestions(BaseModel):
    query: str
    accounts: list[AccountHit]
    hashtags: list[HashtagHit]
    sounds: list[SoundSummary] = Field(default_factory=list)
    recent: list[RecentSearch]


class SearchHistory(BaseModel):
    paused: bool
    items: list[RecentSearch]


class HistorySettingsIn(BaseModel):
    paused: StrictBool


class HashtagFollowState(BaseModel):
    tag: str
    following: bool


class FollowedHashtag(BaseModel):
    tag: str
    followed_at: datetime
    video_count: int  # public videos of every realm carrying it


class TrendingHashtag(BaseModel):
    tag: str
    # Public videos published with it on each of the last 7 days (UTC), oldest first (`Explore.days`).
    daily: list[int]
    recent: int  # of those, the last 2 days'
    growth: float  # the last 2 days' daily rate against the 5 days before (reelm.search.explore)
    videos: list[VideoOut]  # a few of its videos of the week, most engaging first
    is_following: bool | None  # None for anonymous visitors


class TrendingSound(BaseModel):
    sound: SoundSummary
    recent: int = Field(description="public videos of the last 7 days using it, of every realm")


class Explore(BaseModel):
    days: list[date]  # the 7 days of every `daily`, oldest first
    trending: list[TrendingHashtag]
    rising: list[AccountHit]  # fast-growing accounts under 10,000 followers
    sounds: list[TrendingSound] = Field(
        default_factory=list, description="the sounds most used by the week's public videos, of every realm"
    )
