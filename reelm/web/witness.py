"""The HTTP face of a C2SP tlog-witness (reelm.transparency.witness): `POST /add-checkpoint`."""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelm.transparency.witness import MAX_REQUEST_BYTES, TEXT_CONTENT_TYPE, Witness


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit` bytes."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def witness_app(
    witness: Witness, *, clock: Callable[[], int] | None = None, max_body: int = MAX_REQUEST_BYTES
) -> Starlette:
    """A Starlette app serving `POST /add-checkpoint`; mount it under the witness's submission prefix."""
    now = clock or (lambda: int(time.time()))

    async def add_checkpoint(request: Request) -> Response:
        body = await _read_body(request, max_body)
        if body is None:
            return Response(b"request too large\n", 413, headers={"content-type": TEXT_CONTENT_TYPE})
        answer = await witness.add_checkpoint(body, now())
        # Set the header directly: Starlette would add a charset to text/x.tlog.size, which the spec fixes.
        return Response(answer.body, status_code=answer.status, headers={"content-type": answer.content_type})

    return Starlette(routes=[Route("/add-checkpoint", add_checkpoint, methods=["POST"])])
