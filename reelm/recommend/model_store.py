"""Storing and loading model artefacts, versioned in the realm's database (the newest few are kept)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.recommend.artefact import ModelArtefact
from reelm.recommend.models import RecommenderModel

KEEP_VERSIONS = 3


async def do_store_model(
    session: AsyncSession, artefact: ModelArtefact, *, events_used: int, metrics: dict[str, float]
) -> int:
    """Save a new version and drop all but the newest few; returns the version."""
    row = RecommenderModel(
        kind="for-you",
        events_used=events_used,
        items=len(artefact.item_ids),
        metrics=metrics,
        artefact=artefact.to_bytes(),
    )
    session.add(row)
    await session.flush()  # to learn the version the database assigned
    keep = select(RecommenderModel.version).order_by(RecommenderModel.version.desc()).limit(KEEP_VERSIONS)
    await session.execute(
        delete(RecommenderModel).where(RecommenderModel.version.not_in(keep.scalar_subquery()))
    )
    return row.version


async def latest_version(session: AsyncSession) -> int:
    version = await session.scalar(
        select(RecommenderModel.version).order_by(RecommenderModel.version.desc()).limit(1)
    )
    return int(version or 0)


async def load_model(session: AsyncSession, version: int | None = None) -> ModelArtefact | None:
    query = select(RecommenderModel.version, RecommenderModel.artefact)
    query = (
        query.where(RecommenderModel.version == version)
        if version
        else query.order_by(RecommenderModel.version.desc())
    )
    row = (await session.execute(query.limit(1))).first()
    return ModelArtefact.from_bytes(row.artefact, int(row.version)) if row else None
