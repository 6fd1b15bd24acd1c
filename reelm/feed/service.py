"""Feeds behind one interface, so the recommender can replace the ranking without touching routes.

For You here blends recency with engagement (a gravity score, as news aggregators use) over the
viewer's realm. A feed session is the chain of cursors from the first page: the cursor carries the
ids already served, so a page never repeats what this scroll has shown, whatever counts do meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement, Float, and_, cast, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.social.models import Follow
from reelm.videos.models import Video, VideoStatus, Visibility
from reelm.web.deps import Viewer

# The cursor remembers at most this many served ids; older ones may come back in a very long scroll.
MAX_REMEMBERED = 600
GRAVITY = 1.5
FRESH_HOURS = 24


@dataclass(frozen=True)
class FeedCandidate:
    video: Video
    source: str
    reason: str


class FeedRanker(Protocol):
    async def rank(
        self, session: AsyncSession, viewer: Viewer, *, realm_title: str, exclude: set[int], limit: int
    ) -> list[FeedCandidate]: ...


def visible_videos() -> list[ColumnElement[bool]]:
    return [Video.status == VideoStatus.READY, Video.visibility == Visibility.PUBLIC]


class GravityRanker:
    """Engagement per unit of age: fresh videos start near the top and stay there only if people engage.

    Not personalised: every viewer of a realm gets the same order (minus what they have seen).
    """

    async def rank(
        self,
        session: AsyncSession,
        viewer: Viewer,  # noqa: ARG002 - part of the FeedRanker interface
        *,
        realm_title: str,
        exclude: set[int],
        limit: int,
    ) -> list[FeedCandidate]:
        age_hours = func.extract("epoch", func.now() - Video.published_at) / 3600.0
        engagement = (
            literal(1.0)
            + cast(Video.like_count, Float)
            + 2.0 * Video.comment_count
            + 3.0 * Video.share_count
            + 0.05 * Video.view_count
        )
        score = engagement / func.power(age_hours + 2.0, GRAVITY)
        query = select(Video, age_hours.label("age")).where(*visible_videos())
        if exclude:
            query = query.where(Video.id.not_in(exclude))
        rows = (await session.execute(query.order_by(score.desc(), Video.id.desc()).limit(limit))).all()
        candidates = []
        for video, age in rows:
            engaged = video.like_count + video.comment_count + video.share_count
            if age is not None and age < FRESH_HOURS and engaged < 3:
                candidates.append(
                    FeedCandidate(video, "fresh", f"New in {realm_title}: every new video gets a chance")
                )
            else:
                candidates.append(FeedCandidate(video, "trending", f"Popular in {realm_title} right now"))
        return candidates


async def following_page(
    session: AsyncSession, follower_id: int, *, before: tuple[datetime, int] | None, limit: int
) -> list[Video]:
    """Videos of followed creators, newest published first."""
    query = (
        select(Video)
        .join(Follow, and_(Follow.followee_id == Video.owner_id, Follow.follower_id == follower_id))
        .where(*visible_videos())
    )
    if before is not None:
        query = query.where(tuple_(Video.published_at, Video.id) < tuple_(*before))
    return list(
        (await session.scalars(query.order_by(Video.published_at.desc(), Video.id.desc()).limit(limit))).all()
    )
