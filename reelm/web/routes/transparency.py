"""The log over HTTP: C2SP tlog-tiles paths, the verifier key, proofs, and a person's own entries."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from reelm.errors import Problem, not_found
from reelm.storage import ObjectMissingError, RealmStore
from reelm.transparency import merkle, tiles
from reelm.transparency.note import Signer
from reelm.transparency.queries import entries_about, log_overview, published_size
from reelm.transparency.witnessing import store_tile_reader
from reelm.web.deps import RuntimeDep, UserViewer, ViewerDep
from reelm.web.rendering import render

router = APIRouter(tags=["transparency log"])
api = APIRouter(tags=["transparency log"])

_IMMUTABLE = "public, max-age=31536000, immutable"
MAX_SIZE = 2**63 - 1  # log indexes and sizes are PostgreSQL bigints


def _store(request: Request) -> RealmStore:
    store: RealmStore = request.app.state.log_store
    return store


def _signer(request: Request) -> Signer:
    signer: Signer = request.app.state.log_signer
    return signer


@router.get("/log/checkpoint", include_in_schema=False)
async def checkpoint(request: Request) -> Response:
    """The latest published checkpoint: the log's only mutable path."""
    try:
        note = await _store(request).read("log/checkpoint")
    except ObjectMissingError:
        raise not_found("Checkpoint") from None
    return Response(note, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get("/log/vkey", include_in_schema=False)
async def vkey(request: Request) -> Response:
    return Response(_signer(request).vkey + "\n", media_type="text/plain; charset=utf-8")


@router.get("/log/tile/{path:path}", include_in_schema=False)
async def tile(request: Request, path: str) -> Response:
    """Tiles and entry bundles; every path is immutable once written."""
    try:
        if path.startswith("entries/"):
            tiles.parse_entries_path("tile/" + path)
        else:
            tiles.parse_tile_path("tile/" + path)
        data = await _store(request).read("log/tile/" + path)
    except (ValueError, ObjectMissingError):
        raise not_found("Tile") from None
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": _IMMUTABLE})


class InclusionProof(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str  # base64
    proof: list[str]  # base64 hashes


class ConsistencyProof(BaseModel):
    first: int
    second: int
    proof: list[str]


async def _served_size(request: Request) -> int:
    """The size of the checkpoint /log/checkpoint serves (the latest published), without a database query."""
    try:
        note = await _store(request).read("log/checkpoint")
    except ObjectMissingError:
        return 0
    return int(note.split(b"\n", 2)[1])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@api.get("/log/proof/inclusion", response_model=InclusionProof)
async def inclusion(
    request: Request,
    index: Annotated[int, Query(ge=0, le=MAX_SIZE)],
    tree_size: Annotated[int | None, Query(ge=1, le=MAX_SIZE)] = None,
) -> InclusionProof:
    """Proof that entry `index` is in the tree of `tree_size` (default: the latest published)."""
    published = await _served_size(request)
    size = tree_size or published
    if index >= size or size > published:
        raise Problem(422, "bad-proof-request", "No such proof", "The index or tree size is beyond the log.")
    # Any size up to the published one: an auditor proves against the checkpoint it holds, however old.
    reader = store_tile_reader(_store(request), size, request.app.state.log_tile_cache, stored_size=published)
    proof = await merkle.inclusion_proof(index, size, reader)
    leaf = await reader.node(0, index)
    return InclusionProof(index=index, tree_size=size, leaf_hash=_b64(leaf), proof=[_b64(h) for h in proof])


@api.get("/log/proof/consistency", response_model=ConsistencyProof)
async def consistency(
    runtime: RuntimeDep,
    request: Request,
    first: Annotated[int, Query(ge=1, le=MAX_SIZE)],
    second: Annotated[int, Query(ge=1, le=MAX_SIZE)],
) -> ConsistencyProof:
    published = await published_size(runtime.databases)
    if first > second or second > published:
        raise Problem(
            422, "bad-proof-request", "No such proof", "Sizes must satisfy 1 ≤ first ≤ second ≤ log size."
        )
    reader = store_tile_reader(
        _store(request), second, request.app.state.log_tile_cache, stored_size=published
    )
    proof = await merkle.consistency_proof(first, second, reader)
    return ConsistencyProof(first=first, second=second, proof=[_b64(h) for h in proof])


class MyAccessEntry(BaseModel):
    index: int | None  # None while the entry waits to be sequenced
    entry: dict[str, Any]


@api.get("/me/access-log", response_model=list[MyAccessEntry])
async def my_access_log(runtime: RuntimeDep, viewer: UserViewer) -> list[MyAccessEntry]:
    """Log entries that concern the viewer's data ("who accessed my data"), newest first.

    Only the viewer's realm holds the key of their pseudonym, so nobody else can pick their entries out.
    """
    assert viewer.user_id is not None
    entries = await entries_about(runtime, viewer.realm, viewer.user_id)
    return [MyAccessEntry(index=index, entry=entry) for index, entry in entries]


@router.get("/log", include_in_schema=False)
async def log_page(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    """The auditor's overview: checkpoint history and entry counts by type, realm and day."""
    counts, checkpoints = await log_overview(runtime.databases)
    return render(
        request,
        viewer,
        "log.html",
        origin=request.app.state.log_origin,
        vkey=_signer(request).vkey,
        size=max((c.size for c in checkpoints if c.published), default=0),
        counts=[
            {"day": r.day.date().isoformat(), "event_type": r.event_type, "realm": r.realm, "count": r.count}
            for r in counts
        ],
        checkpoints=[
            {
                "size": c.size,
                "root": _b64(c.root),
                "published": c.published,
                "published_at": c.published_at.strftime("%Y-%m-%d %H:%M:%S"),
                "cosignatures": max(0, c.note.count("\u2014 ") - 1),
            }
            for c in checkpoints
        ],
    )
