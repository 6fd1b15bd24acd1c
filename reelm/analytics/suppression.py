"""Small-count suppression: what crosses to a creator's realm never describes fewer than K viewers.

A release (reelm.analytics.release) is a set of at least K distinct viewers of one video. Within it, a
value of a dimension (a traffic source, a country) is named only when at least K of those viewers have
views in it; the others are merged into "other", and when "other" would then hold fewer than K viewers, the
least-seen named values join it until it holds K or more. So each figure that crosses sums the activity of
K or more people, and since releases are disjoint sets of viewers (a released row is deleted), no two of
them can be subtracted to isolate one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

K = 10  # the fewest distinct viewers a figure that leaves the realm may describe
OTHER = "other"


def merge_small(
    per_viewer: Sequence[Mapping[str, tuple[int, float]]], k: int = K
) -> dict[str, tuple[int, float]]:
    """Views and watch seconds per value, from each viewer's own (value -> (views, watch_s)), with every value
    seen by fewer than `k` of these viewers merged into OTHER as described above."""
    viewers: dict[str, set[int]] = {}
    for index, values in enumerate(per_viewer):
        for value, (views, _) in values.items():
            if views > 0:
                viewers.setdefault(value, set()).add(index)
    named = {value for value, who in viewers.items() if len(who) >= k and value != OTHER}
    merged = set(viewers) - named

    def merged_viewers() -> int:
        return len(set().union(*(viewers[v] for v in merged))) if merged else 0

    # Fewest viewers first, then by name, so the result does not depend on the order viewers came in.
    while merged and merged_viewers() < k and named:
        smallest = min(named, key=lambda v: (len(viewers[v]), v))
        named.remove(smallest)
        merged.add(smallest)
    out: dict[str, tuple[int, float]] = {}
    for values in per_viewer:
        for value, (views, watch_s) in values.items():
            if value not in viewers:
                continue
            key = value if value in named else OTHER
            had = out.get(key, (0, 0.0))
            out[key] = (had[0] + views, had[1] + watch_s)
    return out
