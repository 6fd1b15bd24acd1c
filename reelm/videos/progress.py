"""How far a realm's uploads are through processing: what the demo reports while its videos are transcoded."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.videos.models import Video, VideoStatus


async def processing_counts(session: AsyncSession) -> tuple[int, int]:
    """(done, total) over every video of the realm: done is every video no longer processing."""
    rows = (await session.execute(select(Video.status, func.count()).group_by(Video.status))).all()
    total = sum(count for _, count in rows)
    processing = sum(count for status, count in rows if status == VideoStatus.PROCESSING)
    return total - processing, total
