"""The creator's figures as the API returns them (and the pages and CSV exports draw)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


class Range(BaseModel):
    period: str  # 7d, 28d, 60d or custom
    start: date  # first day, in the creator's time zone
    end: date  # last day, included
    time_zone: str


class Totals(BaseModel):
    views: int  # watch sessions
    unique_viewers: int  # viewers whose first view of the video fell in the range
    watch_time_s: float
    average_watch_s: float
    average_watched: float  # share of the video reached, on average (0..1)
    watched_in_full: float  # share of views that reached the end (0..1)
    likes: int  # likes less unlikes
    comments: int
    shares: int
    saves: int
    new_followers: int  # follows from the video (or the account's videos)


class DayPoint(BaseModel):
    day: date
    views: int = 0
    likes: int = 0
    new_followers: int = 0
    watch_time_s: float = 0.0
    followers: int | None = None  # follower growth: the count at the end of the day


class Share(BaseModel):
    value: str  # a traffic source, country code, realm, or "other" (fewer than ten viewers of another realm)
    views: int
    share: float  # of the views counted in this breakdown (0..1)


class HeatCell(BaseModel):
    weekday: int  # 0 = Monday
    hour: int  # 0..23, in the creator's time zone
    followers: int  # followers active in that hour of the week, summed over the range


class TopVideo(BaseModel):
    id: str
    caption: str
    views: int
    watch_time_s: float
    likes: int


class AccountFigures(BaseModel):
    range: Range
    totals: Totals
    days: list[DayPoint]
    followers: list[DayPoint]
    top_videos: list[TopVideo]
    heatmap: list[HeatCell]
    sources: list[Share]
    countries: list[Share]
    realms: list[Share]


class VideoFigures(BaseModel):
    id: str
    caption: str
    duration_s: float
    range: Range
    totals: Totals
    days: list[DayPoint]
    retention: list[float]  # share of views still watching at each whole second, from 0
    sources: list[Share]
    countries: list[Share]
    realms: list[Share]
