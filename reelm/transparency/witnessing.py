"""The log's side of witnessing: ask each configured witness to cosign a checkpoint (C2SP tlog-witness)."""

from __future__ import annotations

import logging

import httpx

from reelm.settings import WitnessConfig
from reelm.storage import RealmStore
from reelm.transparency import merkle, tiles
from reelm.transparency.checkpoint import Checkpoint
from reelm.transparency.note import CosignatureVerifier, open_note
from reelm.transparency.witness import format_add_checkpoint, parse_size

log = logging.getLogger(__name__)

TIMEOUT_S = 5.0


def store_tile_reader(
    store: RealmStore, size: int, cache: tiles.TileCache | None = None, *, stored_size: int | None = None
) -> tiles.TileHashReader:
    """A reader of the tree of `size` leaves from the log's tiles; `stored_size` (a size the log has
    published, so whose tiles exist) serves proofs for any smaller tree."""

    async def fetch(level: int, index: int, width: int) -> bytes:
        return await store.read("log/" + tiles.tile_path(level, index, width))

    return tiles.TileHashReader(fetch, size, cache, stored_size=stored_size)


class WitnessClient:
    def __init__(self, witnesses: list[WitnessConfig], quorum: int) -> None:
        self.witnesses = witnesses
        self.quorum = quorum
        self.verifiers = {w.name: CosignatureVerifier.from_vkey(w.vkey) for w in witnesses}

    async def cosign(
        self, note: str, checkpoint: Checkpoint, previous_size: int, store: RealmStore
    ) -> str | None:
        """The note with every cosignature gathered, or None when fewer than the quorum cosigned."""
        if not self.witnesses:
            return note
        lines: list[str] = []
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            for witness in self.witnesses:
                line = await self._ask(client, witness, note, checkpoint, previous_size, store)
                if line is not None:
                    lines.append(line)
        if len(lines) < self.quorum:
            log.warning(
                "checkpoint %d has %d of %d required cosignatures", checkpoint.size, len(lines), self.quorum
            )
            return None
        return note + "".join(lines)

    async def _ask(
        self,
        client: httpx.AsyncClient,
        witness: WitnessConfig,
        note: str,
        checkpoint: Checkpoint,
        old_size: int,
        store: RealmStore,
    ) -> str | None:
        # A witness answers 409 with the size it last saw; one retry from there is enough.
        for _ in range(2):
            proof = (
                await merkle.consistency_proof(
                    old_size, checkpoint.size, store_tile_reader(store, checkpoint.size)
                )
                if 0 < old_size < checkpoint.size
                else []
            )
            try:
                response = await client.post(
                    witness.url.rstrip("/") + "/add-checkpoint",
                    content=format_add_checkpoint(old_size, proof, note),
                )
            except httpx.HTTPError as exc:
                log.warning("witness %s unreachable: %s", witness.name, exc)
                return None
            if response.status_code == 409:
                try:
                    old_size = parse_size(response.content)
                except ValueError:
                    return None
                continue
            if response.status_code != 200:
                log.warning(
                    "witness %s refused checkpoint %d: %s %s",
                    witness.name,
                    checkpoint.size,
                    response.status_code,
                    response.text[:200],
                )
                return None
            return self._checked_line(witness, note, response.text)
        return None

    def _checked_line(self, witness: WitnessConfig, note: str, answer: str) -> str | None:
        """Keep the witness's line only if it really is its valid cosignature over this checkpoint."""
        for line in answer.splitlines(keepends=True):
            try:
                open_note(note + line, [self.verifiers[witness.name]])
            except ValueError:
                continue
            return line if line.endswith("\n") else line + "\n"
        log.warning("witness %s answered without a valid cosignature", witness.name)
        return None
