"""Sliding-window rate limits for abuse-prone actions (login, sign-up, upload)."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from reelm.errors import Problem

SWEEP_EVERY = 10_000


def rate_limited(what: str, retry_after: int) -> Problem:
    """The 429 every limit answers: what was too many, and when to try again (also as Retry-After)."""
    return Problem(
        429,
        "rate-limited",
        "Too many requests",
        f"{what}; try again in {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
        retry_after=retry_after,
    )


@dataclass
class RateLimiter:
    """Counts recent hits per key in this process.

    Per-process state keeps the hot path free of database writes; with N server processes the effective
    limit is at most N times the configured one, which still stops brute force and floods.
    """

    _hits: dict[tuple[str, str], deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _longest_window: float = 0.0
    _calls: int = 0

    def hit(self, bucket: str, key: str, *, limit: int, per_seconds: float) -> None:
        """Record one hit, or raise 429 when the window is full (a refused hit is not recorded)."""
        now = time.monotonic()
        self._longest_window = max(self._longest_window, per_seconds)
        self._calls += 1
        if self._calls % SWEEP_EVERY == 0:
            self._sweep(now)
        window = self._hits[(bucket, key)]
        while window and window[0] <= now - per_seconds:
            window.popleft()
        if len(window) >= limit:
            retry_after = max(1, math.ceil(window[0] + per_seconds - now))
            raise rate_limited(f"Too many {bucket} attempts", retry_after)
        window.append(now)

    def _sweep(self, now: float) -> None:
        """Forget keys whose last hit is older than any window, so memory stays bounded."""
        stale = [k for k, w in self._hits.items() if not w or w[-1] <= now - self._longest_window]
        for key in stale:
            del self._hits[key]

    def reset(self) -> None:
        self._hits.clear()
