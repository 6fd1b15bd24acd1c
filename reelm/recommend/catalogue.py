"""The engine's in-memory view of every realm's public videos (read by reelm.recommend.catalogue_reads).

Loaded once (one query over `public_videos` joined with this realm's `video_signals`), then kept current by a
cheap delta per page: videos published since the last look and counters changed since then. Public counts
(likes, views) are refreshed by a full reload in the background every few minutes; the page's final
ordering uses the counts of the card rows it fetches anyway, so staleness here only affects shortlisting.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

SIGNALS = ("impressions", "plays", "completions", "skips", "likes", "shares", "negatives")
COUNTS = ("like_count", "comment_count", "share_count", "view_count")


@dataclass
class Catalogue:
    ids: NDArray[np.int64]
    owners: NDArray[np.int64]
    published: NDArray[np.float64]  # epoch seconds
    duration: NDArray[np.float32]
    tags: list[tuple[str, ...]]
    counts: NDArray[np.float32]  # rows x COUNTS: the public totals, all realms
    signals: NDArray[np.float32]  # rows x SIGNALS: this realm's viewers only
    # Demoted by moderation, as last read (the ranker corrects it from each page's fresh card rows).
    demoted: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))
    row_of: dict[int, int] = field(default_factory=dict)
    by_tag: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_owner: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    newest_first: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    published_watermark: datetime | None = None
    signals_watermark: datetime | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def empty(cls) -> Catalogue:
        return cls(
            ids=np.zeros(0, dtype=np.int64),
            owners=np.zeros(0, dtype=np.int64),
            published=np.zeros(0, dtype=np.float64),
            duration=np.zeros(0, dtype=np.float32),
            tags=[],
            counts=np.zeros((0, len(COUNTS)), dtype=np.float32),
            signals=np.zeros((0, len(SIGNALS)), dtype=np.float32),
        )

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append videos not yet known (rows with the `public_videos` and signal columns)."""
        new = [r for r in rows if r["id"] not in self.row_of]
        if not new:
            return
        start = len(self.ids)
        self.ids = np.concatenate([self.ids, np.array([r["id"] for r in new], dtype=np.int64)])
        self.owners = np.concatenate([self.owners, np.array([r["owner_id"] for r in new], dtype=np.int64)])
        self.published = np.concatenate(
            [self.published, np.array([r["published_at"].timestamp() for r in new], dtype=np.float64)]
        )
        self.duration = np.concatenate(
            [self.duration, np.array([r["duration_s"] or 0.0 for r in new], dtype=np.float32)]
        )
        self.counts = np.concatenate(
            [self.counts, np.array([[r[c] or 0 for c in COUNTS] for r in new], dtype=np.float32)]
        )
        self.signals = np.concatenate(
            [self.signals, np.array([[r.get(c) or 0 for c in SIGNALS] for r in new], dtype=np.float32)]
        )
        self.demoted = np.concatenate(
            [self.demoted, np.array([bool(r.get("demoted")) for r in new], dtype=np.bool_)]
        )
        for offset, r in enumerate(new):
            row = start + offset
            tags = tuple(t.lower() for t in (r["hashtags"] or ()))
            self.tags.append(tags)
            self.row_of[r["id"]] = row
            self.by_owner[r["owner_id"]].append(row)
            for tag in tags:
                self.by_tag[tag].append(row)
        self.newest_first = np.argsort(-self.published, kind="stable")
        latest = max(r["published_at"] for r in new)
        if self.published_watermark is None or latest > self.published_watermark:
            self.published_watermark = latest

    def update_signals(self, rows: Iterable[dict[str, Any]]) -> None:
        for r in rows:
            row = self.row_of.get(r["id"])
            if row is not None:
                self.signals[row] = [r.get(c) or 0 for c in SIGNALS]
            changed = r.get("updated_at")
            if changed is not None and (self.signals_watermark is None or changed > self.signals_watermark):
                self.signals_watermark = changed

    def rows_of(self, ids: Iterable[int]) -> list[int]:
        return [r for r in (self.row_of.get(i) for i in ids) if r is not None]
