"""A cap on request bodies, enforced while they stream in (Content-Length may be absent or lie)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelm.errors import Problem


class BodyTooLargeError(Problem):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            "too-large",
            "Upload too large",
            f"The request body exceeds the limit of {limit // (1024 * 1024)} MB.",
            limit_bytes=limit,
        )


class BodyLimitMiddleware:
    """Refuse bodies above `limit` bytes on POST/PUT/PATCH to paths starting with one of `prefixes`."""

    def __init__(
        self, app: ASGIApp, *, prefixes: tuple[str, ...], limit: int, overhead: int = 64 * 1024
    ) -> None:
        self.app = app
        self.prefixes = prefixes
        # Multipart framing and the small form fields travel alongside the file itself.
        self.limit = limit
        self.overhead = overhead

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in {"POST", "PUT", "PATCH"}
            or not any(scope["path"].startswith(p) for p in self.prefixes)
        ):
            await self.app(scope, receive, send)
            return
        cap = self.limit + self.overhead
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await _send_problem(scope, send, BodyTooLargeError(self.limit))
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLargeError(self.limit)
            return message

        await self.app(scope, limited_receive, send)


async def _send_problem(scope: Scope, send: Send, problem: Problem) -> None:
    body = json.dumps(problem.body(scope["path"])).encode()
    await send(
        {
            "type": "http.response.start",
            "status": problem.status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
