"""Top-k selection shared by the models (online) and the evaluation protocol (offline)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def top_k(scores: NDArray[np.floating], k: int) -> NDArray[np.intp]:
    """Indices of the k highest scores of each row, best first.

    Equal scores rank by item index, so results are reproducible; which of several items tied exactly at
    the cut-off gets in is left to `argpartition`, which is deterministic for the same input.
    """
    k = min(k, scores.shape[1])
    best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    best.sort(axis=1)  # the stable sort below then breaks ties by item index
    order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
    return np.take_along_axis(best, order, axis=1)
