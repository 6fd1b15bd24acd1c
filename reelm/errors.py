"""Errors a client can act on, raised by domain code and rendered by the web layer (RFC 9457).

Domain services, the CLI and the worker raise `Problem` without knowing about HTTP frameworks; the
web layer (`reelm.web.problems`) turns one into `application/problem+json`, the CLI into a message.
The status is part of the error because it is part of its meaning (a 404 and a 409 ask different
things of the client), as with Zulip's `JsonableError`.
"""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    """An error a client can act on: a stable `type` slug, a title and a human detail."""

    def __init__(
        self,
        status: int,
        type_: str,
        title: str,
        detail: str = "",
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.type = type_
        self.title = title
        self.detail = detail
        self.headers = headers
        self.extra = extra

    def body(self, instance: str) -> dict[str, Any]:
        return {
            "type": f"/problems/{self.type}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail or self.title,
            "instance": instance,
            **self.extra,
        }


def not_found(what: str) -> Problem:
    return Problem(404, "not-found", f"{what} not found", f"No such {what.lower()}.")
