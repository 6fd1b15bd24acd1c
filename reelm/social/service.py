"""Likes, comments and follows. Each is stored in the actor's home realm.

Until public projections cross realms (see DESIGN.md, "Across realms"), acting on another realm's
video or creator would have to write into that realm, so it is refused with a clear problem instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.models import User
from reelm.social.models import Comment, CommentLike, Follow, VideoLike
from reelm.social.schemas import CommentOut
from reelm.text import clean_text
from reelm.videos.models import Video
from reelm.videos.service import creator_out
from reelm.web.deps import Viewer
from reelm.web.problems import Problem, not_found


def check_same_realm(viewer: Viewer, realm: str) -> None:
    if viewer.realm != realm:
        raise Problem(
            409,
            "cross-realm",
            "Not available across realms yet",
            f"This belongs to realm '{realm}' and your account lives in realm '{viewer.realm}'; "
            "interactions across realms are not available yet.",
        )


async def do_like_video(session: AsyncSession, user_id: int, video: Video) -> None:
    inserted = await session.execute(
        insert(VideoLike)
        .values(user_id=user_id, video_id=video.id)
        .on_conflict_do_nothing()
        .returning(VideoLike.user_id)
    )
    if inserted.first() is not None:  # liking twice counts once
        await session.execute(
            update(Video).where(Video.id == video.id).values(like_count=Video.like_count + 1)
        )
        await session.execute(
            update(User).where(User.id == video.owner_id).values(likes_received=User.likes_received + 1)
        )


async def do_unlike_video(session: AsyncSession, user_id: int, video: Video) -> None:
    deleted = await session.execute(
        delete(VideoLike)
        .where(VideoLike.user_id == user_id, VideoLike.video_id == video.id)
        .returning(VideoLike.user_id)
    )
    if deleted.first() is not None:
        await session.execute(
            update(Video).where(Video.id == video.id).values(like_count=Video.like_count - 1)
        )
        await session.execute(
            update(User).where(User.id == video.owner_id).values(likes_received=User.likes_received - 1)
        )


async def do_comment(
    session: AsyncSession, *, realm_code: int, author: User, video: Video, body: str, parent_id: int | None
) -> Comment:
    text = clean_text("body", body, max_len=1000, allow_empty=False)
    parent: Comment | None = None
    if parent_id is not None:
        parent = await session.get(Comment, parent_id, with_for_update=True)
        if parent is None or parent.video_id != video.id:
            raise Problem(
                422, "invalid-request", "The request is not valid", "parent_id: no such comment on this video"
            )
        if parent.parent_id is not None:  # replies are one level deep: answer the thread's top comment
            parent = await session.get(Comment, parent.parent_id, with_for_update=True)
            assert parent is not None
    comment = Comment(
        id=ids.new_id(realm_code),
        video_id=video.id,
        author_id=author.id,
        parent_id=parent.id if parent else None,
        body=text,
    )
    session.add(comment)
    await session.execute(
        update(Video).where(Video.id == video.id).values(comment_count=Video.comment_count + 1)
    )
    if parent is not None:
        parent.reply_count += 1
    await session.flush()  # the new comment's defaults (created_at) are needed for the response
    return comment


async def access_comment(session: AsyncSession, comment_id: int, video: Video) -> Comment:
    comment = await session.get(Comment, comment_id)
    if comment is None or comment.video_id != video.id:
        raise not_found("Comment")
    return comment


async def do_delete_comment(session: AsyncSession, viewer: Viewer, video: Video, comment: Comment) -> None:
    """The author or the video's creator may delete a comment; replies go with it."""
    if viewer.user_id not in (comment.author_id, video.owner_id):
        raise Problem(
            403, "forbidden", "Not allowed", "Only the author or the creator can delete this comment."
        )
    removed = 1 + (comment.reply_count if comment.parent_id is None else 0)
    if comment.parent_id is not None:
        await session.execute(
            update(Comment).where(Comment.id == comment.parent_id).values(reply_count=Comment.reply_count - 1)
        )
    await session.execute(delete(Comment).where(Comment.id == comment.id))
    await session.execute(
        update(Video).where(Video.id == video.id).values(comment_count=Video.comment_count - removed)
    )


async def do_like_comment(session: AsyncSession, user_id: int, comment: Comment, *, like: bool) -> None:
    if like:
        changed = await session.execute(
            insert(CommentLike)
            .values(user_id=user_id, comment_id=comment.id)
            .on_conflict_do_nothing()
            .returning(CommentLike.user_id)
        )
        delta = 1
    else:
        changed = await session.execute(
            delete(CommentLike)
            .where(CommentLike.user_id == user_id, CommentLike.comment_id == comment.id)
            .returning(CommentLike.user_id)
        )
        delta = -1
    if changed.first() is not None:
        await session.execute(
            update(Comment).where(Comment.id == comment.id).values(like_count=Comment.like_count + delta)
        )


async def list_comments(
    session: AsyncSession,
    video: Video,
    *,
    parent_id: int | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Comment]:
    """Top-level comments (or the replies to one), oldest first, keyset-paginated."""
    query = select(Comment).where(Comment.video_id == video.id)
    query = (
        query.where(Comment.parent_id == parent_id)
        if parent_id is not None
        else query.where(Comment.parent_id.is_(None))
    )
    if after is not None:
        query = query.where(tuple_(Comment.created_at, Comment.id) > tuple_(*after))
    return list((await session.scalars(query.order_by(Comment.created_at, Comment.id).limit(limit))).all())


async def comments_out(
    session: AsyncSession, realm: str, comments: Sequence[Comment], viewer: Viewer
) -> list[CommentOut]:
    if not comments:
        return []
    authors = {
        u.id: u
        for u in await session.scalars(select(User).where(User.id.in_({c.author_id for c in comments})))
    }
    liked: set[int] = set()
    if viewer.user_id is not None and viewer.realm == realm:
        liked = set(
            await session.scalars(
                select(CommentLike.comment_id).where(
                    CommentLike.user_id == viewer.user_id,
                    CommentLike.comment_id.in_([c.id for c in comments]),
                )
            )
        )
    return [
        CommentOut(
            id=str(c.id),
            video_id=str(c.video_id),
            parent_id=str(c.parent_id) if c.parent_id else None,
            author=creator_out(realm, authors[c.author_id]),
            body=c.body,
            created_at=c.created_at,
            like_count=c.like_count,
            reply_count=c.reply_count,
            liked_by_me=(c.id in liked) if viewer.user_id is not None and viewer.realm == realm else None,
        )
        for c in comments
    ]


async def do_follow(session: AsyncSession, follower_id: int, followee: User, *, follow: bool) -> None:
    if follower_id == followee.id:
        raise Problem(422, "invalid-request", "The request is not valid", "You cannot follow yourself.")
    if follow:
        changed = await session.execute(
            insert(Follow)
            .values(follower_id=follower_id, followee_id=followee.id)
            .on_conflict_do_nothing()
            .returning(Follow.follower_id)
        )
        delta = 1
    else:
        changed = await session.execute(
            delete(Follow)
            .where(Follow.follower_id == follower_id, Follow.followee_id == followee.id)
            .returning(Follow.follower_id)
        )
        delta = -1
    if changed.first() is not None:
        await session.execute(
            update(User).where(User.id == followee.id).values(follower_count=User.follower_count + delta)
        )
        await session.execute(
            update(User).where(User.id == follower_id).values(following_count=User.following_count + delta)
        )


async def is_following(session: AsyncSession, follower_id: int, followee_id: int) -> bool:
    found = await session.scalar(
        select(Follow.follower_id).where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
    )
    return found is not None
