"""The seam between the feed and whatever ranks it: what For You asks of a ranker and what it gets back.

The feed (reelm.feed) depends on this contract, never on a ranker's internals; the learned engine
(reelm.recommend.ranker) and the gravity baseline (reelm.recommend.gravity) implement it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import Viewer
from reelm.videos.schemas import VideoOut

FeedMode = Literal["for_you", "popular", "latest"]


@dataclass(frozen=True)
class FeedCandidate:
    video: VideoOut
    source: str  # which candidate source chose it: "trending", "fresh", "following", "similar", ...
    reason: str  # a short "why you're seeing this"
    reasons: tuple[str, ...] = ()  # the top reasons, the first being `reason`'s
    personalized: bool = False  # chosen with the viewer's own profile


@dataclass(frozen=True)
class FeedRequest:
    viewer: Viewer
    realm: str
    realm_title: str
    exclude: set[int]
    limit: int
    base_url: str
    # "for_you" may personalise; "popular" (regional popular) and "latest" never use the viewer's profile.
    mode: FeedMode = "for_you"


class FeedRanker(Protocol):
    async def rank(self, session: AsyncSession, request: FeedRequest) -> list[FeedCandidate]: ...
