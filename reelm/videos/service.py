"""Uploads, access checks and edits of videos."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import jobs
from reelm.accounts.models import User
from reelm.social.models import Follow, VideoLike
from reelm.text import clean_text, hashtags_of, mentions_of
from reelm.videos.models import Rendition, Video, VideoStatus, Visibility
from reelm.videos.schemas import Counts, Creator, RenditionOut, VideoOut
from reelm.web.deps import Viewer
from reelm.web.problems import Problem, not_found

# Progressive MP4 for players without HLS: the best rung up to this short edge, to spare mobile data.
MP4_FALLBACK_MAX_SHORT_EDGE = 720


def media_url(realm: str, key: str) -> str:
    return f"/media/{realm}/{key}"


def original_key(video_id: int) -> str:
    return f"videos/{video_id}/original"


def check_caption(caption: str) -> str:
    return clean_text("caption", caption, max_len=2200)


async def do_create_video(
    session: AsyncSession,
    *,
    video_id: int,
    owner: User,
    caption: str,
    visibility: str,
    size: int,
    width: int,
    height: int,
    duration_s: float,
) -> Video:
    """Record an uploaded original and queue its transcode in the same transaction."""
    video = Video(
        id=video_id,
        owner_id=owner.id,
        caption=caption,
        hashtags=hashtags_of(caption),
        mentions=mentions_of(caption),
        visibility=visibility,
        status=VideoStatus.PROCESSING,
        status_detail="queued",
        width=width,
        height=height,
        duration_s=duration_s,
        original_key=original_key(video_id),
        original_size=size,
    )
    session.add(video)
    await session.flush()  # the row must exist before the job that refers to it
    await jobs.defer(session, "transcode_video", video_id=video_id)
    return video


def can_see(video: Video, viewer: Viewer) -> bool:
    if video.owner_id == viewer.user_id:
        return True
    return video.status == VideoStatus.READY and video.visibility == Visibility.PUBLIC


async def access_video(
    session: AsyncSession, viewer: Viewer, video_id: int, *, for_update: bool = False
) -> Video:
    """The video if this viewer may see it; 404 otherwise, so private videos do not reveal they exist."""
    video = await session.get(Video, video_id, with_for_update=for_update)
    if video is None or not can_see(video, viewer):
        raise not_found("Video")
    return video


async def access_own_video(session: AsyncSession, viewer: Viewer, video_id: int) -> Video:
    video = await access_video(session, viewer, video_id, for_update=True)
    if video.owner_id != viewer.user_id:
        raise Problem(403, "forbidden", "Not your video", "Only the creator can change this video.")
    return video


async def do_update_video(video: Video, *, caption: str | None, visibility: str | None) -> Video:
    if caption is not None:
        video.caption = check_caption(caption)
        video.hashtags = hashtags_of(video.caption)
        video.mentions = mentions_of(video.caption)
    if visibility is not None:
        video.visibility = Visibility(visibility)
    return video


async def do_delete_video(session: AsyncSession, video: Video) -> None:
    """Delete the rows; the caller removes the objects after commit (a rollback must not lose media)."""
    if video.published_at is not None:
        await session.execute(
            update(User).where(User.id == video.owner_id).values(video_count=User.video_count - 1)
        )
    await session.execute(delete(Video).where(Video.id == video.id))


def _mp4_fallback(renditions: Sequence[Rendition]) -> Rendition | None:
    fitting = [r for r in renditions if min(r.width, r.height) <= MP4_FALLBACK_MAX_SHORT_EDGE]
    pool = fitting or list(renditions)
    return max(pool, key=lambda r: r.height * r.width) if pool else None


def creator_out(realm: str, user: User, *, is_following: bool | None = None) -> Creator:
    return Creator(
        is_following=is_following,
        id=str(user.id),
        handle=user.handle,
        display_name=user.display_name,
        avatar_url=media_url(realm, user.avatar_key) if user.avatar_key else None,
        follower_count=user.follower_count,
    )


async def videos_out(
    session: AsyncSession, realm: str, videos: Sequence[Video], viewer: Viewer, base_url: str
) -> list[VideoOut]:
    """API views of videos of one realm, loading creators and the viewer's likes in two queries."""
    if not videos:
        return []
    owner_ids = {v.owner_id for v in videos}
    owners = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(owner_ids)))}
    liked: set[int] = set()
    followed: set[int] = set()
    same_realm_viewer = viewer.user_id is not None and viewer.realm == realm
    if same_realm_viewer:
        followed = set(
            await session.scalars(
                select(Follow.followee_id).where(
                    Follow.follower_id == viewer.user_id, Follow.followee_id.in_(owner_ids)
                )
            )
        )
        liked = set(
            await session.scalars(
                select(VideoLike.video_id).where(
                    VideoLike.user_id == viewer.user_id, VideoLike.video_id.in_([v.id for v in videos])
                )
            )
        )
    out = []
    for video in videos:
        master = f"videos/{video.id}/master.m3u8" if video.renditions else None
        fallback = _mp4_fallback(video.renditions)
        out.append(
            VideoOut(
                id=str(video.id),
                realm=realm,
                creator=creator_out(
                    realm,
                    owners[video.owner_id],
                    is_following=(video.owner_id in followed)
                    if same_realm_viewer and video.owner_id != viewer.user_id
                    else None,
                ),
                caption=video.caption,
                hashtags=video.hashtags,
                mentions=video.mentions,
                visibility=video.visibility,
                status=video.status,
                status_detail=video.status_detail,
                reject_code=video.reject_code,
                reject_reason=video.reject_reason,
                width=video.width,
                height=video.height,
                duration_s=video.duration_s,
                poster_url=media_url(realm, video.poster_key) if video.poster_key else None,
                hls_url=media_url(realm, master) if master else None,
                mp4_url=media_url(realm, fallback.mp4_key) if fallback else None,
                renditions=[
                    RenditionOut(
                        name=r.name,
                        width=r.width,
                        height=r.height,
                        bandwidth=r.bandwidth,
                        codecs=r.codecs,
                        mp4_url=media_url(realm, r.mp4_key),
                        hls_url=media_url(realm, r.hls_key),
                    )
                    for r in video.renditions
                ],
                counts=Counts(
                    likes=video.like_count,
                    comments=video.comment_count,
                    shares=video.share_count,
                    views=video.view_count,
                ),
                liked_by_me=(video.id in liked)
                if viewer.user_id is not None and viewer.realm == realm
                else None,
                created_at=video.created_at,
                published_at=video.published_at,
                share_url=f"{base_url.rstrip('/')}/v/{video.id}",
            )
        )
    return out
