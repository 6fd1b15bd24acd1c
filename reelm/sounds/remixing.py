"""Remixes: a video that uses a sound, or duets or stitches another video, in any realm.

Two steps. At upload, `plan_remix` checks what the creator asked against the public projection of the sound
or video in the creator's own realm (reelm.crossrealm): it must be public and available, its creator must
allow that use, and the offsets must fall inside it; the answer is the plan kept on the new video
(`videos.remix`), or a problem saying why not, before anything is stored. In the worker, `compose_remix`
makes the one video the plan describes (reelm.videos.remix and remix_audio, one ffmpeg filtergraph) before the
transcode: it reads only public renditions (a sound's audio, a video's highest rung), from the realm that
serves them, counts that crossing when the realm is another, and replaces the upload by the composed file,
which is what screening and the ladder then see. The remixer's own clip is kept beside it.

A duet or stitch is composed twice: first straight at the size of the ladder's smallest rung (`preview=True`),
which is screened and published as that rung, then at full size for the other rungs. Composing at full size
decodes two 1080x1920 sources and encodes a third, more than the clip's length on two cores, while the small
composition, which reads the original's lowest rung, costs a fraction of it (bench/remix.py): the remix plays
within seconds of its upload.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.crossrealm.models import RealmFlow
from reelm.crossrealm.views import public_sounds, public_videos
from reelm.errors import Problem, not_found
from reelm.runtime import Runtime
from reelm.scratch import scratch
from reelm.sounds.models import SoundStatus
from reelm.videos import media, remix, remix_audio
from reelm.videos.models import RemixKind, Video, VideoStatus
from reelm.videos.permissions import check_remix_allowed
from reelm.videos.service import media_limits

# What crosses when a remix reads another realm's public media (reelm.crossrealm.flows lists it).
REMIX_MEDIA = "remix_media"


@dataclass(frozen=True)
class RemixAsked:
    """What a creator asks for at upload (validated for type and range at the edge)."""

    kind: RemixKind
    source_id: int  # the sound (kind SOUND) or the video (DUET, STITCH)
    own_level: float = 1.0
    other_level: float = 1.0  # the sound's, or the original's in a duet
    offset_s: float = 0.0  # where in the sound the video starts
    start_s: float = 0.0  # the stitched part of the original
    end_s: float = 0.0


def _refused(error: remix.RemixRejected) -> Problem:
    return Problem(422, "remix-rejected", "This remix cannot be made", error.reason)


async def plan_remix(session: AsyncSession, remixer_id: int, asked: RemixAsked) -> dict[str, Any]:
    """The plan of a remix, checked (see the module's docstring); a 404 for what is not public, a 403 for
    what its creator does not allow, a 422 for offsets outside it or a sound taken down."""
    if asked.kind is RemixKind.SOUND:
        return await _plan_sound(session, remixer_id, asked)
    video = await _public_video(session, asked.source_id)
    check_remix_allowed(asked.kind, video, remixer_id=remixer_id)
    rungs = sorted(video.renditions or [], key=lambda r: int(r["height"]))
    if not rungs or video.duration_s is None:
        raise not_found("Video")
    plan: dict[str, Any] = {
        "kind": asked.kind.value,
        "source_id": video.id,
        "source_realm": video.realm,
        "media_key": rungs[-1]["mp4_key"],
        # The preview is as small as the lowest rung: decoding that instead of the top rung saves most of the
        # original's share of the work.
        "preview_media_key": rungs[0]["mp4_key"],
        "own_level": asked.own_level,
        "other_level": asked.other_level,
    }
    if asked.kind is RemixKind.STITCH:
        try:
            remix.check_stitch_range(asked.start_s, asked.end_s, video.duration_s)
        except remix.RemixRejected as error:
            raise _refused(error) from error
        plan |= {"start_s": asked.start_s, "end_s": asked.end_s}
    return plan


async def _plan_sound(session: AsyncSession, remixer_id: int, asked: RemixAsked) -> dict[str, Any]:
    query = select(public_sounds).where(public_sounds.c.id == asked.source_id)
    sound = (await session.execute(query)).first()
    if sound is None:
        raise not_found("Sound")
    if sound.status != SoundStatus.AVAILABLE:
        raise Problem(422, "sound-unavailable", "This sound isn't available", "It can no longer be used.")
    check_remix_allowed(RemixKind.SOUND, await _public_video(session, sound.video_id), remixer_id=remixer_id)
    try:
        mix = remix_audio.SoundMix(asked.offset_s, asked.own_level, asked.other_level)
        remix_audio.check_sound_mix(mix, sound.duration_s)
    except remix.RemixRejected as error:
        raise _refused(error) from error
    return {
        "kind": asked.kind.value,
        "source_id": sound.id,
        "source_realm": sound.realm,
        "media_key": sound.audio_key,
        "duration_s": sound.duration_s,
        "offset_s": asked.offset_s,
        "own_level": asked.own_level,
        "other_level": asked.other_level,
    }


async def _public_video(session: AsyncSession, video_id: int) -> Any:
    row = (await session.execute(select(public_videos).where(public_videos.c.id == video_id))).first()
    if row is None:
        raise not_found("Video")
    return row


def composed_key(video_id: int) -> str:
    return f"videos/{video_id}/composed.mp4"


def preview_key(video_id: int) -> str:
    return f"videos/{video_id}/composed-preview.mp4"


# The size every duet and stitch is composed at (remix.Canvas), and the ladder's smallest rung of it.
_FULL = remix.Canvas()
_GONE = (VideoStatus.REJECTED, VideoStatus.REMOVED)


def preview_canvas(remixer: media.ProbeResult) -> remix.Canvas | None:
    """The smallest rung of the full composition (what plan_ladder makes of it), if a canvas can be it."""
    composed = dataclasses.replace(remixer, width=_FULL.width, height=_FULL.height)
    smallest = media.plan_ladder(composed)[0]
    canvas = remix.Canvas(smallest.width, smallest.height)
    try:
        remix.check_canvas(canvas)
    except remix.RemixRejected:
        return None
    return canvas if canvas != _FULL else None


async def compose_remix(runtime: Runtime, realm: str, video_id: int, *, preview: bool = False) -> bool:
    """Make the remix a video's plan describes, once (a retry after a crash finds it made); with `preview`,
    a duet's or stitch's composition at the smallest rung's size instead, unless the full one exists. Returns
    whether the video has a preview (made now or before). Raises media.MediaRejected (remix.RemixRejected
    among them) when it cannot be made."""
    async with runtime.databases.read(realm) as session:
        video = await session.get(Video, video_id)
        if video is None or not video.remix or video.status in _GONE:
            return False
        plan = dict(video.remix)
        # The upload itself; once a preview is made the video's original is that preview.
        clip_key = plan.get("clip_key") or video.original_key
    previewed = bool(plan.get("previewed"))
    if plan.get("composed") or (preview and (previewed or plan["kind"] == RemixKind.SOUND)):
        return previewed
    limits = media_limits(runtime.settings)
    with scratch(runtime.settings.data_dir) as tmp:
        clip, source = tmp / "clip", tmp / "source"
        await runtime.storage.realm(realm).download(clip_key, clip)
        media_key = plan.get("preview_media_key", plan["media_key"]) if preview else plan["media_key"]
        await runtime.storage.realm(plan["source_realm"]).download(media_key, source)
        if plan["source_realm"] != realm:
            await _count_crossing(runtime, realm, plan["source_realm"])
        clip_info = await asyncio.to_thread(media.probe, clip, limits)
        canvas = preview_canvas(clip_info) if preview else _FULL
        if canvas is None:
            return False
        out = tmp / "composed.mp4"
        kind = RemixKind(plan["kind"])
        await _compose(kind, plan, remix.Clip(clip, clip_info), source, out, canvas, limits)
        key = preview_key(video_id) if preview else composed_key(video_id)
        await runtime.storage.realm(realm).put_file(key, out)
    async with runtime.databases.transaction(realm) as session:
        video = await session.get(Video, video_id, with_for_update=True)
        if video is None:
            return False
        done = {"previewed": True} if preview else {"composed": True}
        video.remix = plan | done | {"clip_key": clip_key}
        video.original_key = key
        if plan["kind"] == RemixKind.SOUND:
            video.sound_id = plan["source_id"]  # the sound it chose, not a new one of its own
    return preview or previewed


async def _compose(
    kind: RemixKind,
    plan: dict[str, Any],
    clip: remix.Clip,
    source: Path,
    out: Path,
    canvas: remix.Canvas,
    limits: media.MediaLimits,
) -> None:
    own, other = float(plan["own_level"]), float(plan["other_level"])
    if kind is RemixKind.SOUND:
        sound = remix_audio.Sound(source, float(plan["duration_s"]))
        mix = remix_audio.SoundMix(float(plan["offset_s"]), own, other)
        await remix_audio.use_sound(clip, sound, out, mix, limits=limits)
        return
    original = remix.Clip(source, await asyncio.to_thread(media.probe, source, limits))
    if kind is RemixKind.DUET:
        await remix.duet(clip, original, out, remix.DuetParams(own, other, canvas), limits=limits)
    else:
        params = remix.StitchParams(float(plan["start_s"]), float(plan["end_s"]), canvas)
        await remix.stitch(original, clip, out, params, limits=limits)


async def _count_crossing(runtime: Runtime, realm: str, source_realm: str) -> None:
    """One more public file read from another realm, counted where it arrives, as replicated rows are."""
    day = datetime.now(UTC).date()
    async with runtime.databases.transaction(realm) as session:
        statement = insert(RealmFlow).values(
            day=day, source_realm=source_realm, relation=REMIX_MEDIA, operation="READ", rows=1
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[
                    RealmFlow.day,
                    RealmFlow.source_realm,
                    RealmFlow.relation,
                    RealmFlow.operation,
                ],
                set_={"rows": RealmFlow.rows + 1},
            )
        )
