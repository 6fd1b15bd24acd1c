"""Proofs over HTTP for any tree size up to the published one: an auditor holds an old checkpoint.

The sizes are those of the conformance vectors (../shared/conformance/merkle), so the log's batches leave
the partial tiles of those sizes unwritten: the proofs must come from the latest tiles.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from reelm.audit.service import STAFF_ACCESS, record_event
from reelm.runtime import Runtime
from reelm.transparency import merkle
from reelm.transparency.log import Sequencer
from reelm.transparency.models import LogEntry
from reelm.web.app import create_app


@pytest.fixture
async def log_http(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


async def _log(runtime: Runtime, batches: list[int]) -> list[bytes]:
    """Grow the log batch by batch; return the leaf hashes in order."""
    sequencer = Sequencer(runtime)
    done = 0
    for count in batches:
        async with runtime.databases.transaction("us") as session:
            for i in range(done, done + count):
                await record_event(
                    session,
                    realm="us",
                    event_type=STAFF_ACCESS,
                    actor={"kind": "staff", "id": str(i)},
                    details={"decision": "allow", "n": i},
                    subject=f"pseudonym-{i}",
                )
        assert await sequencer.run_once() == count
        done += count
    async with runtime.databases.read(None) as session:
        return list(await session.scalars(select(LogEntry.leaf_hash).order_by(LogEntry.idx)))


def _happy(root: Path, kind: str) -> list[dict[str, int]]:
    return [json.loads(f.read_text()) for f in sorted((root / kind).glob("[0-9]*/happy-path.json"))]


def _hashes(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v) for v in values]


async def test_inclusion_and_consistency_proofs_for_older_tree_sizes(
    runtime: Runtime, log_http: httpx.AsyncClient, merkle_conformance: Path
) -> None:
    # 4 + 4 leaves, then a third tile's worth: sizes 3, 5, 6 and 7 were never a batch's end.
    leaves = await _log(runtime, [4, 4, 300])
    assert len(leaves) == 308
    inclusions = [(c["leafIdx"], c["treeSize"]) for c in _happy(merkle_conformance, "inclusion")]
    consistencies = [(c["size1"], c["size2"]) for c in _happy(merkle_conformance, "consistency")]
    assert {3, 5} <= {size for _, size in inclusions}
    for index, size in [*inclusions, (300, 301), (5, 257)]:
        answer = await log_http.get("/api/v1/log/proof/inclusion", params={"index": index, "tree_size": size})
        assert answer.status_code == 200, (index, size, answer.text)
        body = answer.json()
        assert (body["index"], body["tree_size"]) == (index, size)
        assert base64.b64decode(body["leaf_hash"]) == leaves[index]
        merkle.verify_inclusion(
            leaves[index], index, size, _hashes(body["proof"]), merkle.root_of(leaves[:size])
        )
    for first, second in [*consistencies, (3, 257), (256, 300)]:
        answer = await log_http.get(
            "/api/v1/log/proof/consistency", params={"first": first, "second": second}
        )
        assert answer.status_code == 200, (first, second, answer.text)
        merkle.verify_consistency(
            first,
            second,
            _hashes(answer.json()["proof"]),
            merkle.root_of(leaves[:first]),
            merkle.root_of(leaves[:second]),
        )
    beyond = await log_http.get("/api/v1/log/proof/inclusion", params={"index": 0, "tree_size": 309})
    assert beyond.status_code == 422
