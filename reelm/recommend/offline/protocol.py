"""The offline evaluation protocol of the TikTok (ICME 2019) table, and its cold-items variant.

Standard protocol (the dataset README's): train on train rows; for every user with a held-out row score
all items, drop the user's train items, keep the top 20. Recall@20 = hits / held-out items of the user,
Precision@20 = hits / 20, NDCG@20 with gain 1 / log2(rank + 2) (rank from 0) over the ideal DCG; each
averaged over the evaluated users. Tuning uses the val rows, reporting the test rows.

Cold-items protocol (ours, documented in bench/README.md): only items without a single train interaction
may be recommended, and only users whose held-out item is such an item are evaluated. It asks what a
feed needs for fresh uploads: which new video would this viewer watch, before anyone has watched it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from reelm.recommend.interactions import Interactions, item_counts
from reelm.recommend.offline.icme_dataset import IcmeDataset, Split
from reelm.recommend.ranking import top_k

CUTOFF = 20


class Recommender(Protocol):
    def score_batch(self, histories: Interactions) -> NDArray[np.float32]:
        """One row of scores over all items per row (user) of `histories`."""
        ...


@dataclass(frozen=True)
class RankingMetrics:
    recall: float
    precision: float
    ndcg: float
    users: int


@dataclass(frozen=True)
class EvaluationTask:
    train: Interactions
    held_out: Interactions
    candidates: NDArray[np.bool_] | None = None  # items that may be recommended; None: all


def standard_task(dataset: IcmeDataset, split: Split) -> EvaluationTask:
    return EvaluationTask(dataset.train, dataset.held_out(split))


def cold_items_task(dataset: IcmeDataset, split: Split) -> EvaluationTask:
    cold = item_counts(dataset.train) == 0
    held_out = sparse.csr_array(dataset.held_out(split) @ sparse.diags_array(cold.astype(np.float32)))
    held_out.eliminate_zeros()
    return EvaluationTask(dataset.train, held_out, cold)


def ranking_metrics(hits: NDArray[np.bool_], relevant: NDArray[np.integer]) -> RankingMetrics:
    """Mean Recall, Precision and NDCG at k = hits.shape[1].

    `hits[u, r]` says whether user u's item at rank r is relevant; `relevant[u]` counts u's relevant items.
    """
    k = hits.shape[1]
    discounts = 1.0 / np.log2(np.arange(k) + 2.0)
    found = hits.sum(axis=1)
    ideal = np.cumsum(discounts)[np.minimum(relevant, k) - 1]
    return RankingMetrics(
        recall=float(np.mean(found / relevant)),
        precision=float(np.mean(found / k)),
        ndcg=float(np.mean((hits * discounts).sum(axis=1) / ideal)),
        users=len(relevant),
    )


def evaluate(
    recommender: Recommender, task: EvaluationTask, k: int = CUTOFF, batch_size: int = 1024
) -> RankingMetrics:
    users = np.flatnonzero(np.diff(task.held_out.indptr))
    hits = np.zeros((len(users), k), dtype=bool)
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        history = task.train[batch]
        scores = recommender.score_batch(history).astype(np.float64)  # a copy: masked in place below
        scores[history.nonzero()] = -np.inf  # the protocol never counts an item the user trained on
        if task.candidates is not None:
            scores[:, ~task.candidates] = -np.inf
        ranked = top_k(scores, k)
        relevant = task.held_out[batch].toarray() > 0
        hits[start : start + len(batch)] = np.take_along_axis(relevant, ranked, axis=1)
    relevant_counts = np.diff(task.held_out.indptr)[users]
    return ranking_metrics(hits, relevant_counts)
