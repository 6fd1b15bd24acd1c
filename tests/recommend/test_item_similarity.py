"""The engine's retrieval model on seeded synthetic data with a planted structure."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from reelm.recommend.item_similarity import ItemSimilarityModel, ItemSimilarityParams
from reelm.recommend.offline.baselines import PopularityRecommender
from reelm.recommend.offline.protocol import EvaluationTask, evaluate
from tests.recommend.synthetic import ITEMS_PER_GROUP, planted_data


def test_recovers_planted_groups_and_beats_popularity() -> None:
    data = planted_data()
    task = EvaluationTask(data.train, data.test)
    model = ItemSimilarityModel(ItemSimilarityParams(ridge=10.0)).fit(data.train)
    popularity = PopularityRecommender().fit(data.train)
    ours, baseline = evaluate(model, task, k=5), evaluate(popularity, task, k=5)
    # A user's group has five or six warm items the user did not train on, so a top 5 drawn from the right
    # group finds the test item five or six times in six; users whose test item is the cold one need content.
    assert ours.recall > 0.75
    assert ours.recall > baseline.recall + 0.4
    assert ours.ndcg > baseline.ndcg


def test_recommendations_stay_in_the_users_group_and_skip_the_history() -> None:
    data = planted_data()
    model = ItemSimilarityModel(ItemSimilarityParams(ridge=10.0)).fit(data.train)
    user = int(np.flatnonzero(data.group_of_user == 3)[0])
    history = data.train[[user]].nonzero()[1]
    recommended = model.recommend(history, 5)
    assert set(data.group_of_item[recommended]) == {3}
    assert not set(recommended) & set(history)


def test_score_of_one_history_matches_the_batch_and_dense_input() -> None:
    data = planted_data()
    sparse_fit = ItemSimilarityModel().fit(data.train)
    dense_fit = ItemSimilarityModel().fit(data.train.toarray())
    history = data.train[[7]].nonzero()[1]
    assert sparse_fit.score(history) == pytest.approx(sparse_fit.score_batch(data.train[[7]])[0])
    assert dense_fit.score(history) == pytest.approx(sparse_fit.score(history), abs=1e-6)


def test_similar_items_by_co_engagement_and_by_content() -> None:
    data = planted_data()
    model = ItemSimilarityModel(ItemSimilarityParams(ridge=10.0)).fit(data.train, data.features)
    item = ITEMS_PER_GROUP * 2 + 1  # in group 2
    assert set(data.group_of_item[model.similar_items(item, 5, "co-engagement")]) == {2}
    assert set(data.group_of_item[model.similar_items(item, 5, "content")]) == {2}
    # No one engaged with the cold item, so nothing is similar to it by co-engagement, but content is.
    assert len(model.similar_items(data.cold_item, 5, "co-engagement")) == 0
    assert set(data.group_of_item[model.similar_items(data.cold_item, 5, "content")]) == {0}


def test_content_reaches_an_item_nobody_has_engaged_with() -> None:
    data = planted_data()
    is_cold = np.arange(data.train.shape[1]) == data.cold_item
    cold_test = sparse.csr_array(data.test.toarray() * is_cold)
    task = EvaluationTask(data.train, cold_test, candidates=is_cold)
    without = ItemSimilarityModel().fit(data.train)
    with_content = ItemSimilarityModel(ItemSimilarityParams(content_weight=1.0)).fit(
        data.train, data.features
    )
    user = int(np.flatnonzero(data.group_of_user == 0)[0])
    assert without.score(data.train[[user]].nonzero()[1])[data.cold_item] == 0
    assert with_content.score(data.train[[user]].nonzero()[1])[data.cold_item] > 0
    assert evaluate(with_content, task, k=1).recall == pytest.approx(1.0)


def test_feature_rows_must_match_the_items() -> None:
    data = planted_data()
    with pytest.raises(ValueError, match="feature rows"):
        ItemSimilarityModel().fit(data.train, data.features[:-1])


def test_scoring_an_unfitted_model_fails_clearly() -> None:
    with pytest.raises(RuntimeError, match="fit"):
        ItemSimilarityModel().score([0])
