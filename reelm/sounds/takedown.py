"""Taking a sound down: a legal order or a review decision (reelm.moderation) makes it unavailable.

An unavailable sound cannot be used any more (reelm.sounds.remixing refuses it), and every video that uses it,
in every realm, is muted: the video stays, with a notice, and its renditions are made again without sound
(the transcode job does that for a video whose `audio_muted` says so; reelm.videos.transcode). The sound's own
realm mutes its videos in the decision's transaction; the other realms learn of the takedown through the
projection of the sound (`public_sounds.status`) and mute theirs in `sync_muted`, a sweep of their workers.
An appeal that succeeds restores the sound, and the same two paths bring the videos' sound back.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import jobs
from reelm.crossrealm.views import public_sounds
from reelm.errors import not_found
from reelm.runtime import Runtime
from reelm.sounds.models import Sound, SoundStatus
from reelm.videos.models import Video, VideoStatus
from reelm.videos.service import TRANSCODE_TASK, transcode_job_options

# How many videos one sweep mutes or unmutes; the rest wait for the next (each is a transcode job).
SYNC_BATCH = 100


async def take_down(session: AsyncSession, sound_id: int, reason: str) -> None:
    await _set_available(session, sound_id, available=False, reason=reason)


async def restore(session: AsyncSession, sound_id: int) -> None:
    await _set_available(session, sound_id, available=True, reason=None)


async def _set_available(
    session: AsyncSession, sound_id: int, *, available: bool, reason: str | None
) -> None:
    sound = await session.get(Sound, sound_id, with_for_update=True)
    if sound is None:
        raise not_found("Sound")
    sound.status = SoundStatus.AVAILABLE if available else SoundStatus.UNAVAILABLE
    sound.status_reason = reason
    await _set_muted(session, Video.sound_id == sound_id, muted=not available)


async def sync_muted(runtime: Runtime, realm: str) -> int:
    """Mute this realm's videos whose sound (of any realm) was taken down, and give back the sound of those
    whose sound was restored; how many changed."""
    unavailable = public_sounds.c.status == SoundStatus.UNAVAILABLE.value
    disagree = (
        select(Video.id)
        .join(public_sounds, public_sounds.c.id == Video.sound_id)
        .where(unavailable != Video.audio_muted)
        .limit(SYNC_BATCH)
    )
    changed = 0
    async with runtime.databases.transaction(realm) as session:
        for muted in (True, False):
            wanted = disagree.where(unavailable if muted else ~unavailable)
            changed += await _set_muted(session, Video.id.in_(wanted.scalar_subquery()), muted=muted)
    return changed


async def _set_muted(session: AsyncSession, which: ColumnElement[bool], *, muted: bool) -> int:
    """Flag the videos, and queue the transcode that remakes a published one's renditions (in its
    uploader's turn, as an upload's)."""
    rows = await session.execute(
        update(Video)
        .where(which, Video.audio_muted.is_not(muted))
        .values(audio_muted=muted)
        .returning(Video.id, Video.owner_id, Video.status)
    )
    changed = rows.all()
    for video_id, owner_id, status in changed:
        if status == VideoStatus.READY:
            options = await transcode_job_options(session, owner_id)
            await jobs.defer(session, TRANSCODE_TASK, options=options, video_id=video_id)
    return len(changed)
