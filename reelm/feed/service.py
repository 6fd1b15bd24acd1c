"""Feeds: For You through a ranker (reelm.recommend.candidates.FeedRanker), Following in time order.

Both read the public videos of every realm from the viewer's own database (reelm.crossrealm). A feed session
is the chain of cursors from the first page: the cursor carries the ids already served, so a page never
repeats what this scroll has shown, whatever counts do meanwhile.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, or_, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import Viewer
from reelm.crossrealm.views import public_videos
from reelm.search.hashtag_follows import followed_tags_of
from reelm.social.cards import fetch_cards, public_card_select
from reelm.social.models import Follow
from reelm.videos.schemas import VideoOut

# The cursor remembers at most this many served ids; older ones may come back in a very long scroll.
MAX_REMEMBERED = 600


async def following_page(
    session: AsyncSession,
    viewer: Viewer,
    *,
    before: tuple[datetime, int] | None,
    limit: int,
    base_url: str,
) -> list[VideoOut]:
    """Public videos of creators and hashtags the viewer follows (in any realm), newest published first."""
    pv = public_videos
    query = public_card_select(viewer.user_id).where(
        or_(
            exists().where(Follow.follower_id == viewer.user_id, Follow.followee_id == pv.c.owner_id),
            pv.c.hashtags.overlap(followed_tags_of(viewer.user_id)),
        )
    )
    if before is not None:
        query = query.where(tuple_(pv.c.published_at, pv.c.id) < tuple_(*before))
    query = query.order_by(pv.c.published_at.desc(), pv.c.id.desc()).limit(limit)
    return await fetch_cards(session, query, realm=viewer.realm, viewer=viewer, base_url=base_url)
