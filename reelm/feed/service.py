"""Feeds behind one interface, so the recommender can replace the ranking without touching routes.

For You here blends recency with engagement (a gravity score, as news aggregators use) over the public
videos of every realm, read from the viewer's own database (reelm.crossrealm). A feed session is the
chain of cursors from the first page: the cursor carries the ids already served, so a page never
repeats what this scroll has shown, whatever counts do meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy import Float, case, cast, exists, func, literal, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import Viewer
from reelm.crossrealm.views import public_videos
from reelm.feed.cards import fetch_cards, public_card_select
from reelm.social.models import Follow
from reelm.videos.schemas import VideoOut

# The cursor remembers at most this many served ids; older ones may come back in a very long scroll.
MAX_REMEMBERED = 600
GRAVITY = 1.5
FRESH_HOURS = 24
# A video that moderation demoted (reelm.moderation: "recommended less often") has its ranking score
# multiplied by this in For You, here and in reelm.recommend.engine. A multiplier rather than a removal: it
# still shows where little competes with it, and an equal, undemoted video always ranks above it.
DEMOTED_SCORE_FACTOR = 0.5


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


class GravityRanker:
    """Engagement per unit of age: fresh videos start near the top and stay there only if people engage.

    Not personalised: every viewer gets the same order (minus what they have seen).
    """

    async def rank(self, session: AsyncSession, request: FeedRequest) -> list[FeedCandidate]:
        pv = public_videos
        age_hours = func.extract("epoch", func.now() - pv.c.published_at) / 3600.0
        engagement = (
            literal(1.0)
            + cast(pv.c.like_count, Float)
            + 2.0 * pv.c.comment_count
            + 3.0 * pv.c.share_count
            + 0.05 * pv.c.view_count
        )
        demotion = case((pv.c.demoted.is_(True), DEMOTED_SCORE_FACTOR), else_=1.0)
        score = demotion * engagement / func.power(age_hours + 2.0, GRAVITY)
        query = public_card_select(request.viewer.user_id)
        if request.exclude:
            query = query.where(pv.c.id.not_in(request.exclude))
        query = query.order_by(score.desc(), pv.c.id.desc()).limit(request.limit)
        videos = await fetch_cards(
            session, query, realm=request.realm, viewer=request.viewer, base_url=request.base_url
        )
        return [self._explain(video, request) for video in videos]

    @staticmethod
    def _explain(video: VideoOut, request: FeedRequest) -> FeedCandidate:
        assert video.published_at is not None
        age_hours = (datetime.now(video.published_at.tzinfo) - video.published_at).total_seconds() / 3600
        engaged = video.counts.likes + video.counts.comments + video.counts.shares
        where = f"in {request.realm_title}" if video.realm == request.realm else "in another region"
        if age_hours < FRESH_HOURS and engaged < 3:
            return FeedCandidate(video, "fresh", f"New {where}: every new video gets a chance")
        return FeedCandidate(video, "trending", f"Popular {where} right now")


async def following_page(
    session: AsyncSession,
    viewer: Viewer,
    *,
    before: tuple[datetime, int] | None,
    limit: int,
    base_url: str,
) -> list[VideoOut]:
    """Public videos of creators the viewer follows (in any realm), newest published first."""
    pv = public_videos
    query = public_card_select(viewer.user_id).where(
        exists().where(Follow.follower_id == viewer.user_id, Follow.followee_id == pv.c.owner_id),
    )
    if before is not None:
        query = query.where(tuple_(pv.c.published_at, pv.c.id) < tuple_(*before))
    query = query.order_by(pv.c.published_at.desc(), pv.c.id.desc()).limit(limit)
    return await fetch_cards(session, query, realm=viewer.realm, viewer=viewer, base_url=base_url)
