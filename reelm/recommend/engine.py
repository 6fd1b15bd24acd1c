"""The For You engine's stages, in memory and without I/O (the ranker does the queries):

1. candidate sources: following, regional trending, the fresh pool (exploration), co-engagement neighbours
   of what the viewer engaged with, content (hashtags the viewer likes or picked, creators they enjoy);
2. filters: already seen, hidden creators, blocked accounts, "not interested";
3. ranking: predicted completion, like, share and skip per candidate, combined with configurable weights
   (follower counts and creator fame are not features); a video moderation demoted has its score
   multiplied by `DEMOTED_SCORE_FACTOR` (below) and gets no exploration slot;
4. exploration: a share of the slots goes to fresh videos, fewest impressions first until each has its
   minimum; after that a Thompson-sampling bandit on completion and like rates decides which keep going;
5. re-ranking: never the same creator twice in a row, a penalty for repeating hashtags;
6. an explanation per item: its source and top reasons.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from reelm.recommend.artefact import ModelArtefact, Priors
from reelm.recommend.catalogue import COUNTS, SIGNALS, Catalogue

# A video that moderation demoted (reelm.moderation: "recommended less often") has its ranking score
# multiplied by this in For You, here and in the gravity baseline. A multiplier rather than a removal: it
# still shows where little competes with it, and an equal, undemoted video always ranks above it.
DEMOTED_SCORE_FACTOR = 0.5

Mode = Literal["for_you", "popular", "latest"]

FRESH_HOURS = 24.0
MIN_IMPRESSIONS = 20  # every new video is shown at least this often in the realm within FRESH_HOURS
GRADUATE_IMPRESSIONS = 300  # past this, a fresh video competes on its predictions alone
EXPLORE_EVERY = 5  # one slot in five is for exploration (positions 2, 7, 12, ...)
EXPLORE_POSITION = 2
FOLLOWING_DAYS = 14.0
PER_SOURCE = 200
PRIOR_STRENGTH = 20.0  # pseudo-impressions of the global rates in each video's smoothed rates

_I = {name: i for i, name in enumerate(SIGNALS)}
_C = {name: i for i, name in enumerate(COUNTS)}

# Sources, strongest claim first: an item found by several keeps the first of these as its source.
SOURCES = ("following", "similar", "interest", "creator", "fresh", "trending", "latest", "rewatch")


@dataclass(frozen=True)
class RankingWeights:
    """How the predictions combine into one score (configurable per deployment)."""

    completion: float = 1.0
    like: float = 2.0
    share: float = 3.0
    skip: float = 1.0  # subtracted
    popularity: float = 0.15
    diversity: float = 0.08  # penalty per hashtag shared with the last three items


@dataclass(frozen=True)
class ViewerState:
    user_id: int | None
    picked_interests: tuple[str, ...] = ()
    tag_weights: dict[str, float] = field(default_factory=dict)
    creator_weights: dict[str, float] = field(default_factory=dict)
    recent_positive: tuple[int, ...] = ()
    recent_seen: tuple[int, ...] = ()
    not_interested: tuple[int, ...] = ()
    hidden_creators: tuple[int, ...] = ()
    following: frozenset[int] = frozenset()
    blocked: frozenset[int] = frozenset()

    @property
    def has_signals(self) -> bool:
        return bool(self.picked_interests or self.tag_weights or self.recent_positive or self.creator_weights)


@dataclass
class Pick:
    row: int
    video_id: int
    owner_id: int
    tags: tuple[str, ...]
    source: str
    reasons: list[str]
    score: float
    explore: bool = False
    personalized: bool = False


@dataclass
class _Candidate:
    source: str
    reasons: list[str] = field(default_factory=list)
    similarity: float = 0.0


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-x))
    return out


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    q = np.clip(p, 1e-4, 1 - 1e-4)
    out: NDArray[np.float64] = np.log(q / (1 - q))
    return out


def demote(scores: NDArray[np.float64], demoted: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Apply moderation's demotion: a demoted video's score times DEMOTED_SCORE_FACTOR.

    Scores may be negative (a likely skip outweighs the rest): those are divided by the factor instead, so
    a demoted video always moves down, never up.
    """
    factor = np.where(scores >= 0, DEMOTED_SCORE_FACTOR, 1.0 / DEMOTED_SCORE_FACTOR)
    out: NDArray[np.float64] = np.where(demoted, scores * factor, scores)
    return out


def demoted_score(score: float, demoted: bool) -> float:
    """`demote` for one score."""
    if not demoted:
        return score
    return score * DEMOTED_SCORE_FACTOR if score >= 0 else score / DEMOTED_SCORE_FACTOR


def undemoted_score(score: float, demoted: bool) -> float:
    """The score before `demoted_score` (the ranker re-applies demotion with a fresher flag)."""
    if not demoted:
        return score
    return score / DEMOTED_SCORE_FACTOR if score >= 0 else score * DEMOTED_SCORE_FACTOR


def popularity(catalogue: Catalogue, rows: NDArray[np.intp], now: float) -> NDArray[np.float64]:
    """Engagement per unit of age (the gravity of the non-personalised feed), log-scaled."""
    c = catalogue.counts[rows].astype(np.float64)
    s = catalogue.signals[rows].astype(np.float64)
    engagement = (
        1.0
        + c[:, _C["like_count"]]
        + 2 * c[:, _C["comment_count"]]
        + 3 * c[:, _C["share_count"]]
        + 0.05 * c[:, _C["view_count"]]
        + s[:, _I["completions"]]
        + 2 * s[:, _I["likes"]]
    )
    age_h = np.maximum(now - catalogue.published[rows], 0.0) / 3600.0
    out: NDArray[np.float64] = np.log1p(engagement / np.power(age_h + 2.0, 1.5))
    return out


def predicted_rates(
    catalogue: Catalogue, rows: NDArray[np.intp], priors: Priors
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Each video's completion, like, share and skip rates per impression, smoothed toward the priors."""
    s = catalogue.signals[rows].astype(np.float64)
    n = s[:, _I["impressions"]] + PRIOR_STRENGTH

    def rate(column: str, prior: float) -> NDArray[np.float64]:
        out: NDArray[np.float64] = (s[:, _I[column]] + PRIOR_STRENGTH * prior) / n
        return out

    return (
        rate("completions", priors.completion),
        rate("likes", priors.like),
        rate("shares", priors.share),
        rate("skips", priors.skip),
    )


class Engine:
    """Ranks one page for one viewer over a catalogue and a model artefact."""

    def __init__(
        self, catalogue: Catalogue, model: ModelArtefact, weights: RankingWeights | None = None
    ) -> None:
        self.catalogue = catalogue
        self.model = model
        self.weights = weights or RankingWeights()
        self._neighbours = model.neighbour_map()
        self._trending_rows = np.array(catalogue.rows_of(int(i) for i in model.trending_ids), dtype=np.intp)

    # -- sources

    def _trending(self, now: float, limit: int) -> list[int]:
        """The model's regional trending list, topped up with the catalogue's most popular videos."""
        rows = list(self._trending_rows[:limit])
        if len(rows) < limit and len(self.catalogue):
            everything = np.arange(len(self.catalogue))
            order = np.argsort(-popularity(self.catalogue, everything, now), kind="stable")
            known = set(rows)
            rows += [int(r) for r in order[: limit * 2] if int(r) not in known][: limit - len(rows)]
        return [int(r) for r in rows]

    def _fresh_rows(self, now: float) -> NDArray[np.intp]:
        cat = self.catalogue
        newest = cat.newest_first
        if not len(newest):
            return newest
        # newest_first is sorted by publication time descending: the fresh ones are a prefix.
        cutoff = now - FRESH_HOURS * 3600
        count = int(np.searchsorted(-cat.published[newest], -cutoff, side="right"))
        return newest[:count]

    def candidates(  # noqa: PLR0912 - one branch per source, in order, reads best in one place
        self, state: ViewerState, mode: Mode, now: float
    ) -> dict[int, _Candidate]:
        cat = self.catalogue
        found: dict[int, _Candidate] = {}

        def add(row: int, source: str, reason: str, similarity: float = 0.0) -> None:
            current = found.get(row)
            if current is None:
                found[row] = _Candidate(source, [reason], similarity)
                return
            if reason in current.reasons:
                current.reasons.remove(reason)
            if SOURCES.index(source) < SOURCES.index(current.source):
                current.source = source
                current.reasons.insert(0, reason)  # the source's own reason leads the explanation
            else:
                current.reasons.append(reason)
            current.similarity += similarity

        if mode == "latest":
            for row in cat.newest_first[: PER_SOURCE * 2]:
                add(int(row), "latest", "Newest videos, in order of publication")
            return found
        for row in self._trending(now, PER_SOURCE if mode == "for_you" else PER_SOURCE * 2):
            add(row, "trending", "Popular with viewers in your region right now")
        if mode == "popular":
            return found
        for row in self._fresh_rows(now)[:PER_SOURCE]:
            add(int(row), "fresh", "New video: every new video gets a chance to be seen")
        followed_since = now - FOLLOWING_DAYS * 86400
        for owner in state.following:
            for row in cat.by_owner.get(owner, [])[-5:]:
                if cat.published[row] >= followed_since:
                    add(row, "following", "From an account you follow")
        for seed in state.recent_positive[-20:]:
            neighbours = self._neighbours.get(seed)
            if neighbours is None:
                continue
            for video_id, weight in zip(*neighbours, strict=True):
                row = cat.row_of.get(int(video_id))
                if row is not None:
                    add(
                        row,
                        "similar",
                        "Viewers who enjoyed a video you enjoyed also enjoyed this",
                        float(weight),
                    )
        liked_tags = sorted(
            ((t, w) for t, w in state.tag_weights.items() if w > 0), key=lambda tw: tw[1], reverse=True
        )[:8]
        for tag in [*state.picked_interests, *(t for t, _ in liked_tags)]:
            picked = tag in state.picked_interests
            reason = f"You picked #{tag} as an interest" if picked else f"Because you watch #{tag} videos"
            for row in cat.by_tag.get(tag, [])[-40:]:
                add(row, "interest", reason)
        liked_creators = sorted(
            ((int(c), w) for c, w in state.creator_weights.items() if w > 0.5),
            key=lambda cw: cw[1],
            reverse=True,
        )[:5]
        for owner, _ in liked_creators:
            for row in cat.by_owner.get(owner, [])[-5:]:
                add(row, "creator", "From a creator whose videos you enjoy")
        return found

    # -- filters

    def _allowed(self, rows: list[int], state: ViewerState, exclude: set[int], mode: Mode) -> list[int]:
        cat = self.catalogue
        banned_owners = set(state.hidden_creators) | state.blocked
        banned_videos = set(exclude) | set(state.not_interested)
        if mode == "for_you":
            banned_videos |= set(state.recent_seen)
        return [
            r
            for r in rows
            if int(cat.ids[r]) not in banned_videos and int(cat.owners[r]) not in banned_owners
        ]

    # -- ranking

    def score(
        self,
        rows: NDArray[np.intp],
        state: ViewerState,
        similarity: NDArray[np.float64],
        now: float,
        mode: Mode,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Scores, and the viewer's affinity to each (0 when not personalised)."""
        cat, w = self.catalogue, self.weights
        if mode == "latest":
            return cat.published[rows].astype(np.float64), np.zeros(len(rows))
        pop = popularity(cat, rows, now)
        if mode == "popular":
            return demote(pop, cat.demoted[rows]), np.zeros(len(rows))
        completion, like, share, skip = predicted_rates(cat, rows, self.model.priors)
        tag_aff = np.array(
            [
                sum(
                    state.tag_weights.get(t, 0.0) + (1.5 if t in state.picked_interests else 0.0)
                    for t in cat.tags[r]
                )
                / math.sqrt(max(1, len(cat.tags[r])))
                for r in rows
            ]
        )
        creator_aff = np.array([state.creator_weights.get(str(int(cat.owners[r])), 0.0) for r in rows])
        following = np.array([1.0 if int(cat.owners[r]) in state.following else 0.0 for r in rows])
        affinity = (
            np.tanh(tag_aff / 3.0)
            + 0.6 * np.tanh(creator_aff / 3.0)
            + 0.8 * np.tanh(similarity)
            + 0.3 * following
        )
        p_complete = _sigmoid(_logit(completion) + affinity)
        p_like = _sigmoid(_logit(like) + affinity)
        p_share = _sigmoid(_logit(share) + 0.8 * affinity)
        p_skip = _sigmoid(_logit(skip) - affinity)
        scores = (
            w.completion * p_complete
            + w.like * p_like
            + w.share * p_share
            - w.skip * p_skip
            + w.popularity * pop
        )
        return demote(scores, cat.demoted[rows]), affinity

    # -- exploration

    def exploration_pool(
        self, rows: list[int], affinity: dict[int, float], rng: random.Random, now: float
    ) -> list[int]:
        """Fresh videos owed impressions first (fewest first, the viewer's likely taste breaking ties), then
        graduated ones whose sampled completion and like rates beat the realm's average."""
        cat, priors = self.catalogue, self.model.priors
        cutoff = now - FRESH_HOURS * 3600
        owed, bandit = [], []
        for row in rows:
            if cat.published[row] < cutoff or cat.demoted[row]:  # demoted: no boost from exploration
                continue
            impressions = float(cat.signals[row, _I["impressions"]])
            if impressions < MIN_IMPRESSIONS:
                owed.append((impressions // 5, -affinity.get(row, 0.0), cat.published[row], row))
            elif impressions < GRADUATE_IMPRESSIONS:
                completions = float(cat.signals[row, _I["completions"]])
                likes = float(cat.signals[row, _I["likes"]])
                sample = rng.betavariate(1 + completions, 1 + max(0.0, impressions - completions))
                sample += rng.betavariate(1 + likes, 1 + max(0.0, impressions - likes))
                if sample > priors.completion + priors.like:
                    bandit.append((-sample, row))
        owed.sort()
        bandit.sort()
        return [o[-1] for o in owed] + [b[-1] for b in bandit]

    # -- the page

    def shortlist(
        self, state: ViewerState, exclude: set[int], mode: Mode, size: int, now: float, seed: int
    ) -> list[Pick]:
        """Candidates, filtered and scored, re-ranked into `size` picks (more than a page: the ranker drops
        any the card query no longer finds and re-ranks the rest with fresh counts)."""
        personal = mode == "for_you" and state.has_signals
        found = self.candidates(state, mode, now)
        rows = self._allowed(list(found), state, exclude, mode)
        if len(rows) < size:  # a small or exhausted catalogue: everything else, newest first
            known = set(rows)
            extra = [int(r) for r in self.catalogue.newest_first if int(r) not in known]
            for row in self._allowed(extra, state, exclude, mode)[: size * 2]:
                found.setdefault(
                    row,
                    _Candidate(
                        "latest" if mode == "latest" else "trending", ["Recent in your feed's catalogue"]
                    ),
                )
                rows.append(row)
        if not rows and mode == "for_you":
            # Everything has been seen: videos watched before (longest ago first) rather than an empty
            # feed, still never twice in one scroll nor anything hidden or marked not interested.
            seen_rows = self.catalogue.rows_of(state.recent_seen)
            for row in self._allowed(seen_rows, state, exclude, "popular")[:size]:
                found[row] = _Candidate("rewatch", ["You're all caught up: one you watched before"])
                rows.append(row)
        if not rows:
            return []
        array = np.array(rows, dtype=np.intp)
        similarity = np.array([found[r].similarity for r in rows], dtype=np.float64)
        scores, affinity = self.score(array, state, similarity, now, mode)
        picks = [
            self._pick(r, found[r], float(s), personal and float(a) > 0.05)
            for r, s, a in zip(rows, scores, affinity, strict=True)
        ]
        explore: list[int] = []
        if mode == "for_you":
            rng = random.Random(seed)  # noqa: S311 - exploration draws, not secrets; seeded for reproducibility
            explore = self.exploration_pool(
                rows, {r: float(a) for r, a in zip(rows, affinity, strict=True)}, rng, now
            )
        return rerank(picks, explore, size, self.weights.diversity)

    def _pick(self, row: int, candidate: _Candidate, score: float, personalized: bool) -> Pick:
        cat = self.catalogue
        return Pick(
            row=row,
            video_id=int(cat.ids[row]),
            owner_id=int(cat.owners[row]),
            tags=cat.tags[row],
            source=candidate.source,
            reasons=list(candidate.reasons[:3]),
            score=score,
            personalized=personalized and candidate.source not in ("trending", "fresh", "latest"),
        )


def rerank(picks: list[Pick], explore: list[int], size: int, diversity: float) -> list[Pick]:
    """Greedy re-ranking: exploration slots, no creator twice in a row, a penalty for repeated hashtags."""
    remaining = sorted(picks, key=lambda p: (-p.score, p.video_id))
    by_row = {p.row: p for p in picks}
    explore_queue = [by_row[r] for r in explore if r in by_row]
    chosen: list[Pick] = []
    taken: set[int] = set()

    def acceptable(pick: Pick) -> bool:
        return not chosen or pick.owner_id != chosen[-1].owner_id

    while len(chosen) < size and len(taken) < len(picks):
        slot = len(chosen)
        pick: Pick | None = None
        if slot % EXPLORE_EVERY == EXPLORE_POSITION:
            pick = next((p for p in explore_queue if p.row not in taken and acceptable(p)), None)
            if pick is not None:
                pick.explore = True
                if pick.source != "following":
                    pick.source = "fresh"
                    reason = "New video: every new video gets a chance to be seen"
                    pick.reasons = [reason, *[r for r in pick.reasons if r != reason]][:3]
        if pick is None:
            recent_tags = [t for p in chosen[-3:] for t in p.tags]
            best, best_value = None, -math.inf
            for candidate in remaining:
                if candidate.row in taken or not acceptable(candidate):
                    continue
                value = candidate.score - diversity * sum(1 for t in candidate.tags if t in recent_tags)
                if value > best_value:
                    best, best_value = candidate, value
                if best is not None and candidate.score < best_value - diversity * 3:
                    break  # sorted by score: nothing further down can win any more
            if best is None:  # only the previous item's creator is left: allowed rather than an empty slot
                best = next(p for p in remaining if p.row not in taken)
            pick = best
        chosen.append(pick)
        taken.add(pick.row)
    return chosen


def explain(pick: Pick) -> str:
    """The short "why you're seeing this" line: the source's reason, then up to two more."""
    return " · ".join(pick.reasons[:3])
