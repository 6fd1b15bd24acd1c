"""JSON API for likes, comments and follows, on the content of any realm."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.service import resolve_handle
from reelm.accounts.viewer import SignedInViewer, Viewer
from reelm.crossrealm.service import (
    access_public_comment,
    reader_realm,
)
from reelm.crossrealm.views import public_videos
from reelm.errors import Problem, not_found
from reelm.moderation.rules import do_screen_comment
from reelm.realms.models import Capability
from reelm.runtime import Runtime
from reelm.social import actions, comment_controls, follow_lists, pins, service
from reelm.social.cards import card_select, card_viewer, fetch_cards, public_card_select, visible_to
from reelm.social.follow_lists import Direction
from reelm.social.models import Comment
from reelm.social.schemas import (
    CommentIn,
    CommentOut,
    CommentPage,
    FollowState,
    LikeState,
    PeoplePage,
    PinsOut,
)
from reelm.videos.models import Video
from reelm.videos.schemas import VideoPage
from reelm.videos.service import access_own_video, access_video
from reelm.web.capabilities import handle_realm_in_path, require_capability
from reelm.web.deps import RuntimeDep, UserViewer, ViewerDep
from reelm.web.pagination import decode_cursor, encode_cursor
from reelm.web.params import Cursor, HandlePath, IdPath, IdQuery
from reelm.web.routes.accounts import get_user
from reelm.web.routes.videos import video_realm

router = APIRouter(tags=["social"])


def _comment_id(text: str) -> int:
    parsed = ids.parse_id(text)
    if parsed is None:
        raise not_found("Comment")
    return parsed


async def _set_like(runtime: RuntimeDep, viewer: UserViewer, video_id: str, *, like: bool) -> LikeState:
    realm, vid = video_realm(runtime, video_id)
    # Every like is stored in the liker's realm.
    async with runtime.databases.transaction(viewer.realm) as session:
        count = await actions.do_like_video(session, viewer, realm, vid, like=like)
    return LikeState(liked=like, like_count=count)


@router.post("/videos/{video_id}/like", response_model=LikeState)
async def like_video(runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath) -> LikeState:
    return await _set_like(runtime, viewer, video_id, like=True)


@router.delete("/videos/{video_id}/like", response_model=LikeState)
async def unlike_video(runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath) -> LikeState:
    return await _set_like(runtime, viewer, video_id, like=False)


@router.get("/videos/{video_id}/comments", response_model=CommentPage)
async def get_comments(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    video_id: IdPath,
    parent_id: IdQuery = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> CommentPage:
    """Top-level comments oldest first, or with `parent_id` the replies to one comment; every realm's."""
    realm, vid = video_realm(runtime, video_id)
    after = None
    if cursor:
        state = decode_cursor(runtime.settings.secret_key, cursor, f"comments:{vid}:{parent_id}")
        after = (datetime.fromisoformat(state["at"]), int(state["id"]))
    home = reader_realm(viewer, realm)
    pinned_id = None
    async with runtime.databases.transaction(home) as session:
        owner_id = await actions.check_video(session, viewer, realm, vid, home=home)
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
    if cursor is None and parent_id is None:  # the creator's pinned comment, kept in the video's realm
        async with runtime.databases.read(realm) as session:
            pinned_id = (await comment_controls.controls_for(session, owner_id, vid)).pinned_comment_id
    next_cursor = None
    if len(comments) > limit:
        last = comments[limit - 1]
        next_cursor = encode_cursor(
            runtime.settings.secret_key,
            f"comments:{vid}:{parent_id}",
            {"at": last.created_at.isoformat(), "id": str(last.id)},
        )
    return CommentPage(items=items, next_cursor=next_cursor, pinned_id=pinned_id)


@router.post(
    "/videos/{video_id}/comments",
    status_code=201,
    response_model=CommentOut,
    dependencies=[require_capability(Capability.COMMENT)],  # the commenter's realm, where it is stored
)
async def post_comment(
    runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath, body: CommentIn
) -> CommentOut:
    realm, vid = video_realm(runtime, video_id)

    async def screen(session: AsyncSession, comment: Comment) -> bool:
        return await do_screen_comment(session, runtime, viewer.realm, comment) == "visible"  # realm's rules

    async with runtime.databases.transaction(viewer.realm) as session:
        comment = await actions.do_post_comment(
            session,
            viewer,
            realm,
            vid,
            realm_code=runtime.settings.realm(viewer.realm).code,
            body=body.body,
            parent_id=_comment_id(body.parent_id) if body.parent_id else None,
            screen=screen,
        )
        return (await service.comments_out(session, [comment], viewer))[0]


@router.delete("/videos/{video_id}/comments/{comment_id}", status_code=204)
async def delete_comment(
    runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath, comment_id: IdPath
) -> None:
    """The author deletes their comment; the creator deletes any comment on their video, from any realm."""
    realm, vid = video_realm(runtime, video_id)
    cid = _comment_id(comment_id)
    code = runtime.settings.realm(viewer.realm).code
    async with runtime.databases.transaction(viewer.realm) as session:
        owner_id = await actions.check_video(session, viewer, realm, vid)
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
    code = runtime.settings.realm(viewer.realm).code
    async with runtime.databases.transaction(viewer.realm) as session:
        count = await actions.do_like_comment(
            session, viewer, realm, vid, _comment_id(comment_id), realm_code=code, like=like
        )
    return LikeState(liked=like, like_count=count)


@router.post("/videos/{video_id}/comments/{comment_id}/like", response_model=LikeState)
async def like_comment(
    runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath, comment_id: IdPath
) -> LikeState:
    return await _set_comment_like(runtime, viewer, video_id, comment_id, like=True)


@router.delete("/videos/{video_id}/comments/{comment_id}/like", response_model=LikeState)
async def unlike_comment(
    runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath, comment_id: IdPath
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
async def follow(runtime: RuntimeDep, viewer: UserViewer, handle: HandlePath) -> FollowState:
    return await _set_follow(runtime, viewer, handle, follow=True)


@router.delete("/users/{handle}/follow", response_model=FollowState)
async def unfollow(runtime: RuntimeDep, viewer: UserViewer, handle: HandlePath) -> FollowState:
    return await _set_follow(runtime, viewer, handle, follow=False)


# --- follower lists -----------------------------------------------------------------------------------


async def people_page(
    runtime: Runtime, viewer: Viewer, handle: str, direction: Direction, cursor: str | None, limit: int
) -> PeoplePage:
    """Someone's followers or followees as the viewer sees them (shared by the API and the pages)."""
    profile = await get_user(runtime, viewer, handle)  # 404 for no one, or a suspended account
    user_id = int(profile.id)
    kind = f"{direction}:{user_id}"
    after = None
    if cursor:
        state = decode_cursor(runtime.settings.secret_key, cursor, kind)
        after = (datetime.fromisoformat(state["at"]), int(state["id"]))
    people, following_on = await follow_lists.people_of(
        runtime, viewer, user_id, profile.realm, direction, after=after, limit=limit
    )
    next_cursor = None
    if following_on is not None:
        at, last = following_on
        next_cursor = encode_cursor(
            runtime.settings.secret_key, kind, {"at": at.isoformat(), "id": str(last)}
        )
    return PeoplePage(items=people, next_cursor=next_cursor)


@router.get("/users/{handle}/followers", response_model=PeoplePage)
async def get_followers(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    handle: HandlePath,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> PeoplePage:
    """Who follows this account (those of its own realm: a follow is stored where the follower lives)."""
    return await people_page(runtime, viewer, handle, "followers", cursor, limit)


@router.get("/users/{handle}/following", response_model=PeoplePage)
async def get_following(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    handle: HandlePath,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> PeoplePage:
    """Whom this account follows, in every realm."""
    return await people_page(runtime, viewer, handle, "following", cursor, limit)


# --- pinned videos ----------------------------------------------------------------------------------------


async def _own_video(runtime: Runtime, viewer: SignedInViewer, video_id: str) -> int:
    realm, vid = video_realm(runtime, video_id)
    if realm != viewer.realm:  # one's own videos live at home: another realm's is someone else's
        raise Problem(403, "forbidden", "Not your video", "Only the creator can change this video.")
    return vid


@router.put("/videos/{video_id}/pin", response_model=PinsOut)
async def pin_video(runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath) -> PinsOut:
    """Show one of your published public videos first on your profile; up to 3 (a 4th is refused)."""
    vid = await _own_video(runtime, viewer, video_id)
    async with runtime.databases.transaction(viewer.realm) as session:
        video = await access_own_video(session, viewer, vid)
        pinned = await pins.do_pin(session, viewer.user, video)
    return PinsOut(video_ids=[str(v) for v in pinned])


@router.delete("/videos/{video_id}/pin", response_model=PinsOut)
async def unpin_video(runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath) -> PinsOut:
    vid = await _own_video(runtime, viewer, video_id)
    async with runtime.databases.transaction(viewer.realm) as session:
        video = await access_own_video(session, viewer, vid)
        pinned = await pins.do_unpin(session, viewer.user, video)
    return PinsOut(video_ids=[str(v) for v in pinned])


async def pinned_videos(runtime: Runtime, viewer: Viewer, handle: str) -> VideoPage:
    """A creator's pinned videos as cards, the latest pinned first; read where cards are read for them."""
    entry = await resolve_handle(runtime, handle)
    if entry is None:
        raise not_found("User")
    async with runtime.databases.read(entry.realm) as session:  # pins are public, and kept at home
        pinned = await pins.pinned_ids(session, entry.user_id)
    if not pinned:
        return VideoPage(items=[], next_cursor=None)
    base_url = runtime.settings.base_url
    if reader_realm(viewer, entry.realm) != entry.realm:  # another realm's creator: their public videos
        query = public_card_select(viewer.user_id).where(public_videos.c.id.in_(pinned))
        async with runtime.databases.read(viewer.realm) as session:
            cards = await fetch_cards(session, query, realm=viewer.realm, viewer=viewer, base_url=base_url)
    else:
        local = card_select(card_viewer(viewer, entry.realm)).where(
            Video.id.in_(pinned), visible_to(viewer), pins.shown_pin()
        )
        async with runtime.databases.read(entry.realm) as session:
            cards = await fetch_cards(session, local, realm=entry.realm, viewer=viewer, base_url=base_url)
    order = {str(v): n for n, v in enumerate(pinned)}
    return VideoPage(items=sorted(cards, key=lambda card: order[card.id]), next_cursor=None)


@router.get(
    "/users/{handle}/pinned",
    response_model=VideoPage,
    dependencies=[require_capability(Capability.WATCH, handle_realm_in_path)],
)
async def get_pinned(runtime: RuntimeDep, viewer: ViewerDep, handle: HandlePath) -> VideoPage:
    """The videos a creator pinned to the top of their profile (up to 3), the latest pinned first."""
    return await pinned_videos(runtime, viewer, handle)
