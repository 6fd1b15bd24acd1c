"""Acting on another realm's content: checked against the projections and stored in the actor's realm.

A like, comment, follow, share or view of realm B's user on realm A's content is written to B's own
database. What A learns is the public result: the comment through B's projection of comments, counts
through B's `tallies` (reelm.crossrealm.schema adds them to A's counters).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import Viewer
from reelm.crossrealm.views import (
    comment_removals,
    public_comments,
    public_moved_ids,
    public_profiles,
    public_videos,
    tallies,
)
from reelm.errors import not_found
from reelm.runtime import Runtime


def reader_realm(viewer: Viewer, realm: str) -> str:
    """The realm whose database serves `viewer` content of `realm`.

    A signed-in viewer is served by their home realm, which holds every realm's public projections, so
    what they read and do stays at home. An anonymous visitor has no home: they read from the content's
    own realm (public data either way, and never a moment behind).
    """
    return viewer.realm if viewer.user is not None else realm


async def access_public_video(session: AsyncSession, video_id: int) -> Row[Any]:
    """Another realm's video if it is public (as far as this realm has heard); 404 otherwise."""
    row = (await session.execute(select(public_videos).where(public_videos.c.id == video_id))).first()
    if row is None:
        raise not_found("Video")
    return row


async def access_public_profile(session: AsyncSession, user_id: int) -> Row[Any]:
    row = (await session.execute(select(public_profiles).where(public_profiles.c.id == user_id))).first()
    if row is None:
        raise not_found("User")
    return row


async def access_public_comment(session: AsyncSession, comment_id: int, video_id: int) -> Row[Any]:
    row = (
        await session.execute(
            select(public_comments).where(
                public_comments.c.id == comment_id, public_comments.c.video_id == video_id
            )
        )
    ).first()
    if row is None:
        raise not_found("Comment")
    return row


async def do_tally(session: AsyncSession, realm: str, target_id: int, metric: str, delta: int = 1) -> None:
    """Count activity of `realm`'s users on another realm's content (shares and views; likes, comments
    and follows are tallied by triggers on their own rows)."""
    table = tallies(realm)
    await session.execute(
        insert(table)
        .values(target_id=target_id, metric=metric, value=delta)
        .on_conflict_do_update(
            index_elements=[table.c.target_id, table.c.metric], set_={"value": table.c.value + delta}
        )
    )


async def do_remove_foreign_comment(
    session: AsyncSession, realm: str, comment_id: int, video_id: int
) -> None:
    """A creator of `realm` removes another realm's comment from their video (its realm deletes it)."""
    await session.execute(
        insert(comment_removals(realm))
        .values(comment_id=comment_id, video_id=video_id)
        .on_conflict_do_nothing()
    )


async def moved_to(runtime: Runtime, realm: str, old_id: int) -> int | None:
    """The new id of something whose account moved realm (reelm.departures.move), as `realm` has heard."""
    async with runtime.databases.read(realm) as session:
        new: int | None = await session.scalar(
            select(public_moved_ids.c.new_id).where(public_moved_ids.c.old_id == old_id)
        )
    return new
