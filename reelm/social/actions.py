"""What a viewer does to a video or a comment: like it, comment on it. Each is stored in the viewer's realm,
whatever realm the video lives in (a video of another realm is checked in that realm's projection), counted
where it can be, and notified.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import SignedInViewer, Viewer
from reelm.crossrealm.service import access_public_comment, access_public_video
from reelm.notifications.models import NotificationKind
from reelm.social import comment_controls, service
from reelm.social.models import Comment
from reelm.social.notify import notify, notify_comment
from reelm.videos.models import CommentPolicy
from reelm.videos.permissions import check_comment_allowed
from reelm.videos.service import access_video

# Content review's say on a new comment (reelm.moderation.rules), passed in by the caller: True when it
# is visible, so its notifications go out.
CommentScreening = Callable[[AsyncSession, Comment], Awaitable[bool]]


async def check_video(
    session: AsyncSession, viewer: Viewer, realm: str, video_id: int, *, home: str | None = None
) -> int:
    """The video's creator, if this viewer may see it: from its row in `home` (the session's realm,
    the viewer's by default) when it lives there, else from its projection."""
    if realm == (home or viewer.realm):
        return (await access_video(session, viewer, video_id)).owner_id
    owner_id: int = (await access_public_video(session, video_id)).owner_id
    return owner_id


async def do_like_video(
    session: AsyncSession, viewer: SignedInViewer, realm: str, video_id: int, *, like: bool
) -> int:
    """Like or unlike; the video's like count as it is (this realm's video) or will be (another realm
    counts it a moment later)."""
    delta = 1 if like else -1
    if realm == viewer.realm:
        video = await access_video(session, viewer, video_id, for_update=True)
        if await service.do_set_video_like(session, viewer.user_id, video_id, like=like):
            await service.count_like(session, video, delta)
            if like:
                await notify(
                    session, viewer.realm, video.owner_id, NotificationKind.LIKE, viewer.user_id, video_id
                )
        await session.refresh(video)
        return video.like_count
    public = await access_public_video(session, video_id)
    changed = await service.do_set_video_like(session, viewer.user_id, video_id, like=like)
    if changed and like:
        await notify(session, viewer.realm, public.owner_id, NotificationKind.LIKE, viewer.user_id, video_id)
    count: int = public.like_count
    return max(0, count + (delta if changed else 0))


async def do_like_comment(
    session: AsyncSession,
    viewer: SignedInViewer,
    realm: str,
    video_id: int,
    comment_id: int,
    *,
    realm_code: int,
    like: bool,
) -> int:
    """Like or unlike a comment; its like count as it is or will be, as for videos."""
    delta = 1 if like else -1
    await check_video(session, viewer, realm, video_id)
    if service.is_local(comment_id, realm_code):
        comment = await service.access_comment(session, comment_id, video_id)
        if await service.do_set_comment_like(session, viewer.user_id, comment_id, like=like):
            await service.count_comment_like(session, comment, delta)
        await session.refresh(comment)
        return comment.like_count
    public = await access_public_comment(session, comment_id, video_id)
    changed = await service.do_set_comment_like(session, viewer.user_id, comment_id, like=like)
    count: int = public.like_count
    return max(0, count + (delta if changed else 0))


async def do_post_comment(
    session: AsyncSession,
    viewer: SignedInViewer,
    realm: str,
    video_id: int,
    *,
    realm_code: int,
    body: str,
    parent_id: int | None,
    screen: CommentScreening,
) -> Comment:
    """Comment (or reply) where the video's comment policy lets the viewer; the realm's rules screen it, and
    only a visible comment notifies anyone."""
    followed: bool | None = None  # whether the creator follows the viewer; None: not known in this realm
    controls = None  # the creator's comment controls: kept in their realm, so known for its own videos
    if realm == viewer.realm:  # for update: serialises the counter update
        video = await access_video(session, viewer, video_id, for_update=True)
        owner_id, policy = video.owner_id, video.comment_policy
        if policy == CommentPolicy.FOLLOWED_BACK:  # the creator's follows are stored here, in their realm
            followed = await service.is_following(session, owner_id, viewer.user_id)
        if owner_id != viewer.user_id:
            controls = await comment_controls.controls_for(session, owner_id, video_id)
            comment_controls.check_account_age(controls, viewer.user.created_at, datetime.now(UTC))
    else:
        public = await access_public_video(session, video_id)
        owner_id, policy = public.owner_id, public.comment_policy
    # A follow is stored in the follower's realm: the viewer's own follow of the creator is always known here.
    follows = policy == CommentPolicy.FOLLOWERS and await service.is_following(
        session, viewer.user_id, owner_id
    )
    check_comment_allowed(
        policy, is_creator=owner_id == viewer.user_id, followed_by_creator=followed, follows_creator=follows
    )
    comment = await service.do_comment(
        session, realm_code=realm_code, author=viewer.user, video_id=video_id, body=body, parent_id=parent_id
    )
    visible = await screen(session, comment)
    if visible and controls is not None and comment_controls.held_for_approval(controls, comment.body):
        comment.mod_state = comment_controls.PENDING  # for the creator to approve; nobody is told meanwhile
        await session.flush()
        return comment
    if visible:
        await notify_comment(session, viewer.realm, comment, owner_id)
    return comment
