"""Seeded synthetic data with a planted structure: users engage with the items of one taste group.

Groups are unequal in size of audience, so popularity favours one group's items and fails everyone else;
each group's items share a feature direction, so content similarity can find a group's unseen items.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from reelm.recommend.interactions import Interactions

GROUPS = 5
ITEMS_PER_GROUP = 10
SEEN_PER_USER = 4


@dataclass(frozen=True)
class PlantedData:
    train: Interactions
    val: Interactions
    test: Interactions
    features: NDArray[np.float32]  # items x 8
    group_of_user: np.ndarray
    group_of_item: np.ndarray
    cold_item: int  # in group 0, never in train; the val and test item of some group-0 users


def planted_data(users: int = 400, seed: int = 0) -> PlantedData:
    rng = np.random.default_rng(seed)
    n_items = GROUPS * ITEMS_PER_GROUP
    group_of_item = np.repeat(np.arange(GROUPS), ITEMS_PER_GROUP)
    # Group 0 has the largest audience, so its items are the most popular.
    group_of_user = rng.choice(GROUPS, size=users, p=[0.4, 0.15, 0.15, 0.15, 0.15])
    cold_item = 0
    rows: dict[str, list[tuple[int, int]]] = {"train": [], "val": [], "test": []}
    for user, group in enumerate(group_of_user):
        members = np.flatnonzero(group_of_item == group)
        warm = members[members != cold_item]
        picked = rng.choice(warm, size=SEEN_PER_USER + 2, replace=False)
        rows["train"] += [(user, int(item)) for item in picked[:SEEN_PER_USER]]
        held = picked[SEEN_PER_USER:]
        if group == 0 and user % 4 == 0:
            held = np.array([cold_item, cold_item])  # val and test both the cold item for these users
        rows["val"].append((user, int(held[0])))
        rows["test"].append((user, int(held[1])))
    directions = rng.normal(size=(GROUPS, 8))
    features = directions[group_of_item] + 0.3 * rng.normal(size=(n_items, 8))

    def matrix(split: str) -> Interactions:
        users_, items = np.array(rows[split]).T
        ones = np.ones(len(users_), dtype=np.float32)
        return sparse.csr_array((ones, (users_, items)), shape=(users, n_items))

    return PlantedData(
        matrix("train"),
        matrix("val"),
        matrix("test"),
        features.astype(np.float32),
        group_of_user,
        group_of_item,
        cold_item,
    )


def write_icme_folder(folder: Path, data: PlantedData) -> Path:
    """The data in the tiktok-icme2019 folder layout."""
    folder.mkdir()
    lines = ["user_id\titem_id\tsplit"]
    for split in ("train", "val", "test"):
        users, items = getattr(data, split).nonzero()
        lines += [f"{user}\t{item}\t{split}" for user, item in zip(users, items, strict=True)]
    (folder / "interactions.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    np.save(folder / "image_feat.npy", data.features.astype(np.float16))
    np.save(folder / "audio_feat.npy", data.features[:, ::-1].astype(np.float16))
    return folder
