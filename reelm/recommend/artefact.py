"""The trained model artefact: what the periodic job learns from a realm's events (stored by model_store).

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
