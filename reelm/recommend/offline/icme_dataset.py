"""Loader for the TikTok ICME 2019 interaction folder (`../shared/datasets/tiktok-icme2019`).

The folder holds `interactions.tsv` (`user_id  item_id  split`, split being train, val or test) and two
float16 `.npy` feature files, one row per item. Files from outside are untrusted: `.npy` files are read
with pickles refused, and every malformed line or shape is reported with its file and line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from reelm.recommend.interactions import Interactions, to_interactions

INTERACTIONS_FILE = "interactions.tsv"
HEADER = ("user_id", "item_id", "split")
HEADER_LINE = "\t".join(HEADER)
SPLITS = ("train", "val", "test")

Modality = Literal["image", "audio"]
Split = Literal["val", "test"]
FEATURE_FILES: dict[Modality, str] = {"image": "image_feat.npy", "audio": "audio_feat.npy"}


class DatasetError(Exception):
    """The dataset folder is missing, incomplete or malformed; the message says where."""


@dataclass(frozen=True)
class IcmeDataset:
    """Interactions split per the published protocol, plus per-item content features."""

    n_users: int
    n_items: int
    train: Interactions
    val: Interactions
    test: Interactions
    features: dict[Modality, NDArray[np.float32]]

    def held_out(self, split: Split) -> Interactions:
        return self.val if split == "val" else self.test

    def item_features(self, modalities: Sequence[Modality]) -> NDArray[np.float32]:
        """The chosen modalities side by side, each standardised per dimension and scaled to unit rows.

        Standardising first keeps one dimension with a large range from dominating cosine similarity,
        and unit rows per modality give image and audio equal say when both are used.
        """
        blocks = []
        for modality in modalities:
            block = self.features[modality]
            block = (block - block.mean(axis=0)) / (block.std(axis=0) + 1e-6)
            blocks.append(block / (np.linalg.norm(block, axis=1, keepdims=True) + 1e-9))
        return np.hstack(blocks).astype(np.float32)


def load_icme_dataset(folder: Path) -> IcmeDataset:
    if not folder.is_dir():
        raise DatasetError(f"dataset folder not found: {folder}")
    features: dict[Modality, NDArray[np.float32]] = {
        modality: _read_features(folder / name) for modality, name in FEATURE_FILES.items()
    }
    n_items = features["image"].shape[0]
    if features["audio"].shape[0] != n_items:
        raise DatasetError(
            f"{folder}: image features have {n_items} rows but audio features {features['audio'].shape[0]}"
        )
    users, items, splits = _read_interactions(folder / INTERACTIONS_FILE, n_items)
    n_users = int(users.max()) + 1

    def matrix(split: str) -> Interactions:
        rows = splits == SPLITS.index(split)
        ones = np.ones(int(rows.sum()), dtype=np.float32)
        return to_interactions(sparse.coo_array((ones, (users[rows], items[rows])), shape=(n_users, n_items)))

    return IcmeDataset(
        n_users=n_users,
        n_items=n_items,
        train=matrix("train"),
        val=matrix("val"),
        test=matrix("test"),
        features=features,
    )


def _read_features(path: Path) -> NDArray[np.float32]:
    if not path.is_file():
        raise DatasetError(f"missing feature file: {path}")
    try:
        raw = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DatasetError(f"{path}: not a plain numeric .npy array ({exc})") from exc
    if raw.ndim != 2 or not np.issubdtype(raw.dtype, np.number):
        raise DatasetError(
            f"{path}: expected a 2-D numeric array (items x features), got {raw.dtype} {raw.shape}"
        )
    # float16 sums overflow (the audio features reach ±5 with 6,710 rows), so work in float32.
    features: NDArray[np.float32] = np.asarray(raw, dtype=np.float32)
    if not np.isfinite(features).all():
        raise DatasetError(f"{path}: contains NaN or infinite values")
    return features


def _read_interactions(
    path: Path, n_items: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int8]]:
    if not path.is_file():
        raise DatasetError(f"missing interactions file: {path}")
    users: list[int] = []
    items: list[int] = []
    splits: list[int] = []
    with path.open(encoding="utf-8") as lines:
        header = tuple(next(lines, "").rstrip("\n").split("\t"))
        if header != HEADER:
            raise DatasetError(f"{path}: line 1 must be the header {HEADER_LINE!r}, found {header!r}")
        for number, line in enumerate(lines, start=2):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != len(HEADER):
                raise DatasetError(
                    f"{path}: line {number}: expected 3 tab-separated fields, found {len(fields)}"
                )
            user, item, split = fields
            if not (user.isdecimal() and item.isdecimal()):
                raise DatasetError(
                    f"{path}: line {number}: ids must be non-negative integers: {user!r}, {item!r}"
                )
            if int(item) >= n_items:
                raise DatasetError(
                    f"{path}: line {number}: item {item} has no feature row (only {n_items} items)"
                )
            if split not in SPLITS:
                raise DatasetError(
                    f"{path}: line {number}: split must be one of {', '.join(SPLITS)}, not {split!r}"
                )
            users.append(int(user))
            items.append(int(item))
            splits.append(SPLITS.index(split))
    if not users:
        raise DatasetError(f"{path}: no interactions after the header")
    return np.array(users, dtype=np.int64), np.array(items, dtype=np.int64), np.array(splits, dtype=np.int8)
