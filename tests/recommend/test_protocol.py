"""Ranking metrics on hand-computed cases, and what the protocol lets a recommender recommend."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import sparse

from reelm.recommend.offline.protocol import EvaluationTask, evaluate, ranking_metrics
from reelm.recommend.ranking import top_k


def test_metrics_one_relevant_item_per_user() -> None:
    # User 0 finds its item at rank 0, user 1 at rank 2, user 2 not at all (k = 3).
    hits = np.array([[True, False, False], [False, False, True], [False, False, False]])
    metrics = ranking_metrics(hits, np.array([1, 1, 1]))
    assert metrics.recall == pytest.approx(2 / 3)
    assert metrics.precision == pytest.approx(2 / 9)
    assert metrics.ndcg == pytest.approx((1.0 + 1 / math.log2(4)) / 3)
    assert metrics.users == 3


def test_metrics_several_relevant_items() -> None:
    # Two relevant items, found at ranks 1 and 3 of 4: the ideal ranking has them at ranks 0 and 1.
    hits = np.array([[False, True, False, True]])
    metrics = ranking_metrics(hits, np.array([2]))
    assert metrics.recall == pytest.approx(1.0)
    assert metrics.precision == pytest.approx(0.5)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert metrics.ndcg == pytest.approx(dcg / (1 + 1 / math.log2(3)))


def test_ideal_dcg_stops_at_k() -> None:
    # Five relevant items but k = 2: both slots hit is a perfect NDCG, and recall is 2 of 5.
    metrics = ranking_metrics(np.array([[True, True]]), np.array([5]))
    assert metrics.ndcg == pytest.approx(1.0)
    assert metrics.recall == pytest.approx(0.4)


def test_top_k_is_best_first_with_ties_by_index() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.9, 0.0]])
    assert top_k(scores, 3).tolist() == [[1, 3, 2]]
    assert top_k(scores, 10).tolist() == [[1, 3, 2, 0, 4]]


class FixedScores:
    """Scores every user the same, given, way."""

    def __init__(self, scores: list[float]) -> None:
        self.scores = np.array(scores, dtype=np.float32)

    def score_batch(self, histories: sparse.csr_array) -> np.ndarray:
        return np.tile(self.scores, (histories.shape[0], 1))


def _matrix(rows: list[list[int]], n_items: int) -> sparse.csr_array:
    dense = np.zeros((len(rows), n_items), dtype=np.float32)
    for user, items in enumerate(rows):
        dense[user, items] = 1
    return sparse.csr_array(dense)


def test_train_items_are_never_recommended() -> None:
    # Items 0 and 1 score highest but user 0 trained on them; with k = 1 the held-out item 2 is next.
    train = _matrix([[0, 1], [3]], 4)
    held_out = _matrix([[2], [2]], 4)
    metrics = evaluate(FixedScores([0.9, 0.8, 0.5, 0.1]), EvaluationTask(train, held_out), k=1)
    assert metrics.users == 2
    assert metrics.recall == pytest.approx(0.5)  # user 1 gets item 0, which it did not train on


def test_only_users_with_held_out_items_count() -> None:
    train = _matrix([[0], [1], [0]], 3)
    held_out = _matrix([[2], [], []], 3)
    metrics = evaluate(FixedScores([0.0, 0.0, 1.0]), EvaluationTask(train, held_out), k=1)
    assert metrics.users == 1
    assert metrics.recall == pytest.approx(1.0)


def test_candidates_restrict_what_may_be_recommended() -> None:
    train = _matrix([[0]], 4)
    held_out = _matrix([[3]], 4)
    candidates = np.array([False, False, True, True])
    task = EvaluationTask(train, held_out, candidates)
    assert evaluate(FixedScores([0.0, 0.9, 0.1, 0.5]), task, k=1).recall == pytest.approx(1.0)
