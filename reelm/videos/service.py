"""Uploads, access checks and edits of videos."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row, delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import jobs
from reelm.accounts.models import Suspension, User
from reelm.accounts.viewer import Viewer
from reelm.errors import Problem, not_found
from reelm.settings import Settings
from reelm.text import clean_text, hashtags_of, mentions_of
from reelm.videos import media
from reelm.videos.drafts import set_draft_visibility, start_as_draft
from reelm.videos.models import RemixKind, Video, VideoStatus, Visibility
from reelm.videos.permissions import account_defaults, apply_permissions, chosen_over, permissions_of
from reelm.videos.schemas import Creator, PermissionChoices

TRANSCODE_TASK = "transcode_video"  # registered by reelm.publishing.tasks


def media_url(realm: str, key: str) -> str:
    return f"/media/{realm}/{key}"


def age_restricted_problem() -> Problem:
    """What an anonymous visitor gets for an age-restricted video: log in (account holders are adults)."""
    return Problem(
        403,
        "age-restricted",
        "Log in to watch",
        "This video is shown to adults only. Log in to watch it.",
        login_url="/login",
    )


def media_limits(settings: Settings) -> media.MediaLimits:
    """The upload limits of the settings, as the media pipeline takes them."""
    return media.MediaLimits(
        max_bytes=settings.max_upload_bytes,
        max_duration_s=settings.max_duration_s,
        min_side=settings.min_side_px,
        max_side=settings.max_side_px,
        cpu_base_s=settings.transcode_cpu_base_s,
        cpu_s_per_megapixel_frame=settings.transcode_cpu_s_per_megapixel_frame,
    )


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
    permissions: PermissionChoices | None = None,
    remix: dict[str, Any] | None = None,
    draft: bool = False,
    publish_at: datetime | None = None,
    time_zone: str | None = None,
    ai_generated: bool = False,
    paid_partnership: bool = False,
) -> Video:
    """Record an uploaded original and queue its transcode in the same transaction. A permission left out
    (None) is the creator's default for new videos. `remix` is a checked plan (reelm.sounds.remixing), which
    the worker composes before the transcode. A `draft` (or a post scheduled at `publish_at`, checked by
    reelm.videos.drafts.check_publish_at) is transcoded but kept private until published."""
    chosen = chosen_over(await account_defaults(session, owner.id), permissions or PermissionChoices())
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
        ai_generated=ai_generated,
        paid_partnership=paid_partnership,
    )
    apply_permissions(video, chosen)
    if draft or publish_at is not None:
        start_as_draft(video, visibility, publish_at, time_zone)
    if remix is not None:
        video.remix, video.remix_kind = remix, remix["kind"]
        if remix["kind"] != RemixKind.SOUND:
            video.remix_of_id = remix["source_id"]
    session.add(video)
    await session.flush()  # the row must exist before the job that refers to it
    options = await transcode_job_options(session, owner.id)
    await jobs.defer(session, TRANSCODE_TASK, options=options, video_id=video_id)
    return video


def uploader_lock(owner_id: int) -> str:
    return f"uploader:{owner_id}"


async def transcode_job_options(session: AsyncSession, owner_id: int) -> jobs.JobOptions:
    """Fair turns for uploaders in a realm's media queue.

    One lock per uploader: their transcodes run one at a time, so one person never holds more than one of the
    worker's slots. And each job's priority is minus the number of that uploader's jobs already waiting or
    running: everyone's first waiting upload comes before anyone's second, so a batch of fifty waits behind
    the single upload of someone who came later, instead of the other way round.
    """
    lock = uploader_lock(owner_id)
    return jobs.JobOptions(lock=lock, priority=-await jobs.count_unfinished(session, lock))


def can_see(video: Video, viewer: Viewer) -> bool:
    if video.owner_id == viewer.user_id:
        return True
    public = video.status == VideoStatus.READY and video.visibility == Visibility.PUBLIC
    return public and viewer.realm not in (video.restricted_realms or [])  # geo-restricted by moderation


async def access_video(
    session: AsyncSession, viewer: Viewer, video_id: int, *, for_update: bool = False
) -> Video:
    """The video if this viewer may see it; 404 otherwise, so private videos do not reveal they exist."""
    video = await session.get(Video, video_id, with_for_update=for_update)
    if video is None or not can_see(video, viewer):
        raise not_found("Video")
    if video.owner_id != viewer.user_id:
        if await session.get(Suspension, video.owner_id) is not None:  # not public while suspended
            raise not_found("Video")
        if video.age_restricted and viewer.user is None:
            raise age_restricted_problem()
    return video


async def access_own_video(session: AsyncSession, viewer: Viewer, video_id: int) -> Video:
    video = await access_video(session, viewer, video_id, for_update=True)
    if video.owner_id != viewer.user_id:
        raise Problem(403, "forbidden", "Not your video", "Only the creator can change this video.")
    return video


async def do_update_video(
    video: Video,
    *,
    caption: str | None,
    visibility: str | None,
    permissions: PermissionChoices | None = None,
    ai_generated: bool | None = None,
    paid_partnership: bool | None = None,
    cover_alt: str | None = None,
) -> Video:
    """Change what is given; the rest stays as it was. The labels are the creator's;
    an empty `cover_alt` removes the cover's text alternative."""
    if ai_generated is not None:
        video.ai_generated = ai_generated
    if paid_partnership is not None:
        video.paid_partnership = paid_partnership
    if cover_alt is not None:
        video.cover_alt = clean_text("cover_alt", cover_alt, max_len=250) or None
    if permissions is not None:
        apply_permissions(video, chosen_over(permissions_of(video), permissions))
    if caption is not None:
        video.caption = check_caption(caption)
        video.hashtags = hashtags_of(video.caption)
        video.mentions = mentions_of(video.caption)
    if visibility is not None:
        if video.draft:  # a draft stays private until it is published
            set_draft_visibility(video, visibility)
        else:
            video.visibility = Visibility(visibility)
    return video


async def do_count(session: AsyncSession, video: Video, what: Literal["shares", "views"]) -> None:
    """One more share or view of a video of this realm, counted in the database (no lost updates)."""
    column = Video.share_count if what == "shares" else Video.view_count
    await session.execute(update(Video).where(Video.id == video.id).values({column: column + 1}))


async def do_delete_video_row(session: AsyncSession, video: Video) -> None:
    """Delete the video's rows (renditions cascade) and uncount it; activity on it is social's to forget
    (reelm.social.service.do_delete_video). The caller removes the objects after commit."""
    if video.published_at is not None:
        await session.execute(
            update(User).where(User.id == video.owner_id).values(video_count=User.video_count - 1)
        )
    await session.execute(delete(Video).where(Video.id == video.id))


def creator_out(realm: str, user: User, *, is_following: bool | None = None) -> Creator:
    return Creator(
        is_following=is_following,
        id=str(user.id),
        handle=user.handle,
        display_name=user.display_name,
        avatar_url=media_url(realm, user.avatar_key) if user.avatar_key else None,
        follower_count=user.follower_count,
    )


def public_creator(profile: Row[Any], *, is_following: bool | None = None) -> Creator:
    """A creator from a public profile projection (any realm)."""
    return Creator(
        is_following=is_following,
        id=str(profile.id),
        handle=profile.handle,
        display_name=profile.display_name,
        avatar_url=media_url(profile.realm, profile.avatar_key) if profile.avatar_key else None,
        follower_count=profile.follower_count,
    )
