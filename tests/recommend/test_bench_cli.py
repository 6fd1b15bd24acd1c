"""`reelm bench recs` end to end on a small synthetic folder, and its answer to a bad dataset path."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from reelm.cli.common import USAGE_ERROR
from reelm.cli.main import app
from tests.recommend.synthetic import planted_data, write_icme_folder


def test_json_output_has_figures_per_model(tmp_path: Path) -> None:
    folder = write_icme_folder(tmp_path / "tiktok", planted_data(users=120))
    result = CliRunner().invoke(app, ["bench", "recs", "--dataset", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert set(figures) == {"item-similarity", "popularity"}
    for model in figures.values():
        assert {"recall@20", "precision@20", "ndcg@20", "train_seconds"} <= set(model)
    assert figures["item-similarity"]["recall@20"] > figures["popularity"]["recall@20"]
    assert "ridge" in figures["item-similarity"]["hyper_parameters"]


def test_cold_items_protocol_prints_a_table(tmp_path: Path) -> None:
    folder = write_icme_folder(tmp_path / "tiktok", planted_data(users=120))
    result = CliRunner().invoke(
        app, ["bench", "recs", "--dataset", str(folder), "--protocol", "cold-items"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "cold-items protocol" in result.stdout
    assert "item-similarity" in result.stdout
    assert "random" in result.stdout


def test_missing_dataset_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "recs", "--dataset", str(tmp_path / "absent")])
    assert result.exit_code == USAGE_ERROR
    assert "Cannot read the dataset: dataset folder not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
