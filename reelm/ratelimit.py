"""Sliding-window rate limits for abuse-prone actions (login, sign-up, upload)."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from reelm.web.problems import Problem


@dataclass
class RateLimiter:
    """Counts recent hits per key in this process.

    Per-process state keeps the hot path free of database writes; with N server processes the effective
    limit is at most N times the configured one, which still stops brute force and floods.
    """

    _hits: dict[tuple[str, str], deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def hit(self, bucket: str, key: str, *, limit: int, per_seconds: float) -> None:
        """Record one hit, or raise 429 when the window is full (a refused hit is not recorded)."""
        now = time.monotonic()
        window = self._hits[(bucket, key)]
        while window and window[0] <= now - per_seconds:
            window.popleft()
        if len(window) >= limit:
            retry_after = max(1, math.ceil(window[0] + per_seconds - now))
            raise Problem(
                429,
                "rate-limited",
                "Too many requests",
                f"Too many {bucket} attempts; try again in {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
                retry_after=retry_after,
            )
        window.append(now)

    def reset(self) -> None:
        self._hits.clear()
