"""Sounds as people see them: a sound's page, the sounds lists show, how many videos use one, a rename.

Everything is read from the public projections in the viewer's own database (reelm.crossrealm.views): every
realm's public sounds and videos are there, so a sound of realm us used by a video of realm eu is counted
alike on both realms' pages, and no read leaves the viewer's realm. A sound is public while the video it
comes from is (reelm.crossrealm.schema projects it so); one taken down stays, unavailable, its audio withheld.

A rename is written in the sound's own realm, which is its creator's, and reaches every other realm through
the projection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import SignedInViewer, Viewer
from reelm.crossrealm.views import public_profiles, public_sounds, public_videos
from reelm.errors import Problem, not_found
from reelm.sounds.models import Sound, SoundStatus
from reelm.sounds.schemas import (
    MAX_TITLE_CHARS,
    SoundCreator,
    SoundOriginal,
    SoundOut,
    SoundRefusal,
    SoundSummary,
)
from reelm.text import clean_text
from reelm.videos.models import RemixKind
from reelm.videos.permissions import remix_refusal
from reelm.videos.service import media_url

# What an unnamed sound is called (English, as the API words everything; pages word it in their language).
ORIGINAL_SOUND = "original sound \u2013 @{handle}"  # an en dash, as TikTok writes it
UNAVAILABLE_TITLE = "This sound isn't available"
UNAVAILABLE_DETAIL = "It was taken down: it can't be played or used in new videos."

_owner = public_profiles.alias("sound_owner")
_original = public_videos.alias("sound_original")


def title_shown(title: str | None, handle: str) -> str:
    return title if title is not None else ORIGINAL_SOUND.format(handle=handle)


def shown_in(viewer: Viewer) -> list[ColumnElement[bool]]:
    """The card rules of a list of public videos (reelm.social.cards.public_card_select): not restricted in
    the viewer's realm, and not age-restricted for a visitor not logged in. Counts follow them, so that "N
    videos" is what the sound's grid holds."""
    pv = public_videos.c
    rules: list[ColumnElement[bool]] = [func.array_position(pv.restricted_realms, viewer.realm).is_(None)]
    if viewer.user_id is None:
        rules.append(pv.age_restricted.is_(False))
    return rules


def uses(viewer: Viewer, sound_id: Any) -> ColumnElement[int]:
    """How many public videos of every realm use the sound, as this viewer may see them: one probe of each
    realm's `videos_sound` index (reelm.crossrealm.schema.PROJECTION_INDEXES), not a scan of the videos."""
    pv = public_videos.c
    counted = (
        select(func.count()).select_from(public_videos).where(pv.sound_id == sound_id, *shown_in(viewer))
    )
    return counted.scalar_subquery()


def sound_select(viewer: Viewer) -> Select[Any]:
    """Public sounds with their creator, the video they come from and how many videos use them."""
    ps = public_sounds.c
    return (
        select(
            *[c for c in public_sounds.c if c.name != "search_document"],
            _owner.c.handle.label("owner_handle"),
            _owner.c.display_name.label("owner_display_name"),
            _owner.c.avatar_key.label("owner_avatar_key"),
            _original.c.realm.label("original_realm"),
            _original.c.poster_key.label("original_poster_key"),
            # Read by remix_refusal with the row's owner_id: a sound's creator is its original's.
            _original.c.allow_sound_reuse.label("allow_sound_reuse"),
            uses(viewer, ps.id).label("video_count"),
        )
        .join(_owner, _owner.c.id == ps.owner_id)
        # The original leaves the projections with the sound; in between, the sound shows without a cover.
        .outerjoin(_original, _original.c.id == ps.video_id)
    )


def summary_from_row(row: Row[Any]) -> SoundSummary:
    return SoundSummary(**_summary_fields(row))


def _summary_fields(row: Row[Any]) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "realm": row.realm,
        "title": title_shown(row.title, row.owner_handle),
        "named": row.title is not None,
        "creator": SoundCreator(
            id=str(row.owner_id),
            handle=row.owner_handle,
            display_name=row.owner_display_name,
            avatar_url=media_url(row.realm, row.owner_avatar_key) if row.owner_avatar_key else None,
        ),
        "cover_url": media_url(row.original_realm, row.original_poster_key)
        if row.original_poster_key
        else None,
        "duration_s": row.duration_s,
        "video_count": int(row.video_count or 0),
        "available": row.status == SoundStatus.AVAILABLE,
    }


def sound_from_row(row: Row[Any], viewer: Viewer) -> SoundOut:
    available = row.status == SoundStatus.AVAILABLE
    refusal: SoundRefusal | None = None
    if not available:
        refusal = SoundRefusal.UNAVAILABLE
    elif row.original_realm is None:
        refusal = SoundRefusal.ORIGINAL_GONE
    elif remix_refusal(RemixKind.SOUND, row, remixer_id=viewer.user_id) is not None:
        refusal = SoundRefusal.NOT_ALLOWED
    return SoundOut(
        **_summary_fields(row),
        status=row.status,
        message=f"{UNAVAILABLE_TITLE}. {UNAVAILABLE_DETAIL}" if not available else None,
        original=SoundOriginal(
            id=str(row.video_id),
            realm=row.original_realm or row.realm,
            poster_url=media_url(row.original_realm, row.original_poster_key)
            if row.original_poster_key
            else None,
        ),
        # A taken-down sound's waveform says nothing of what was taken down, and the page draws it greyed.
        waveform=list(row.waveform),
        audio_url=media_url(row.realm, row.audio_key) if available else None,
        created_at=row.created_at,
        can_use=refusal is None,
        use_refusal=refusal,
        can_rename=viewer.user_id is not None and viewer.user_id == row.owner_id,
    )


async def access_sound(session: AsyncSession, viewer: Viewer, sound_id: int) -> SoundOut:
    """A public sound of any realm, from the viewer's database; 404 when there is none (never was, or its
    video is no longer public)."""
    row = (await session.execute(sound_select(viewer).where(public_sounds.c.id == sound_id))).first()
    if row is None:
        raise not_found("Sound")
    return sound_from_row(row, viewer)


async def playable(session: AsyncSession, sound_id: int) -> bool:
    """Whether the sound's audio may be served: it is public (its video is) and not taken down."""
    ps = public_sounds.c
    found = await session.scalar(
        select(ps.id).where(ps.id == sound_id, ps.status == SoundStatus.AVAILABLE.value)
    )
    return found is not None


async def sound_summaries(session: AsyncSession, viewer: Viewer, ids: Sequence[int]) -> list[SoundSummary]:
    """These public sounds as lists show them, in this order (one that went meanwhile is left out)."""
    if not ids:
        return []
    rows = await session.execute(sound_select(viewer).where(public_sounds.c.id.in_(list(ids))))
    found = {row.id: summary_from_row(row) for row in rows}
    return [found[i] for i in ids if i in found]


async def do_rename_sound(
    session: AsyncSession, viewer: SignedInViewer, sound_id: int, title: str
) -> SoundOut:
    """Name a sound: its creator only (403 for anyone else, 404 for a sound not public). Runs in the viewer's
    realm, which holds the creator's sounds; the projection's trigger publishes the new title."""
    title = clean_text("title", title, max_len=MAX_TITLE_CHARS, allow_empty=False, multiline=False)
    found = (
        await session.execute(select(public_sounds.c.owner_id).where(public_sounds.c.id == sound_id))
    ).first()
    if found is None:
        raise not_found("Sound")
    if found.owner_id != viewer.user_id:
        raise Problem(403, "not-sound-creator", "Not your sound", "Only the sound's creator can rename it.")
    renamed = await session.execute(
        update(Sound).where(Sound.id == sound_id, Sound.owner_id == viewer.user_id).values(title=title)
    )
    if renamed.rowcount == 0:  # type: ignore[attr-defined]  # a DML result's count
        raise not_found("Sound")
    return await access_sound(session, viewer, sound_id)
