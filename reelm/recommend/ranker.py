"""`PersonalizedRanker`: the For You engine behind `reelm.feed.service.FeedRanker`.

A page costs two queries in the viewer's realm database: the viewer's state (profile, follows, blocks) and
the cards of a shortlist, plus a small delta of the catalogue (new videos, changed counters) at most once
per `refresh_every_s`. The catalogue and the model artefact are held in memory per realm and per process;
a newer model version is picked up within `model_check_every_s`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.crossrealm.views import public_videos
from reelm.db import Databases
from reelm.recommend.artefact import ModelArtefact
from reelm.recommend.candidates import FeedCandidate, FeedRequest
from reelm.recommend.catalogue import COUNTS, Catalogue
from reelm.recommend.catalogue_reads import load_catalogue, refresh_catalogue
from reelm.recommend.engine import (
    Engine,
    Pick,
    RankingWeights,
    ViewerState,
    demoted_score,
    explain,
    popularity,
    rerank,
    undemoted_score,
)
from reelm.recommend.model_store import latest_version, load_model
from reelm.recommend.models import ViewerProfile
from reelm.safety.models import UserBlock
from reelm.search.models import HashtagFollow
from reelm.social.cards import card_from_row, card_params, card_viewer, public_card_select
from reelm.social.models import Follow, UserMute
from reelm.social.mutes import video_hidden

log = logging.getLogger(__name__)

SPARE = 6  # shortlisted beyond the page, for videos removed meanwhile and the final re-rank


@dataclass
class _RealmState:
    catalogue: Catalogue
    engine: Engine
    loaded_at: float
    refreshed_at: float
    model_checked_at: float
    reloading: asyncio.Task[None] | None = None


@dataclass
class PersonalizedRanker:
    databases: Databases | None = None  # for background reloads; without it, reloads happen in the request
    weights: RankingWeights = field(default_factory=RankingWeights)
    refresh_every_s: float = 0.0  # catalogue delta per page by default: a new video is feed material at once
    model_check_every_s: float = 30.0
    full_reload_every_s: float = 300.0
    _realms: dict[str, _RealmState] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def rank(self, session: AsyncSession, request: FeedRequest) -> list[FeedCandidate]:
        realm = await self._realm_state(session, request.realm)
        state = await load_viewer_state(session, request.viewer.user_id)
        now = time.time()
        seed = (state.user_id or 0) * 1_000_003 + len(request.exclude)
        picks = realm.engine.shortlist(state, request.exclude, request.mode, request.limit + SPARE, now, seed)
        if not picks:
            return []
        return await self._cards(session, request, realm, picks, now)

    async def _cards(
        self, session: AsyncSession, request: FeedRequest, realm: _RealmState, picks: list[Pick], now: float
    ) -> list[FeedCandidate]:
        viewer_id = card_viewer(request.viewer, request.realm)
        pv = public_videos
        query = public_card_select(request.viewer.user_id).where(
            pv.c.id.in_([p.video_id for p in picks]),
            # Keyword filters (reelm.social.mutes): a matching pick is dropped here, in the same statement.
            ~video_hidden(
                request.viewer.user_id, pv.c.owner_id, pv.c.caption, pv.c.hashtags, pv.c.ai_generated
            ),
        )
        rows = {
            row.id: row for row in await session.execute(query, card_params(request.viewer, request.realm))
        }
        present = [p for p in picks if p.video_id in rows]
        catalogue = realm.catalogue
        if request.mode != "latest" and present:
            # Counts move faster than the catalogue's copy: re-score popularity with the rows just read.
            indices = np.array([p.row for p in present], dtype=np.intp)
            before = popularity(catalogue, indices, now)
            for p in present:
                r = rows[p.video_id]
                catalogue.counts[p.row] = [r._mapping[c] or 0 for c in COUNTS]
            after = popularity(catalogue, indices, now)
            weight = 1.0 if request.mode == "popular" else self.weights.popularity
            for p, old, new in zip(present, before, after, strict=True):
                # Demotion too may have changed since the catalogue read it: the card row decides.
                was, now_demoted = bool(catalogue.demoted[p.row]), bool(rows[p.video_id]._mapping["demoted"])
                raw = undemoted_score(p.score, was) + weight * float(new - old)
                catalogue.demoted[p.row] = now_demoted
                p.score = demoted_score(raw, now_demoted)
        explore = [p.row for p in present if p.explore and not catalogue.demoted[p.row]]
        final = rerank(present, explore, request.limit, self.weights.diversity)
        out = []
        for pick in final:
            video = card_from_row(rows[pick.video_id], request.realm, viewer_id, request.base_url)
            reasons = tuple(pick.reasons[:3])
            out.append(FeedCandidate(video, pick.source, explain(pick), reasons, pick.personalized))
        return out

    # -- per-realm state

    async def _realm_state(self, session: AsyncSession, realm: str) -> _RealmState:
        now = time.monotonic()
        state = self._realms.get(realm)
        if state is None:
            async with self._lock:
                state = self._realms.get(realm)
                if state is None:
                    state = await self._load(session, now)
                    self._realms[realm] = state
            return state
        if now - state.refreshed_at >= self.refresh_every_s:
            state.refreshed_at = now
            await refresh_catalogue(session, state.catalogue, datetime.now(UTC))
        if now - state.model_checked_at >= self.model_check_every_s:
            state.model_checked_at = now
            version = await latest_version(session)
            if version != state.engine.model.version:
                model = await load_model(session, version) if version else None
                state.engine = Engine(state.catalogue, model or ModelArtefact.empty(), self.weights)
        if now - state.loaded_at >= self.full_reload_every_s and state.reloading is None:
            if self.databases is None:
                self._realms[realm] = state = await self._load(session, now)
            else:
                state.reloading = asyncio.create_task(self._reload_in_background(realm))
        return state

    async def _load(self, session: AsyncSession, now: float) -> _RealmState:
        catalogue = await load_catalogue(session)
        model = await load_model(session) or ModelArtefact.empty()
        # The catalogue is hundreds of thousands of long-lived objects: left to the cyclic collector, every
        # full collection walked them all and stalled a page for 150-200 ms (bench/recs_serving.py).
        # Frozen, they are skipped; they are still freed by reference counting when a reload drops them.
        gc.freeze()
        return _RealmState(catalogue, Engine(catalogue, model, self.weights), now, now, now)

    async def _reload_in_background(self, realm: str) -> None:
        assert self.databases is not None
        try:
            async with self.databases.transaction(realm) as session:
                fresh = await self._load(session, time.monotonic())
            self._realms[realm] = fresh
        except Exception:  # the old catalogue keeps serving; the next page tries again
            log.exception("reloading the recommender catalogue of %s failed", realm)
            current = self._realms.get(realm)
            if current is not None:
                current.reloading = None
                current.loaded_at = time.monotonic()

    def forget(self, realm: str | None = None) -> None:
        """Drop the cached catalogues and models (tests, after changing a realm behind the ranker's back)."""
        if realm is None:
            self._realms.clear()
        else:
            self._realms.pop(realm, None)


async def load_viewer_state(session: AsyncSession, user_id: int | None) -> ViewerState:
    """The viewer's profile, follows and blocks, in one query; an empty state for anonymous visitors.

    A hashtag the viewer follows counts as an interest they picked (the engine draws candidates from picked
    interests and weighs their tags up), so following #tag steers For You as picking it in settings does."""
    if user_id is None:
        return ViewerState(user_id=None)
    me = literal(user_id, BigInteger)
    following = select(func.array_agg(Follow.followee_id)).where(Follow.follower_id == me).scalar_subquery()
    blocked = (
        select(
            func.array_agg(
                case((UserBlock.blocker_id == me, UserBlock.blocked_id), else_=UserBlock.blocker_id)
            )
        )
        .where(or_(UserBlock.blocker_id == me, UserBlock.blocked_id == me))
        .scalar_subquery()
    )
    # Muted accounts (reelm.social.mutes) are left out as blocked ones are; the muted account is not told.
    muted = select(func.array_agg(UserMute.muted_id)).where(UserMute.user_id == me).scalar_subquery()
    hashtags = select(func.array_agg(HashtagFollow.tag)).where(HashtagFollow.user_id == me).scalar_subquery()
    one = select(literal(1).label("one")).subquery()
    vp = ViewerProfile
    query = select(
        vp.picked_interests,
        vp.tag_weights,
        vp.creator_weights,
        vp.recent_positive,
        vp.recent_seen,
        vp.not_interested,
        vp.hidden_creators,
        following.label("following"),
        blocked.label("blocked"),
        muted.label("muted"),
        hashtags.label("hashtags"),
    ).select_from(one.outerjoin(vp, vp.user_id == me))
    row: Any = (await session.execute(query)).one()
    return ViewerState(
        user_id=user_id,
        picked_interests=tuple(dict.fromkeys([*(row.picked_interests or ()), *sorted(row.hashtags or ())])),
        tag_weights=dict(row.tag_weights or {}),
        creator_weights=dict(row.creator_weights or {}),
        recent_positive=tuple(row.recent_positive or ()),
        recent_seen=tuple(row.recent_seen or ()),
        not_interested=tuple(row.not_interested or ()),
        hidden_creators=tuple(row.hidden_creators or ()),
        following=frozenset(row.following or ()),
        blocked=frozenset(row.blocked or ()) | frozenset(row.muted or ()),
    )
