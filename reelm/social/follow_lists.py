"""Who follows someone, and whom they follow: lists of public profiles, newest follow first.

A follow is stored in the follower's realm, so a realm's database knows every account its own users
follow, but of another realm's followers only the count (reelm.crossrealm tallies): a follower list read
in the followee's realm names their followers of that realm. Only people whose profile is public are
listed (a suspended account or one being deleted is left out), as everywhere else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import Viewer
from reelm.crossrealm.views import public_profiles
from reelm.runtime import Runtime
from reelm.safety.blocks import blocked_among
from reelm.social.models import Follow
from reelm.videos.schemas import Creator
from reelm.videos.service import public_creator

Direction = Literal["followers", "following"]


async def list_follows(
    session: AsyncSession,
    user_id: int,
    direction: Direction,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Row[Any]]:
    """Public profiles (with `followed_at`) of `user_id`'s followers or followees, keyset-paginated."""
    pp = public_profiles
    if direction == "followers":
        joined = Follow.follower_id == pp.c.id
        mine = Follow.followee_id == user_id
    else:
        joined = Follow.followee_id == pp.c.id
        mine = Follow.follower_id == user_id
    query = select(pp, Follow.created_at.label("followed_at")).join(Follow, joined).where(mine)
    if after is not None:
        query = query.where(tuple_(Follow.created_at, pp.c.id) < tuple_(*after))
    query = query.order_by(Follow.created_at.desc(), pp.c.id.desc()).limit(limit)
    return list((await session.execute(query)).all())


async def followed_among(session: AsyncSession, follower_id: int, user_ids: list[int]) -> set[int]:
    """Which of these people `follower_id` follows (read in the follower's realm)."""
    if not user_ids:
        return set()
    rows = await session.scalars(
        select(Follow.followee_id).where(Follow.follower_id == follower_id, Follow.followee_id.in_(user_ids))
    )
    return set(rows)


async def people_of(
    runtime: Runtime,
    viewer: Viewer,
    user_id: int,
    realm: str,
    direction: Direction,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
) -> tuple[list[Creator], tuple[datetime, int] | None]:
    """A page of someone's followers or followees, read in their home realm `realm`, as the viewer sees it:
    people behind a block with the viewer (either way) left out, the viewer's follows marked. The page, and
    where the next one starts (None at the end)."""
    async with runtime.databases.read(realm) as session:
        rows = await list_follows(session, user_id, direction, after=after, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    shown = [row.id for row in page]
    hidden: set[int] = set()
    following: set[int] = set()
    if viewer.user_id is not None:
        async with runtime.databases.read(viewer.realm) as session:  # the viewer's blocks and follows
            hidden = await blocked_among(session, viewer.user_id, shown)
            following = await followed_among(session, viewer.user_id, shown)
    people = [
        public_creator(row, is_following=None if viewer.user_id in (None, row.id) else row.id in following)
        for row in page
        if row.id not in hidden
    ]
    return people, ((page[-1].followed_at, page[-1].id) if more else None)
