"""Remixes as pages show them: what a remix would take (the upload page), what a remix is of (its video
page), and the duets and stitches of a video (its "Duets and stitches").

Everything is read from the public projections in the reader's own database (reelm.crossrealm.views), as
`plan_remix` checks an upload against them: the upload page offers exactly what the upload will accept, and
says why not where it would be refused, in any realm.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.crossrealm.views import public_profiles, public_sounds, public_videos
from reelm.sounds.models import SoundStatus
from reelm.videos.models import RemixKind
from reelm.videos.permissions import remix_refusal
from reelm.videos.schemas import Creator, VideoOut
from reelm.videos.service import media_url

# The kinds listed under a video: those that show the video itself (a sound's users are the sound page's).
LISTED_KINDS = (RemixKind.DUET.value, RemixKind.STITCH.value)
# The rendition a page previews: the best up to this short edge, to spare mobile data (as the cards' MP4).
PREVIEW_MAX_SHORT_EDGE = 720


class Refusal(enum.StrEnum):
    """Why a remix cannot be made of it; stable values the page words in the viewer's language."""

    MISSING = "missing"  # not public (private, deleted, never there) or not yet published
    NO_SOUND = "no_sound"  # the video has no sound to use
    UNAVAILABLE = "unavailable"  # the sound was taken down
    NOT_ALLOWED = "not_allowed"  # its creator does not allow this kind of remix


@dataclass(frozen=True)
class RemixSource:
    """The sound or video a remix would take, as the upload page shows it."""

    kind: RemixKind
    id: int  # the sound (SOUND) or the video (DUET, STITCH); 0 when it cannot be found
    refusal: Refusal | None = None
    creator: Creator | None = None
    title: str | None = None  # a sound's own title (None: "original sound - @creator")
    duration_s: float = 0.0
    video_id: int | None = None  # the video shown: the original, or the sound's own video
    poster_url: str | None = None
    preview_url: str | None = None  # an MP4 rendition of that video, to preview it (or hear the sound)
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class RemixOrigin:
    """What a video remixes, for "Duet with @original" on its page, and the sound it uses."""

    kind: RemixKind | None  # None: not a remix
    original_id: int | None = None  # the duetted or stitched video
    original_creator: Creator | None = None  # None when the original is no longer public
    sound_id: int | None = None  # the video's sound (its own, or the one it used)


def _preview(renditions: Sequence[dict[str, Any]] | None) -> dict[str, Any] | None:
    rungs = list(renditions or [])
    fitting = [r for r in rungs if min(int(r["width"]), int(r["height"])) <= PREVIEW_MAX_SHORT_EDGE]
    pool = fitting or rungs
    return max(pool, key=lambda r: int(r["width"]) * int(r["height"])) if pool else None


async def _public_video(session: AsyncSession, video_id: int) -> Any:
    query = (
        select(public_videos, *_creator_columns())
        .join(public_profiles, public_profiles.c.id == public_videos.c.owner_id)
        .where(public_videos.c.id == video_id)
    )
    return (await session.execute(query)).first()


def _creator_columns() -> list[Any]:
    p = public_profiles.c
    return [
        p.realm.label("profile_realm"),
        p.handle,
        p.display_name,
        p.avatar_key,
        p.follower_count,
    ]


def _creator(row: Any) -> Creator:
    return Creator(
        id=str(row.owner_id),
        handle=row.handle,
        display_name=row.display_name,
        avatar_url=media_url(row.profile_realm, row.avatar_key) if row.avatar_key else None,
        follower_count=row.follower_count,
    )


def _shown(kind: RemixKind, source_id: int, video: Any, **more: Any) -> RemixSource:
    rendition = _preview(video.renditions)
    return RemixSource(
        kind=kind,
        id=source_id,
        creator=_creator(video),
        video_id=video.id,
        poster_url=media_url(video.realm, video.poster_key) if video.poster_key else None,
        preview_url=media_url(video.realm, rendition["mp4_key"]) if rendition else None,
        width=video.width,
        height=video.height,
        **more,
    )


async def remix_source(
    session: AsyncSession, kind: RemixKind, source_id: int, remixer_id: int
) -> RemixSource:
    """The sound (kind SOUND) or video (DUET, STITCH) `remixer_id` would remix, with the reason they may
    not, if any (the checks of reelm.sounds.remixing.plan_remix, which the upload makes again)."""
    if kind is RemixKind.SOUND:
        return await _sound_source(session, source_id, remixer_id)
    video = await _public_video(session, source_id)
    if video is None or not video.renditions or video.duration_s is None:
        return RemixSource(kind, source_id, Refusal.MISSING)
    refused = remix_refusal(kind, video, remixer_id=remixer_id) is not None
    return _shown(
        kind,
        source_id,
        video,
        duration_s=float(video.duration_s),
        refusal=Refusal.NOT_ALLOWED if refused else None,
    )


async def _sound_source(session: AsyncSession, sound_id: int, remixer_id: int) -> RemixSource:
    sound = (await session.execute(select(public_sounds).where(public_sounds.c.id == sound_id))).first()
    video = await _public_video(session, sound.video_id) if sound is not None else None
    if sound is None or video is None:
        return RemixSource(RemixKind.SOUND, sound_id, Refusal.MISSING)
    refusal = None
    if sound.status != SoundStatus.AVAILABLE:
        refusal = Refusal.UNAVAILABLE
    elif remix_refusal(RemixKind.SOUND, video, remixer_id=remixer_id) is not None:
        refusal = Refusal.NOT_ALLOWED
    # The sound's creator is whoever made its video (the sound's owner).
    return _shown(
        RemixKind.SOUND,
        sound_id,
        video,
        title=sound.title,
        duration_s=float(sound.duration_s),
        refusal=refusal,
    )


async def remix_origin(session: AsyncSession, video: VideoOut) -> RemixOrigin:
    """What a video (its card) remixes: the original's creator is read, in the reader's database, only for a
    duet or stitch."""
    sound_id = int(video.sound.id) if video.sound is not None else None
    if video.remix_kind is None or video.remix_of is None:  # not a remix, or a sound used: the card says all
        return RemixOrigin(video.remix_kind, sound_id=sound_id)
    original = await _public_video(session, int(video.remix_of))
    return RemixOrigin(
        video.remix_kind,
        original_id=int(video.remix_of),
        original_creator=_creator(original) if original is not None else None,
        sound_id=sound_id,
    )


def remixes_of(video_id: int) -> ColumnElement[bool]:
    """The condition on `public_videos` for the public duets and stitches of a video, in any realm."""
    return and_(public_videos.c.remix_of_id == video_id, public_videos.c.remix_kind.in_(LISTED_KINDS))
