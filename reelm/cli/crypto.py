"""`reelm keys …` (realm key-encryption keys) and `reelm accounts purge` (crypto-shredding)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from reelm.cli.common import USAGE_ERROR, load_settings, with_runtime
from reelm.crypto.keys import Keys
from reelm.crypto.vault import vault_keks
from reelm.settings import Settings

keys_app = typer.Typer(help="Realm key-encryption keys: create them, rotate them.")
accounts_app = typer.Typer(help="Accounts: purge deleted accounts, move an account to another realm.")
console = Console()

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="where the embedded database and files live")
]
RealmOpt = Annotated[str, typer.Option("--realm", help="the realm, e.g. us")]


def _check_realm(settings: Settings, realm: str) -> None:
    if realm not in settings.realm_names:
        console.print(f"[red]Unknown realm {realm!r}[/red]; configured: {', '.join(settings.realm_names)}")
        raise typer.Exit(USAGE_ERROR)


@keys_app.command("init")
def init(data_dir: DataDir = None) -> None:
    """Create each realm's first key-encryption key and e-mail index key where they are missing."""
    settings = load_settings(data_dir)
    keys = Keys(settings.realm_key_root, create=True, keks=vault_keks(settings))
    for realm in settings.realm_names:
        realm_keys = keys.realm(realm)
        console.print(f"{realm}: KEK v{realm_keys.kek.current_version()} in {realm_keys.folder}")


@keys_app.command("rotate")
def rotate(realm: RealmOpt, data_dir: DataDir = None) -> None:
    """Create a new KEK version and rewrap every user's data key with it, in batches, while serving."""
    from reelm.crypto.service import rotate_realm_key  # noqa: PLC0415 - loads the database stack

    settings = load_settings(data_dir)
    _check_realm(settings, realm)
    version, count = with_runtime(
        settings,
        lambda runtime: rotate_realm_key(runtime.databases, runtime.keys.realm(realm), realm),
        realms=[realm],
    )
    console.print(
        f"{realm}: KEK v{version} now wraps all {count} rewrapped data keys; older versions are no longer"
        " referenced and may be archived once no backup you restore needs them."
    )


@accounts_app.command("purge")
def purge(realm: RealmOpt, data_dir: DataDir = None) -> None:
    """Destroy the keys and remove the data of deleted accounts whose grace period is over."""
    from reelm.departures.purge import purge_due_accounts  # noqa: PLC0415 - loads the database stack

    settings = load_settings(data_dir)
    _check_realm(settings, realm)
    purged = with_runtime(settings, lambda runtime: purge_due_accounts(runtime, realm), realms=[realm])
    console.print(f"{realm}: purged {purged} deleted accounts")


@accounts_app.command("move")
def move(
    handle: Annotated[str, typer.Argument(help="the account's handle")],
    to: Annotated[str, typer.Option("--to", help="the new home realm")],
    reason: Annotated[str, typer.Option("--reason", help="why, for the transparency log")],
    data_dir: DataDir = None,
) -> None:
    """Move an account's home realm: copy it (re-encrypted under a new key), then shred the old copy."""
    from reelm.departures.move import MoveRefusedError, move_account  # noqa: PLC0415 - loads the database stack

    settings = load_settings(data_dir)
    _check_realm(settings, to)
    if not reason.strip():
        console.print("[red]--reason must say why[/red]")
        raise typer.Exit(USAGE_ERROR)
    try:
        report = with_runtime(settings, lambda runtime: move_account(runtime, handle, to, reason=reason))
    except MoveRefusedError as exc:
        console.print(f"[red]Not moved:[/red] {exc}")
        raise typer.Exit(USAGE_ERROR) from exc
    plan = report.plan
    console.print(
        f"@{plan.handle} moved from {plan.source} to {plan.target}: {len(plan.videos)} videos, "
        f"{len(plan.comments)} comments, {report.objects_copied} objects; the old copy is shredded."
    )
