"""JSON API for likes, comments and follows, on the content of any realm."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.service import resolve_handle
from reelm.accounts.viewer import Viewer
from reelm.crossrealm.service import (
    access_public_comment,
    access_public_video,
    reader_realm,
)
from reelm.errors import Problem, not_found
from reelm.moderation.rules import do_screen_comment
from reelm.notifications.models import NotificationKind
from reelm.realms.models import Capability
from reelm.social import service
from reelm.social.notify import notify, notify_comment
from reelm.social.schemas import CommentIn, CommentOut, CommentPage, FollowState, LikeState
from reelm.videos.service import access_video
from reelm.web.capabilities import require_capability
from reelm.web.deps import RuntimeDep, UserViewer, ViewerDep
from reelm.web.pagination import decode_cursor, encode_cursor
from reelm.web.routes.videos import video_realm

router = APIRouter(tags=["social"])


def _comment_id(text: str) -> int:
    parsed = ids.parse_id(text)
    if parsed is None:
        raise not_found("Comment")
    return parsed


async def _set_like(runtime: RuntimeDep, viewer: UserViewer, video_id: str, *, like: bool) -> LikeState:
    realm, vid = video_realm(runtime, video_id)
    assert viewer.user_id is not None
    delta = 1 if like else -1
    # Every like is stored in the liker's realm; a video of another realm is checked in its projection.
    async with runtime.databases.transaction(viewer.realm) as session:
        if realm == viewer.realm:
            video = await access_video(session, viewer, vid, for_update=True)
            if await service.do_set_video_like(session, viewer.user_id, vid, like=like):
                await service.count_like(session, video, delta)
                if like:
                    await notify(
                        session, viewer.realm, video.owner_id, NotificationKind.LIKE, viewer.user_id, vid
                    )
            await session.refresh(video)
            return LikeState(liked=like, like_count=video.like_count)
        public = await access_public_video(session, vid)
        changed = await service.do_set_video_like(session, viewer.user_id, vid, like=like)
        if changed and like:
            await notify(session, viewer.realm, public.owner_id, NotificationKind.LIKE, viewer.user_id, vid)
        # The video's realm counts it a moment later; answer with the count as it will be.
        return LikeState(liked=like, like_count=max(0, public.like_count + (delta if changed else 0)))


@router.post("/videos/{video_id}/like", response_model=LikeState)
async def like_video(runtime: RuntimeDep, viewer: UserViewer, video_id: str) -> LikeState:
    return await _set_like(runtime, viewer, video_id, like=True)


@router.delete("/videos/{video_id}/like", response_model=LikeState)
async def unlike_video(runtime: RuntimeDep, viewer: UserViewer, video_id: str) -> LikeState:
    return await _set_like(runtime, viewer, video_id, like=False)


async def _check_video(
    session: AsyncSession, viewer: Viewer, realm: str, video_id: int, *, home: str | None = None
) -> int:
    """The video's creator, if this viewer may see it: from its row in `home` (the session's realm,
    the viewer's by default) when it lives there, else from its projection."""
    if realm == (home or viewer.realm):
        return (await access_video(session, viewer, video_id)).owner_id
    owner_id: int = (await access_public_video(session, video_id)).owner_id
    return owner_id


@router.get("/videos/{video_id}/comments", response_model=CommentPage)
async def get_comments(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    video_id: str,
    parent_id: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> CommentPage:
    """Top-level comments oldest first, or with `parent_id` the replies to one comment; every realm's."""
    realm, vid = video_realm(runtime, video_id)
    after = None
    if cursor:
        state = decode_cursor(runtime.settings.secret_key, cursor, f"comments:{vid}:{parent_id}")
        after = (datetime.fromisoformat(state["at"]), int(state["id"]))
    home = reader_realm(viewer, realm)
    async with runtime.databases.transaction(home) as session:
        await _check_video(session, viewer, realm, vid, home=home)
        comments = await service.list_comments(
            session,
            home,
            vid,
            viewer_id=viewer.user_id,
            parent_id=_comment_id(parent_id) if parent_id else None,
            after=after,
            limit=limit + 1,
        )
        items = await service.comments_out(session, comments[:limit], viewer)
    next_cursor = None
    if len(comments) > limit:
        last = comments[limit - 1]
        next_cursor = encode_cursor(
            runtime.settings.secret_key,
            f"comments:{vid}:{parent_id}",
            {"at": last.created_at.isoformat(), "id": str(last.id)},
        )
    return CommentPage(items=items, next_cursor=next_cursor)


@router.post(
    "/videos/{video_id}/comments",
    status_code=201,
    response_model=CommentOut,
    dependencies=[require_capability(Capability.COMMENT)],  # the commenter's realm, where it is stored
)
async def post_comment(runtime: RuntimeDep, viewer: UserViewer, video_id: str, body: CommentIn) -> CommentOut:
    realm, vid = video_realm(runtime, video_id)
    async with runtime.databases.transaction(viewer.realm) as session:
        if realm == viewer.realm:  # for update: serialises the counter update
            owner_id = (await access_video(session, viewer, vid, for_update=True)).owner_id
        else:
            owner_id = (await access_public_video(session, vid)).owner_id
        comment = await service.do_comment(
            session,
            realm_code=runtime.settings.realm(viewer.realm).code,
            author=viewer.user,
            video_id=vid,
            body=body.body,
            parent_id=_comment_id(body.parent_id) if body.parent_id else None,
        )
        if await do_screen_comment(session, runtime, viewer.realm, comment) == "visible":  # realm's rules
            await notify_comment(session, viewer.realm, comment, owner_id)
        return (await service.comments_out(session, [comment], viewer))[0]


@router.delete("/videos/{video_id}/comments/{comment_id}", status_code=204)
async def delete_comment(runtime: RuntimeDep, viewer: UserViewer, video_id: str, comment_id: str) -> None:
    """The author deletes their comment; the creator deletes any comment on their video, from any realm."""
    realm, vid = video_realm(runtime, video_id)
    cid = _comment_id(comment_id)
    code = runtime.settings.realm(viewer.realm).code
    async with runtime.databases.transaction(viewer.realm) as session:
        owner_id = await _check_video(session, viewer, realm, vid)
        if service.is_local(cid, code):
            comment = await service.access_comment(session, cid, vid)
            await service.do_delete_comment(session, viewer, code, owner_id, comment)
        elif realm == viewer.realm:
            video = await access_video(session, viewer, vid, for_update=True)
            await service.do_remove_comment_from_my_video(session, viewer, video, cid)
        else:
            await access_public_comment(session, cid, vid)
            raise Problem(
                403, "forbidden", "Not allowed", "Only the author or the creator can delete this comment."
            )


async def _set_comment_like(
    runtime: RuntimeDep, viewer: UserViewer, video_id: str, comment_id: str, *, like: bool
) -> LikeState:
    realm, vid = video_realm(runtime, video_id)
    cid = _comment_id(comment_id)
    assert viewer.user_id is not None
    delta = 1 if like else -1
    async with runtime.databases.transaction(viewer.realm) as session:
        await _check_video(session, viewer, realm, vid)
        if service.is_local(cid, runtime.settings.realm(viewer.realm).code):
            comment = await service.access_comment(session, cid, vid)
            if await service.do_set_comment_like(session, viewer.user_id, cid, like=like):
                await service.count_comment_like(session, comment, delta)
            await session.refresh(comment)
            return LikeState(liked=like, like_count=comment.like_count)
        public = await access_public_comment(session, cid, vid)
        changed = await service.do_set_comment_like(session, viewer.user_id, cid, like=like)
        return LikeState(liked=like, like_count=max(0, public.like_count + (delta if changed else 0)))


@router.post("/videos/{video_id}/comments/{comment_id}/like", response_model=LikeState)
async def like_comment(runtime: RuntimeDep, viewer: UserViewer, video_id: str, comment_id: str) -> LikeState:
    return await _set_comment_like(runtime, viewer, video_id, comment_id, like=True)


@router.delete("/videos/{video_id}/comments/{comment_id}/like", response_model=LikeState)
async def unlike_comment(
    runtime: RuntimeDep, viewer: UserViewer, video_id: str, comment_id: str
) -> LikeState:
    return await _set_comment_like(runtime, viewer, video_id, comment_id, like=False)


async def _set_follow(runtime: RuntimeDep, viewer: UserViewer, handle: str, *, follow: bool) -> FollowState:
    entry = await resolve_handle(runtime, handle)
    if entry is None:
        raise not_found("User")
    async with runtime.databases.transaction(viewer.realm) as session:
        following, followers = await service.do_set_follow(
            session,
            viewer.realm,
            viewer.user_id,
            entry.user_id,
            same_realm=entry.realm == viewer.realm,
            realm_code=runtime.settings.realm(viewer.realm).code,
            follow=follow,
        )
    return FollowState(following=following, follower_count=followers)


@router.post("/users/{handle}/follow", response_model=FollowState)
async def follow(runtime: RuntimeDep, viewer: UserViewer, handle: str) -> FollowState:
    return await _set_follow(runtime, viewer, handle, follow=True)


@router.delete("/users/{handle}/follow", response_model=FollowState)
async def unfollow(runtime: RuntimeDep, viewer: UserViewer, handle: str) -> FollowState:
    return await _set_follow(runtime, viewer, handle, follow=False)
