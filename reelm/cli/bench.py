"""`reelm bench recs`: the recommender's offline benchmark (protocols and history in bench/README.md).

The benchmark code (and NumPy and SciPy with it) is imported when the command runs, so that
registering this group keeps every other `reelm` command's start-up light.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from reelm.cli.common import USAGE_ERROR

if TYPE_CHECKING:
    from reelm.recommend.offline.recs_bench import BenchReport

bench_app = typer.Typer(help="Offline benchmarks.", no_args_is_help=True)
DEFAULT_DATASET = Path("../shared/datasets/tiktok-icme2019")


class EvaluationProtocol(StrEnum):
    STANDARD = "standard"
    COLD_ITEMS = "cold-items"


class RichBenchProgress:
    """Shows each stage of the run as a progress bar with the latest step under way."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.title = ""

    def stage(self, description: str, steps: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, description=self.title)
        self.title = description
        self.task = self.progress.add_task(description, total=steps)

    def step(self, description: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=1, description=f"{self.title}: {description}")


@bench_app.command("recs")
def recs(
    dataset: Annotated[
        Path, typer.Option(help="the tiktok-icme2019 folder (interactions.tsv and feature .npy files)")
    ] = DEFAULT_DATASET,
    as_json: Annotated[
        bool, typer.Option("--json", help="print one JSON object: model -> test figures")
    ] = False,
    protocol: Annotated[
        EvaluationProtocol,
        typer.Option(help="standard: the published table's; cold-items: see bench/README.md"),
    ] = EvaluationProtocol.STANDARD,
) -> None:
    """Train on train rows, tune on val, report Recall/Precision/NDCG@20 on test: engine and baseline."""
    from reelm.recommend.offline.icme_dataset import DatasetError  # noqa: PLC0415 - see the module docstring
    from reelm.recommend.offline.recs_bench import run_recs_bench  # noqa: PLC0415 - the offline benchmark (SciPy, datasets) loads only for `reelm bench recs`

    # With --json, stdout carries the JSON object only; progress goes to stderr either way.
    stderr = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=stderr, transient=True) as progress:
            report = run_recs_bench(dataset, protocol.value, RichBenchProgress(progress))
    except DatasetError as exc:
        stderr.print(f"[red]Cannot read the dataset:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(USAGE_ERROR) from exc
    if as_json:
        typer.echo(json.dumps(_as_json(report)))
    else:
        _print(report, Console())


def _as_json(report: BenchReport) -> dict[str, dict[str, object]]:
    return {
        result.name: {
            "recall@20": result.test.recall,
            "precision@20": result.test.precision,
            "ndcg@20": result.test.ndcg,
            "train_seconds": result.train_seconds,
            **({"hyper_parameters": result.hyper_parameters} if result.hyper_parameters else {}),
        }
        for result in report.results
    }


def _print(report: BenchReport, console: Console) -> None:
    users = report.results[0].test.users
    table = Table(title=f"Recommender, {report.protocol} protocol, test set ({users} users)")
    table.add_column("model", no_wrap=True)
    for figure in ("Recall@20", "P@20", "NDCG@20", "train s", "val Recall@20", "val NDCG@20"):
        table.add_column(figure, justify="right")
    for result in report.results:
        validation = result.validation
        table.add_row(
            result.name,
            f"{result.test.recall:.4f}",
            f"{result.test.precision:.4f}",
            f"{result.test.ndcg:.4f}",
            f"{result.train_seconds:.1f}",
            f"{validation.recall:.4f}" if validation else "-",
            f"{validation.ndcg:.4f}" if validation else "-",
        )
    console.print(table)
    for result in report.results:
        if result.hyper_parameters:
            chosen = ", ".join(f"{key} {value}" for key, value in result.hyper_parameters.items())
            console.print(f"{result.name} (chosen on val): {chosen}")
    console.print(
        f"Tuning took {report.tuning_seconds:.1f} s;"
        f" peak memory (RSS) of the whole run {report.peak_rss_mib:.0f} MiB."
    )
