"""Pinned videos: up to three of a creator's own published videos, shown first on their profile.

A pin hangs on the video's row, so a deleted video's pin goes with it; a video that stops being public
(made private, held or removed by review) keeps its pin but drops out of every list of pins until it is
public again (if that makes more than three, the latest three are shown).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import User
from reelm.errors import Problem
from reelm.social.models import PinnedVideo
from reelm.videos.models import Video, VideoStatus, Visibility

MAX_PINS = 3


def pinnable(video: Video) -> bool:
    return video.status == VideoStatus.READY and video.visibility == Visibility.PUBLIC


def shown_pin() -> ColumnElement[bool]:
    """A pin whose video is published and public (what a profile may show first)."""
    return and_(Video.status == VideoStatus.READY, Video.visibility == Visibility.PUBLIC)


async def pinned_ids(session: AsyncSession, user_id: int) -> list[int]:
    """The ids of a creator's shown pins, the latest pinned first."""
    rows = await session.scalars(
        select(PinnedVideo.video_id)
        .join(Video, Video.id == PinnedVideo.video_id)
        .where(PinnedVideo.user_id == user_id, Video.owner_id == user_id, shown_pin())
        .order_by(PinnedVideo.pinned_at.desc(), PinnedVideo.video_id.desc())
        # A hidden pinned video that is public again may make a fourth: the oldest pin waits.
        .limit(MAX_PINS)
    )
    return list(rows)


async def do_pin(session: AsyncSession, owner: User, video: Video) -> list[int]:
    """Pin one of the owner's videos (the caller checked ownership); pinning it again changes nothing.

    The owner's row is locked first, so two pins at once cannot both take the last place.
    """
    if not pinnable(video):
        raise Problem(
            409, "not-pinnable", "This video can't be pinned", "Only published public videos can be pinned."
        )
    await session.execute(select(User.id).where(User.id == owner.id).with_for_update())
    already = await session.scalar(
        select(PinnedVideo.video_id).where(PinnedVideo.user_id == owner.id, PinnedVideo.video_id == video.id)
    )
    if already is None:
        count = await session.scalar(
            select(func.count())
            .select_from(PinnedVideo)
            .join(Video, Video.id == PinnedVideo.video_id)
            .where(PinnedVideo.user_id == owner.id, shown_pin())
        )
        if (count or 0) >= MAX_PINS:
            raise Problem(
                409,
                "pin-limit",
                "Too many pinned videos",
                f"You can pin up to {MAX_PINS} videos. Unpin one first.",
                limit=MAX_PINS,
            )
        await session.execute(
            insert(PinnedVideo).values(user_id=owner.id, video_id=video.id).on_conflict_do_nothing()
        )
    return await pinned_ids(session, owner.id)


async def do_unpin(session: AsyncSession, owner: User, video: Video) -> list[int]:
    await session.execute(
        delete(PinnedVideo).where(PinnedVideo.user_id == owner.id, PinnedVideo.video_id == video.id)
    )
    return await pinned_ids(session, owner.id)
