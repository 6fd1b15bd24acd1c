"""Choose the item-similarity model's hyper-parameters on the validation rows, by a small grid.

Two stages keep the grid cheap: the ridge (one matrix inverse each) is chosen first on co-engagement
alone; then content graphs and blend weights are tried on top of it, which costs one scoring pass each.
The choice maximises NDCG@20 on validation, which uses the rank of a hit and so varies less than recall
between neighbouring settings. Test rows are never looked at here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product

from reelm.recommend.item_similarity import ItemSimilarityModel, ItemSimilarityParams
from reelm.recommend.offline.icme_dataset import IcmeDataset, Modality
from reelm.recommend.offline.protocol import EvaluationTask, RankingMetrics, evaluate


@dataclass(frozen=True)
class TuningGrid:
    ridges: Sequence[float]
    modalities: Sequence[tuple[Modality, ...]]
    content_neighbours: Sequence[int]
    content_weights: Sequence[float]  # non-zero: "no content" is always tried
    popularity_weights: Sequence[float]

    def steps(self) -> int:
        popularity_only = sum(1 for weight in self.popularity_weights if weight)
        content = len(self.modalities) * len(self.content_neighbours) * len(self.content_weights)
        return len(self.ridges) + popularity_only + content * len(self.popularity_weights)


# For the standard protocol. Scores of co-engagement are sums of EASE weights (typically 0.01-0.5 for a
# related item), so content and popularity weights around 0.01 are the range where they break near-ties.
STANDARD_GRID = TuningGrid(
    ridges=(25.0, 50.0, 100.0),
    modalities=(("image",), ("audio",), ("image", "audio")),
    content_neighbours=(20, 100),
    content_weights=(0.005, 0.01, 0.02),
    popularity_weights=(0.0, 0.005, 0.01, 0.02),
)
# For cold items only content scores them (they have no co-engagement and no popularity), so only the
# content graph matters; the ridge is irrelevant to their ranking and not tuned.
COLD_ITEMS_GRID = TuningGrid(
    ridges=(50.0,),
    modalities=(("image",), ("audio",), ("image", "audio")),
    content_neighbours=(20, 100, 500),
    content_weights=(1.0,),
    popularity_weights=(0.0,),
)


@dataclass(frozen=True)
class TunedModel:
    model: ItemSimilarityModel  # fitted on the train rows with the chosen parameters
    modalities: tuple[Modality, ...]
    validation: RankingMetrics

    @property
    def params(self) -> ItemSimilarityParams:
        return self.model.params


def tune(
    dataset: IcmeDataset,
    validation: EvaluationTask,
    grid: TuningGrid,
    on_step: Callable[[str], None] = lambda _: None,
) -> TunedModel:
    """The grid point with the best validation NDCG@20; `on_step` hears of each evaluated point."""
    best: TunedModel | None = None

    def consider(model: ItemSimilarityModel, modalities: tuple[Modality, ...]) -> None:
        nonlocal best
        metrics = evaluate(model, validation)
        if best is None or metrics.ndcg > best.validation.ndcg:
            best = TunedModel(model, modalities, metrics)
        on_step(f"{_describe(model.params, modalities)}: val NDCG@20 {metrics.ndcg:.4f}")

    for ridge in grid.ridges:
        consider(ItemSimilarityModel(ItemSimilarityParams(ridge=ridge)).fit(dataset.train), ())
    assert best is not None
    co_engagement = best.model
    for popularity_weight in grid.popularity_weights:
        if popularity_weight:  # weight 0 was the ridge stage
            consider(co_engagement.with_weights(0.0, popularity_weight), ())
    for modalities, neighbours in product(grid.modalities, grid.content_neighbours):
        with_content = co_engagement.with_content(dataset.item_features(modalities), neighbours)
        for content_weight, popularity_weight in product(grid.content_weights, grid.popularity_weights):
            consider(with_content.with_weights(content_weight, popularity_weight), modalities)
    return best


def _describe(params: ItemSimilarityParams, modalities: tuple[Modality, ...]) -> str:
    content = (
        f", {'+'.join(modalities)} x{params.content_weight:g} ({params.content_neighbours} neighbours)"
        if modalities
        else ""
    )
    return f"ridge {params.ridge:g}{content}, popularity x{params.popularity_weight:g}"
