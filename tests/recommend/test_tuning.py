"""Choosing hyper-parameters on the validation rows."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import sparse

from reelm.recommend.offline.icme_dataset import IcmeDataset, Modality
from reelm.recommend.offline.protocol import EvaluationTask, evaluate
from reelm.recommend.offline.tuning import TuningGrid, tune
from tests.recommend.synthetic import planted_data

GRID = TuningGrid(
    ridges=(1.0, 10.0),
    modalities=(("image",),),
    content_neighbours=(5,),
    content_weights=(0.5,),
    popularity_weights=(0.0, 0.01),
)


def _dataset() -> IcmeDataset:
    data = planted_data()
    n_users, n_items = data.train.shape
    # The test rows are emptied: tuning must not need them.
    # (From dense zeros: scipy-stubs type `csr_array((n_users, n_items))` as one-dimensional.)
    no_test = sparse.csr_array(np.zeros((n_users, n_items), dtype=np.float32))
    features: dict[Modality, NDArray[np.float32]] = {
        "image": data.features,
        "audio": data.features[:, ::-1].copy(),
    }
    return IcmeDataset(n_users, n_items, data.train, data.val, no_test, features)


def test_tuning_reports_the_best_validation_point_it_tried() -> None:
    dataset = _dataset()
    validation = EvaluationTask(dataset.train, dataset.val)
    steps: list[str] = []
    tuned = tune(dataset, validation, GRID, steps.append)
    assert len(steps) == GRID.steps() == 2 + 1 + 2
    assert tuned.validation == evaluate(tuned.model, validation)
    best_logged = max(float(step.rsplit(" ", 1)[1]) for step in steps)
    assert tuned.validation.ndcg == pytest.approx(best_logged, abs=1e-4)
    # Content is what lets the cold item (a tenth of group 0's val rows) be found, so it is chosen.
    assert tuned.modalities == ("image",)
    assert tuned.params.content_weight == 0.5
