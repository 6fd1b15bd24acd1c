"""A published video's caption (description) edits, kept so that viewers can see what it said before (as
Loops shows edit history). Edits of a draft are not history: nobody but its creator saw it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.videos.models import CaptionEdit, Video
from reelm.videos.schemas import CaptionEditOut

HISTORY_SHOWN = 50  # the newest edits; a caption edited more often shows its latest fifty


async def do_record_caption_edit(session: AsyncSession, video: Video, before: str) -> None:
    """Keep `before` as the caption's previous text, when the video had been published with it."""
    if video.draft or video.published_at is None or video.caption == before:
        return
    now = datetime.now(UTC)
    session.add(
        CaptionEdit(
            id=ids.new_id(ids.realm_code_of(video.id)), video_id=video.id, caption=before, edited_at=now
        )
    )
    video.caption_edited_at = now


async def caption_history(session: AsyncSession, video_id: int) -> list[CaptionEditOut]:
    """Earlier captions, newest first: each with the time it was replaced."""
    rows = await session.scalars(
        select(CaptionEdit)
        .where(CaptionEdit.video_id == video_id)
        .order_by(CaptionEdit.edited_at.desc())
        .limit(HISTORY_SHOWN)
    )
    return [CaptionEditOut(caption=row.caption, replaced_at=row.edited_at) for row in rows]
