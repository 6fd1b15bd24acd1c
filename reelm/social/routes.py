"""JSON API for likes, comments and follows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from reelm import ids
from reelm.accounts.models import User
from reelm.accounts.service import resolve_handle
from reelm.realms.deps import require_capability
from reelm.realms.models import Capability
from reelm.social import service
from reelm.social.schemas import CommentIn, CommentOut, CommentPage, FollowState, LikeState
from reelm.videos.routes import video_realm
from reelm.videos.service import access_video
from reelm.web.deps import RuntimeDep, UserViewer, ViewerDep
from reelm.web.pagination import decode_cursor, encode_cursor
from reelm.web.problems import Problem, not_found

router = APIRouter(tags=["social"])


def _comment_id(text: str) -> int:
    parsed = ids.parse_id(text)
    if parsed is None:
        raise not_found("Comment")
    return parsed


async def _set_like(runtime: RuntimeDep, viewer: UserViewer, video_id: str, *, like: bool) -> LikeState:
    realm, vid = video_realm(runtime, video_id)
    service.check_same_realm(viewer, realm)
    assert viewer.user_id is not None
    async with runtime.databases.transaction(realm) as session:
        video = await access_video(session, viewer, vid, for_update=True)
        if like:
            await service.do_like_video(session, viewer.user_id, video)
        else:
            await service.do_unlike_video(session, viewer.user_id, video)
        await session.refresh(video)
        return LikeState(liked=like, like_count=video.like_count)


@router.post("/videos/{video_id}/like", response_model=LikeState)
async def like_video(runtime: RuntimeDep, viewer: UserViewer, video_id: str) -> LikeState:
    return await _set_like(runtime, viewer, video_id, like=True)


@router.delete("/videos/{video_id}/like", response_model=LikeState)
async def unlike_video(runtime: RuntimeDep, viewer: UserViewer, video_id: str) -> LikeState:
    return await _set_like(runtime, viewer, video_id, like=False)


@router.get("/videos/{video_id}/comments", response_model=CommentPage)
async def get_comments(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    video_id: str,
    parent_id: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> CommentPage:
    """Top-level comments oldest first, or with `parent_id` the replies to one comment."""
    realm, vid = video_realm(runtime, video_id)
    after = None
    if cursor:
        state = decode_cursor(runtime.settings.secret_key, cursor, f"comments:{vid}:{parent_id}")
        after = (datetime.fromisoformat(state["at"]), int(state["id"]))
    async with runtime.databases.transaction(realm) as session:
        video = await access_video(session, viewer, vid)
        comments = await service.list_comments(
            session,
            video,
            parent_id=_comment_id(parent_id) if parent_id else None,
            after=after,
            limit=limit + 1,
        )
        items = await service.comments_out(session, realm, comments[:limit], viewer)
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
    dependencies=[require_capability(Capability.COMMENT)],  # the commenter's realm (it must be the video's)
)
async def post_comment(runtime: RuntimeDep, viewer: UserViewer, video_id: str, body: CommentIn) -> CommentOut:
    realm, vid = video_realm(runtime, video_id)
    service.check_same_realm(viewer, realm)
    assert viewer.user is not None
    async with runtime.databases.transaction(realm) as session:
        video = await access_video(session, viewer, vid, for_update=True)
        comment = await service.do_comment(
            session,
            realm_code=runtime.settings.realm(realm).code,
            author=viewer.user,
            video=video,
            body=body.body,
            parent_id=_comment_id(body.parent_id) if body.parent_id else None,
        )
        return (await service.comments_out(session, realm, [comment], viewer))[0]


@router.delete("/videos/{video_id}/comments/{comment_id}", status_code=204)
async def delete_comment(runtime: RuntimeDep, viewer: UserViewer, video_id: str, comment_id: str) -> None:
    realm, vid = video_realm(runtime, video_id)
    service.check_same_realm(viewer, realm)
    async with runtime.databases.transaction(realm) as session:
        video = await access_video(session, viewer, vid, for_update=True)
        comment = await service.access_comment(session, _comment_id(comment_id), video)
        await service.do_delete_comment(session, viewer, video, comment)


async def _set_comment_like(
    runtime: RuntimeDep, viewer: UserViewer, video_id: str, comment_id: str, *, like: bool
) -> LikeState:
    realm, vid = video_realm(runtime, video_id)
    service.check_same_realm(viewer, realm)
    assert viewer.user_id is not None
    async with runtime.databases.transaction(realm) as session:
        video = await access_video(session, viewer, vid)
        comment = await service.access_comment(session, _comment_id(comment_id), video)
        await service.do_like_comment(session, viewer.user_id, comment, like=like)
        await session.refresh(comment)
        return LikeState(liked=like, like_count=comment.like_count)


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
    service.check_same_realm(viewer, entry.realm)
    assert viewer.user_id is not None
    async with runtime.databases.transaction(entry.realm) as session:
        followee = await session.get(User, entry.user_id, with_for_update=True)
        if followee is None:
            raise Problem(404, "not-found", "User not found", "No such user.")
        await service.do_follow(session, viewer.user_id, followee, follow=follow)
        await session.refresh(followee)
        return FollowState(following=follow, follower_count=followee.follower_count)


@router.post("/users/{handle}/follow", response_model=FollowState)
async def follow(runtime: RuntimeDep, viewer: UserViewer, handle: str) -> FollowState:
    return await _set_follow(runtime, viewer, handle, follow=True)


@router.delete("/users/{handle}/follow", response_model=FollowState)
async def unfollow(runtime: RuntimeDep, viewer: UserViewer, handle: str) -> FollowState:
    return await _set_follow(runtime, viewer, handle, follow=False)
