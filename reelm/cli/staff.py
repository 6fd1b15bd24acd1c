"""`reelm staff …`: grant, revoke and list staff roles (settings from REELM_* variables).

The command line acts as {"kind": "operator-cli"}: whoever can run it holds the database credentials,
and each change is recorded in the directory's audit outbox like any other privileged action.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from reelm.cli.common import load_settings, with_runtime
from reelm.errors import Problem

if TYPE_CHECKING:
    from reelm.runtime import Runtime
    from reelm.staff.models import StaffRole

# The service (and with it the web stack and Cedar) is imported when a staff command runs, so that
# registering this group keeps every other `reelm` command's start-up light.

staff_app = typer.Typer(help="Staff roles: who may act as operator, reviewer, support or auditor.")
console = Console()

T = TypeVar("T")

HandleOpt = Annotated[str, typer.Option("--handle", help="the staff member's account handle")]
RoleOpt = Annotated[str, typer.Option("--role", help="operator, reviewer, support or auditor")]
RealmOpt = Annotated[str, typer.Option("--realm", help="the realm the staff member works for")]
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="where the embedded database and files live")
]


CLI_ACTOR: dict[str, Any] = {"kind": "operator-cli"}


async def grant(runtime: Runtime, *, handle: str, role: str, realm: str) -> StaffRole:
    """What `reelm staff grant` does once the databases are up."""
    from reelm.staff import service  # noqa: PLC0415 - see above

    return await service.do_grant_role(runtime, handle=handle, role=role, staff_realm=realm, actor=CLI_ACTOR)


async def revoke(runtime: Runtime, *, handle: str, role: str, realm: str) -> None:
    from reelm.staff import service  # noqa: PLC0415 - see above

    await service.do_revoke_role(runtime, handle=handle, role=role, staff_realm=realm, actor=CLI_ACTOR)


async def list_grants(runtime: Runtime) -> list[tuple[str, StaffRole]]:
    from reelm.staff import service  # noqa: PLC0415 - see above

    return await service.list_roles(runtime)


def _run(data_dir: Path | None, work: Callable[[Runtime], Awaitable[T]]) -> T:

    try:
        return with_runtime(load_settings(data_dir), work)
    except Problem as exc:
        console.print(f"[red]{exc.title}:[/red] {exc.detail}")
        raise typer.Exit(1) from exc


@staff_app.command("grant")
def grant_command(handle: HandleOpt, role: RoleOpt, realm: RealmOpt, data_dir: DataDir = None) -> None:
    """Grant a role for a realm (recorded in the transparency log)."""
    _run(data_dir, lambda rt: grant(rt, handle=handle, role=role, realm=realm))
    console.print(f"Granted {role} for realm {realm} to @{handle.lower().lstrip('@')}.")


@staff_app.command("revoke")
def revoke_command(handle: HandleOpt, role: RoleOpt, realm: RealmOpt, data_dir: DataDir = None) -> None:
    """Revoke a role for a realm (recorded in the transparency log)."""
    _run(data_dir, lambda rt: revoke(rt, handle=handle, role=role, realm=realm))
    console.print(f"Revoked {role} for realm {realm} from @{handle.lower().lstrip('@')}.")


@staff_app.command("list")
def list_command(data_dir: DataDir = None) -> None:
    """List every staff role grant."""
    rows = _run(data_dir, list_grants)
    table = Table("handle", "user id", "role", "realm", "granted by", "granted at")
    for handle, grant_row in rows:
        table.add_row(
            handle,
            str(grant_row.user_id),
            grant_row.role,
            grant_row.staff_realm,
            grant_row.granted_by,
            grant_row.granted_at.isoformat(timespec="seconds"),
        )
    console.print(table)
