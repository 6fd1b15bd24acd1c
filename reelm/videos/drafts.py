"""Drafts and scheduled posts: an upload kept back by its creator, to publish later or at a chosen time.

A draft is transcoded and screened as any upload (so publishing it later is instant), but stays private:
`visibility` is private while it is a draft, so every public path (projections to other realms, feeds,
search, profiles) leaves it out without knowing drafts exist, and `publish_visibility` is who may watch it
once published. Scheduling sets `publish_at` (UTC; the creator's time zone is kept to show it as chosen),
up to 30 days ahead; the realm's worker publishes due drafts (reelm.publishing.scheduled), where the
capability switches are applied at that moment.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.errors import Problem
from reelm.videos.models import Video, VideoStatus, Visibility
from reelm.videos.schemas import DraftOut

# How far ahead a post may be scheduled (TikTok allows 10 days; creators plan a month of posts).
MAX_AHEAD = timedelta(days=30)
# The drafts list shows at most this many (newest first); a creator with more finds them on their pages.
DRAFTS_SHOWN = 100


def _field_problem(type_: str, title: str, field: str, message: str) -> Problem:
    # Worded as the edge's validation problems are (reelm.web.problems), so clients read one shape.
    return Problem(422, type_, title, f"{field}: {message}", errors=[{"field": field, "message": message}])


def check_publish_at(when: datetime, time_zone: str | None, *, now: datetime | None = None) -> datetime:
    """The UTC instant of a scheduled post. A time without an offset is read in `time_zone` (the creator's,
    an IANA name the edge has checked); one with an offset is that instant. It must be in the future and at
    most 30 days ahead."""
    now = now or datetime.now(UTC)
    if when.tzinfo is None:
        if time_zone is None:
            raise _field_problem(
                "schedule-time-zone",
                "Which time zone?",
                "time_zone",
                "a time without an offset needs the time zone it is in",
            )
        # A local time that a DST change skips (02:30 on a spring-forward night) is read as the zone's rules
        # say for fold 0: the hour before the change, so the post is never later than the creator meant.
        when = when.replace(tzinfo=zoneinfo.ZoneInfo(time_zone))
    try:
        instant = when.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 or 9999 with an offset falls off the calendar
        raise _field_problem(
            "schedule-too-far", "Too far ahead", "publish_at", "is not a time that can be scheduled"
        ) from None
    if instant <= now:
        raise _field_problem(
            "schedule-in-past", "That time has passed", "publish_at", "must be in the future"
        )
    if instant > now + MAX_AHEAD:
        raise _field_problem(
            "schedule-too-far",
            "Too far ahead",
            "publish_at",
            f"must be at most {MAX_AHEAD.days} days ahead",
        )
    return instant


def start_as_draft(video: Video, visibility: str, publish_at: datetime | None, time_zone: str | None) -> None:
    """Make a new upload a draft (scheduled when `publish_at`, already checked, is given)."""
    video.draft = True
    video.publish_visibility = Visibility(visibility)
    video.visibility = Visibility.PRIVATE
    video.publish_at = publish_at
    video.publish_time_zone = time_zone if publish_at is not None else None


def _check_draft(video: Video) -> None:
    if not video.draft:
        raise Problem(409, "not-a-draft", "Already published", "This video is published; it is not a draft.")


def do_schedule(video: Video, publish_at: datetime, time_zone: str | None) -> None:
    """Schedule a draft (or move its time); `publish_at` is checked by `check_publish_at`."""
    _check_draft(video)
    video.publish_at = publish_at
    video.publish_time_zone = time_zone
    video.publish_held_at = None


def do_unschedule(video: Video) -> None:
    """Keep it a draft with no time set."""
    _check_draft(video)
    video.publish_at = video.publish_time_zone = video.publish_held_at = None


def set_draft_visibility(video: Video, visibility: str) -> None:
    """Who may watch a draft once published: it stays private until then."""
    video.publish_visibility = Visibility(visibility)


def check_publishable(video: Video) -> None:
    """A draft that can be published now: transcoded and not held or refused by review."""
    _check_draft(video)
    if video.status == VideoStatus.PROCESSING:
        raise Problem(
            409,
            "draft-processing",
            "Still processing",
            "This draft is still being processed. Schedule it, and it is published once ready.",
        )
    if video.status != VideoStatus.READY:
        raise Problem(
            409,
            "draft-not-publishable",
            "Cannot be published",
            "This draft was held or refused by review; see its page for why.",
        )


def publish_draft(video: Video, now: datetime) -> None:
    """The draft's own columns when it is published (reelm.publishing.scheduled does the rest)."""
    video.draft = False
    video.visibility = Visibility(video.publish_visibility or Visibility.PUBLIC)
    video.publish_visibility = None
    video.publish_at = video.publish_time_zone = None
    video.publish_held_at = None
    # Published now, not when it was transcoded: feeds and Following order it as new.
    video.published_at = now


async def drafts_of(session: AsyncSession, owner_id: int) -> list[Video]:
    """A creator's drafts: scheduled ones first, soonest first; then the rest, newest first."""
    query = (
        select(Video)
        .where(Video.owner_id == owner_id, Video.draft.is_(True))
        .order_by(Video.publish_at.asc().nulls_last(), Video.created_at.desc())
        .limit(DRAFTS_SHOWN)
    )
    return list(await session.scalars(query))


def draft_out(video: Video, realm: str) -> DraftOut:
    local = None
    if video.publish_at is not None and video.publish_time_zone:
        shown = video.publish_at.astimezone(zoneinfo.ZoneInfo(video.publish_time_zone))
        local = shown.strftime("%Y-%m-%dT%H:%M")
    return DraftOut(
        id=str(video.id),
        caption=video.caption,
        status=video.status,
        status_detail=video.status_detail,
        reject_reason=video.reject_reason,
        poster_url=f"/media/{realm}/{video.poster_key}" if video.poster_key else None,
        duration_s=video.duration_s,
        created_at=video.created_at,
        visibility=video.publish_visibility or Visibility.PUBLIC,
        publish_at=video.publish_at,
        time_zone=video.publish_time_zone,
        publish_at_local=local,
        held=video.publish_held_at is not None,
        page_url=f"/v/{video.id}",
    )
