"""Every published video's audio becomes a sound: its own "original sound", or the sound it already is.

Run by the realm's worker once a video is published (reelm.sounds.tasks), and idempotent: a video that names
a sound already (it used one, or an earlier run linked it) is left as it is. Otherwise its audio is
fingerprinted and looked up among the realm's sounds (reelm.sounds.matching): an upload whose audio matches
a sound for at least MIN_MATCH_SECONDS is linked to that sound (a re-upload of a song groups under one
sound), else a new sound is made: a loudness-normalised rendition (reelm.videos.remix_audio), its waveform,
and its landmarks, stored for the uploads to come. A video without audio, or with a silent one, has no
sound. Only the video's public rendition is read, never the original upload.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.runtime import Runtime
from reelm.scratch import scratch
from reelm.sounds import audio, fingerprint
from reelm.sounds.matching import find_matching_sound, store_sound_landmarks
from reelm.sounds.models import Sound, SoundStatus
from reelm.videos import media, remix, remix_audio
from reelm.videos.models import Rendition, Video, VideoStatus
from reelm.videos.service import media_limits

log = logging.getLogger(__name__)

MAKE_SOUND_TASK = "make_sound"  # registered by reelm.sounds.tasks; deferred when a video is published


def audio_key(sound_id: int) -> str:
    return f"sounds/{sound_id}/audio.m4a"


async def _source_rendition(session: AsyncSession, video_id: int) -> Rendition | None:
    """The rendition whose audio is best kept: the highest rung (every rung carries the same sound, the
    higher ones at a higher bit rate)."""
    rungs = await session.scalars(
        select(Rendition).where(Rendition.video_id == video_id).order_by(Rendition.height.desc()).limit(1)
    )
    return rungs.first()


async def make_sound(runtime: Runtime, realm: str, video_id: int) -> int | None:
    """The id of the sound the published video `video_id` now names (None: it has no audible sound)."""
    async with runtime.databases.read(realm) as session:
        video = await session.get(Video, video_id)
        if video is None or video.status != VideoStatus.READY or video.sound_id is not None:
            return None if video is None else video.sound_id
        rendition = await _source_rendition(session, video_id)
        if rendition is None:
            return None
        owner_id, mp4_key = video.owner_id, rendition.mp4_key
    limits = media_limits(runtime.settings)
    with scratch(runtime.settings.data_dir) as tmp:
        source = tmp / "rendition.mp4"
        await runtime.storage.realm(realm).download(mp4_key, source)
        info = await asyncio.to_thread(media.probe, source, limits)
        if not info.has_audio:
            return None
        stored, query = await asyncio.to_thread(_fingerprints, source)
        async with runtime.databases.read(realm) as session:
            found = await find_matching_sound(session, query)
        if found is not None:
            log.info("video %s is sound %s (%.1f s matched)", video_id, found.sound_id, found.matched_seconds)
            return await _link(runtime, realm, video_id, found.sound_id)
        try:
            clip = remix.Clip(source, info)
            rendered = await remix_audio.render_sound(clip, tmp / "sound.m4a", limits=limits)
        except remix.RemixRejected:  # silent: nothing to reuse
            return None
        peaks = await remix_audio.waveform(rendered.path, rendered.duration_s, limits=limits)
        sound = Sound(
            id=ids.new_id(runtime.settings.realm(realm).code),
            owner_id=owner_id,
            video_id=video_id,
            duration_s=rendered.duration_s,
            loudness_lufs=rendered.lufs,
            waveform=[round(p * 100) for p in peaks],
            status=SoundStatus.AVAILABLE,
        )
        sound.audio_key = audio_key(sound.id)
        await runtime.storage.realm(realm).put_file(sound.audio_key, rendered.path)
        return await _keep(runtime, realm, sound, stored)


async def _keep(runtime: Runtime, realm: str, sound: Sound, landmarks: fingerprint.Fingerprint) -> int | None:
    """Record a new sound as its video's, unless the video went or was linked meanwhile."""
    async with runtime.databases.transaction(realm) as session:
        video = await session.get(Video, sound.video_id, with_for_update=True)
        if video is None or video.sound_id is not None:
            return None if video is None else video.sound_id
        session.add(sound)
        await session.flush()
        await store_sound_landmarks(session, sound.id, landmarks)
        video.sound_id = sound.id
        return sound.id


def _fingerprints(path: Path) -> tuple[fingerprint.Fingerprint, fingerprint.Fingerprint]:
    """What a new sound stores of this audio, and what looks it up among the stored ones."""
    samples = audio.decode_mono(path)
    return fingerprint.fingerprint(samples), fingerprint.query_fingerprint(samples)


async def _link(runtime: Runtime, realm: str, video_id: int, sound_id: int) -> int:
    async with runtime.databases.transaction(realm) as session:
        await session.execute(
            update(Video).where(Video.id == video_id, Video.sound_id.is_(None)).values(sound_id=sound_id)
        )
    return sound_id
