"""Non-personalised baselines: most-engaged items first, and a seeded random order."""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import NDArray

from reelm.recommend.interactions import Interactions, InteractionsLike, item_counts, to_interactions


class PopularityRecommender:
    """Everyone gets the items with the most train interactions."""

    def __init__(self) -> None:
        self.counts: NDArray[np.float32] | None = None

    def fit(self, interactions: InteractionsLike) -> Self:
        self.counts = item_counts(to_interactions(interactions))
        return self

    def score_batch(self, histories: Interactions) -> NDArray[np.float32]:
        if self.counts is None:
            raise RuntimeError("fit() the recommender before scoring")
        return np.broadcast_to(self.counts, (histories.shape[0], len(self.counts))).copy()


class RandomRecommender:
    """Uniformly random scores: chance level, for protocols where popularity carries no signal."""

    def __init__(self, n_items: int, seed: int = 0) -> None:
        self.n_items = n_items
        self.random = np.random.default_rng(seed)

    def score_batch(self, histories: Interactions) -> NDArray[np.float32]:
        return self.random.random((histories.shape[0], self.n_items), dtype=np.float32)
