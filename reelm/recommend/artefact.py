"""The trained model artefact: what the periodic job learns from a realm's events, versioned in the realm.

- co-engagement neighbours per video (EASE over the most engaged videos, see item_similarity), kept only
  between videos that enough distinct viewers engaged with;
- regional trending: time-decayed engagement of this realm's viewers;
- global rate priors (completion, like, share, skip per impression) that smooth each video's own rates.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.recommend.models import RecommenderModel

KEEP_VERSIONS = 3


@dataclass(frozen=True)
class Priors:
    completion: float = 0.3
    like: float = 0.05
    share: float = 0.01
    skip: float = 0.3


@dataclass
class ModelArtefact:
    item_ids: NDArray[np.int64]  # items that have neighbours
    indptr: NDArray[np.int64]
    neighbours: NDArray[np.int64]  # video ids
    weights: NDArray[np.float32]
    trending_ids: NDArray[np.int64]  # best first
    trending_scores: NDArray[np.float32]
    priors: Priors = field(default_factory=Priors)
    version: int = 0

    @classmethod
    def empty(cls) -> ModelArtefact:
        z64 = np.zeros(0, dtype=np.int64)
        return cls(
            z64, np.zeros(1, dtype=np.int64), z64, np.zeros(0, dtype=np.float32), z64, np.zeros(0, np.float32)
        )

    def neighbour_map(self) -> dict[int, tuple[NDArray[np.int64], NDArray[np.float32]]]:
        return {
            int(item): (
                self.neighbours[self.indptr[i] : self.indptr[i + 1]],
                self.weights[self.indptr[i] : self.indptr[i + 1]],
            )
            for i, item in enumerate(self.item_ids)
        }

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        p = self.priors
        np.savez_compressed(
            buffer,
            item_ids=self.item_ids,
            indptr=self.indptr,
            neighbours=self.neighbours,
            weights=self.weights,
            trending_ids=self.trending_ids,
            trending_scores=self.trending_scores,
            priors=np.array([p.completion, p.like, p.share, p.skip], dtype=np.float64),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, version: int) -> ModelArtefact:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            completion, like, share, skip = (float(x) for x in arrays["priors"])
            return cls(
                item_ids=arrays["item_ids"],
                indptr=arrays["indptr"],
                neighbours=arrays["neighbours"],
                weights=arrays["weights"],
                trending_ids=arrays["trending_ids"],
                trending_scores=arrays["trending_scores"],
                priors=Priors(completion, like, share, skip),
                version=version,
            )


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
