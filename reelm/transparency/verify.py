"""The auditor's verifier: checks a log from the outside, trusting nothing but the verifier key.

Every run fetches the signed checkpoint, checks its signature (and the witnesses' cosignatures when a
quorum is asked for), proves it consistent with the checkpoint remembered from the last run, then
downloads the entries added since, recomputes the tree from them and requires the same root, and
checks that the published hash tiles agree with the entries. The state file remembers the verified
tree (size, root and its right edge), so the next run only reads what is new.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from reelm.transparency import merkle, tiles
from reelm.transparency.checkpoint import Checkpoint, open_checkpoint
from reelm.transparency.note import CosignatureVerifier, Verifier

TILE = tiles.TILE_WIDTH
CONCURRENCY = 8


class VerificationError(Exception):
    """The log is inconsistent: something was changed, removed, reordered or forked."""


@dataclass
class VerifiedState:
    origin: str
    vkey: str
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    compact_range: bytes = field(default_factory=lambda: merkle.CompactRange().to_bytes())

    @classmethod
    def load(cls, path: Path) -> VerifiedState | None:
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return cls(
            origin=data["origin"],
            vkey=data["vkey"],
            size=int(data["size"]),
            root=base64.b64decode(data["root"]),
            compact_range=base64.b64decode(data["compact_range"]),
        )

    def save(self, path: Path) -> None:
        """Atomically: an interrupted run leaves the previous state, never half of one."""
        data = {
            "origin": self.origin,
            "vkey": self.vkey,
            "size": self.size,
            "root": base64.b64encode(self.root).decode(),
            "compact_range": base64.b64encode(self.compact_range).decode(),
        }
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)


@dataclass
class Report:
    checkpoint: Checkpoint
    previous_size: int
    new_entries: int
    by_type: Counter[str] = field(default_factory=Counter)
    by_realm: Counter[str] = field(default_factory=Counter)
    witnesses: list[str] = field(default_factory=list)


class LogClient:
    """Reads a tlog-tiles log over HTTP."""

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self.client = client
        self.base = base_url.rstrip("/")

    async def get(self, path: str) -> bytes:
        response = await self.client.get(f"{self.base}/{path}")
        if response.status_code != 200:
            raise VerificationError(f"GET {path}: HTTP {response.status_code}")
        return response.content

    async def tile(self, level: int, index: int, width: int) -> bytes:
        data = await self.get(tiles.tile_path(level, index, width))
        if len(data) != 32 * width:
            raise VerificationError(f"tile {level}/{index} has {len(data)} bytes, expected {32 * width}")
        return data

    async def bundle(self, index: int, width: int) -> list[bytes]:
        try:
            entries = tiles.decode_bundle(await self.get(tiles.entries_path(index, width)))
        except ValueError as exc:
            raise VerificationError(f"entry bundle {index} is malformed: {exc}") from exc
        if len(entries) != width:
            raise VerificationError(f"entry bundle {index} holds {len(entries)} entries, expected {width}")
        return entries


async def verify_log(
    client: LogClient,
    verifier: Verifier,
    state: VerifiedState,
    *,
    witnesses: Sequence[CosignatureVerifier] = (),
    quorum: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Report, VerifiedState]:
    """Verify what is new since `state`; raises VerificationError on any inconsistency."""
    note = (await client.get("checkpoint")).decode()
    try:
        checkpoint, cosigners = open_checkpoint(note, verifier, witnesses, quorum)
    except ValueError as exc:
        raise VerificationError(f"checkpoint signature: {exc}") from exc
    if checkpoint.origin != state.origin:
        raise VerificationError(f"checkpoint is for {checkpoint.origin!r}, expected {state.origin!r}")
    if checkpoint.size < state.size:
        raise VerificationError(f"the log shrank from {state.size} to {checkpoint.size} entries")
    if checkpoint.size == state.size and checkpoint.root != state.root:
        raise VerificationError(f"fork: a different root for the same size {state.size}")
    await _check_consistency_proof(client, state, checkpoint)

    compact = merkle.CompactRange.from_bytes(state.compact_range)
    report = Report(
        checkpoint=checkpoint,
        previous_size=state.size,
        new_entries=checkpoint.size - state.size,
        witnesses=cosigners,
    )
    ranges = _bundle_ranges(state.size, checkpoint.size)
    done = 0
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def fetch(index: int, width: int) -> tuple[list[bytes], bytes]:
        async with semaphore:
            return await asyncio.gather(client.bundle(index, width), client.tile(0, index, width))

    tasks = [asyncio.ensure_future(fetch(index, width)) for index, width, _ in ranges]
    try:
        for (index, width, skip), task in zip(ranges, tasks, strict=True):
            entries, tile = await task
            for offset in range(skip, width):
                leaf = merkle.leaf_hash(entries[offset])
                if tile[32 * offset : 32 * offset + 32] != leaf:
                    raise VerificationError(f"entry {index * TILE + offset} does not match its hash tile")
                compact.append(leaf)
                _count(report, entries[offset])
            done += width - skip
            if progress is not None:
                progress(done, report.new_entries)
    finally:
        for task in tasks:
            task.cancel()
    if compact.root() != checkpoint.root:
        raise VerificationError("the entries do not hash to the checkpoint's root: the log was altered")
    return report, VerifiedState(
        origin=state.origin,
        vkey=state.vkey,
        size=checkpoint.size,
        root=checkpoint.root,
        compact_range=compact.to_bytes(),
    )


async def _check_consistency_proof(client: LogClient, state: VerifiedState, checkpoint: Checkpoint) -> None:
    """The standard append-only check, with a proof built from the published tiles."""
    if not 0 < state.size < checkpoint.size:
        return
    reader = tiles.TileHashReader(client.tile, checkpoint.size)
    try:
        proof = await merkle.consistency_proof(state.size, checkpoint.size, reader)
        merkle.verify_consistency(state.size, checkpoint.size, proof, state.root, checkpoint.root)
    except (merkle.ProofError, ValueError) as exc:
        raise VerificationError(f"not consistent with the last verified checkpoint: {exc}") from exc


def _bundle_ranges(old_size: int, new_size: int) -> list[tuple[int, int, int]]:
    """(bundle index, width, entries to skip) for every bundle holding entries in [old_size, new_size)."""
    out = []
    for index in range(old_size // TILE, (new_size + TILE - 1) // TILE):
        width = min(TILE, new_size - index * TILE)
        out.append((index, width, max(0, old_size - index * TILE)))
    return out


def _count(report: Report, entry: bytes) -> None:
    try:
        data = json.loads(entry)
    except ValueError:
        report.by_type["(not JSON)"] += 1
        return
    report.by_type[str(data.get("type"))] += 1
    report.by_realm[str(data.get("realm") or "directory")] += 1
