"""The engine's retrieval model: item-to-item similarity from co-engagement and from content.

A user's score for item j sums, over the items i in their history, two similarities and adds a prior:

    score(j) = Σ_i B[i, j] + content_weight · Σ_i C[i, j] + popularity_weight · log(1 + engagements(j))

- B, co-engagement: the EASE closed form (Steck, "Embarrassingly Shallow Autoencoders", WWW 2019).
  With G = XᵀX + ridge·I and P = G⁻¹, B[i, j] = -P[i, j] / P[j, j] and B[j, j] = 0: the ridge regression
  of each item's column on all other items, solved for every item at once.
- C, content: cosine similarity of item features (image, audio) kept for each item's nearest neighbours.
  It is the only signal for an item nobody has engaged with yet.
- The popularity prior lifts well-liked items for users whose few history items say little.

The same pieces serve the online engine's candidate sources: `similar_items(item, k, "co-engagement")`
and `similar_items(item, k, "content")` are the "similar to what you engaged with" lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, Self

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.linalg import lapack

from reelm.recommend.interactions import Interactions, InteractionsLike, item_counts, to_interactions
from reelm.recommend.ranking import top_k

SimilaritySource = Literal["co-engagement", "content"]


@dataclass(frozen=True)
class ItemSimilarityParams:
    ridge: float = 50.0  # EASE's λ: larger shrinks co-engagement weights between rarely seen items
    content_neighbours: int = 20  # content similarities kept per item
    content_weight: float = 0.0
    popularity_weight: float = 0.0


def co_engagement_weights(interactions: Interactions, ridge: float) -> NDArray[np.float32]:
    """EASE's item x item weight matrix B for a binary users x items matrix."""
    gram = np.asarray((interactions.T @ interactions).toarray(), dtype=np.float32)
    gram[np.diag_indices_from(gram)] += ridge
    # G is symmetric positive definite: a Cholesky inverse costs half of a general one. float32 halves it
    # again and loses nothing that matters here: the ridge keeps G well conditioned.
    factor, info = lapack.spotrf(gram, lower=False, overwrite_a=True)
    if info != 0:
        raise ValueError(f"the Gram matrix is not positive definite with ridge {ridge}; use a larger ridge")
    inverse, info = lapack.spotri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise ValueError(f"inverting the Gram matrix failed (LAPACK info {info})")
    upper: NDArray[np.float32] = np.triu(inverse)  # potri writes the upper triangle only
    upper += np.triu(upper, 1).T
    weights = upper / -np.diag(upper)
    np.fill_diagonal(weights, 0.0)
    return weights


def content_neighbour_graph(features: NDArray[np.floating], neighbours: int) -> sparse.csr_array:
    """Cosine similarities of each item to its `neighbours` nearest items (by features), symmetrised."""
    unit = features.astype(np.float32) / (np.linalg.norm(features, axis=1, keepdims=True) + 1e-9)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)  # an item is not its own neighbour
    n_items = len(unit)
    k = min(neighbours, n_items - 1)
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    values = np.maximum(np.take_along_axis(similarity, nearest, axis=1), 0.0)  # opposite is not similar
    rows = np.repeat(np.arange(n_items), k)
    graph = sparse.csr_array((values.ravel(), (rows, nearest.ravel())), shape=(n_items, n_items))
    # Symmetric, so that an item far from the crowd (often a fresh upload) that no other item counts among
    # its nearest still links to its own nearest items and can be recommended from them.
    return sparse.csr_array(graph.maximum(graph.T))


class ItemSimilarityModel:
    """Scores items for a user from the items they engaged with (see the module docstring)."""

    def __init__(self, params: ItemSimilarityParams | None = None) -> None:
        self.params = params or ItemSimilarityParams()
        self._co_engagement: NDArray[np.float32] | None = None
        self._popularity: NDArray[np.float32] | None = None
        self._content: sparse.csr_array | None = None

    def fit(self, interactions: InteractionsLike, item_features: NDArray[np.floating] | None = None) -> Self:
        """Learn from a users x items engagement matrix and, optionally, items x features content."""
        matrix = to_interactions(interactions)
        if item_features is not None and len(item_features) != matrix.shape[1]:
            raise ValueError(f"{len(item_features)} feature rows for {matrix.shape[1]} items")
        self._co_engagement = co_engagement_weights(matrix, self.params.ridge)
        self._popularity = np.log1p(item_counts(matrix))
        self._content = (
            None
            if item_features is None
            else content_neighbour_graph(item_features, self.params.content_neighbours)
        )
        return self

    def with_content(self, item_features: NDArray[np.floating], neighbours: int) -> ItemSimilarityModel:
        """A copy with another content graph, sharing the fitted co-engagement weights (for tuning)."""
        model = self._copy(replace(self.params, content_neighbours=neighbours))
        model._content = content_neighbour_graph(item_features, neighbours)
        return model

    def with_weights(self, content_weight: float, popularity_weight: float) -> ItemSimilarityModel:
        """A copy that blends the fitted parts with other weights, at no fitting cost (for tuning)."""
        return self._copy(
            replace(self.params, content_weight=content_weight, popularity_weight=popularity_weight)
        )

    def score_batch(self, histories: Interactions) -> NDArray[np.float32]:
        """Scores over all items for each row (a user's binary history) of `histories`."""
        co_engagement, popularity = self._fitted()
        scores = np.asarray(histories @ co_engagement, dtype=np.float32)
        if self._content is not None and self.params.content_weight:
            scores += self.params.content_weight * (histories @ self._content).toarray()
        if self.params.popularity_weight:
            scores += self.params.popularity_weight * popularity
        return scores

    def score(self, history: Sequence[int] | NDArray[np.integer]) -> NDArray[np.float32]:
        """Scores over all items for one user who engaged with the items `history`."""
        n_items = len(self._fitted()[1])
        items = np.unique(np.asarray(history, dtype=np.intp))
        row = sparse.csr_array(
            (np.ones(len(items), dtype=np.float32), (np.zeros(len(items), dtype=np.intp), items)),
            shape=(1, n_items),
        )
        scores: NDArray[np.float32] = self.score_batch(row)[0]
        return scores

    def recommend(self, history: Sequence[int] | NDArray[np.integer], k: int) -> NDArray[np.intp]:
        """The k best items for a user, leaving out what they already engaged with."""
        scores = self.score(history).astype(np.float64)
        scores[np.asarray(history, dtype=np.intp)] = -np.inf
        best: NDArray[np.intp] = top_k(scores[np.newaxis], k)[0]
        return best

    def similar_items(self, item: int, k: int, source: SimilaritySource) -> NDArray[np.intp]:
        """Up to k items most similar to `item` by one source, best first; only positive similarities."""
        if source == "content":
            if self._content is None:
                raise ValueError("the model was fitted without item features")
            similarity = self._content[[item]].toarray()[0].astype(np.float64)
        else:
            similarity = self._fitted()[0][item].astype(np.float64)
        similarity[item] = 0.0
        ranked: NDArray[np.intp] = top_k(similarity[np.newaxis], k)[0]
        similar: NDArray[np.intp] = ranked[similarity[ranked] > 0]
        return similar

    def _fitted(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        if self._co_engagement is None or self._popularity is None:
            raise RuntimeError("fit() the model before scoring")
        return self._co_engagement, self._popularity

    def _copy(self, params: ItemSimilarityParams) -> ItemSimilarityModel:
        model = ItemSimilarityModel(params)
        model._co_engagement, model._popularity, model._content = (
            self._co_engagement,
            self._popularity,
            self._content,
        )
        return model
