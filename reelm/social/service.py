"""Likes, comments and follows. Each is stored in the actor's home realm, whatever realm the target is in.

On the realm's own content the counters are updated here, in the same transaction. On another realm's
content the row alone is written: a trigger tallies it in the realm's projections and the target's realm
adds the tally to its counters (reelm.crossrealm). Targets of another realm are checked against the
projections this realm holds, never read from the other realm's database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, tuple_, union_all, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.models import User
from reelm.accounts.viewer import Viewer
from reelm.crossrealm.service import access_public_comment, access_public_profile, do_remove_foreign_comment
from reelm.crossrealm.views import public_comments, public_profiles
from reelm.errors import Problem, not_found
from reelm.notifications.models import NotificationKind
from reelm.social.models import (
    Comment,
    CommentControls,
    CommentLike,
    Favourite,
    FavouriteKind,
    Follow,
    VideoLike,
    VideoRepost,
)
from reelm.social.mutes import comment_hidden
from reelm.social.notify import notify
from reelm.social.schemas import CommentOut
from reelm.text import clean_text
from reelm.videos.models import Video
from reelm.videos.service import do_delete_video_row, public_creator


def is_local(an_id: int, realm_code: int) -> bool:
    return ids.realm_code_of(an_id) == realm_code


async def _set_row(session: AsyncSession, table: Any, key: dict[str, int], *, present: bool) -> bool:
    """Insert or delete one activity row; True when that changed anything (doing it twice counts once)."""
    if present:
        statement: Any = insert(table).values(**key).on_conflict_do_nothing()
    else:
        statement = delete(table).where(*(getattr(table, name) == value for name, value in key.items()))
    result = await session.execute(statement.returning(*(getattr(table, name) for name in key)))
    return result.first() is not None


async def do_set_video_like(session: AsyncSession, user_id: int, video_id: int, *, like: bool) -> bool:
    """Like or unlike any realm's video; the caller updates a local video's counters (`count_like`)."""
    return await _set_row(session, VideoLike, {"user_id": user_id, "video_id": video_id}, present=like)


async def count_like(session: AsyncSession, video: Video, delta: int) -> None:
    await session.execute(
        update(Video).where(Video.id == video.id).values(like_count=Video.like_count + delta)
    )
    await session.execute(
        update(User).where(User.id == video.owner_id).values(likes_received=User.likes_received + delta)
    )


async def _thread_parent(session: AsyncSession, parent_id: int, video_id: int, realm_code: int) -> int:
    """The top-level comment a reply hangs off (replies go one level deep), from any realm."""
    if is_local(parent_id, realm_code):
        parent = await session.get(Comment, parent_id)
        found = parent is not None and parent.video_id == video_id
        grand = parent.parent_id if parent is not None else None
    else:
        row = (
            await session.execute(
                select(public_comments.c.parent_id).where(
                    public_comments.c.id == parent_id, public_comments.c.video_id == video_id
                )
            )
        ).first()
        found, grand = row is not None, row.parent_id if row is not None else None
    if not found:
        raise Problem(
            422, "invalid-request", "The request is not valid", "parent_id: no such comment on this video"
        )
    return grand if grand is not None else parent_id


async def do_comment(
    session: AsyncSession,
    *,
    realm_code: int,
    author: User,
    video_id: int,
    body: str,
    parent_id: int | None,
) -> Comment:
    """Comment on (or reply under) a video of any realm; the comment lives in the author's realm."""
    text = clean_text("body", body, max_len=1000, allow_empty=False)
    top = await _thread_parent(session, parent_id, video_id, realm_code) if parent_id is not None else None
    comment = Comment(
        id=ids.new_id(realm_code), video_id=video_id, author_id=author.id, parent_id=top, body=text
    )
    session.add(comment)
    if is_local(video_id, realm_code):
        await session.execute(
            update(Video).where(Video.id == video_id).values(comment_count=Video.comment_count + 1)
        )
    if top is not None and is_local(top, realm_code):
        await session.execute(
            update(Comment).where(Comment.id == top).values(reply_count=Comment.reply_count + 1)
        )
    await session.flush()  # the new comment's defaults (created_at) are needed for the response
    return comment


async def access_comment(session: AsyncSession, comment_id: int, video_id: int) -> Comment:
    """A comment stored in this realm, on the given video."""
    comment = await session.get(Comment, comment_id)
    if comment is None or comment.video_id != video_id:
        raise not_found("Comment")
    return comment


async def _remove_foreign_replies(session: AsyncSession, realm: str, comment_id: int, video_id: int) -> None:
    """Replies from other realms under a comment of ours: their realms remove them (removal notices)."""
    replies = await session.scalars(
        select(public_comments.c.id).where(
            public_comments.c.parent_id == comment_id, public_comments.c.realm != realm
        )
    )
    for reply in list(replies):
        await do_remove_foreign_comment(session, realm, reply, video_id)


async def do_delete_comment(
    session: AsyncSession, viewer: Viewer, realm_code: int, video_owner_id: int, comment: Comment
) -> None:
    """The author or the video's creator may delete a comment stored here; replies go with it."""
    if viewer.user_id not in (comment.author_id, video_owner_id):
        raise Problem(
            403, "forbidden", "Not allowed", "Only the author or the creator can delete this comment."
        )
    local_replies = 0
    if comment.parent_id is None:
        local_replies = (
            await session.scalar(
                select(func.count()).select_from(Comment).where(Comment.parent_id == comment.id)
            )
            or 0
        )
        await _remove_foreign_replies(session, viewer.realm, comment.id, comment.video_id)
    elif is_local(comment.parent_id, realm_code):
        await session.execute(
            update(Comment).where(Comment.id == comment.parent_id).values(reply_count=Comment.reply_count - 1)
        )
    # Local replies and likes of the comment go with it (a trigger: they have no foreign key).
    await session.execute(delete(Comment).where(Comment.id == comment.id))
    if is_local(comment.video_id, realm_code):
        await session.execute(
            update(Video)
            .where(Video.id == comment.video_id)
            .values(comment_count=Video.comment_count - 1 - local_replies)
        )


async def do_remove_comment_from_my_video(
    session: AsyncSession, viewer: Viewer, video: Video, comment_id: int
) -> None:
    """The creator removes another realm's comment from their video: its author's realm deletes it."""
    if viewer.user_id != video.owner_id:
        raise Problem(
            403, "forbidden", "Not allowed", "Only the author or the creator can delete this comment."
        )
    row = await access_public_comment(session, comment_id, video.id)
    await do_remove_foreign_comment(session, viewer.realm, row.id, video.id)
    if row.parent_id is None:
        await _remove_foreign_replies(session, viewer.realm, row.id, video.id)
        await session.execute(delete(Comment).where(Comment.parent_id == row.id))


async def do_set_comment_like(session: AsyncSession, user_id: int, comment_id: int, *, like: bool) -> bool:
    """Like or unlike any realm's comment; the caller updates a local comment's counter."""
    return await _set_row(session, CommentLike, {"user_id": user_id, "comment_id": comment_id}, present=like)


async def count_comment_like(session: AsyncSession, comment: Comment, delta: int) -> None:
    await session.execute(
        update(Comment).where(Comment.id == comment.id).values(like_count=Comment.like_count + delta)
    )


_COMMENT_COLUMNS = (
    "id",
    "video_id",
    "author_id",
    "parent_id",
    "body",
    "created_at",
    "like_count",
    "reply_count",
)


async def list_comments(
    session: AsyncSession,
    realm: str,
    video_id: int,
    *,
    viewer_id: int | None,
    parent_id: int | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Row[Any]]:
    """Top-level comments (or the replies to one) from every realm, oldest first, keyset-paginated.

    This realm's comments come from its own table (so a creator still sees them on a private video),
    other realms' from their projections. A comment held or removed by moderation is shown to its author
    only (projections never hold one).
    """
    shown = Comment.mod_state == "visible"
    if viewer_id is not None:
        shown = shown | (Comment.author_id == viewer_id)
    local = select(*(getattr(Comment, c) for c in _COMMENT_COLUMNS), Comment.mod_label.label("label")).where(
        Comment.video_id == video_id, shown
    )
    pc = public_comments
    foreign = select(*(pc.c[c] for c in _COMMENT_COLUMNS), pc.c.label).where(
        pc.c.video_id == video_id, pc.c.realm != realm
    )
    if parent_id is None:
        local, foreign = local.where(Comment.parent_id.is_(None)), foreign.where(pc.c.parent_id.is_(None))
    else:
        local, foreign = (
            local.where(Comment.parent_id == parent_id),
            foreign.where(pc.c.parent_id == parent_id),
        )
    both = union_all(local, foreign).subquery()
    # What the viewer muted or filtered out (reelm.social.mutes); their own comments are always shown.
    query = select(both).where(
        ~comment_hidden(viewer_id, both.c.author_id, both.c.body) | (both.c.author_id == (viewer_id or 0))
    )
    if after is not None:
        query = query.where(tuple_(both.c.created_at, both.c.id) > tuple_(*after))
    query = query.order_by(both.c.created_at, both.c.id).limit(limit)
    return list((await session.execute(query)).all())


async def comments_out(session: AsyncSession, comments: Sequence[Any], viewer: Viewer) -> list[CommentOut]:
    """Comments (rows or Comment objects) with their authors' public profiles, from any realm.

    A comment whose author is not public (an account pending deletion) is left out.
    """
    if not comments:
        return []
    authors = {
        row.id: row
        for row in await session.execute(
            select(public_profiles).where(public_profiles.c.id.in_({c.author_id for c in comments}))
        )
    }
    liked: set[int] = set()
    if viewer.user_id is not None:
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
            author=public_creator(authors[c.author_id]),
            body=c.body,
            created_at=c.created_at,
            like_count=c.like_count,
            reply_count=c.reply_count,
            liked_by_me=(c.id in liked) if viewer.user_id is not None else None,
            # A moderation label: rows of `list_comments` call it `label`, a Comment object `mod_label`.
            label=c.mod_label if isinstance(c, Comment) else c.label,
        )
        for c in comments
        if c.author_id in authors
    ]


async def do_follow(
    session: AsyncSession, follower_id: int, followee_id: int, *, realm_code: int, follow: bool
) -> bool:
    """Follow or unfollow anyone, in any realm; True when it changed anything."""
    if follower_id == followee_id:
        raise Problem(422, "invalid-request", "The request is not valid", "You cannot follow yourself.")
    changed = await _set_row(
        session, Follow, {"follower_id": follower_id, "followee_id": followee_id}, present=follow
    )
    if changed:
        delta = 1 if follow else -1
        if is_local(followee_id, realm_code):
            await session.execute(
                update(User).where(User.id == followee_id).values(follower_count=User.follower_count + delta)
            )
        await session.execute(
            update(User).where(User.id == follower_id).values(following_count=User.following_count + delta)
        )
    return changed


async def do_set_follow(
    session: AsyncSession,
    realm: str,
    follower_id: int,
    followee_id: int,
    *,
    same_realm: bool,
    realm_code: int,
    follow: bool,
) -> tuple[bool, int]:
    """Follow or unfollow, notify a new follow, and say (following, the followee's follower count).

    A followee of this realm is locked first, so the count returned is the one this change leaves; another
    realm's count is its projection's, and reaches that realm as a tally (eventually consistent).
    """
    if same_realm:
        followee = await session.get(User, followee_id, with_for_update=True)
        if followee is None:
            raise not_found("User")
        followers = followee.follower_count
    else:
        followers = (await access_public_profile(session, followee_id)).follower_count
    changed = await do_follow(session, follower_id, followee_id, realm_code=realm_code, follow=follow)
    if changed:
        followers += 1 if follow else -1
        if follow:
            await notify(session, realm, followee_id, NotificationKind.FOLLOW, follower_id, None)
    return follow, max(0, followers)


async def is_following(session: AsyncSession, follower_id: int, followee_id: int) -> bool:
    found = await session.scalar(
        select(Follow.follower_id).where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
    )
    return found is not None


async def forget_activity_on_videos(session: AsyncSession, video_ids: list[int]) -> None:
    """This realm's likes, reposts, favourites and comments on videos that go away (activity may target any
    realm, so no foreign key cascades it). Other realms' activity on them stays with its authors, unshown."""
    await session.execute(delete(VideoLike).where(VideoLike.video_id.in_(video_ids)))
    await session.execute(delete(VideoRepost).where(VideoRepost.video_id.in_(video_ids)))
    await session.execute(delete(CommentControls).where(CommentControls.video_id.in_(video_ids)))
    await session.execute(
        delete(Favourite).where(
            Favourite.kind == FavouriteKind.VIDEO.value, Favourite.target.in_([str(v) for v in video_ids])
        )
    )
    await session.execute(delete(Comment).where(Comment.video_id.in_(video_ids)))


async def do_delete_video(session: AsyncSession, video: Video) -> None:
    """A creator deletes a video: its rows, and this realm's likes and comments on it. The caller removes
    the objects after commit (a rollback must not lose media)."""
    await forget_activity_on_videos(session, [video.id])
    await do_delete_video_row(session, video)
