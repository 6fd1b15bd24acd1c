"""Reading the catalogue from the viewer's realm database: once in full, then by cheap deltas."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.crossrealm.views import public_videos
from reelm.recommend.catalogue import COUNTS, SIGNALS, Catalogue
from reelm.recommend.models import VideoSignal

# Late commits and replication arrive slightly out of order: each delta looks back this far again.
OVERLAP = timedelta(seconds=30)


def _video_columns() -> list[Any]:
    pv = public_videos
    return [
        pv.c.id,
        pv.c.owner_id,
        pv.c.hashtags,
        pv.c.duration_s,
        pv.c.published_at,
        *(pv.c[c] for c in COUNTS),
        pv.c.demoted,
    ]


def _signal_columns() -> list[Any]:
    return [*(VideoSignal.__table__.c[c] for c in SIGNALS), VideoSignal.updated_at]


def full_select() -> Select[Any]:
    pv = public_videos
    return select(*_video_columns(), *_signal_columns()).select_from(
        pv.outerjoin(VideoSignal, VideoSignal.video_id == pv.c.id)
    )


def delta_select(published_after: datetime, signals_after: datetime) -> Any:
    """New videos and changed counters, in one statement (one round trip)."""
    pv = public_videos
    new_videos = (
        select(literal("video").label("what"), *_video_columns(), *_signal_columns())
        .select_from(pv.outerjoin(VideoSignal, VideoSignal.video_id == pv.c.id))
        .where(pv.c.published_at > published_after - OVERLAP)
    )
    signals = select(
        literal("signal").label("what"),
        VideoSignal.video_id.label("id"),
        *[
            null().label(name)
            for name in ("owner_id", "hashtags", "duration_s", "published_at", *COUNTS, "demoted")
        ],
        *_signal_columns(),
    ).where(and_(VideoSignal.updated_at > signals_after - OVERLAP))
    return union_all(new_videos, signals)


async def load_catalogue(session: AsyncSession) -> Catalogue:
    result = await session.execute(full_select())
    # Building a large catalogue's arrays and indexes takes seconds of CPU (bench/recs_serving.py: 3-4 s
    # at 100k videos): in a thread, so the server's event loop goes on answering meanwhile.
    return await asyncio.to_thread(_build, result.all())


def _build(rows: Sequence[Any]) -> Catalogue:
    catalogue = Catalogue.empty()
    mapped = [dict(r._mapping) for r in rows]
    catalogue.add([r for r in mapped if r["published_at"] is not None])
    catalogue.update_signals(r for r in mapped if r["updated_at"] is not None)
    return catalogue


async def refresh_catalogue(session: AsyncSession, catalogue: Catalogue, now: datetime) -> None:
    published_after = catalogue.published_watermark or now - timedelta(days=3650)
    signals_after = catalogue.signals_watermark or now - timedelta(days=3650)
    rows = [dict(r._mapping) for r in await session.execute(delta_select(published_after, signals_after))]
    catalogue.add([r for r in rows if r["what"] == "video" and r["published_at"] is not None])
    catalogue.update_signals(r for r in rows if r["updated_at"] is not None)
