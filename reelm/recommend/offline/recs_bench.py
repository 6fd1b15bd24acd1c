"""One run of the recommender benchmark: fit on train rows, tune on val rows, report on test rows.

The protocols are described in `protocol` and bench/README.md. Timing and memory are measured here
because they belong to the benchmark, never to tests.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from reelm.recommend.item_similarity import ItemSimilarityModel
from reelm.recommend.offline.baselines import PopularityRecommender, RandomRecommender
from reelm.recommend.offline.icme_dataset import IcmeDataset, load_icme_dataset
from reelm.recommend.offline.protocol import (
    EvaluationTask,
    RankingMetrics,
    Recommender,
    cold_items_task,
    evaluate,
    standard_task,
)
from reelm.recommend.offline.tuning import COLD_ITEMS_GRID, STANDARD_GRID, TunedModel, tune

ProtocolName = Literal["standard", "cold-items"]


class BenchProgress(Protocol):
    def stage(self, description: str, steps: int) -> None: ...

    def step(self, description: str) -> None: ...


@dataclass(frozen=True)
class ModelResult:
    name: str
    test: RankingMetrics
    train_seconds: float
    validation: RankingMetrics | None = None
    hyper_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BenchReport:
    protocol: ProtocolName
    results: list[ModelResult]
    tuning_seconds: float
    peak_rss_mib: float


def run_recs_bench(folder: Path, protocol: ProtocolName, progress: BenchProgress) -> BenchReport:
    """Raises `icme_dataset.DatasetError` if the folder is missing or malformed."""
    progress.stage("Loading the dataset", 1)
    dataset = load_icme_dataset(folder)
    progress.step("dataset loaded")
    task = cold_items_task if protocol == "cold-items" else standard_task
    validation, test = task(dataset, "val"), task(dataset, "test")

    baseline = _baseline(dataset, protocol, validation, test)
    grid = COLD_ITEMS_GRID if protocol == "cold-items" else STANDARD_GRID
    progress.stage("Tuning on val", grid.steps())
    started = time.perf_counter()
    tuned = tune(dataset, validation, grid, progress.step)
    tuning_seconds = time.perf_counter() - started

    progress.stage("Fitting the chosen model on train (timed)", 1)
    model, train_seconds = _timed_fit(dataset, tuned)
    progress.step("fitted")
    engine = ModelResult(
        name="item-similarity",
        test=evaluate(model, test),
        train_seconds=train_seconds,
        validation=tuned.validation,
        hyper_parameters=_hyper_parameters(tuned),
    )
    # ru_maxrss is in KiB on Linux, where the benchmark runs.
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return BenchReport(protocol, [engine, baseline], tuning_seconds, peak_rss_mib)


def _baseline(
    dataset: IcmeDataset, protocol: ProtocolName, validation: EvaluationTask, test: EvaluationTask
) -> ModelResult:
    recommender: Recommender
    if protocol == "cold-items":
        # Cold items have no engagement, so popularity cannot order them: chance is the baseline.
        name, recommender, train_seconds = "random", RandomRecommender(dataset.n_items, seed=0), 0.0
    else:
        started = time.perf_counter()
        recommender = PopularityRecommender().fit(dataset.train)
        name, train_seconds = "popularity", time.perf_counter() - started
    return ModelResult(name, evaluate(recommender, test), train_seconds, evaluate(recommender, validation))


def _timed_fit(dataset: IcmeDataset, tuned: TunedModel) -> tuple[ItemSimilarityModel, float]:
    """A fresh fit with the chosen parameters: the tuning run shared work between grid points."""
    started = time.perf_counter()
    features = dataset.item_features(tuned.modalities) if tuned.modalities else None
    model = ItemSimilarityModel(tuned.params).fit(dataset.train, features)
    return model, time.perf_counter() - started


def _hyper_parameters(tuned: TunedModel) -> dict[str, str]:
    params = tuned.params
    chosen = {"ridge": f"{params.ridge:g}", "popularity_weight": f"{params.popularity_weight:g}"}
    if tuned.modalities:
        chosen |= {
            "content": "+".join(tuned.modalities),
            "content_neighbours": str(params.content_neighbours),
            "content_weight": f"{params.content_weight:g}",
        }
    return chosen
