"""Feeds: For You through a ranker (reelm.recommend.candidates.FeedRanker), Following in time order.

Both read the public videos of every realm from the viewer's own database (reelm.crossrealm). A feed session
is the chain of cursors from the first page: the cursor carries the ids already served, so a page never
repeats what this scroll has shown, whatever counts do meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, exists, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import Viewer
from reelm.crossrealm.views import public_profiles, public_videos
from reelm.search.hashtag_follows import followed_tags_of
from reelm.social.cards import card_from_row, card_params, card_viewer, public_card_select
from reelm.social.models import Follow, VideoRepost
from reelm.social.mutes import video_hidden
from reelm.videos.schemas import VideoOut

# The cursor remembers at most this many served ids; older ones may come back in a very long scroll.
MAX_REMEMBERED = 600


@dataclass(frozen=True)
class FollowingItem:
    video: VideoOut
    at: datetime  # what the page is ordered by: when it was published, or reposted
    reposted_by: str | None  # the handle of the followed account that reposted it, if that is why it is here


async def following_page(
    session: AsyncSession,
    viewer: Viewer,
    *,
    before: tuple[datetime, int] | None,
    limit: int,
    base_url: str,
) -> list[FollowingItem]:
    """Public videos of creators and hashtags the viewer follows (in any realm), newest published first, and
    videos the accounts they follow reposted, at the time of the latest repost, once however many reposted
    them (a video of a followed creator comes as itself, not as a repost). The viewer's mutes and keyword
    filters apply (reelm.social.mutes).

    Reposts are stored in the reposter's realm, so those of followed accounts of the viewer's realm are seen.
    """
    pv = public_videos
    me = viewer.user_id
    reposts = (
        select(
            VideoRepost.video_id,
            func.max(VideoRepost.created_at).label("at"),
            # The latest reposter among the accounts followed (the one named).
            func.array_agg(aggregate_order_by(VideoRepost.user_id, VideoRepost.created_at.desc()))[1].label(
                "reposter_id"
            ),
        )
        .join(Follow, and_(Follow.followee_id == VideoRepost.user_id, Follow.follower_id == me))
        .group_by(VideoRepost.video_id)
        .subquery("followed_reposts")
    )
    reposter = public_profiles.alias("reposter")
    direct = or_(
        exists().where(Follow.follower_id == me, Follow.followee_id == pv.c.owner_id),
        pv.c.hashtags.overlap(followed_tags_of(me)),
    )
    at = case((direct, pv.c.published_at), else_=reposts.c.at)
    query = (
        public_card_select(me)
        .add_columns(at.label("feed_at"), case((direct, None), else_=reposter.c.handle).label("reposted_by"))
        .outerjoin(reposts, reposts.c.video_id == pv.c.id)
        .outerjoin(reposter, reposter.c.id == reposts.c.reposter_id)
        .where(
            or_(direct, reposts.c.video_id.is_not(None)),
            ~video_hidden(me, pv.c.owner_id, pv.c.caption, pv.c.hashtags, pv.c.ai_generated),
        )
    )
    if before is not None:
        query = query.where(tuple_(at, pv.c.id) < tuple_(*before))
    query = query.order_by(at.desc(), pv.c.id.desc()).limit(limit)
    viewer_id = card_viewer(viewer, viewer.realm)
    rows = await session.execute(query, card_params(viewer, viewer.realm))
    return [
        FollowingItem(
            video=card_from_row(row, viewer.realm, viewer_id, base_url),
            at=row.feed_at,
            reposted_by=row.reposted_by,
        )
        for row in rows
    ]
