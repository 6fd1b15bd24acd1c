"""Periodic retraining of a realm's model from that realm's events only (run by the realm's worker)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from scipy import sparse
from sqlalchemy import Float, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.events.models import EventKind, WatchEvent
from reelm.recommend.artefact import ModelArtefact, Priors
from reelm.recommend.item_similarity import ItemSimilarityModel, ItemSimilarityParams
from reelm.recommend.model_store import do_store_model
from reelm.recommend.models import VideoSignal
from reelm.recommend.ranking import top_k

log = logging.getLogger(__name__)

HISTORY_DAYS = 30
HISTORY_PER_VIEWER = 50  # the latest positive videos of each viewer count
MIN_SUPPORT = 3  # distinct viewers: no neighbour list is learnt from fewer (nothing about one person)
MAX_ITEMS = 2000  # EASE inverts an items x items matrix: the most engaged videos only
NEIGHBOURS = 20
RIDGE = 20.0
TRENDING_HOURS = 72
TRENDING_HALF_LIFE_H = 12.0
TRENDING_KEEP = 1000

POSITIVE_KINDS = (
    EventKind.COMPLETE,
    EventKind.LIKE,
    EventKind.SHARE,
    EventKind.SAVE,
    EventKind.COMMENT,
    EventKind.FOLLOW,
)
TRENDING_WEIGHTS = {
    EventKind.COMPLETE: 1.0,
    EventKind.LIKE: 3.0,
    EventKind.SHARE: 5.0,
    EventKind.SAVE: 4.0,
    EventKind.COMMENT: 2.0,
    EventKind.FOLLOW: 2.0,
    EventKind.SKIP: -0.5,
    EventKind.NOT_INTERESTED: -3.0,
}


@dataclass(frozen=True)
class TrainingResult:
    version: int
    events_used: int
    items_with_neighbours: int
    trending: int


async def _positive_pairs(session: AsyncSession, since: datetime) -> tuple[np.ndarray, np.ndarray]:
    e = WatchEvent
    positive = or_(
        e.kind.in_([k.value for k in POSITIVE_KINDS]), and_(e.kind == EventKind.WATCH, e.loops > 0)
    )
    ranked = (
        select(
            e.user_id,
            e.video_id,
            func.row_number().over(partition_by=e.user_id, order_by=e.id.desc()).label("n"),
        )
        .where(positive, e.received_at > since)
        .subquery()
    )
    rows = (
        await session.execute(
            select(ranked.c.user_id, ranked.c.video_id).where(ranked.c.n <= HISTORY_PER_VIEWER).distinct()
        )
    ).all()
    users = np.array([r[0] for r in rows], dtype=np.int64)
    videos = np.array([r[1] for r in rows], dtype=np.int64)
    return users, videos


def co_engagement(
    users: np.ndarray, videos: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """EASE neighbours of the most engaged videos: (item ids, indptr, neighbour ids, weights)."""
    empty = (np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    if len(users) == 0:
        return empty
    item_ids, item_index = np.unique(videos, return_inverse=True)
    support = np.bincount(item_index)
    eligible = np.flatnonzero(support >= MIN_SUPPORT)
    if len(eligible) < 2:
        return empty
    kept = eligible[np.argsort(-support[eligible], kind="stable")[:MAX_ITEMS]]
    column_of = np.full(len(item_ids), -1)
    column_of[kept] = np.arange(len(kept))
    mask = column_of[item_index] >= 0
    _, user_index = np.unique(users[mask], return_inverse=True)
    matrix = sparse.csr_array(
        (np.ones(int(mask.sum()), np.float32), (user_index, column_of[item_index[mask]])),
        shape=(int(user_index.max()) + 1, len(kept)),
    )
    model = ItemSimilarityModel(ItemSimilarityParams(ridge=RIDGE)).fit(matrix)
    weights = model._fitted()[0]  # the co-engagement matrix B (items x items)
    k = min(NEIGHBOURS, len(kept) - 1)
    best = top_k(weights.astype(np.float64), k)
    values = np.take_along_axis(weights, best, axis=1)
    ids_out, indptr, neighbours, out_weights = [], [0], [], []
    for row in range(len(kept)):
        positive = values[row] > 0
        if not positive.any():
            continue
        ids_out.append(item_ids[kept[row]])
        neighbours.extend(item_ids[kept[best[row][positive]]])
        out_weights.extend(values[row][positive])
        indptr.append(len(neighbours))
    if not ids_out:
        return empty
    return (
        np.array(ids_out, np.int64),
        np.array(indptr, np.int64),
        np.array(neighbours, np.int64),
        np.array(out_weights, np.float32),
    )


async def _trending(session: AsyncSession, now: datetime) -> tuple[np.ndarray, np.ndarray]:
    e = WatchEvent
    age_h = func.extract("epoch", now - e.received_at) / 3600.0
    weight = case(*[(e.kind == k.value, w) for k, w in TRENDING_WEIGHTS.items()], else_=0.0)
    decayed = func.sum(cast(weight, Float) * func.exp(-age_h * (np.log(2) / TRENDING_HALF_LIFE_H)))
    rows = (
        await session.execute(
            select(e.video_id, decayed.label("score"))
            .where(e.received_at > now - timedelta(hours=TRENDING_HOURS))
            .group_by(e.video_id)
            .having(decayed > 0)
            .order_by(decayed.desc(), e.video_id)
            .limit(TRENDING_KEEP)
        )
    ).all()
    return np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.float32)


async def _priors(session: AsyncSession) -> Priors:
    s = VideoSignal
    row = (
        await session.execute(
            select(
                func.sum(s.impressions),
                func.sum(s.completions),
                func.sum(s.likes),
                func.sum(s.shares),
                func.sum(s.skips),
            )
        )
    ).one()
    impressions = float(row[0] or 0)
    if impressions < 100:
        return Priors()

    def clip(count: int | None) -> float:
        return min(max(float(count or 0) / impressions, 0.001), 0.95)

    return Priors(completion=clip(row[1]), like=clip(row[2]), share=clip(row[3]), skip=clip(row[4]))


async def do_train(session: AsyncSession, *, now: datetime | None = None) -> TrainingResult:
    """Learn a new model version from the realm's events; the caller commits."""
    now = now or datetime.now(UTC)
    users, videos = await _positive_pairs(session, now - timedelta(days=HISTORY_DAYS))
    item_ids, indptr, neighbours, weights = co_engagement(users, videos)
    trending_ids, trending_scores = await _trending(session, now)
    artefact = ModelArtefact(
        item_ids=item_ids,
        indptr=indptr,
        neighbours=neighbours,
        weights=weights,
        trending_ids=trending_ids,
        trending_scores=trending_scores,
        priors=await _priors(session),
    )
    version = await do_store_model(
        session,
        artefact,
        events_used=len(users),
        metrics={"items_with_neighbours": len(item_ids), "trending": len(trending_ids)},
    )
    log.info("recommender model v%d: %d pairs, %d items with neighbours", version, len(users), len(item_ids))
    return TrainingResult(version, len(users), len(item_ids), len(trending_ids))
