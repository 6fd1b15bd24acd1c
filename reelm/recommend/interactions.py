"""User x item interaction matrices: the one input shape every recommender here accepts."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

# What callers may pass, users in rows: a dense array or one of SciPy's common sparse formats.
InteractionsLike = (
    NDArray[Any]
    | sparse.csr_array
    | sparse.csc_array
    | sparse.coo_array
    | sparse.csr_matrix
    | sparse.csc_matrix
    | sparse.coo_matrix
)
Interactions = sparse.csr_array[np.float32, tuple[int, int]]


def to_interactions(interactions: InteractionsLike) -> Interactions:
    """Binary float32 CSR copy of `interactions`: any non-zero entry counts as one engagement."""
    if interactions.ndim != 2:
        raise ValueError(
            f"interactions must be a 2-D users x items matrix, got {interactions.ndim} dimensions"
        )
    if isinstance(interactions, np.ndarray):
        interactions = sparse.coo_array(np.asarray(interactions != 0, dtype=np.float32))
    entries = sparse.coo_array(interactions)
    entries.eliminate_zeros()
    users, items = entries.coords
    n_users, n_items = entries.shape
    matrix = sparse.csr_array(
        (np.ones(len(users), dtype=np.float32), (users, items)), shape=(n_users, n_items)
    )
    matrix.data[:] = 1.0  # repeated (user, item) pairs were summed: still one engagement
    return matrix


def item_counts(interactions: Interactions) -> NDArray[np.float32]:
    """How many users engaged with each item."""
    return np.asarray(interactions.sum(axis=0), dtype=np.float32).ravel()
