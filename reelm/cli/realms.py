"""`reelm realm …`: suspend and restore a realm's capabilities, and show the switches.

The command line acts as {"kind": "operator-cli"}, like `reelm staff`: whoever can run it holds the
database credentials. Realm and capability names are checked before any database is touched, so a
typo changes nothing and exits with status 2; a change reaches running servers through the
directory's notification within moments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from reelm.cli.common import USAGE_ERROR, load_settings, with_runtime
from reelm.errors import Problem

if TYPE_CHECKING:
    from reelm.realms.models import Capability
    from reelm.realms.switches import Switch
    from reelm.runtime import Runtime
    from reelm.settings import Settings

# The service (and with it the web stack) is imported when a command runs, so that registering this
# group keeps every other `reelm` command's start-up light.

realm_app = typer.Typer(help="Service switches: suspend and restore a realm's capabilities.")
console = Console()

T = TypeVar("T")
CLI_ACTOR: dict[str, Any] = {"kind": "operator-cli"}

RealmArg = Annotated[str, typer.Argument(help="the realm, e.g. us")]
CapabilityOpt = Annotated[
    str,
    typer.Option(
        "--capability",
        help="all, or a comma-separated list of: "
        "signup, watch, upload, comment, message, profile_edit, search",
    ),
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="why, for the transparency log")]
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="where the embedded database and files live")
]


def _usage_error(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/red]")
    return typer.Exit(USAGE_ERROR)


def _settings(data_dir: Path | None) -> Settings:
    return load_settings(data_dir)


def _check_realm(settings: Settings, realm: str) -> str:
    if realm not in settings.realm_names:
        raise _usage_error(f"Unknown realm {realm!r}; configured: {', '.join(settings.realm_names)}")
    return realm


def _check_capabilities(value: str) -> list[Capability]:
    from reelm.realms import service  # noqa: PLC0415 - see above

    try:
        return service.parse_capabilities(value)
    except Problem as problem:
        raise _usage_error(f"Invalid --capability: {problem.detail}") from None


def _run(settings: Settings, work: Callable[[Runtime], Awaitable[T]]) -> T:

    try:
        return with_runtime(settings, work)
    except Problem as problem:
        # Checked again by the service (the notice, say): still bad input, and nothing was changed.
        raise _usage_error(f"{problem.title}: {problem.detail}") from problem


def _state_text(switch: Switch) -> str:
    return f"{switch.percent} %" if switch.state.value == "percent" else switch.state.value


def _report(switches: list[Switch]) -> None:
    for switch in switches:
        console.print(f"{switch.realm} {switch.capability.value}: {_state_text(switch)}")


@realm_app.command("suspend")
def suspend_command(
    realm: RealmArg,
    capability: CapabilityOpt,
    notice: Annotated[str, typer.Option("--notice", help="what refused users are told")],
    reason: ReasonOpt = "",
    data_dir: DataDir = None,
) -> None:
    """Switch capabilities off in a realm; users get HTTP 451 with the notice. Data is kept."""
    from reelm.realms import service  # noqa: PLC0415 - see above

    settings = _settings(data_dir)
    realm = _check_realm(settings, realm)
    capabilities = _check_capabilities(capability)
    if not notice.strip():
        raise _usage_error("--notice must say something: it tells people why")
    changed = _run(
        settings,
        lambda rt: service.do_suspend(
            rt, realm=realm, capabilities=capabilities, notice=notice, reason=reason, actor=CLI_ACTOR
        ),
    )
    _report(changed)


@realm_app.command("restore")
def restore_command(
    realm: RealmArg,
    capability: CapabilityOpt,
    percent: Annotated[
        int, typer.Option("--percent", help="restore for this share of accounts (1-100); default all")
    ] = 100,
    reason: ReasonOpt = "",
    data_dir: DataDir = None,
) -> None:
    """Switch capabilities back on in a realm, for everyone or for N % of accounts (stable buckets)."""
    from reelm.realms import service  # noqa: PLC0415 - see above

    settings = _settings(data_dir)
    realm = _check_realm(settings, realm)
    capabilities = _check_capabilities(capability)
    if not 1 <= percent <= 100:
        raise _usage_error("--percent must be between 1 and 100; use `reelm realm suspend` to switch off")
    changed = _run(
        settings,
        lambda rt: service.do_restore(
            rt, realm=realm, capabilities=capabilities, percent=percent, reason=reason, actor=CLI_ACTOR
        ),
    )
    _report(changed)


@realm_app.command("status")
def status_command(
    realm: Annotated[str | None, typer.Argument(help="one realm; all when left out")] = None,
    data_dir: DataDir = None,
) -> None:
    """Show the switches of every realm (or of one)."""
    from reelm.realms import service  # noqa: PLC0415 - see above

    settings = _settings(data_dir)
    if realm is not None:
        realm = _check_realm(settings, realm)
    switches = _run(settings, lambda rt: service.list_switches(rt, realm))
    table = Table("realm", "capability", "state", "notice", "changed by", "changed at", "reason")
    for switch in switches:
        table.add_row(
            switch.realm,
            switch.capability.value,
            _state_text(switch),
            switch.notice,
            switch.changed_by or "",
            switch.changed_at.isoformat(timespec="seconds") if switch.changed_at else "",
            switch.reason,
        )
    console.print(table)


@realm_app.command("flows")
def flows_command(
    days: Annotated[int, typer.Option(min=1, max=366, help="how many days back, today included")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    data_dir: DataDir = None,
) -> None:
    """Rows of public projections that crossed from each realm to each other realm, per day and table."""
    import dataclasses  # noqa: PLC0415 - see the note on imports above
    import json  # noqa: PLC0415 - loaded only by `reelm realm flows`

    from reelm.crossrealm.flows import flows  # noqa: PLC0415 - loaded only by `reelm realm flows`

    found = with_runtime(_settings(data_dir), lambda runtime: flows(runtime, days=days))
    if as_json:
        for flow in found:
            typer.echo(json.dumps(dataclasses.asdict(flow), default=str))
        return
    table = Table("day", "from", "to", "table", "rows", title=f"Crossings, last {days} days")
    for flow in found:
        table.add_row(str(flow.day), flow.source, flow.destination, flow.relation, str(flow.rows))
    console.print(table if found else "No crossings in that period.")
