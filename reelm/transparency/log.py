"""The log's writer: moves audit outbox entries into the Merkle tree, writes tiles, signs checkpoints.

One sequencer runs at a time across all processes (a PostgreSQL advisory lock on the directory), so
several servers can each run it without two of them numbering entries. A run:
1. takes up to `max_batch` outbox rows from the directory and every realm, oldest first;
2. gives them the next indexes and stores them in `log_entries` with their leaf hashes;
3. writes the new tiles and entry bundles (C2SP tlog-tiles) to the log's object store: every path
   is immutable (partial tiles carry their width in the path), so rewriting one is harmless;
4. signs a checkpoint, gathers witness cosignatures and publishes it when the quorum is met;
5. commits, then deletes the moved outbox rows. A crash before that deletion is harmless: entries
   already in the log (by source and source id) are skipped next time.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ARRAY, BigInteger, ColumnElement, any_, bindparam, delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.audit.models import DirectoryAuditOutbox, RealmAuditOutbox
from reelm.audit.service import KEY_ROTATION, POLICY_CHANGE, record_event
from reelm.runtime import Runtime
from reelm.settings import Settings
from reelm.storage import ObstoreRealmStore, RealmStore, open_store
from reelm.transparency import merkle, tiles
from reelm.transparency.checkpoint import Checkpoint, sign_checkpoint
from reelm.transparency.models import LogCheckpoint, LogEntry
from reelm.transparency.note import Signer
from reelm.transparency.witnessing import WitnessClient

log = logging.getLogger(__name__)

SEQUENCER_LOCK = 0x7265656C6D6C6F67  # "reelmlog": one advisory lock id for the whole cluster
DEPLOYMENT_LOCK = SEQUENCER_LOCK + 1  # servers starting together record a deployment once
MAX_BATCH = 4096
DIRECTORY_SOURCE = "directory"
TILE = tiles.TILE_WIDTH


def log_origin(settings: Settings) -> str:
    return settings.log_origin or f"{urlsplit(settings.base_url).netloc}/log"


def load_signer(settings: Settings) -> Signer:
    """The log's signing key: from settings, or in demo mode a key kept in the data dir."""
    if settings.log_signing_key is not None:
        return Signer.from_skey(settings.log_signing_key)
    path = settings.data_dir / "keys" / "log.skey"
    if path.exists():
        return Signer.from_skey(path.read_text().strip())
    signer = Signer.generate(log_origin(settings))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(signer.skey + "\n")
    return signer


def open_log_store(settings: Settings) -> RealmStore:
    url = settings.log_storage_url or (settings.data_dir.resolve() / "objects" / "log").as_uri()
    return ObstoreRealmStore(open_store(url))


@dataclass
class PendingEntry:
    source: str
    source_id: int
    event_type: str
    entry: bytes
    created_at: datetime

    def realm(self) -> str | None:
        return None if self.source == DIRECTORY_SOURCE else self.source

    def subject(self) -> str | None:
        value = json.loads(self.entry).get("subject")
        return value if isinstance(value, str) else None


async def _write_tiles(store: RealmStore, old_size: int, leaf_hashes: list[bytes]) -> None:
    new_size = old_size + len(leaf_hashes)
    old_partials = {
        level: await store.read("log/" + tiles.tile_path(level, index, width))
        for level, index, width in tiles.needed_partials(old_size, new_size)
    }
    for tile in tiles.build_tiles(old_size, leaf_hashes, old_partials):
        await store.put_bytes("log/" + tile.path, tile.data)


async def _write_bundles(store: RealmStore, old_size: int, new_entries: list[bytes]) -> None:
    """Entry bundles: the old partial bundle's entries plus the new ones, cut at 256."""
    first = old_size // TILE
    all_entries = await _old_partial_bundle(store, old_size) + new_entries
    for offset in range(0, len(all_entries), TILE):
        chunk = all_entries[offset : offset + TILE]
        index = first + offset // TILE
        await store.put_bytes("log/" + tiles.entries_path(index, len(chunk)), tiles.encode_bundle(chunk))


async def _old_partial_bundle(store: RealmStore, old_size: int) -> list[bytes]:
    width = old_size % TILE
    if width == 0:
        return []
    return tiles.decode_bundle(await store.read("log/" + tiles.entries_path(old_size // TILE, width)))


class Sequencer:
    def __init__(
        self,
        runtime: Runtime,
        *,
        signer: Signer | None = None,
        store: RealmStore | None = None,
        witnesses: WitnessClient | None = None,
    ) -> None:
        self.runtime = runtime
        self.signer = signer or load_signer(runtime.settings)
        self.store = store or open_log_store(runtime.settings)
        self.origin = log_origin(runtime.settings)
        self.witnesses = witnesses or WitnessClient(
            runtime.settings.log_witnesses, runtime.settings.log_witness_quorum
        )

    async def _pending(self, limit: int) -> list[PendingEntry]:
        pending: list[PendingEntry] = []
        sources: list[tuple[str, str | None, type[RealmAuditOutbox] | type[DirectoryAuditOutbox]]] = [
            (DIRECTORY_SOURCE, None, DirectoryAuditOutbox)
        ] + [(realm, realm, RealmAuditOutbox) for realm in self.runtime.databases.realm_urls]
        for source, realm, model in sources:
            async with self.runtime.databases.read(realm) as session:
                rows = await session.execute(
                    select(model.id, model.event_type, model.entry, model.created_at)
                    .order_by(model.id)
                    .limit(limit)
                )
                pending.extend(PendingEntry(source, r.id, r.event_type, r.entry, r.created_at) for r in rows)
        # One order for the whole log: by the time each entry was recorded, then by source and id. Each
        # source is read in id order, so what is left out now is never older than what goes in.
        pending.sort(key=lambda p: (p.created_at, p.source, p.source_id))
        return pending[:limit]

    async def run_once(self, max_batch: int = MAX_BATCH) -> int:
        """Sequence what is waiting; returns how many entries were added to the log."""
        pending = await self._pending(max_batch)
        added = 0
        async with self.runtime.databases.transaction(None) as session:
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEQUENCER_LOCK})
            latest = await session.scalar(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1))
            fresh = await self._not_yet_logged(session, pending)
            if fresh:
                await self._integrate(session, latest, fresh)
                added = len(fresh)
            elif latest is not None and not latest.published:
                await self._publish(session, latest)
        await self._forget(pending)
        return added

    async def _not_yet_logged(self, session: AsyncSession, pending: list[PendingEntry]) -> list[PendingEntry]:
        # One `source_id = ANY(array)` lookup per source, which the unique index answers directly: a
        # row-value IN list of thousands of pairs became an OR that took PostgreSQL ~0.3 s per batch.
        logged: set[tuple[str, int]] = set()
        for source, source_ids in _ids_by_source(pending).items():
            rows = await session.scalars(
                select(LogEntry.source_id).where(
                    LogEntry.source == source, LogEntry.source_id == _any(source_ids)
                )
            )
            logged.update((source, source_id) for source_id in rows)
        return [p for p in pending if (p.source, p.source_id) not in logged]

    async def _integrate(
        self, session: AsyncSession, latest: LogCheckpoint | None, fresh: list[PendingEntry]
    ) -> None:
        old_size = latest.size if latest else 0
        compact = merkle.CompactRange.from_bytes(latest.compact_range) if latest else merkle.CompactRange()
        leaf_hashes = [merkle.leaf_hash(p.entry) for p in fresh]
        await session.execute(
            insert(LogEntry),
            [
                {
                    "idx": old_size + i,
                    "entry": p.entry,
                    "leaf_hash": h,
                    "event_type": p.event_type,
                    "realm": p.realm(),
                    "subject": p.subject(),
                    "source": p.source,
                    "source_id": p.source_id,
                }
                for i, (p, h) in enumerate(zip(fresh, leaf_hashes, strict=True))
            ],
        )
        compact.extend(leaf_hashes)
        new_size = old_size + len(fresh)
        await _write_tiles(self.store, old_size, leaf_hashes)
        await _write_bundles(self.store, old_size, [p.entry for p in fresh])
        checkpoint = LogCheckpoint(
            size=new_size, root=compact.root(), note="", compact_range=compact.to_bytes(), published=False
        )
        session.add(checkpoint)
        await self._publish(session, checkpoint)

    async def _publish(self, session: AsyncSession, checkpoint: LogCheckpoint) -> None:
        """Sign; publish once enough witnesses have cosigned (at once when no quorum is required)."""
        body = Checkpoint(origin=self.origin, size=checkpoint.size, root=checkpoint.root)
        note = sign_checkpoint(body, self.signer)
        previous = await session.scalar(
            select(LogCheckpoint.size)
            .where(LogCheckpoint.published, LogCheckpoint.size < checkpoint.size)
            .order_by(LogCheckpoint.size.desc())
            .limit(1)
        )
        cosigned = await self.witnesses.cosign(note, body, previous or 0, self.store)
        checkpoint.note = cosigned or note
        checkpoint.published = cosigned is not None
        await session.flush()  # recorded before it is served: /log/checkpoint never runs ahead of the table
        if checkpoint.published:
            await self.store.put_bytes("log/checkpoint", checkpoint.note.encode())

    async def _forget(self, moved: Iterable[PendingEntry]) -> None:
        for source, source_ids in _ids_by_source(moved).items():
            realm = None if source == DIRECTORY_SOURCE else source
            model = DirectoryAuditOutbox if realm is None else RealmAuditOutbox
            async with self.runtime.databases.transaction(realm) as session:
                await session.execute(delete(model).where(model.id == _any(source_ids)))


def _ids_by_source(entries: Iterable[PendingEntry]) -> dict[str, list[int]]:
    by_source: dict[str, list[int]] = {}
    for p in entries:
        by_source.setdefault(p.source, []).append(p.source_id)
    return by_source


def _any(ids: list[int]) -> ColumnElement[Any]:
    """`= ANY(:ids)` with one array parameter, rather than IN with a parameter per id (slow to parse)."""
    return any_(bindparam("ids", ids, type_=ARRAY(BigInteger)))


async def keep_sequencing(sequencer: Sequencer, interval_s: float) -> None:
    """The server's background sequencer: harmless to run in every process thanks to the lock."""
    while True:
        try:
            while await sequencer.run_once() == MAX_BATCH:
                pass  # a full batch means more is waiting
        except Exception:  # the next tick retries; a broken log must not take the web server down
            log.exception("sequencing the transparency log failed")
        await asyncio.sleep(interval_s)


async def record_deployment(runtime: Runtime, *, policy_hash: str, log_vkey: str) -> list[str]:
    """Log what this server runs with, when it differs from what the log last recorded.

    Called at start-up: a changed policy set or a new log key is a privileged change that auditors
    must be able to see, even when it arrived by a deployment rather than through the API.
    """
    facts = [(POLICY_CHANGE, {"policy_hash": policy_hash}), (KEY_ROTATION, {"log_vkey": log_vkey})]
    recorded: list[str] = []
    async with runtime.databases.transaction(None) as session:
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": DEPLOYMENT_LOCK})
        for event_type, details in facts:
            if await _last_details(session, event_type) != details:
                await record_event(
                    session, realm=None, event_type=event_type, actor={"kind": "deployment"}, details=details
                )
                recorded.append(event_type)
    return recorded


async def _last_details(session: AsyncSession, event_type: str) -> dict[str, object] | None:
    """The details of the newest entry of a type, whether still in the outbox or already logged."""
    waiting = await session.scalar(
        select(DirectoryAuditOutbox.entry)
        .where(DirectoryAuditOutbox.event_type == event_type)
        .order_by(DirectoryAuditOutbox.id.desc())
        .limit(1)
    )
    entry = waiting or await session.scalar(
        select(LogEntry.entry).where(LogEntry.event_type == event_type).order_by(LogEntry.idx.desc()).limit(1)
    )
    if entry is None:
        return None
    details = json.loads(entry).get("details")
    return details if isinstance(details, dict) else None
