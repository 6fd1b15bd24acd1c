"""The engine's stages over seeded in-memory data: sources, filters, ranking, exploration, re-ranking."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from reelm.events.service import StoredEvent
from reelm.recommend.artefact import ModelArtefact
from reelm.recommend.catalogue import SIGNALS, Catalogue
from reelm.recommend.engine import (
    EXPLORE_EVERY,
    EXPLORE_POSITION,
    MIN_IMPRESSIONS,
    Engine,
    Mode,
    Pick,
    ViewerState,
    rerank,
)
from reelm.recommend.models import ViewerProfile
from reelm.recommend.profile import learn
from reelm.recommend.training import co_engagement

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
TAGS = ["dance", "cooking", "travel", "pets", "diy"]


def video(i: int, owner: int, *, hours_old: float, tags: tuple[str, ...], **signals: int) -> dict[str, Any]:
    return {
        "id": 1000 + i,
        "owner_id": owner,
        "hashtags": list(tags),
        "duration_s": 15.0,
        "published_at": NOW - timedelta(hours=hours_old),
        "like_count": signals.pop("like_count", 0),
        "comment_count": 0,
        "share_count": 0,
        "view_count": 0,
        **{name: signals.get(name, 0) for name in SIGNALS},
    }


def seeded_catalogue(seed: int = 7, videos: int = 120) -> Catalogue:
    """Old, well-watched videos from 12 creators, one tag each, plus a few brand-new ones."""
    rng = random.Random(seed)
    rows = []
    for i in range(videos):
        impressions = rng.randint(50, 500)
        rows.append(
            video(
                i,
                owner=i % 12,
                hours_old=rng.uniform(30, 200),
                tags=(TAGS[i % len(TAGS)],),
                impressions=impressions,
                completions=int(impressions * rng.uniform(0.1, 0.6)),
                likes=int(impressions * rng.uniform(0.0, 0.1)),
                skips=int(impressions * rng.uniform(0.1, 0.5)),
            )
        )
    for j in range(6):  # new videos of new creators, owed impressions
        rows.append(video(videos + j, owner=100 + j, hours_old=1 + j, tags=("travel",), impressions=5 * j))
    catalogue = Catalogue.empty()
    catalogue.add(rows)
    return catalogue


def page(
    engine: Engine,
    state: ViewerState,
    size: int = 10,
    mode: Mode = "for_you",
    exclude: set[int] | None = None,
) -> list[Pick]:
    return engine.shortlist(state, exclude or set(), mode, size, NOW.timestamp(), seed=1)


def test_no_creator_twice_in_a_row_and_hashtags_vary() -> None:
    engine = Engine(seeded_catalogue(), ModelArtefact.empty())
    picks = page(engine, ViewerState(user_id=1), size=30)
    assert len(picks) == 30
    owners = [p.owner_id for p in picks]
    assert all(a != b for a, b in itertools.pairwise(owners))
    for start in range(0, 30, 5):  # no five in a row share one hashtag
        assert len({p.tags for p in picks[start : start + 5]}) > 1


def test_rerank_spreads_one_creators_videos() -> None:
    picks = [
        Pick(i, i, owner_id=1 if i < 5 else 2, tags=(), source="trending", reasons=["r"], score=10 - i)
        for i in range(8)
    ]
    owners = [p.owner_id for p in rerank(picks, [], 8, 0.1)]
    assert owners[:6] == [1, 2, 1, 2, 1, 2]  # alternates while both have videos left


def test_exploration_slots_go_to_new_videos_fewest_impressions_first() -> None:
    catalogue = seeded_catalogue()
    engine = Engine(catalogue, ModelArtefact.empty())
    picks = page(engine, ViewerState(user_id=1), size=15)
    slots = [i for i in range(15) if i % EXPLORE_EVERY == EXPLORE_POSITION]
    explored = [picks[i] for i in slots]
    assert all(p.explore and p.source == "fresh" for p in explored)
    fresh_ids = [1000 + 120 + j for j in range(6)]  # impressions 0, 5, 10, ...: the least shown first
    assert [p.video_id for p in explored] == fresh_ids[:3]
    assert all(not p.explore for i, p in enumerate(picks) if i not in slots)


def test_a_new_video_stops_being_owed_once_it_has_its_minimum() -> None:
    catalogue = seeded_catalogue()
    row = catalogue.row_of[1000 + 120]
    catalogue.signals[row, SIGNALS.index("impressions")] = (
        MIN_IMPRESSIONS + 50
    )  # shown enough, never finished
    engine = Engine(catalogue, ModelArtefact.empty())
    picks = page(engine, ViewerState(user_id=1), size=15)
    assert 1000 + 120 not in [p.video_id for p in picks if p.explore]


def test_filters_seen_hidden_blocked_and_not_interested() -> None:
    catalogue = seeded_catalogue()
    engine = Engine(catalogue, ModelArtefact.empty())
    everything = {int(i) for i in catalogue.ids}
    state = ViewerState(
        user_id=1,
        recent_seen=(1000, 1001),
        not_interested=(1002,),
        hidden_creators=(3,),
        blocked=frozenset({4}),
    )
    shown = page(engine, state, size=len(everything), exclude={1005})
    ids = {p.video_id for p in shown}
    assert ids.isdisjoint({1000, 1001, 1002, 1005})
    assert {p.owner_id for p in shown}.isdisjoint({3, 4})
    # The non-personalised modes still honour the explicit controls, but not the watch history.
    popular = {p.video_id for p in page(engine, state, size=len(everything), mode="popular")}
    assert 1000 in popular
    assert 1002 not in popular
    assert all(int(catalogue.owners[catalogue.row_of[v]]) not in {3, 4} for v in popular)


def test_interests_lift_their_hashtag_and_are_explained() -> None:
    engine = Engine(seeded_catalogue(), ModelArtefact.empty())
    cold = page(engine, ViewerState(user_id=1))
    picked = page(engine, ViewerState(user_id=1, picked_interests=("cooking",)))

    def share(picks: list[Pick]) -> int:
        return sum("cooking" in p.tags for p in picks if not p.explore)

    assert share(picked) > share(cold)
    cooking = next(p for p in picked if "cooking" in p.tags)
    assert cooking.source == "interest"
    assert "You picked #cooking as an interest" in cooking.reasons
    assert cooking.personalized
    assert not any(p.personalized for p in cold)


def test_latest_mode_is_newest_first_and_popular_ignores_the_profile() -> None:
    catalogue = seeded_catalogue()
    engine = Engine(catalogue, ModelArtefact.empty())
    latest = page(engine, ViewerState(user_id=1), mode="latest", size=5)
    published = [catalogue.published[p.row] for p in latest]
    assert published[:3] == sorted(published, reverse=True)[:3] or len({p.owner_id for p in latest}) > 1
    assert latest[0].video_id == 1000 + 120  # the newest
    state = ViewerState(user_id=1, picked_interests=("cooking",), tag_weights={"cooking": 5.0})
    assert [p.video_id for p in page(engine, state, mode="popular")] == [
        p.video_id for p in page(engine, ViewerState(user_id=1), mode="popular")
    ]


def test_co_engagement_neighbours_become_a_source() -> None:
    # Viewers 0-9 engage with videos 1000 and 1001 together; 10-19 with 1002 and 1003.
    users, videos = [], []
    for user in range(20):
        pair = (1000, 1001) if user < 10 else (1002, 1003)
        for v in pair:
            users.append(user)
            videos.append(v)
    item_ids, indptr, neighbours, weights = co_engagement(np.array(users), np.array(videos))
    model = ModelArtefact(
        item_ids, indptr, neighbours, weights, np.zeros(0, np.int64), np.zeros(0, np.float32)
    )
    assert model.neighbour_map()[1000][0].tolist() == [1001]
    catalogue = seeded_catalogue()
    engine = Engine(catalogue, model)
    state = ViewerState(user_id=1, recent_positive=(1000,))
    found = engine.candidates(state, "for_you", NOW.timestamp())
    row = catalogue.row_of[1001]
    assert found[row].source == "similar"
    assert found[row].reasons[0] == "Viewers who enjoyed a video you enjoyed also enjoyed this"
    everything = len(catalogue)
    with_seed = [p.video_id for p in page(engine, state, size=everything)]
    without = [p.video_id for p in page(engine, ViewerState(user_id=1), size=everything)]
    assert with_seed.index(1001) < without.index(1001)


def test_events_update_the_profile() -> None:
    profile = ViewerProfile(
        user_id=1,
        picked_interests=[],
        tag_weights={},
        creator_weights={},
        recent_positive=[],
        recent_seen=[],
        not_interested=[],
        hidden_creators=[],
        events=0,
    )

    def ev(
        video_id: int,
        kind: str,
        creator: int = 5,
        tags: tuple[str, ...] = ("dance",),
        *,
        watched_s: float = 0.0,
        loops: int = 0,
    ) -> StoredEvent:
        return StoredEvent(video_id, creator, kind, watched_s, loops, 10.0, tags)

    learn(profile, [ev(1, "impression"), ev(1, "watch", watched_s=10.0, loops=1), ev(1, "like")])
    assert profile.recent_seen == [1]
    assert profile.recent_positive == [1]
    assert profile.tag_weights["dance"] > 2
    learn(
        profile,
        [ev(2, "impression", creator=6, tags=("cooking",)), ev(2, "skip", creator=6, tags=("cooking",))],
    )
    assert profile.tag_weights["cooking"] < 0
    assert profile.recent_positive == [1]
    learn(profile, [ev(1, "not_interested"), ev(3, "hide_creator", creator=9)])
    assert profile.not_interested == [1]
    assert profile.recent_positive == []  # no longer a seed once the viewer said no
    assert profile.hidden_creators == [9]
    assert profile.events == 7


def test_a_viewer_who_has_seen_everything_gets_rewatches_not_an_empty_feed() -> None:
    catalogue = Catalogue.empty()
    catalogue.add([video(i, owner=i, hours_old=48 + i, tags=(TAGS[i],)) for i in range(4)])
    engine = Engine(catalogue, ModelArtefact.empty())
    state = ViewerState(user_id=1, recent_seen=(1000, 1001, 1002, 1003), not_interested=(1003,))
    picks = page(engine, state)
    assert {p.video_id for p in picks} == {1000, 1001, 1002}  # never the one marked not interested
    assert {p.source for p in picks} == {"rewatch"}
    # Still never twice in one scroll.
    again = page(engine, state, exclude={picks[0].video_id})
    assert picks[0].video_id not in {p.video_id for p in again}
    assert again
