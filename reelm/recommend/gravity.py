"""The non-personalised gravity ranking (engagement over age^1.5, as news aggregators rank): the baseline
the learned engine is measured against in benches and tests. Not on the serving path."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, case, cast, func, literal
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.crossrealm.views import public_videos
from reelm.recommend.candidates import FeedCandidate, FeedRequest
from reelm.recommend.engine import DEMOTED_SCORE_FACTOR
from reelm.social.cards import fetch_cards, public_card_select
from reelm.videos.schemas import VideoOut

GRAVITY = 1.5
FRESH_HOURS = 24


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
