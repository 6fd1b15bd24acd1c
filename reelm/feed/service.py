"""Feeds behind one interface, so the recommender can replace the ranking without touching routes.

For You here blends recency with engagement (a gravity score, as news aggregators use) over the
viewer's realm. A feed session is the chain of cursors from the first page: the cursor carries the
ids already served, so a page never repeats what this scroll has shown, whatever counts do meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement, Float, cast, exists, func, literal, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.social.models import Follow
from reelm.videos.cards import card_select, card_viewer, fetch_cards
from reelm.videos.models import Video, VideoStatus, Visibility
from reelm.videos.schemas import VideoOut
from reelm.web.deps import Viewer

# The cursor remembers at most this many served ids; older ones may come back in a very long scroll.
MAX_REMEMBERED = 600
GRAVITY = 1.5
FRESH_HOURS = 24


@dataclass(frozen=True)
class FeedCandidate:
    video: VideoOut
    source: str  # which candidate source chose it: "trending", "fresh", "following"
    reason: str  # a short "why you're seeing this"


@dataclass(frozen=True)
class FeedRequest:
    viewer: Viewer
    realm: str
    realm_title: str
    exclude: set[int]
    limit: int
    base_url: str


class FeedRanker(Protocol):
    async def rank(self, session: AsyncSession, request: FeedRequest) -> list[FeedCandidate]: ...


def visible_videos() -> list[ColumnElement[bool]]:
    return [Video.status == VideoStatus.READY, Video.visibility == Visibility.PUBLIC]


class GravityRanker:
    """Engagement per unit of age: fresh videos start near the top and stay there only if people engage.

    Not personalised: every viewer of a realm gets the same order (minus what they have seen).
    """

    async def rank(self, session: AsyncSession, request: FeedRequest) -> list[FeedCandidate]:
        age_hours = func.extract("epoch", func.now() - Video.published_at) / 3600.0
        engagement = (
            literal(1.0)
            + cast(Video.like_count, Float)
            + 2.0 * Video.comment_count
            + 3.0 * Video.share_count
            + 0.05 * Video.view_count
        )
        score = engagement / func.power(age_hours + 2.0, GRAVITY)
        query = card_select(card_viewer(request.viewer, request.realm)).where(*visible_videos())
        if request.exclude:
            query = query.where(Video.id.not_in(request.exclude))
        query = query.order_by(score.desc(), Video.id.desc()).limit(request.limit)
        videos = await fetch_cards(
            session, query, realm=request.realm, viewer=request.viewer, base_url=request.base_url
        )
        return [self._explain(video, request.realm_title) for video in videos]

    @staticmethod
    def _explain(video: VideoOut, realm_title: str) -> FeedCandidate:
        assert video.published_at is not None
        age_hours = (datetime.now(video.published_at.tzinfo) - video.published_at).total_seconds() / 3600
        engaged = video.counts.likes + video.counts.comments + video.counts.shares
        if age_hours < FRESH_HOURS and engaged < 3:
            return FeedCandidate(video, "fresh", f"New in {realm_title}: every new video gets a chance")
        return FeedCandidate(video, "trending", f"Popular in {realm_title} right now")


async def following_page(
    session: AsyncSession,
    viewer: Viewer,
    *,
    before: tuple[datetime, int] | None,
    limit: int,
    base_url: str,
) -> list[VideoOut]:
    """Videos of creators the viewer follows, newest published first."""
    query = card_select(viewer.user_id).where(
        *visible_videos(),
        exists().where(Follow.follower_id == viewer.user_id, Follow.followee_id == Video.owner_id),
    )
    if before is not None:
        query = query.where(tuple_(Video.published_at, Video.id) < tuple_(*before))
    query = query.order_by(Video.published_at.desc(), Video.id.desc()).limit(limit)
    return await fetch_cards(session, query, realm=viewer.realm, viewer=viewer, base_url=base_url)
