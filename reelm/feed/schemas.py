"""Feed payloads: videos, each with why it is shown."""

from __future__ import annotations

from pydantic import BaseModel

from reelm.videos.schemas import VideoOut


class FeedItemOut(VideoOut):
    source: str  # which candidate source chose it: "trending", "fresh", "following"
    reason: str  # a short "why you're seeing this" for the viewer


class FeedPageOut(BaseModel):
    items: list[FeedItemOut]
    next_cursor: str | None
    personalized: bool
