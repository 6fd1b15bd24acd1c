"""The log end to end: outbox → sequencer → tiles and checkpoint → the auditor's verifier, and tampering."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from sqlalchemy import func, select

from reelm.audit.models import DirectoryAuditOutbox, RealmAuditOutbox
from reelm.audit.service import STAFF_ACCESS, record_event
from reelm.runtime import Runtime
from reelm.storage import RealmStore
from reelm.transparency import merkle, tiles
from reelm.transparency.checkpoint import Checkpoint, sign_checkpoint
from reelm.transparency.log import Sequencer, open_log_store
from reelm.transparency.models import LogCheckpoint, LogEntry
from reelm.transparency.note import Signer, Verifier
from reelm.transparency.verify import LogClient, Report, VerificationError, VerifiedState, verify_log
from reelm.web.app import create_app


async def add_events(runtime: Runtime, count: int, *, realm: str | None = "us", start: int = 0) -> None:
    async with runtime.databases.transaction(realm) as session:
        for i in range(start, start + count):
            await record_event(
                session,
                realm=realm,
                event_type=STAFF_ACCESS,
                actor={"kind": "staff", "id": str(i)},
                details={"decision": "allow", "n": i},
                subject=f"pseudonym-{i % 7}",
            )


@pytest.fixture
def sequencer(runtime: Runtime) -> Sequencer:
    return Sequencer(runtime)


@pytest.fixture
async def log_http(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


def fresh_state(runtime: Runtime, sequencer: Sequencer) -> VerifiedState:
    return VerifiedState(origin=sequencer.origin, vkey=sequencer.signer.vkey)


async def verify(
    log_http: httpx.AsyncClient, sequencer: Sequencer, state: VerifiedState
) -> tuple[Report, VerifiedState]:
    return await verify_log(
        LogClient(log_http, "http://test/log"), Verifier.from_vkey(sequencer.signer.vkey), state
    )


async def test_outbox_entries_become_a_verifiable_log(
    runtime: Runtime, sequencer: Sequencer, log_http: httpx.AsyncClient
) -> None:
    await add_events(runtime, 5, realm="us")
    await add_events(runtime, 3, realm=None, start=100)
    assert await sequencer.run_once() == 8
    assert await sequencer.run_once() == 0  # nothing waiting: no new checkpoint either

    async with runtime.databases.sessionmaker(None)() as session:
        rows = list(await session.execute(select(LogEntry.idx, LogEntry.leaf_hash, LogEntry.realm)))
        assert sorted(r.idx for r in rows) == list(range(8))
        assert await session.scalar(select(func.count()).select_from(DirectoryAuditOutbox)) == 0
        checkpoints = list(await session.scalars(select(LogCheckpoint)))
    async with runtime.databases.sessionmaker("us")() as session:
        assert await session.scalar(select(func.count()).select_from(RealmAuditOutbox)) == 0
    assert [c.size for c in checkpoints] == [8]
    assert checkpoints[0].root == merkle.root_of([r.leaf_hash for r in sorted(rows)])
    assert {r.realm for r in rows} == {"us", None}

    vkey = (await log_http.get("/log/vkey")).text.strip()
    assert vkey == sequencer.signer.vkey
    note = (await log_http.get("/log/checkpoint")).text
    assert note.startswith("test.reelm/log\n8\n")

    report, state = await verify(log_http, sequencer, fresh_state(runtime, sequencer))
    assert report.new_entries == 8
    assert report.by_type == {STAFF_ACCESS: 8}
    assert report.by_realm == {"us": 5, "directory": 3}
    assert state.size == 8

    # Growth across tile boundaries; the next run only reads what is new and proves consistency.
    for batch in (250, 1, 300):
        await add_events(runtime, batch, realm="eu", start=1000)
        assert await sequencer.run_once() == batch
        report, state = await verify(log_http, sequencer, state)
        assert report.new_entries == batch
    assert state.size == 559


async def test_inclusion_and_consistency_proofs_from_the_api(
    runtime: Runtime, sequencer: Sequencer, log_http: httpx.AsyncClient
) -> None:
    await add_events(runtime, 300)
    await sequencer.run_once()
    await add_events(runtime, 20, start=300)
    await sequencer.run_once()
    async with runtime.databases.sessionmaker(None)() as session:
        cps = {c.size: c.root for c in await session.scalars(select(LogCheckpoint))}
        leaf = await session.scalar(select(LogEntry.leaf_hash).where(LogEntry.idx == 257))
    assert leaf is not None
    proof = (await log_http.get("/api/v1/log/proof/inclusion", params={"index": 257})).json()
    assert proof["tree_size"] == 320
    merkle.verify_inclusion(leaf, 257, 320, [base64.b64decode(h) for h in proof["proof"]], cps[320])
    cons = (await log_http.get("/api/v1/log/proof/consistency", params={"first": 300, "second": 320})).json()
    merkle.verify_consistency(300, 320, [base64.b64decode(h) for h in cons["proof"]], cps[300], cps[320])
    bad = await log_http.get("/api/v1/log/proof/inclusion", params={"index": 320})
    assert bad.status_code == 422


async def test_a_crash_after_integration_does_not_log_twice(runtime: Runtime, sequencer: Sequencer) -> None:
    await add_events(runtime, 4)
    pending = await sequencer._pending(100)
    async with runtime.databases.transaction(None) as session:
        await sequencer._integrate(session, None, pending)  # committed, but the outbox was not emptied
    assert await sequencer.run_once() == 0
    async with runtime.databases.sessionmaker(None)() as session:
        assert await session.scalar(select(func.count()).select_from(LogEntry)) == 4
    async with runtime.databases.sessionmaker("us")() as session:
        assert await session.scalar(select(func.count()).select_from(RealmAuditOutbox)) == 0


# --- Tampering: every change to what the log serves is caught by the verifier -----------------------


async def _bundle(store: RealmStore, index: int, width: int) -> list[bytes]:
    return tiles.decode_bundle(await store.read("log/" + tiles.entries_path(index, width)))


async def _put_bundle(store: RealmStore, index: int, entries: list[bytes]) -> None:
    await store.put_bytes("log/" + tiles.entries_path(index, len(entries)), tiles.encode_bundle(entries))


@pytest.fixture
async def published(runtime: Runtime, sequencer: Sequencer) -> RealmStore:
    await add_events(runtime, 10)
    await sequencer.run_once()
    return open_log_store(runtime.settings)


def _changed(entry: bytes) -> bytes:
    data = json.loads(entry)
    data["details"]["decision"] = "deny"
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda e: [e[0], _changed(e[1]), *e[2:]], id="changed entry"),
        pytest.param(lambda e: [e[1], e[0], *e[2:]], id="reordered entries"),
        pytest.param(lambda e: [*e[:3], *e[4:], e[3]], id="entry moved to the end"),
    ],
)
async def test_tampered_entries_are_detected(
    runtime: Runtime,
    sequencer: Sequencer,
    log_http: httpx.AsyncClient,
    published: RealmStore,
    tamper: Callable[[list[bytes]], list[bytes]],
) -> None:
    entries = await _bundle(published, 0, 10)
    await _put_bundle(published, 0, tamper(entries))
    with pytest.raises(VerificationError):
        await verify(log_http, sequencer, fresh_state(runtime, sequencer))


async def test_a_deleted_entry_is_detected(
    runtime: Runtime, sequencer: Sequencer, log_http: httpx.AsyncClient, published: RealmStore
) -> None:
    entries = await _bundle(published, 0, 10)
    await _put_bundle(published, 0, entries[:4] + entries[5:] + [entries[9]])  # same count, one gone
    with pytest.raises(VerificationError):
        await verify(log_http, sequencer, fresh_state(runtime, sequencer))


async def test_forked_and_rolled_back_checkpoints_are_detected(
    runtime: Runtime, sequencer: Sequencer, log_http: httpx.AsyncClient, published: RealmStore
) -> None:
    _, state = await verify(log_http, sequencer, fresh_state(runtime, sequencer))
    # A fork: the log's own key signs another tree of the same size.
    forked = Checkpoint(origin=sequencer.origin, size=10, root=merkle.leaf_hash(b"another history"))
    await published.put_bytes("log/checkpoint", sign_checkpoint(forked, sequencer.signer).encode())
    with pytest.raises(VerificationError, match="fork"):
        await verify(log_http, sequencer, state)
    # A roll-back to a smaller tree.
    smaller = Checkpoint(origin=sequencer.origin, size=9, root=merkle.EMPTY_ROOT)
    await published.put_bytes("log/checkpoint", sign_checkpoint(smaller, sequencer.signer).encode())
    with pytest.raises(VerificationError, match="shrank"):
        await verify(log_http, sequencer, state)
    # A checkpoint signed by some other key.
    other = Signer.generate(sequencer.origin)
    good = Checkpoint(origin=sequencer.origin, size=10, root=state.root)
    await published.put_bytes("log/checkpoint", sign_checkpoint(good, other).encode())
    with pytest.raises(VerificationError, match="signature"):
        await verify(log_http, sequencer, state)


async def test_a_rewritten_history_with_a_valid_signature_fails_consistency(
    runtime: Runtime, sequencer: Sequencer, log_http: httpx.AsyncClient, published: RealmStore
) -> None:
    """An operator who rewrites old entries and re-signs a bigger tree cannot pass the consistency check."""
    _, state = await verify(log_http, sequencer, fresh_state(runtime, sequencer))
    async with runtime.databases.transaction(None) as session:
        for row in await session.scalars(select(LogEntry).order_by(LogEntry.idx)):
            row.entry = _changed(row.entry) if row.idx == 2 else row.entry
    # Rebuild the whole served log from the rewritten rows, as a dishonest operator would.
    async with runtime.databases.sessionmaker(None)() as session:
        entries = list(await session.scalars(select(LogEntry.entry).order_by(LogEntry.idx)))
    entries.append(b'{"type":"extra"}')
    leaves = [merkle.leaf_hash(e) for e in entries]
    for tile in tiles.build_tiles(0, leaves, {}):
        await published.put_bytes("log/" + tile.path, tile.data)
    await _put_bundle(published, 0, entries)
    rewritten = Checkpoint(origin=sequencer.origin, size=11, root=merkle.root_of(leaves))
    await published.put_bytes("log/checkpoint", sign_checkpoint(rewritten, sequencer.signer).encode())
    with pytest.raises(VerificationError, match="consistent"):
        await verify(log_http, sequencer, state)
