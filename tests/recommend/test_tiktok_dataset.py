"""The real protocol on the shared TikTok dataset: the engine's model must beat popularity on val.

The dataset lives beside the repository (../shared/datasets/tiktok-icme2019) and is never copied into it.
Without it the test is skipped, except in CI, where it must be present.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reelm.recommend.item_similarity import ItemSimilarityModel
from reelm.recommend.offline.baselines import PopularityRecommender
from reelm.recommend.offline.icme_dataset import load_icme_dataset
from reelm.recommend.offline.protocol import evaluate, standard_task

DATASET = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "tiktok-icme2019"


@pytest.fixture(scope="module")
def dataset_folder() -> Path:
    if not DATASET.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the shared TikTok dataset at {DATASET}")
        pytest.skip(f"the shared TikTok dataset is not at {DATASET}")
    return DATASET


def test_item_similarity_beats_popularity_on_val(dataset_folder: Path) -> None:
    dataset = load_icme_dataset(dataset_folder)
    assert (dataset.n_users, dataset.n_items) == (9308, 6710)
    assert (dataset.train.nnz, dataset.val.nnz, dataset.test.nnz) == (59541, 3051, 6130)
    validation = standard_task(dataset, "val")
    popularity = evaluate(PopularityRecommender().fit(dataset.train), validation)
    ours = evaluate(ItemSimilarityModel().fit(dataset.train), validation)
    assert validation.held_out.nnz == ours.users == 3051
    assert ours.recall > popularity.recall
    assert ours.ndcg > popularity.ndcg
