"""`reelm residency check`: scan every realm for protected data held outside its owner's home realm.

Exit status: 1 on any finding, 0 otherwise, 2 on bad arguments or settings. The output carries
locations, realms and fingerprint prefixes only, never a protected value (see reelm.residency.scan).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from reelm.cli.common import USAGE_ERROR, load_settings, with_runtime

if TYPE_CHECKING:
    from reelm.residency.scan import Finding, Report

# The scanner (and with it every model) is imported when the command runs, so that registering this
# group keeps every other `reelm` command's start-up light.

residency_app = typer.Typer(help="Data residency: check that protected data stays in its home realm.")
console = Console()
FOUND = 1


def _findings_table(title: str, findings: list[Finding]) -> Table:
    table = Table("realm", "where", "owner realm", "kind", "fingerprint", title=title)
    for f in findings:
        table.add_row(f.realm, f.location, f.owner_realm, f.kind, f.fingerprint)
    return table


def _print(report: Report) -> None:
    summary = Table(
        "realm",
        "rows scanned",
        "protected values",
        "objects checked",
        "findings",
        "shared",
        title="Residency",
    )
    for s in report.summaries:
        summary.add_row(
            s.realm,
            str(s.rows_scanned),
            str(s.protected_values),
            str(s.objects_checked),
            f"[red]{s.findings}[/red]" if s.findings else "0",
            str(s.shared),
        )
    console.print(summary)
    if report.findings:
        console.print(_findings_table("Protected data outside its home realm", report.findings))
    if report.shared:
        console.print(
            _findings_table("Identifying values held at home in more than one realm", report.shared)
        )
    if report.ok:
        console.print("[green]No protected data outside its home realm.[/green]")
    else:
        console.print(f"[red]{len(report.findings)} finding(s).[/red]")


@residency_app.command("check")
def check_command(
    realm: Annotated[
        list[str] | None, typer.Option("--realm", help="scan only this realm (repeatable); default all")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="where the embedded database and files live")
    ] = None,
) -> None:
    """Scan every realm's database and bucket for protected values whose owner is homed elsewhere."""
    from reelm.residency.scan import check  # noqa: PLC0415 - loads the database stack only when run

    settings = load_settings(data_dir)
    unknown = sorted(set(realm or []) - set(settings.realm_names))
    if unknown:
        console.print(
            f"[red]Unknown realm(s) {', '.join(unknown)}[/red]; configured: {', '.join(settings.realm_names)}"
        )
        raise typer.Exit(USAGE_ERROR)
    # Keep the configured order, whatever order the options came in.
    names = [n for n in settings.realm_names if n in realm] if realm else None
    report = with_runtime(settings, lambda runtime: check(runtime, names))
    if as_json:
        # Plain print: Rich would wrap and colour the JSON.
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        _print(report)
    if not report.ok:
        raise typer.Exit(FOUND)
