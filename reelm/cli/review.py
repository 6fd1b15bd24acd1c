"""`reelm review …`: import a hash list into a realm, write a realm's transparency report, and export its
statements of reasons for the DSA Transparency Database.

    reelm review hashes import --realm eu --list known-bad --action hold FILE
    reelm review report --realm eu --from 2026-01-01 --to 2026-06-30 --format csv --out report.csv
    reelm review export --realm eu --from 2026-01-01 --to 2026-01-31 --out statements.json

The command line acts as {"kind": "operator-cli"} (whoever runs it holds the realm's database
credentials); an import is recorded in the transparency log like a change made through the API. A file
with a malformed line is refused with its line number and nothing is imported. Exit status 2 on bad input.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from reelm.cli.common import USAGE_ERROR, console, load_settings, with_runtime
from reelm.errors import Problem

if TYPE_CHECKING:
    from reelm.runtime import Runtime

# The moderation modules (numpy, the web stack) load when a command runs, keeping `reelm`'s start light.

review_app = typer.Typer(
    help="Content review: hash lists, transparency reports and the Transparency Database export.",
    no_args_is_help=True,
)
hashes_app = typer.Typer(help="The realm's lists of known PDQ hashes.", no_args_is_help=True)
review_app.add_typer(hashes_app, name="hashes")

CLI_ACTOR: dict[str, Any] = {"kind": "operator-cli"}

RealmOpt = Annotated[str, typer.Option("--realm", help="the realm whose lists or report")]
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="where the embedded database and files live")
]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/red]")
    return typer.Exit(USAGE_ERROR)


@hashes_app.command("import")
def import_command(
    realm: RealmOpt,
    file: Annotated[
        Path, typer.Argument(help="a hash list in a ThreatExchange format (CSV or one per line)")
    ],
    name: Annotated[str, typer.Option("--list", help="the list's name; an existing list is replaced")],
    action: Annotated[str, typer.Option("--action", help="hold (for review) or block, on a match")] = "hold",
    data_dir: DataDir = None,
) -> None:
    """Import (or replace) a hash list; a bad line rejects the file with its number, nothing imported."""
    from reelm.moderation import lists  # noqa: PLC0415 - see above
    from reelm.moderation.hash_lists import HashListError  # noqa: PLC0415 - loaded only by the command that needs it, to keep `reelm --help` fast

    settings = load_settings(data_dir)
    if realm not in settings.realm_names:
        raise _fail(f"Unknown realm {realm!r}; configured: {', '.join(settings.realm_names)}")
    if action not in ("hold", "block"):
        raise _fail("--action must be hold or block")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise _fail(f"Cannot read {file}: {exc.strerror}") from None

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task(f"Importing {name}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        async def work(runtime: Runtime) -> lists.ImportResult:
            return await lists.do_import_hash_list(
                runtime, realm, name=name, action=action, data=data, actor=CLI_ACTOR, progress=advance
            )

        try:
            result = with_runtime(settings, work, realms=[realm])
        except HashListError as exc:
            raise _fail(f"{file}: line {exc.line}: {exc.reason}. Nothing was imported.") from None
        except Problem as problem:
            raise _fail(f"{problem.title}: {problem.detail}. Nothing was imported.") from None
    verb = "Replaced" if result.replaced else "Imported"
    console.print(f"{verb} list {result.name} ({result.action.value}) in {realm}: {result.entries} hashes.")
    if result.low_quality_lines:
        shown = ", ".join(str(n) for n in result.low_quality_lines[:20])
        more = " …" if len(result.low_quality_lines) > 20 else ""
        console.print(
            f"Skipped {len(result.low_quality_lines)} hashes of quality below 50 (lines {shown}{more})."
        )


FromOpt = Annotated[str | None, typer.Option("--from", help="first day, YYYY-MM-DD (default: 30 days ago)")]
ToOpt = Annotated[str | None, typer.Option("--to", help="last day, YYYY-MM-DD (default: today)")]


def _period(start: str | None, end: str | None) -> tuple[date, date]:
    """Both days of the period, checked like the API's; a usage error saying what is wrong otherwise."""
    from reelm.moderation.transparency_report import check_period  # noqa: PLC0415 - see above

    try:
        first = date.fromisoformat(start) if start else None
        last = date.fromisoformat(end) if end else None
        return check_period(first, last)
    except ValueError as exc:
        raise _fail(f"Invalid date: {exc}") from None
    except Problem as problem:
        raise _fail(problem.detail) from None


@review_app.command("export")
def export_command(
    realm: RealmOpt,
    start: FromOpt = None,
    end: ToOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="write here instead of printing")] = None,
    data_dir: DataDir = None,
) -> None:
    """The realm's statements of reasons of a period (both days included, by decision date) in the DSA
    Transparency Database's JSON schema, without personal data: what /transparency-db answers auditors."""
    from reelm.moderation.statements import transparency_db_export  # noqa: PLC0415 - see above
    from reelm.moderation.transparency_report import period_bounds  # noqa: PLC0415 - loaded only by the command that needs it, to keep `reelm --help` fast

    settings = load_settings(data_dir)
    if realm not in settings.realm_names:
        raise _fail(f"Unknown realm {realm!r}; configured: {', '.join(settings.realm_names)}")
    first, last = _period(start, end)
    lo, hi = period_bounds(first, last)

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        async with runtime.databases.read(realm) as session:
            return await transparency_db_export(session, runtime, realm, lo, hi)

    records = with_runtime(settings, work, realms=[realm])
    text = json.dumps({"statements": records}, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _fail(f"Cannot write {out}: {exc.strerror}") from None
        console.print(f"Wrote {len(records)} statements of {realm} from {first} to {last} to {out}.")


@review_app.command("report")
def report_command(
    realm: RealmOpt,
    start: FromOpt = None,
    end: ToOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="write here instead of printing")] = None,
    data_dir: DataDir = None,
) -> None:
    """A realm's transparency report for a period: the same figures as /transparency/<realm>."""
    from reelm.moderation.transparency_report import build_report, to_csv  # noqa: PLC0415 - loaded only by the command that needs it, to keep `reelm --help` fast

    settings = load_settings(data_dir)
    if realm not in settings.realm_names:
        raise _fail(f"Unknown realm {realm!r}; configured: {', '.join(settings.realm_names)}")
    if fmt not in ("json", "csv"):
        raise _fail("--format must be json or csv")
    first, last = _period(start, end)

    async def work(runtime: Runtime) -> Any:
        async with runtime.databases.read(realm) as session:
            return await build_report(session, realm, first, last)

    report = with_runtime(settings, work, realms=[realm])
    text = to_csv(report) if fmt == "csv" else json.dumps(report.as_json(), indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"Wrote the {realm} report for {first} to {last} to {out}.")
