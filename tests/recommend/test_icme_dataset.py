"""Loading the TikTok dataset folder: a well-formed one, and clear errors for malformed ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reelm.recommend.offline.icme_dataset import DatasetError, load_icme_dataset

GOOD_ROWS = "user_id\titem_id\tsplit\n0\t0\ttrain\n0\t1\ttrain\n0\t2\ttest\n1\t1\ttrain\n1\t0\tval\n"


def _write(folder: Path, rows: str = GOOD_ROWS, image: np.ndarray | None = None) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "interactions.tsv").write_text(rows, encoding="utf-8")
    rng = np.random.default_rng(0)
    np.save(folder / "image_feat.npy", rng.random((3, 4)).astype(np.float16) if image is None else image)
    np.save(folder / "audio_feat.npy", rng.random((3, 2)).astype(np.float16))
    return folder


def test_loads_splits_and_features(tmp_path: Path) -> None:
    dataset = load_icme_dataset(_write(tmp_path / "data"))
    assert (dataset.n_users, dataset.n_items) == (2, 3)
    assert dataset.train.toarray().tolist() == [[1, 1, 0], [0, 1, 0]]
    assert dataset.val.toarray().tolist() == [[0, 0, 0], [1, 0, 0]]
    assert dataset.test.toarray().tolist() == [[0, 0, 1], [0, 0, 0]]
    assert dataset.features["image"].dtype == np.float32
    combined = dataset.item_features(("image", "audio"))
    assert combined.shape == (3, 6)
    assert np.linalg.norm(combined[:, :4], axis=1) == pytest.approx(1.0, abs=1e-5)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="dataset folder not found"):
        load_icme_dataset(tmp_path / "nowhere")


def test_missing_file(tmp_path: Path) -> None:
    folder = _write(tmp_path / "data")
    (folder / "audio_feat.npy").unlink()
    with pytest.raises(DatasetError, match=r"missing feature file: .*audio_feat\.npy"):
        load_icme_dataset(folder)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("user\titem\tsplit\n0\t0\ttrain\n", "line 1 must be the header"),
        ("user_id\titem_id\tsplit\n0\t0\n", "line 2: expected 3 tab-separated fields"),
        ("user_id\titem_id\tsplit\n0\t0\ttrain\n0\tx\ttrain\n", "line 3: ids must be non-negative integers"),
        ("user_id\titem_id\tsplit\n-1\t0\ttrain\n", "line 2: ids must be non-negative integers"),
        ("user_id\titem_id\tsplit\n0\t7\ttrain\n", "line 2: item 7 has no feature row"),
        ("user_id\titem_id\tsplit\n0\t0\tholdout\n", "line 2: split must be one of train, val, test"),
        ("user_id\titem_id\tsplit\n", "no interactions after the header"),
    ],
)
def test_malformed_interactions(tmp_path: Path, rows: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        load_icme_dataset(_write(tmp_path / "data", rows=rows))


def test_pickled_features_are_refused(tmp_path: Path) -> None:
    folder = _write(tmp_path / "data")
    np.save(folder / "image_feat.npy", np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError, match=r"not a plain numeric \.npy array"):
        load_icme_dataset(folder)


def test_features_must_be_a_finite_matrix_with_a_row_per_item(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="expected a 2-D numeric array"):
        load_icme_dataset(_write(tmp_path / "flat", image=np.zeros(3, dtype=np.float16)))
    with pytest.raises(DatasetError, match="image features have 4 rows but audio features 3"):
        load_icme_dataset(_write(tmp_path / "rows", image=np.zeros((4, 4), dtype=np.float16)))
    with pytest.raises(DatasetError, match="NaN or infinite"):
        load_icme_dataset(_write(tmp_path / "nan", image=np.full((3, 4), np.nan, dtype=np.float16)))
