"""Reposts: a viewer shares someone's public video again with their own followers.

A repost is stored in the reposter's realm, whatever realm the video lives in (checked against this
realm's copy of the public projections), and is public: the profile's Reposts tab lists it, and followers
in the reposter's realm see it in Following ("reposted by @you", once however many reposts;
reelm.feed.service). Only the count crosses realms: a trigger tallies a repost of another realm's video
(reelm.crossrealm.schema), and the video's realm adds the tally to `videos.repost_count`, which its creator
sees. A repost of this realm's video is counted here, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import SignedInViewer
from reelm.crossrealm.service import access_public_video
from reelm.errors import Problem, not_found
from reelm.social.models import VideoRepost
from reelm.social.schemas import RepostState
from reelm.videos.models import Video, VideoStatus, Visibility
from reelm.videos.service import access_video


async def do_set_repost(
    session: AsyncSession, viewer: SignedInViewer, realm: str, video_id: int, *, repost: bool
) -> RepostState:
    """Repost or undo; doing either twice changes nothing. Only another creator's public video can be
    reposted (undoing always works, even once the video is no longer public)."""
    if repost:
        owner_id = await _repostable_owner(session, viewer, realm, video_id)
        if owner_id == viewer.user_id:
            raise Problem(
                422, "invalid-request", "The request is not valid", "You cannot repost your own video."
            )
        changed = await session.execute(
            insert(VideoRepost)
            .values(user_id=viewer.user_id, video_id=video_id)
            .on_conflict_do_nothing()
            .returning(VideoRepost.video_id)
        )
    else:
        changed = await session.execute(
            delete(VideoRepost)
            .where(VideoRepost.user_id == viewer.user_id, VideoRepost.video_id == video_id)
            .returning(VideoRepost.video_id)
        )
    if changed.first() is not None and realm == viewer.realm:
        # This realm's video: counted here (another realm's is tallied by the trigger on video_reposts).
        delta = 1 if repost else -1
        await session.execute(
            update(Video).where(Video.id == video_id).values(repost_count=Video.repost_count + delta)
        )
    return RepostState(reposted=repost)


async def _repostable_owner(session: AsyncSession, viewer: SignedInViewer, realm: str, video_id: int) -> int:
    if realm == viewer.realm:
        video = await access_video(session, viewer, video_id, for_update=True)
        if video.status != VideoStatus.READY or video.visibility != Visibility.PUBLIC:
            raise not_found("Video")
        return video.owner_id
    owner: int = (await access_public_video(session, video_id)).owner_id
    return owner


async def reposted_ids(
    session: AsyncSession, user_id: int, *, before: tuple[datetime, int] | None, limit: int
) -> list[tuple[int, datetime]]:
    """A person's reposts, the latest first: (video id, when)."""
    query = select(VideoRepost.video_id, VideoRepost.created_at).where(VideoRepost.user_id == user_id)
    if before is not None:
        query = query.where(tuple_(VideoRepost.created_at, VideoRepost.video_id) < tuple_(*before))
    query = query.order_by(VideoRepost.created_at.desc(), VideoRepost.video_id.desc()).limit(limit)
    return [(row.video_id, row.created_at) for row in await session.execute(query)]


async def is_reposted(session: AsyncSession, user_id: int, video_id: int) -> bool:
    found = await session.scalar(
        select(VideoRepost.video_id).where(VideoRepost.user_id == user_id, VideoRepost.video_id == video_id)
    )
    return found is not None
