"""Following a hashtag: a person's followed tags, kept in their home realm (protected, cascading with the
user, in the data export). A followed tag's public videos, of every realm, join the Following feed
(reelm.feed.service) and the tag counts as an interest for For You (reelm.recommend.ranker)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.errors import Problem, not_found
from reelm.search.models import HashtagFollow, SearchHashtag
from reelm.search.schemas import FollowedHashtag, HashtagFollowState

# Enough for anyone's interests; the bound keeps the Following feed's tag filter small.
MAX_FOLLOWED = 200


def normalised(tag: str) -> str:
    """Tags are stored as captions give them (reelm.text.hashtags_of): lower case, without the '#'."""
    return tag.lstrip("#").lower()


async def do_follow_hashtag(session: AsyncSession, user_id: int, tag: str) -> HashtagFollowState:
    """Follow a tag that some public video carries or carried; following it again changes nothing."""
    tag = normalised(tag)
    if await session.scalar(select(SearchHashtag.tag).where(SearchHashtag.tag == tag)) is None:
        raise not_found("Hashtag")
    # Serialise one person's follows, so two at once cannot both pass the limit.
    lock_key = func.hashtextextended(f"hashtag_follows:{user_id}", 0)
    await session.execute(select(func.pg_advisory_xact_lock(lock_key)))
    count = await session.scalar(
        select(func.count()).select_from(HashtagFollow).where(HashtagFollow.user_id == user_id)
    )
    already = await session.scalar(
        select(HashtagFollow.tag).where(HashtagFollow.user_id == user_id, HashtagFollow.tag == tag)
    )
    if already is None and (count or 0) >= MAX_FOLLOWED:
        raise Problem(
            409,
            "too-many-hashtags",
            "Too many hashtags followed",
            f"You follow {MAX_FOLLOWED} hashtags already: unfollow one first.",
        )
    await session.execute(insert(HashtagFollow).values(user_id=user_id, tag=tag).on_conflict_do_nothing())
    return HashtagFollowState(tag=tag, following=True)


async def do_unfollow_hashtag(session: AsyncSession, user_id: int, tag: str) -> HashtagFollowState:
    """Unfollow a tag; unfollowing one not followed changes nothing."""
    tag = normalised(tag)
    await session.execute(
        delete(HashtagFollow).where(HashtagFollow.user_id == user_id, HashtagFollow.tag == tag)
    )
    return HashtagFollowState(tag=tag, following=False)


async def followed_hashtags(session: AsyncSession, user_id: int) -> list[FollowedHashtag]:
    """The tags a person follows, most recently followed first, with how many public videos carry each."""
    rows = await session.execute(
        select(HashtagFollow.tag, HashtagFollow.followed_at, SearchHashtag.videos)
        .outerjoin(SearchHashtag, SearchHashtag.tag == HashtagFollow.tag)
        .where(HashtagFollow.user_id == user_id)
        .order_by(HashtagFollow.followed_at.desc(), HashtagFollow.tag)
    )
    return [
        FollowedHashtag(tag=row.tag, followed_at=row.followed_at, video_count=max(0, row.videos or 0))
        for row in rows
    ]


async def follows_among(session: AsyncSession, user_id: int | None, tags: list[str]) -> set[str]:
    """Which of these tags the viewer follows (none for anonymous visitors)."""
    if user_id is None or not tags:
        return set()
    found = await session.scalars(
        select(HashtagFollow.tag).where(HashtagFollow.user_id == user_id, HashtagFollow.tag.in_(tags))
    )
    return set(found)


def followed_tags_of(user_id: int | None) -> ColumnElement[Any]:
    """The viewer's followed tags as an SQL array, for `hashtags && ...` over the projections."""
    return func.array(select(HashtagFollow.tag).where(HashtagFollow.user_id == user_id).scalar_subquery())


async def followed_tag_names(session: AsyncSession, user_id: int) -> list[str]:
    return list(
        await session.scalars(
            select(HashtagFollow.tag).where(HashtagFollow.user_id == user_id).order_by(HashtagFollow.tag)
        )
    )
