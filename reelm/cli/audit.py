"""`reelm audit …` and `reelm witness …`: the auditor's and the witness operator's commands."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import httpx
import typer
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from reelm.transparency.checkpoint import Checkpoint
from reelm.transparency.note import (
    CosignatureSigner,
    CosignatureVerifier,
    NoteError,
    Signer,
    Verifier,
    open_note,
)
from reelm.transparency.verify import LogClient, Report, VerificationError, VerifiedState, verify_log
from reelm.transparency.witness import FileWitnessState, Witness
from reelm.web.witness import witness_app

audit_app = typer.Typer(help="Verify the transparency log from the outside.", no_args_is_help=True)
witness_cli = typer.Typer(help="Run a witness that cosigns the log's checkpoints.", no_args_is_help=True)
console = Console()


@audit_app.command()
def keygen(
    name: Annotated[str, typer.Option(help="key name; for a log, its origin (e.g. reelm.example/log)")],
    cosigner: Annotated[bool, typer.Option(help="a witness cosignature key instead of a log key")] = False,
) -> None:
    """Print a new private key (keep it secret) and its public verifier key."""
    if cosigner:
        witness_key = CosignatureSigner.generate(name)
        console.print(f"private: {witness_key.skey}\nvkey:    {witness_key.vkey}", soft_wrap=True)
        return
    signer = Signer.generate(name)
    console.print(f"private: {signer.skey}\nvkey:    {signer.vkey}", soft_wrap=True)


def _print_report(report: Report) -> None:
    cp = report.checkpoint
    console.print(
        f"[bold green]OK[/bold green] {cp.origin}: {cp.size} entries "
        f"({report.new_entries} new since {report.previous_size}), root {cp.body().splitlines()[2]}"
    )
    if report.witnesses:
        console.print("cosigned by: " + ", ".join(report.witnesses))
    if report.new_entries:
        table = Table("new entries by type", "count")
        for event_type, count in sorted(report.by_type.items()):
            table.add_row(event_type, str(count))
        realms = Table("new entries by realm", "count")
        for realm, count in sorted(report.by_realm.items()):
            realms.add_row(realm, str(count))
        console.print(table, realms)


async def _verify(url: str, state_path: Path, vkey: str | None, witness_vkeys: list[str], quorum: int) -> int:
    state = VerifiedState.load(state_path)
    if state is None:
        if vkey is None:
            console.print(
                "[red]No state yet: pass --vkey with the log's verifier key (from its operator).[/red]"
            )
            return 2
        verifier = Verifier.from_vkey(vkey)
        state = VerifiedState(origin=verifier.name, vkey=vkey)
    elif vkey is not None and vkey != state.vkey:
        console.print("[red]--vkey differs from the key pinned in the state file.[/red]")
        return 2
    verifier = Verifier.from_vkey(state.vkey)
    witnesses = [CosignatureVerifier.from_vkey(v) for v in witness_vkeys]
    async with httpx.AsyncClient(timeout=30) as http:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("Verifying entries", total=None)
            try:
                report, new_state = await verify_log(
                    LogClient(http, url),
                    verifier,
                    state,
                    witnesses=witnesses,
                    quorum=quorum,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                )
            except (VerificationError, httpx.HTTPError) as exc:
                progress.stop()
                console.print(f"[bold red]FAILED[/bold red] {exc}")
                return 1
    new_state.save(state_path)
    _print_report(report)
    return 0


@audit_app.command()
def verify(
    url: Annotated[str, typer.Option(help="the log's prefix, e.g. https://reelm.example/log")],
    state: Annotated[Path, typer.Option(help="file remembering the last verified checkpoint")],
    vkey: Annotated[str | None, typer.Option(help="the log's verifier key (needed on the first run)")] = None,
    witness: Annotated[
        list[str] | None, typer.Option(help="a witness's cosignature vkey (repeatable)")
    ] = None,
    quorum: Annotated[int, typer.Option(help="cosignatures required")] = 0,
) -> None:
    """Check the log: signature, consistency with the last run, every new entry against the root."""
    raise typer.Exit(asyncio.run(_verify(url, state, vkey, witness or [], quorum)))


@audit_app.command("verify-note")
def verify_note(
    vkey: Annotated[list[str], typer.Option(help="a verifier key (repeatable)")],
    file: Annotated[Path | None, typer.Argument(help="the note; standard input when absent")] = None,
) -> None:
    """Verify a signed note (checkpoints included) against the given keys; prints who signed it."""
    text = file.read_text() if file is not None else sys.stdin.read()
    verifiers: list[Verifier | CosignatureVerifier] = []
    for key in vkey:
        try:
            verifiers.append(Verifier.from_vkey(key))
        except ValueError:
            verifiers.append(CosignatureVerifier.from_vkey(key))
    try:
        note = open_note(text, verifiers)
    except (NoteError, ValueError) as exc:
        console.print(f"[bold red]FAILED[/bold red] {exc}")
        raise typer.Exit(1) from exc
    console.print("[bold green]OK[/bold green] signed by: " + ", ".join(s.name for s in note.verified))
    console.print(note.text, end="", markup=False, highlight=False)


@witness_cli.command("serve")
def witness_serve(
    key: Annotated[
        str, typer.Option(envvar="REELM_WITNESS_KEY", help="the witness's private cosignature key")
    ],
    log: Annotated[list[str], typer.Option(help="verifier key of a log to witness (repeatable)")],
    state: Annotated[Path, typer.Option(help="file where the witness keeps what it has seen")],
    host: str = "127.0.0.1",
    port: int = 8100,
) -> None:
    """Serve C2SP tlog-witness `add-checkpoint` for the given logs."""
    signer = CosignatureSigner.from_skey(key)
    logs = {Verifier.from_vkey(v).name: Verifier.from_vkey(v) for v in log}
    witness = Witness(signer, logs, FileWitnessState(state))
    console.print(f"Witness {signer.name} ({signer.vkey}) on http://{host}:{port}/add-checkpoint")
    uvicorn.run(witness_app(witness), host=host, port=port, log_level="warning")


__all__ = ["Checkpoint", "audit_app", "witness_cli"]
