"""Feed payloads: videos, each with why it is shown."""

from __future__ import annotations

from pydantic import BaseModel, Field

from reelm.videos.schemas import VideoOut


class FeedItemOut(VideoOut):
    source: str  # which candidate source chose it: "trending", "fresh", "following"
    reason: str  # a short "why you're seeing this" for the viewer
    reasons: list[str] = Field(
        default_factory=list
    )  # the top reasons behind `reason` (DSA Art. 27: main parameters)
    reposted_by: str | None = Field(
        default=None, description="Following: the @handle of the account you follow that reposted it"
    )


class PreparingOut(BaseModel):
    """A fresh demo's videos while they are transcoded: `ready` of `total` can be watched."""

    ready: int
    total: int


class FeedPageOut(BaseModel):
    items: list[FeedItemOut]
    next_cursor: str | None
    personalized: bool  # whether the viewer's own profile chose any item of the page
    # Demo mode only, on an empty first page while the demo's videos are still being prepared: why it's empty.
    preparing: PreparingOut | None = None
