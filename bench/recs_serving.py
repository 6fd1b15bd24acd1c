# ruff: noqa: E402 - the reelm imports follow the sys.path and warnings set-up below
"""For You serving speed on a synthetic realm: the engine against the gravity feed, in the same run.

    .venv/bin/python bench/recs_serving.py [--videos 100000] [--viewers 10000] [--events 1000000]
                                           [--creators 2000] [--sample 100] [--pages 3] [--seconds 10]
    .venv/bin/python bench/recs_serving.py --quick        # 10k videos, 1k viewers, 100k events

Build (not timed against anything, only reported). A fresh embedded PostgreSQL in a temporary data dir,
started, migrated and linked (`ensure_cross_realm`) by `Runtime.start` with the feed bench's demo settings
(realms us, eu, global). Realm `us` then gets, by COPY and INSERT ... SELECT rather than the API:
- creators and viewers in `users` (and their handles in the directory); creators' output is Zipf-skewed;
- READY public videos in `videos` and 2-4 `renditions` each, with hashtags from a Zipf-skewed vocabulary
  (two or three "home" hashtags per creator), Zipf-skewed appeal that favours recent and better videos,
  and public counters consistent with the realm's own events (plus other realms' share);
- follows (Zipf over creators) and the likes behind like events (`video_likes`);
- watch events in `watch_events`, as `reelm.events` stores them: views drawn Zipf over viewers and over
  videos (about half led by the viewer's favourite hashtags), each an impression followed by a skip (with
  the odd "not interested") or a play, a watch (seconds, loops), a completion, likes, shares, comments and
  follows, with probabilities from taste and quality;
- the engine's per-viewer state: each viewer's events are folded into a `viewer_profiles` row by the
  engine's own `reelm.recommend.profile.learn`, in batches of a few views as clients flush them (and a
  third of the viewers picked interests at sign-up); the per-video `video_signals` are one INSERT ...
  SELECT over the events, with the counter mapping of `apply_events_to_signals` (`profile._COUNTERS`)
  and `updated_at` = the video's latest event;
- then one model trained by `reelm.recommend.training.do_train`, VACUUM ANALYZE, a checkpoint, and a wait
  until the other realms' subscriptions have caught up with the projections, so none of this runs during
  the measurements.
Projections: the row triggers on `videos` and `renditions` are disabled for the two COPYs and the trigger's
own function, `reelm_project_video(id)`, is then called once per video (the backfill `ensure_cross_realm`
runs for rows that predate the triggers): the same `outbound_us.videos` rows, one call per video instead
of one per video and per rendition. `users` keeps its trigger (one profile projection per row).

Measured, in the same run:
1. In process: `PersonalizedRanker.rank` (the For You engine, as the app builds it) and `GravityRanker`
   (the non-personalised ranker of reelm.feed.service, the baseline), each page in its own transaction
   like the route's, for `--sample` viewers, `--pages` pages each following the scroll's exclude set.
   Round 1 ("cold": first scroll of each viewer in this process; personalised first) and round 2 ("warm":
   the same scrolls again; gravity first). The engine's first page, which loads the catalogue and the
   model, is timed on its own, and so is the reload the ranker repeats every `full_reload_every_s` on the
   server's event loop (with the longest stretch in which that loop ran nothing else); the bench reloads
   between blocks where needed, so no measured block contains one. Also reported: the garbage collector's
   time during each ranker's pages (generation-2 collections are the engine's tail), a stage breakdown of
   the engine's pages, with `--profile` the top functions of a cProfile run, with `--explain` EXPLAIN
   ANALYZE of the page's queries; `--gc-freeze` is a what-if (gc.freeze() after the catalogue load).
2. Over HTTP: the app in its own uvicorn process (bench/feed.py's --serve: the same app plus
   GET /bench/constant, constant JSON). Simulated clients scroll `--pages` pages of
   GET /api/v1/feed/for-you?limit=10 (bearer tokens of `--sample` viewers, following `next_cursor`),
   against the constant endpoint; baseline, feed, baseline, feed, the best of each kept.

Target (the For You issue): p99 of a For You page of 10 <= 30 ms in process at 100k videos, 10k viewers,
1M events; the HTTP throughput is reported as a ratio to the constant endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import io
import itertools
import math
import pstats
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import psycopg
from numpy.typing import NDArray
from psycopg.types.json import Jsonb
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# Importing the embedded PostgreSQL creates its lock, which warns when XDG_RUNTIME_DIR is unset (containers,
# CI): harmless, and the tests ignore it too. It fires at import, hence before the reelm imports.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

from benchserver import HOST, free_port, machine_note, postgres_cpu_s, start_server, stop_server
from feed import (
    BASELINE_PATH,
    LADDER,
    ROUNDS,
    WARMUP_S,
    CpuMeter,
    Phase,
    Target,
    bench_settings,
    check_constant,
    run_phase,
    serve,
)

from reelm import ids, security
from reelm.accounts.models import User
from reelm.accounts.viewer import Viewer
from reelm.db import libpq_url
from reelm.events.models import EventKind
from reelm.events.service import StoredEvent
from reelm.feed.service import MAX_REMEMBERED
from reelm.recommend import profile as profile_module
from reelm.recommend.candidates import FeedCandidate, FeedRanker, FeedRequest
from reelm.recommend.gravity import GravityRanker
from reelm.recommend.models import ViewerProfile
from reelm.recommend.profile import COUNTER_COLUMNS, empty_profile_values, learn
from reelm.recommend.ranker import SPARE, PersonalizedRanker, load_viewer_state
from reelm.recommend.training import TrainingResult, do_train
from reelm.runtime import Runtime
from reelm.startup import start_runtime

REALM = "us"
PAGE_SIZE = 10
P99_TARGET_MS = 30.0
FOR_YOU_PATH = "/api/v1/feed/for-you"
EVENT_DAYS = 7.0  # events span the last week (training looks back 30 days, trending 72 h)
CATALOGUE_DAYS = 30.0  # videos were published over the last month
VIEWS_PER_BATCH = 5  # a client flushes its events every few videos: one `learn` call per flush
TASTE_SHARE = 0.5  # views led by one of the viewer's favourite hashtags (the rest: global popularity)
PICKED_SHARE = 0.33  # viewers who picked interests at sign-up
REPLICATION_WAIT_S = 900.0

# Each view produces an impression, then either a skip or a play and a watch; the rest depend on taste.
KINDS: tuple[EventKind, ...] = (
    EventKind.IMPRESSION,
    EventKind.SKIP,
    EventKind.NOT_INTERESTED,
    EventKind.HIDE_CREATOR,
    EventKind.PLAY,
    EventKind.WATCH,
    EventKind.COMPLETE,
    EventKind.LIKE,
    EventKind.SHARE,
    EventKind.COMMENT,
    EventKind.FOLLOW,
)
K = {kind: code for code, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Sizes:
    videos: int
    viewers: int
    events: int
    creators: int


# --- synthetic realm (numpy, no I/O) ------------------------------------------------------------------


def zipf_weights(n: int, exponent: float, order: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Weights proportional to rank ** -exponent; rank 1 goes to the largest `order` value (else index 0)."""
    ranks = np.empty(n, dtype=np.float64)
    ranks[np.argsort(-order, kind="stable") if order is not None else np.arange(n)] = np.arange(1, n + 1)
    weights = ranks**-exponent
    out: NDArray[np.float64] = weights / weights.sum()
    return out


def vocabulary(count: int, rng: np.random.Generator) -> list[str]:
    """Pronounceable lower-case hashtags, distinct."""
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables, size=int(rng.integers(2, 4)))))
    return sorted(words)


def new_ids(code: int, times_ms: NDArray[np.int64]) -> NDArray[np.int64]:
    """Ids minted by reelm.ids for the given creation times, distinct (a rare random collision is redrawn)."""
    out = np.array([ids.new_id(code, now_ms=int(t)) for t in times_ms], dtype=np.int64)
    while len(np.unique(out)) < len(out):
        _, first = np.unique(out, return_index=True)
        for i in sorted(set(range(len(out))) - set(first.tolist())):
            out[i] = ids.new_id(code, now_ms=int(times_ms[i]))
    return out


@dataclass
class Realm:
    """Everything the build inserts, as arrays (indexes into the creator, viewer and video arrays)."""

    now: float
    tags: list[str]
    creator_ids: NDArray[np.int64]
    creator_joined: NDArray[np.float64]  # epoch seconds
    creator_quality: NDArray[np.float64]
    viewer_ids: NDArray[np.int64]
    viewer_joined: NDArray[np.float64]
    viewer_favourites: NDArray[np.int64]  # viewers x 3 tag indexes
    picked: NDArray[np.bool_]
    video_ids: NDArray[np.int64]
    video_owner: NDArray[np.int64]  # creator index
    video_tags: list[tuple[str, ...]]
    video_published: NDArray[np.float64]
    video_duration: NDArray[np.float64]
    follows: NDArray[np.int64]  # pairs: viewer index, creator index
    ev_viewer: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    ev_video: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    ev_kind: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    ev_time: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0, np.float64))
    ev_watched: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0, np.float64))
    ev_loops: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    ev_batch: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))  # flush per viewer
    counts: NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 4), np.int64))  # likes .. views


def generate(sizes: Sizes, seed: int, code: int) -> Realm:
    rng = np.random.default_rng(seed)
    now = time.time()
    n_tags = max(100, sizes.videos // 125)
    tags = vocabulary(n_tags, rng)
    tag_weight = zipf_weights(n_tags, 1.0)
    # Creators: quality in (0, 1), three home hashtags each, output Zipf-skewed (a few prolific ones).
    creator_quality = rng.beta(2, 3, sizes.creators)
    creator_home = rng.choice(n_tags, size=(sizes.creators, 3), p=tag_weight)
    creator_joined = np.sort(now - rng.uniform(30, 720, sizes.creators) * 86400)
    creator_ids = new_ids(code, (creator_joined * 1000).astype(np.int64))
    viewer_joined = np.sort(now - rng.uniform(1, 365, sizes.viewers) * 86400)
    viewer_ids = new_ids(code, (viewer_joined * 1000).astype(np.int64))
    viewer_favourites = rng.choice(n_tags, size=(sizes.viewers, 3), p=tag_weight)
    picked = rng.random(sizes.viewers) < PICKED_SHARE

    # Videos: owners by output, published over the last month (at least 5 minutes ago).
    owner = rng.choice(sizes.creators, size=sizes.videos, p=zipf_weights(sizes.creators, 0.7))
    age_s = rng.uniform(300, CATALOGUE_DAYS * 86400, sizes.videos)
    published = np.sort(now - age_s)
    video_ids = new_ids(code, ((published - rng.uniform(60, 600, sizes.videos)) * 1000).astype(np.int64))
    duration = np.clip(rng.lognormal(math.log(22), 0.6, sizes.videos), 5, 180).round(2)
    video_tags: list[tuple[str, ...]] = []
    home_count = rng.integers(1, 3, sizes.videos)
    extra = rng.choice(n_tags, size=(sizes.videos, 2), p=tag_weight)
    extra_count = rng.integers(0, 3, sizes.videos)
    for v in range(sizes.videos):
        chosen = [int(t) for t in creator_home[owner[v], : home_count[v]]] + extra[
            v, : extra_count[v]
        ].tolist()
        video_tags.append(tuple(tags[t] for t in dict.fromkeys(chosen)))
    quality = np.clip(creator_quality[owner] + rng.normal(0, 0.15, sizes.videos), 0.01, 0.99)
    # Appeal: Zipf over a noisy quality order, fading with age (recent videos draw most of the week's views).
    appeal = zipf_weights(sizes.videos, 0.9, quality * rng.lognormal(0, 1, sizes.videos))
    appeal *= np.exp(-(now - published) / (10 * 86400))
    appeal /= appeal.sum()

    # Follows: a few creators per viewer, the popular ones more often.
    creator_pull = np.bincount(owner, weights=appeal, minlength=sizes.creators) + 1e-9
    per_viewer = rng.poisson(6, sizes.viewers)
    pairs = np.column_stack(
        [
            np.repeat(np.arange(sizes.viewers), per_viewer),
            rng.choice(sizes.creators, size=int(per_viewer.sum()), p=creator_pull / creator_pull.sum()),
        ]
    )
    realm = Realm(
        now=now,
        tags=tags,
        creator_ids=creator_ids,
        creator_joined=creator_joined,
        creator_quality=creator_quality,
        viewer_ids=viewer_ids,
        viewer_joined=viewer_joined,
        viewer_favourites=viewer_favourites,
        picked=picked,
        video_ids=video_ids,
        video_owner=owner,
        video_tags=video_tags,
        video_published=published,
        video_duration=duration,
        follows=pairs,
    )
    views(realm, sizes, rng, appeal, quality)
    counters(realm, rng)
    follows = np.unique(
        np.concatenate(
            [
                pairs,
                np.column_stack([realm.ev_viewer, owner[realm.ev_video]])[
                    realm.ev_kind == K[EventKind.FOLLOW]
                ],
            ]
        ),
        axis=0,
    )
    realm.follows = follows
    return realm


def views(
    realm: Realm,
    sizes: Sizes,
    rng: np.random.Generator,
    appeal: NDArray[np.float64],
    quality: NDArray[np.float64],
) -> None:
    """The week's views and their events, cut to exactly `sizes.events` events by dropping whole views at
    random (so the week stays a whole week) and the tail of one view (events its client has not sent yet)."""
    n_views = int(sizes.events / 2.7) + 1000  # about 3 events per view; the cut below makes it exact
    viewer = rng.choice(
        sizes.viewers, size=n_views, p=zipf_weights(sizes.viewers, 0.8, rng.random(sizes.viewers))
    )
    video = rng.choice(sizes.videos, size=n_views, p=appeal)
    # Taste-led views: a video of one of the viewer's favourite hashtags, by appeal within the hashtag.
    led = np.flatnonzero(rng.random(n_views) < TASTE_SHARE)
    led_tag = realm.viewer_favourites[viewer[led], rng.integers(0, 3, len(led))]
    tag_index = {t: i for i, t in enumerate(realm.tags)}
    pools: dict[int, list[int]] = {}
    for v, tags in enumerate(realm.video_tags):
        for t in tags:
            pools.setdefault(tag_index[t], []).append(v)
    for tag in np.unique(led_tag):
        pool = np.array(pools.get(int(tag), []), dtype=np.int64)
        if not len(pool):
            continue  # nobody posts with this hashtag: the view stays a global one
        which = led[led_tag == tag]
        cumulative = np.cumsum(appeal[pool])
        video[which] = pool[np.searchsorted(cumulative, rng.random(len(which)) * cumulative[-1])]
    favourite_names = [{realm.tags[t] for t in row} for row in realm.viewer_favourites.tolist()]
    match = np.array(
        [
            bool(favourite_names[u].intersection(realm.video_tags[v]))
            for u, v in zip(viewer.tolist(), video.tolist(), strict=True)
        ]
    ).astype(np.float64)
    q = quality[video] - 0.4
    # A view happens after publication, within the last EVENT_DAYS, at least a minute ago.
    start = np.maximum(realm.video_published[video], realm.now - EVENT_DAYS * 86400)
    at = start + rng.random(n_views) * (realm.now - 60 - start)
    skip = rng.random(n_views) < np.clip(0.45 - 0.3 * match - 0.3 * q, 0.05, 0.9)
    watched = ~skip
    complete = watched & (rng.random(n_views) < np.clip(0.35 + 0.3 * match + 0.4 * q, 0.05, 0.95))
    duration = realm.video_duration[video]
    loops = np.where(complete, rng.geometric(0.75, n_views) - 1, 0)
    seconds = np.where(complete, duration * (1 + loops), duration * rng.uniform(0.1, 0.9, n_views))
    outcomes: list[tuple[EventKind, NDArray[np.bool_]]] = [
        (EventKind.IMPRESSION, np.ones(n_views, dtype=bool)),
        (EventKind.SKIP, skip),
        (EventKind.NOT_INTERESTED, skip & (rng.random(n_views) < 0.02)),
        (EventKind.HIDE_CREATOR, skip & (rng.random(n_views) < 0.003)),
        (EventKind.PLAY, watched),
        (EventKind.WATCH, watched),
        (EventKind.COMPLETE, complete),
        (EventKind.LIKE, complete & (rng.random(n_views) < 0.08 + 0.2 * match + 0.15 * q)),
        (EventKind.SHARE, complete & (rng.random(n_views) < 0.015 + 0.02 * match)),
        (EventKind.COMMENT, complete & (rng.random(n_views) < 0.01 + 0.01 * match)),
        (EventKind.FOLLOW, complete & (rng.random(n_views) < 0.004 + 0.01 * match)),
    ]
    view_of = np.concatenate([np.flatnonzero(mask) for _, mask in outcomes])
    kind = np.concatenate([np.full(int(mask.sum()), K[k]) for k, mask in outcomes])
    # Views in a random order, each view's events in the order above: the cut keeps whole views but one.
    kept = np.lexsort((kind, rng.permutation(n_views)[view_of]))[: sizes.events]
    view_of, kind = view_of[kept], kind[kept]
    # Events of a view a second apart, in the order above; then everything in time order.
    time_of = np.minimum(at[view_of] + kind, realm.now - 1)
    order = np.lexsort((kind, time_of))
    view_of, kind, time_of = view_of[order], kind[order], time_of[order]
    # Flushes: every VIEWS_PER_BATCH views of a viewer, in time order.
    by_viewer = np.lexsort((at, viewer))
    rank = np.empty(n_views, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, viewer[by_viewer][1:] != viewer[by_viewer][:-1]])
    rank[by_viewer] = np.arange(n_views) - np.repeat(starts, np.diff(np.r_[starts, n_views]))
    realm.ev_viewer = viewer[view_of]
    realm.ev_video = video[view_of]
    realm.ev_kind = kind
    realm.ev_time = time_of
    is_watch = kind == K[EventKind.WATCH]
    realm.ev_watched = np.where(is_watch, seconds[view_of], 0.0).round(2)
    realm.ev_loops = np.where(is_watch, loops[view_of], 0)
    realm.ev_batch = rank[view_of] // VIEWS_PER_BATCH


def counters(realm: Realm, rng: np.random.Generator) -> None:
    """Public totals: this realm's viewers' activity plus other realms' and logged-out viewers', which
    scales with it (and a small long-tailed floor for videos nobody here watched this week)."""
    n = len(realm.video_ids)

    def local(kind: EventKind) -> NDArray[np.int64]:
        return np.bincount(realm.ev_video[realm.ev_kind == K[kind]], minlength=n).astype(np.int64)

    impressions, likes = local(EventKind.IMPRESSION), local(EventKind.LIKE)
    elsewhere = ((impressions + 1) * rng.uniform(2, 8, n) + rng.lognormal(3, 1.5, n)).astype(np.int64)
    like_rate = (likes + 1) / (impressions + 20)
    like_count = likes + (elsewhere * like_rate * rng.uniform(0.7, 1.3, n)).astype(np.int64)
    comment_count = local(EventKind.COMMENT) + (like_count * rng.uniform(0, 0.08, n)).astype(np.int64)
    share_count = local(EventKind.SHARE) + (like_count * rng.uniform(0, 0.05, n)).astype(np.int64)
    realm.counts = np.column_stack([like_count, comment_count, share_count, impressions + elsewhere])


# --- loading (COPY into the realm's own tables) ---------------------------------------------------------


class Build:
    """Rich progress of the build, one line per step, with the seconds each took (kept for the report)."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<46}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self.seconds: dict[str, float] = {}
        self.subscribers = 0
        self.trained: TrainingResult | None = None

    @contextmanager
    def step(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        task = self.progress.add_task(name, total=total)
        started = time.perf_counter()
        yield lambda n: self.progress.advance(task, n)
        self.seconds[name] = time.perf_counter() - started
        self.progress.update(task, total=total or 1, completed=total or 1)
        self.progress.stop_task(task)


def iso(epoch: NDArray[np.float64]) -> list[str]:
    """UTC timestamps as text for COPY (numpy formats a million of them in well under a second)."""
    text = np.datetime_as_string((epoch * 1e6).astype("datetime64[us]"), unit="us")
    out: list[str] = np.char.add(text, "Z").tolist()
    return out


def copy_rows(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterator[Sequence[Any]],
    advance: Callable[[int], None],
) -> None:
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with conn.cursor() as cursor, cursor.copy(statement.encode()) as copy:
        for chunk in _chunks(rows):
            for row in chunk:
                copy.write_row(row)
            advance(len(chunk))


def _chunks(rows: Iterator[Sequence[Any]]) -> Iterator[list[Sequence[Any]]]:
    while chunk := list(itertools.islice(rows, 10_000)):
        yield chunk


SOURCE_TRIGGERS = {"videos": "reelm_project_on_videos_trg", "renditions": "reelm_project_on_renditions_trg"}


def load_users(conn: psycopg.Connection, directory: psycopg.Connection, realm: Realm, build: Build) -> None:
    n_creators = len(realm.creator_ids)
    everyone = np.concatenate([realm.creator_ids, realm.viewer_ids])
    handles = [f"creator{i:05d}" for i in range(n_creators)] + [
        f"viewer{i:06d}" for i in range(len(realm.viewer_ids))
    ]
    created = iso(np.concatenate([realm.creator_joined, realm.viewer_joined]))
    followers = np.bincount(realm.follows[:, 1], minlength=n_creators)
    following = np.bincount(realm.follows[:, 0], minlength=len(realm.viewer_ids))
    videos = np.bincount(realm.video_owner, minlength=n_creators)
    likes = np.bincount(realm.video_owner, weights=realm.counts[:, 0], minlength=n_creators).astype(np.int64)
    # Creators' public follower counts include followers from other realms and logged-out fans.
    followers_shown = followers * 3 + (np.asarray(videos) * 2)

    def rows() -> Iterator[Sequence[Any]]:
        for i, user_id in enumerate(everyone.tolist()):
            creator = i < n_creators
            j = i if creator else i - n_creators
            yield (
                user_id,
                handles[i],
                handles[i].capitalize(),
                "Bench creator" if creator else "",
                None,
                created[i],
                int(followers_shown[j]) if creator else 0,
                0 if creator else int(following[j]),
                int(videos[j]) if creator else 0,
                int(likes[j]) if creator else 0,
                # Not a real ciphertext: nothing on the feed path opens it (sign-up would seal it).
                hashlib.sha256(f"email {user_id}".encode()).digest(),
                hashlib.sha256(f"index {user_id}".encode()).digest(),
                "!bench-no-login",  # no password logs in: the bench issues session tokens itself
                "US",
            )

    columns = [
        "id",
        "handle",
        "display_name",
        "bio",
        "avatar_key",
        "created_at",
        "follower_count",
        "following_count",
        "video_count",
        "likes_received",
        "email",
        "email_index",
        "password_hash",
        "country",
    ]
    with build.step("users (profile projection by trigger)", len(everyone)) as advance:
        copy_rows(conn, "users", columns, rows(), advance)
        copy_rows(
            directory,
            "handles",
            ("handle", "user_id", "realm", "state", "created_at"),
            ((h, u, REALM, "active", c) for h, u, c in zip(handles, everyone.tolist(), created, strict=True)),
            lambda _: None,
        )


def load_videos(conn: psycopg.Connection, realm: Realm, build: Build, seed: int) -> None:
    rng = np.random.default_rng(seed + 1)
    n = len(realm.video_ids)
    published = iso(realm.video_published)
    created = iso(realm.video_published - 120)
    owners = realm.creator_ids[realm.video_owner].tolist()
    counts = realm.counts.tolist()
    rungs = rng.integers(2, len(LADDER) + 1, n).tolist()
    video_ids = realm.video_ids.tolist()
    durations = realm.video_duration.tolist()

    def video_rows() -> Iterator[Sequence[Any]]:
        for i, video_id in enumerate(video_ids):
            tags = list(realm.video_tags[i])
            likes, comments, shares, views = counts[i]
            yield (
                video_id,
                owners[i],
                " ".join(["Clip", *(f"#{t}" for t in tags)]),
                tags,
                [],
                "public",
                "ready",
                "",
                1080,
                1920,
                durations[i],
                f"videos/{video_id}/poster.jpg",
                created[i],
                published[i],
                likes,
                comments,
                shares,
                views,
                False,
                False,
                [],
                f"videos/{video_id}/original",
                int(1_500_000 * durations[i]),
            )

    def rendition_rows() -> Iterator[Sequence[Any]]:
        for i, video_id in enumerate(video_ids):
            for name, width, height, bandwidth in LADDER[: rungs[i]]:
                yield (
                    video_id,
                    name,
                    width,
                    height,
                    bandwidth,
                    int(bandwidth * 0.8),
                    "avc1.64001f,mp4a.40.2",
                    f"videos/{video_id}/{name}/video.mp4",
                    f"videos/{video_id}/{name}/hls/index.m3u8",
                    int(bandwidth / 8 * durations[i]),
                    created[i],
                )

    video_columns = [
        "id",
        "owner_id",
        "caption",
        "hashtags",
        "mentions",
        "visibility",
        "status",
        "status_detail",
        "width",
        "height",
        "duration_s",
        "poster_key",
        "created_at",
        "published_at",
        "like_count",
        "comment_count",
        "share_count",
        "view_count",
        "age_restricted",
        "demoted",
        "restricted_realms",
        "original_key",
        "original_size",
    ]
    rendition_columns = [
        "video_id",
        "name",
        "width",
        "height",
        "bandwidth",
        "average_bandwidth",
        "codecs",
        "mp4_key",
        "hls_key",
        "size_bytes",
        "created_at",
    ]
    with conn.transaction():
        # One projection per video after the load rather than one per row of both tables (see the docstring).
        for table, trigger in SOURCE_TRIGGERS.items():
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}".encode())
        with build.step("videos", n) as advance:
            copy_rows(conn, "videos", video_columns, video_rows(), advance)
        with build.step("renditions", int(sum(rungs))) as advance:
            copy_rows(conn, "renditions", rendition_columns, rendition_rows(), advance)
        for table, trigger in SOURCE_TRIGGERS.items():
            conn.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {trigger}".encode())
    with build.step("outbound_us.videos: reelm_project_video(id)", n) as advance:
        for start in range(0, n, 5000):
            conn.execute(
                "SELECT reelm_project_video(id) FROM unnest(%s::bigint[]) AS id",
                (video_ids[start : start + 5000],),
            )
            advance(min(5000, n - start))


def load_activity(conn: psycopg.Connection, realm: Realm, build: Build) -> None:
    viewers, creators, videos = realm.viewer_ids, realm.creator_ids, realm.video_ids
    owners = creators[realm.video_owner]
    stamps = iso(realm.ev_time)
    with build.step("follows", len(realm.follows)) as advance:
        follow_at = iso(np.full(len(realm.follows), realm.now - 10 * 86400))
        copy_rows(
            conn,
            "follows",
            ("follower_id", "followee_id", "created_at"),
            zip(
                viewers[realm.follows[:, 0]].tolist(),
                creators[realm.follows[:, 1]].tolist(),
                follow_at,
                strict=True,
            ),
            advance,
        )
    n = len(realm.ev_kind)
    kinds = [k.value for k in KINDS]
    user_ids = viewers[realm.ev_viewer].tolist()
    video_ids = videos[realm.ev_video].tolist()
    creator_ids = owners[realm.ev_video].tolist()
    kind_codes = realm.ev_kind.tolist()
    watched = realm.ev_watched.tolist()
    loops = realm.ev_loops.tolist()

    def event_rows() -> Iterator[Sequence[Any]]:
        for i in range(n):
            # client_id: a random id per event on a real client; unique per viewer is what counts.
            yield (
                user_ids[i],
                f"bench{i:011x}",
                video_ids[i],
                creator_ids[i],
                kinds[kind_codes[i]],
                watched[i],
                loops[i],
                stamps[i],
                stamps[i],
            )

    columns = (
        "user_id",
        "client_id",
        "video_id",
        "creator_id",
        "kind",
        "watched_s",
        "loops",
        "occurred_at",
        "received_at",
    )
    with build.step("watch_events", n) as advance:
        copy_rows(conn, "watch_events", columns, event_rows(), advance)
    liked = np.unique(
        np.column_stack([realm.ev_viewer, realm.ev_video])[realm.ev_kind == K[EventKind.LIKE]], axis=0
    )
    with build.step("video_likes (from like events)", len(liked)) as advance:
        copy_rows(
            conn,
            "video_likes",
            ("user_id", "video_id", "created_at"),
            zip(
                viewers[liked[:, 0]].tolist(),
                videos[liked[:, 1]].tolist(),
                itertools.repeat(stamps[-1]),
                strict=False,
            ),
            advance,
        )


def signals_sql() -> str:
    """video_signals from the events, counted as `apply_events_to_signals` counts each batch."""
    # The mapping kind -> counter of the ingestion code itself, so the two cannot drift apart.
    mapping: dict[EventKind, str] = profile_module._COUNTERS
    columns = []
    for column in COUNTER_COLUMNS:
        kinds = ", ".join(f"'{k.value}'" for k, c in mapping.items() if c == column)
        count = f"count(*) FILTER (WHERE kind IN ({kinds}))"
        if column == "likes":  # an unlike takes a like back
            count = f"greatest({count} - count(*) FILTER (WHERE kind = '{EventKind.UNLIKE.value}'), 0)"
        columns.append(count)
    return (
        f"INSERT INTO video_signals (video_id, {', '.join(COUNTER_COLUMNS)}, watched_s, updated_at) "
        f"SELECT video_id, {', '.join(columns)}, "
        f"coalesce(sum(watched_s) FILTER (WHERE kind = '{EventKind.WATCH.value}'), 0), max(received_at) "
        "FROM watch_events GROUP BY video_id"
    )


def fold_profiles(realm: Realm, build: Build) -> list[ViewerProfile]:
    """Each viewer's events through the engine's `learn`, one call per client flush, in time order."""
    video_ids = realm.video_ids.tolist()
    owners = realm.creator_ids[realm.video_owner].tolist()
    durations = realm.video_duration.tolist()
    kinds = [k.value for k in KINDS]
    order = np.lexsort((realm.ev_time, realm.ev_batch, realm.ev_viewer))
    viewer, video = realm.ev_viewer[order].tolist(), realm.ev_video[order].tolist()
    kind, batch = realm.ev_kind[order].tolist(), realm.ev_batch[order].tolist()
    watched, loops, at = (
        realm.ev_watched[order].tolist(),
        realm.ev_loops[order].tolist(),
        realm.ev_time[order],
    )
    now = datetime.fromtimestamp(realm.now, UTC)
    profiles: dict[int, ViewerProfile] = {}
    for u in np.flatnonzero(realm.picked).tolist():
        p = profiles[u] = ViewerProfile(**empty_profile_values(int(realm.viewer_ids[u]), now))
        p.picked_interests = [realm.tags[t] for t in dict.fromkeys(realm.viewer_favourites[u].tolist())]
    pending: list[StoredEvent] = []
    with build.step("viewer_profiles: profile.learn per flush", len(viewer)) as advance:
        for i in range(len(viewer)):
            v = video[i]
            pending.append(
                StoredEvent(
                    video_ids[v],
                    owners[v],
                    kinds[kind[i]],
                    watched[i],
                    loops[i],
                    durations[v],
                    realm.video_tags[v],
                )
            )
            last = i + 1 == len(viewer) or viewer[i + 1] != viewer[i] or batch[i + 1] != batch[i]
            if last:
                u = viewer[i]
                if u not in profiles:
                    profiles[u] = ViewerProfile(**empty_profile_values(int(realm.viewer_ids[u]), now))
                learn(profiles[u], pending)
                profiles[u].updated_at = datetime.fromtimestamp(float(at[i]), UTC)
                pending = []
            if i % 50_000 == 0:
                advance(min(50_000, len(viewer) - i))
    return list(profiles.values())


def load_profiles(conn: psycopg.Connection, profiles: list[ViewerProfile], build: Build) -> None:
    columns = [
        "user_id",
        "picked_interests",
        "tag_weights",
        "creator_weights",
        "recent_positive",
        "recent_seen",
        "not_interested",
        "hidden_creators",
        "events",
        "updated_at",
        "reset_at",
    ]
    rows = (
        (
            p.user_id,
            list(p.picked_interests),
            Jsonb(p.tag_weights),
            Jsonb(p.creator_weights),
            list(p.recent_positive),
            list(p.recent_seen),
            list(p.not_interested),
            list(p.hidden_creators),
            p.events,
            p.updated_at,
            None,
        )
        for p in profiles
    )
    with build.step("viewer_profiles (COPY)", len(profiles)) as advance:
        copy_rows(conn, "viewer_profiles", columns, rows, advance)


def issue_tokens(conn: psycopg.Connection, user_ids: list[int], now: datetime) -> list[str]:
    """API sessions as `do_log_in` leaves them (the token's digest stored), without hashing passwords."""
    tokens = [security.new_session_token(REALM) for _ in user_ids]
    with (
        conn.cursor() as cursor,
        cursor.copy(b"COPY sessions (token_hash, user_id, kind, created_at, expires_at) FROM STDIN") as copy,
    ):
        for token, user_id in zip(tokens, user_ids, strict=True):
            copy.write_row((security.token_digest(token), user_id, "api", now, now + timedelta(days=30)))
    return tokens


def wait_for_subscribers(conninfo: str, build: Build) -> int:
    """Until every realm subscribed to `us` has confirmed the WAL written so far: the apply workers and
    WAL senders are then idle, and they would otherwise compete for the CPU during the measurements.
    Returns the number of subscriptions (replication slots) waited for."""
    with psycopg.connect(conninfo, autocommit=True) as conn, build.step("subscribers caught up") as _:
        target = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        deadline = time.monotonic() + REPLICATION_WAIT_S
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE confirmed_flush_lsn IS NULL "
                "OR confirmed_flush_lsn < %s::pg_lsn) FROM pg_replication_slots "
                "WHERE database = current_database()",
                (target[0] if target else "0/0",),
            ).fetchone()
            if row is not None and row[1] == 0:
                return int(row[0])
            time.sleep(1)
        raise RuntimeError(
            f"the other realms did not catch up with {REALM} within {REPLICATION_WAIT_S:.0f} s"
        )


def build_realm(runtime: Runtime, sizes: Sizes, seed: int, console: Console) -> tuple[Realm, Build]:
    build = Build(console)
    code = runtime.settings.realm(REALM).code
    conninfo = runtime.realm_url(REALM)
    directory = libpq_url(runtime.databases.directory_url)
    with build.progress:
        with build.step("generate (numpy)"):
            realm = generate(sizes, seed, code)
        with (
            psycopg.connect(conninfo, autocommit=True) as conn,
            psycopg.connect(directory, autocommit=True) as dconn,
        ):
            load_users(conn, dconn, realm, build)
            load_videos(conn, realm, build, seed)
            load_activity(conn, realm, build)
            with build.step("video_signals (INSERT ... SELECT)"):
                conn.execute(signals_sql().encode())
            profiles = fold_profiles(realm, build)
            load_profiles(conn, profiles, build)
        with build.step("train (do_train)"):
            build.trained = asyncio.run(train(runtime))
        with psycopg.connect(conninfo, autocommit=True) as conn, build.step("VACUUM ANALYZE, CHECKPOINT"):
            conn.execute("VACUUM ANALYZE")
            conn.execute("CHECKPOINT")
        build.subscribers = wait_for_subscribers(conninfo, build)
    return realm, build


async def train(runtime: Runtime) -> TrainingResult:
    try:
        async with runtime.databases.transaction(REALM) as session:
            return await do_train(session)
    finally:
        await runtime.databases.dispose()  # the engines belong to this event loop; later loops open new ones


# --- in process --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageTime:
    ranker: str
    round_no: int
    page_no: int
    seconds: float
    cpu_s: float  # this process's CPU (Python, SQLAlchemy, the driver)
    items: int


@dataclass
class InProcess:
    first_page_s: float  # the engine's first page: loads the catalogue and the model
    reload_s: float  # the periodic background reload of the catalogue and the model
    reload_stall_s: float  # the longest stretch of it in which the event loop served nothing else
    catalogue_rows: int
    forced_reloads: int = 0
    tracked_objects: int = 0
    full_gc_s: float = 0.0
    sources: Counter[str] = field(default_factory=Counter)  # of the engine's items: which source chose them
    gc: dict[str, GcMeter] = field(default_factory=lambda: {"engine": GcMeter(), "gravity": GcMeter()})
    pages: list[PageTime] = field(default_factory=list)
    postgres_cpu_s: dict[tuple[str, int], float] = field(default_factory=dict)
    stages: dict[str, list[float]] = field(default_factory=dict)
    candidates: list[int] = field(default_factory=list)
    profile: str = ""
    explain: list[tuple[str, str]] = field(default_factory=list)


def feed_request(runtime: Runtime, user: User, seen: list[int]) -> FeedRequest:
    """What the For You route builds for a signed-in viewer (exclude: the cursor's remembered ids)."""
    settings = runtime.settings
    return FeedRequest(
        viewer=Viewer(user=user, realm=REALM),
        realm=REALM,
        realm_title=settings.realm(REALM).title,
        exclude=set(seen[-MAX_REMEMBERED:]),
        limit=PAGE_SIZE,
        base_url=settings.base_url,
    )


async def one_page(runtime: Runtime, ranker: FeedRanker, request: FeedRequest) -> list[FeedCandidate]:
    # One transaction per page, as the route opens it: checkout, queries and commit all count.
    async with runtime.databases.transaction(REALM) as session:
        return await ranker.rank(session, request)


async def scrolls(
    runtime: Runtime,
    ranker: FeedRanker,
    name: str,
    users: list[User],
    pages: int,
    round_no: int,
    sources: Counter[str] | None = None,
) -> list[PageTime]:
    out = []
    for user in users:
        seen: list[int] = []
        for page_no in range(1, pages + 1):
            request = feed_request(runtime, user, seen)
            cpu, started = time.process_time(), time.perf_counter()
            candidates = await one_page(runtime, ranker, request)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            out.append(PageTime(name, round_no, page_no, elapsed, cpu, len(candidates)))
            if sources is not None:
                sources.update(c.source for c in candidates)
                sources.update("(personalised)" for c in candidates if c.personalized)
            seen.extend(int(c.video.id) for c in candidates)
    return out


async def stage_times(
    runtime: Runtime, ranker: PersonalizedRanker, users: list[User], pages: int, result: InProcess
) -> None:
    """The steps of `PersonalizedRanker.rank`, called one by one (private methods on purpose: this is a
    breakdown of that method's time, so it must run exactly its steps)."""
    names = (
        "realm state (catalogue delta)",
        "viewer state query",
        "engine.shortlist",
        "cards query + re-rank",
        "commit",
    )
    result.stages = {name: [] for name in names}
    for user in users:
        seen: list[int] = []
        for _ in range(pages):
            request = feed_request(runtime, user, seen)
            marks = [time.perf_counter()]
            async with runtime.databases.transaction(REALM) as session:
                realm = await ranker._realm_state(session, REALM)
                marks.append(time.perf_counter())
                state = await load_viewer_state(session, user.id)
                marks.append(time.perf_counter())
                now = time.time()
                seed = (state.user_id or 0) * 1_000_003 + len(request.exclude)
                picks = realm.engine.shortlist(
                    state, request.exclude, "for_you", request.limit + SPARE, now, seed
                )
                marks.append(time.perf_counter())
                candidates = await ranker._cards(session, request, realm, picks, now)
                marks.append(time.perf_counter())
            marks.append(time.perf_counter())
            for name, a, b in zip(names, marks[:-1], marks[1:], strict=True):
                result.stages[name].append(b - a)
            result.candidates.append(len(realm.engine.candidates(state, "for_you", now)))
            seen.extend(int(c.video.id) for c in candidates)


async def profiled(runtime: Runtime, ranker: PersonalizedRanker, users: list[User], pages: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    await scrolls(runtime, ranker, "engine", users, pages, 0)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats("reelm", 30)
    return text.getvalue()


async def explain_page(runtime: Runtime, ranker: FeedRanker, user: User, label: str) -> list[tuple[str, str]]:
    """EXPLAIN ANALYZE of the statements one page runs, captured from the engine as the driver gets them."""
    captured: list[tuple[str, Any]] = []

    def capture(_c: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        captured.append((statement, parameters))

    from sqlalchemy import event  # noqa: PLC0415 - only this diagnostic uses it

    engine = runtime.databases.engine(REALM).sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        await one_page(runtime, ranker, feed_request(runtime, user, []))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    plans = []
    for statement, parameters in captured:
        if not statement.lstrip().upper().startswith("SELECT"):
            continue
        async with runtime.databases.transaction(REALM) as session:
            connection = await session.connection()
            rows = await connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
            plans.append((f"{label}: {' '.join(statement.split()[:6])} ...", "\n".join(r[0] for r in rows)))
    return plans


class GcMeter:
    """Seconds the interpreter spends in garbage collections, per generation (a gc.callbacks hook)."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._started
            self.count[info["generation"]] += 1

    @contextmanager
    def active(self) -> Iterator[None]:
        gc.callbacks.append(self)
        try:
            yield
        finally:
            gc.callbacks.remove(self)


async def longest_stall(work: Awaitable[None]) -> tuple[float, float]:
    """(seconds `work` took, the longest stretch during it in which the event loop ran nothing else),
    measured by a task that wakes up every millisecond."""
    longest, done = 0.0, False

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest, last = max(longest, now - last), now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker runs before the work starts
    started = time.perf_counter()
    await work
    elapsed = time.perf_counter() - started
    done = True
    await task
    return elapsed, longest


RELOAD_MARGIN_S = 150.0  # an engine block (with the profiler on, on a busy machine) takes less than this


async def keep_fresh(engine: PersonalizedRanker, result: InProcess) -> None:
    """Reload the catalogue before a measured block if its periodic reload could fall inside the block.

    The reload's own cost is measured apart (`longest_stall`); a block that happened to contain it would
    mix the two figures, and which block does would depend on how long the gravity blocks took.
    """
    state = engine._realms.get(REALM)
    if (
        state is not None
        and time.monotonic() - state.loaded_at > engine.full_reload_every_s - RELOAD_MARGIN_S
    ):
        await engine._reload_in_background(REALM)
        result.forced_reloads += 1


async def in_process(
    runtime: Runtime, sample: list[int], warm_id: int, pages: int, options: argparse.Namespace
) -> InProcess:
    try:
        async with runtime.databases.transaction(REALM) as session:
            loaded = {
                u.id: u for u in await session.scalars(select(User).where(User.id.in_([*sample, warm_id])))
            }
        users, warm = [loaded[i] for i in sample], loaded[warm_id]
        engine = PersonalizedRanker(runtime.databases)  # as create_app builds it
        gravity = GravityRanker()
        started = time.perf_counter()
        await one_page(runtime, engine, feed_request(runtime, warm, []))
        first_page_s = time.perf_counter() - started
        # What the server's background task does every full_reload_every_s, on the server's event loop.
        reload_s, stall_s = await longest_stall(engine._reload_in_background(REALM))
        result = InProcess(first_page_s, reload_s, stall_s, len(engine._realms[REALM].catalogue))
        # What one full collection costs with the catalogue and the app's modules loaded: the pause a page
        # pays when its allocations trigger one.
        result.tracked_objects = len(gc.get_objects())
        started = time.perf_counter()
        gc.collect()
        result.full_gc_s = time.perf_counter() - started
        if options.gc_freeze:
            # What-if for the report, not what the app does: everything alive now (the app's modules, the
            # catalogue) moves to the permanent generation, which later full collections skip.
            gc.freeze()
        await one_page(runtime, gravity, feed_request(runtime, warm, []))  # its statement compiled once
        postmaster = psutil.Process(runtime.server.get_pid()) if runtime.server else None
        # Round 1 engine first (its viewers' rows are read for the first time), round 2 gravity first.
        plan: list[tuple[int, str, FeedRanker]] = [
            (1, "engine", engine),
            (1, "gravity", gravity),
            (2, "gravity", gravity),
            (2, "engine", engine),
        ]
        for round_no, name, ranker in plan:
            await keep_fresh(engine, result)
            before = postgres_cpu_s(postmaster)
            with result.gc[name].active():
                result.pages += await scrolls(
                    runtime,
                    ranker,
                    name,
                    users,
                    pages,
                    round_no,
                    result.sources if name == "engine" else None,
                )
            result.postgres_cpu_s[(name, round_no)] = postgres_cpu_s(postmaster) - before
        await keep_fresh(engine, result)
        await stage_times(runtime, engine, users, pages, result)
        if options.profile:
            await keep_fresh(engine, result)
            result.profile = await profiled(runtime, engine, users, pages)
        if options.explain:
            result.explain = await explain_page(runtime, engine, users[0], "engine")
            result.explain += await explain_page(runtime, gravity, users[0], "gravity")
        return result
    finally:
        await runtime.databases.dispose()


# --- over HTTP ---------------------------------------------------------------------------------------------


def check_page(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    items = response.json().get("items")
    if not isinstance(items, list) or len(items) != PAGE_SIZE:
        return f"expected {PAGE_SIZE} items, got {len(items) if isinstance(items, list) else items!r}"
    return None


@dataclass
class Viewers:
    """Tokens handed out round-robin: each simulated client scrolls as one viewer, then takes the next."""

    tokens: list[str]
    next: int = 0

    def take(self) -> str:
        token = self.tokens[self.next % len(self.tokens)]
        self.next += 1
        return token


async def scroller(
    client: httpx.AsyncClient, viewers: Viewers, pages: int, deadline: float, phase: Phase
) -> None:
    while time.perf_counter() < deadline and not phase.errors:
        headers = {"Authorization": f"Bearer {viewers.take()}"}
        cursor: str | None = None
        for _ in range(pages):
            if time.perf_counter() >= deadline or phase.errors:
                return
            params: dict[str, str | int] = {"limit": PAGE_SIZE} | ({"cursor": cursor} if cursor else {})
            started = time.perf_counter()
            try:
                response = await client.get(FOR_YOU_PATH, params=params, headers=headers)
                problem = check_page(response)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if problem is not None:
                phase.errors.append(problem)
                return
            phase.latencies_s.append(time.perf_counter() - started)
            cursor = response.json()["next_cursor"]


async def run_scrolls(
    client: httpx.AsyncClient, viewers: Viewers, pages: int, seconds: float, concurrency: int, meter: CpuMeter
) -> Phase:
    phase = Phase("for-you")
    cpu_start = meter.snapshot()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(scroller(client, viewers, pages, deadline, phase) for _ in range(concurrency)))
    phase.elapsed_s = time.perf_counter() - started  # requests in flight at the deadline count
    phase.server_cpu_s, phase.postgres_cpu_s, phase.client_cpu_s = meter.since(cpu_start)
    if phase.errors:
        raise RuntimeError(f"for-you: {len(phase.errors)} failed request(s), first: {phase.errors[0]}")
    return phase


@dataclass
class Http:
    runs: dict[str, list[Phase]]
    first_request_s: float
    page_kib: float


async def http_load(port: int, tokens: list[str], options: argparse.Namespace, meter: CpuMeter) -> Http:
    baseline = Target("baseline", BASELINE_PATH, {}, check_constant)
    viewers = Viewers(tokens)
    limits = httpx.Limits(max_connections=options.concurrency, max_keepalive_connections=options.concurrency)
    runs: dict[str, list[Phase]] = {"baseline": [], "for-you": []}
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", limits=limits, timeout=60) as client:
        # The server's first For You page loads the catalogue and the model: alone, and timed apart.
        started = time.perf_counter()
        first = await client.get(
            FOR_YOU_PATH,
            params={"limit": PAGE_SIZE},
            headers={"Authorization": f"Bearer {tokens[0]}"},
            timeout=600,
        )
        first_request_s = time.perf_counter() - started
        if (problem := check_page(first)) is not None:
            raise RuntimeError(f"first For You page: {problem}")
        # Warm-up: keep-alive and database connections, statement caches.
        await run_phase(client, baseline, WARMUP_S, options.concurrency, meter)
        await run_scrolls(client, viewers, options.pages, WARMUP_S, options.concurrency, meter)
        for _ in range(ROUNDS):
            runs["baseline"].append(
                await run_phase(client, baseline, options.seconds, options.concurrency, meter)
            )
            runs["for-you"].append(
                await run_scrolls(client, viewers, options.pages, options.seconds, options.concurrency, meter)
            )
    return Http(runs, first_request_s, len(first.content) / 1024)


# --- report ------------------------------------------------------------------------------------------------


def pct_ms(values: Sequence[float], pct: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else math.nan
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1] * 1000


def report_build(console: Console, sizes: Sizes, realm: Realm, build: Build) -> None:
    total = sum(build.seconds.values())
    console.print(
        f"realm {REALM}: {len(realm.video_ids):,} videos by {sizes.creators:,} creators, "
        f"{len(realm.tags):,} hashtags, "
        f"{len(realm.viewer_ids):,} viewers, {len(realm.ev_kind):,} events, {len(realm.follows):,} follows; "
        f"build {total:.0f} s"
    )
    console.print("  " + ", ".join(f"{name} {s:.1f} s" for name, s in build.seconds.items()))
    console.print(f"  replication slots of {REALM} waited for: {build.subscribers}")
    if build.trained is not None:
        t = build.trained
        console.print(
            f"  model v{t.version}: {t.events_used:,} (viewer, video) positives, {t.items_with_neighbours:,} "
            f"videos with neighbours, {t.trending:,} trending"
        )


def report_in_process(console: Console, result: InProcess, options: argparse.Namespace) -> None:
    table = Table(
        title=f"In process: a For You page of {PAGE_SIZE}, "
        f"{options.sample} viewers x {options.pages} pages per round"
    )
    table.add_column("ranker")
    table.add_column("pages")
    for column in ("n", "p50 ms", "p95 ms", "p99 ms", "max ms", "CPU ms/page: python", "postgres"):
        table.add_column(column, justify="right")
    # (label, rounds, pages): which of a ranker's pages each row summarises.
    groups: list[tuple[str, tuple[int, ...], range]] = [
        ("all", (1, 2), range(1, options.pages + 1)),
        ("round 1, page 1 (cold)", (1,), range(1, 2)),
        ("round 1, pages 2+", (1,), range(2, options.pages + 1)),
        ("round 2 (warm)", (2,), range(1, options.pages + 1)),
    ]
    for name, (label, rounds, page_nos) in itertools.product(("engine", "gravity"), groups):
        chosen = [
            p for p in result.pages if p.ranker == name and p.round_no in rounds and p.page_no in page_nos
        ]
        if not chosen:
            continue
        seconds = [p.seconds for p in chosen]
        pg = ""
        if label == "all":
            pg_s = sum(v for (r, _), v in result.postgres_cpu_s.items() if r == name)
            pg = f"{pg_s / len(chosen) * 1000:.2f}"
        table.add_row(
            name,
            label,
            str(len(chosen)),
            f"{pct_ms(seconds, 50):.1f}",
            f"{pct_ms(seconds, 95):.1f}",
            f"{pct_ms(seconds, 99):.1f}",
            f"{max(seconds) * 1000:.1f}",
            f"{statistics.fmean(p.cpu_s for p in chosen) * 1000:.2f}",
            pg,
        )
    console.print(table)
    engine = [p.seconds for p in result.pages if p.ranker == "engine" and p.round_no > 0]
    gravity = [p.seconds for p in result.pages if p.ranker == "gravity" and p.round_no > 0]
    short = sum(1 for p in result.pages if p.items < PAGE_SIZE)
    p99 = pct_ms(engine, 99)
    verdict = "[green]meets[/]" if p99 <= P99_TARGET_MS else "[red]misses[/]"
    console.print(
        f"engine p99 {p99:.1f} ms ({verdict} target <= {P99_TARGET_MS:.0f} ms); engine / gravity: "
        f"p50 {pct_ms(engine, 50) / pct_ms(gravity, 50):.3f}, p99 {p99 / pct_ms(gravity, 99):.3f}; "
        f"pages short of {PAGE_SIZE} items: {short}"
    )
    console.print(
        f"engine's first page (loads catalogue + model): {result.first_page_s:.2f} s for "
        f"{result.catalogue_rows:,} videos; the periodic reload (every "
        f"{PersonalizedRanker.full_reload_every_s:.0f} s, a task on the same event loop) took "
        f"{result.reload_s:.2f} s and blocked the event loop for up to {result.reload_stall_s:.2f} s at a "
        f"stretch; reloads forced between blocks so none fell inside one: {result.forced_reloads}"
    )
    served = sum(n for source, n in result.sources.items() if not source.startswith("("))
    console.print(
        "engine items by source: "
        + ", ".join(f"{source} {n / served:.0%}" for source, n in result.sources.most_common())
    )
    console.print(
        f"objects tracked by the garbage collector: {result.tracked_objects:,}; one full collection: "
        f"{result.full_gc_s * 1000:.0f} ms"
        + (
            "; then gc.freeze() (--gc-freeze, an experiment: the app does not do this)"
            if options.gc_freeze
            else ""
        )
    )
    for name, meter in result.gc.items():
        n = sum(1 for p in result.pages if p.ranker == name and p.round_no > 0)
        console.print(
            f"garbage collection during {name} pages: {sum(meter.seconds) / n * 1000:.2f} ms per page "
            f"(collections by generation {meter.count[0]} / {meter.count[1]} / {meter.count[2]}, "
            f"{meter.seconds[2] * 1000:.0f} ms in generation 2)"
        )
    stages = Table(title="Engine page, step by step (the steps of PersonalizedRanker.rank)")
    stages.add_column("step")
    for column in ("p50 ms", "p99 ms", "mean ms"):
        stages.add_column(column, justify="right")
    for name, values in result.stages.items():
        stages.add_row(
            name,
            f"{pct_ms(values, 50):.2f}",
            f"{pct_ms(values, 99):.2f}",
            f"{statistics.fmean(values) * 1000:.2f}",
        )
    console.print(stages)
    console.print(
        f"candidates per page before filters: median {statistics.median(result.candidates):.0f}, "
        f"max {max(result.candidates)}"
    )
    if result.profile:
        console.print(result.profile, markup=False, highlight=False)
    for label, plan in result.explain:
        console.print(f"--- EXPLAIN ANALYZE {label}", markup=False, highlight=False)
        console.print(plan, markup=False, highlight=False)


def report_http(console: Console, http: Http, options: argparse.Namespace) -> None:
    best = {name: max(phases, key=lambda p: p.rps) for name, phases in http.runs.items()}
    table = Table(
        title=f"Over HTTP (best of {ROUNDS} runs of {options.seconds:g} s, "
        f"concurrency {options.concurrency})",
        caption=f"baseline: GET {BASELINE_PATH}; for-you: GET {FOR_YOU_PATH}?limit={PAGE_SIZE}, "
        f"{options.sample} viewers, scrolls of {options.pages} pages",
    )
    table.add_column("endpoint")
    for column in ("req/s", "p50 ms", "p99 ms", "runs req/s", "CPU ms/req: uvicorn", "postgres", "client"):
        table.add_column(column, justify="right")
    for name, phase in best.items():
        table.add_row(
            name,
            f"{phase.rps:.1f}",
            f"{phase.percentile_ms(50):.1f}",
            f"{phase.percentile_ms(99):.1f}",
            " / ".join(f"{p.rps:.0f}" for p in http.runs[name]),
            f"{phase.cpu_ms_per_request(phase.server_cpu_s):.2f}",
            f"{phase.cpu_ms_per_request(phase.postgres_cpu_s):.2f}",
            f"{phase.cpu_ms_per_request(phase.client_cpu_s):.2f}",
        )
    console.print(table)
    base, feed = best["baseline"], best["for-you"]

    def server_ms(phase: Phase) -> float:
        return phase.cpu_ms_per_request(phase.server_cpu_s + phase.postgres_cpu_s)

    console.print(
        f"for-you / baseline throughput: {feed.rps / base.rps:.3f}; "
        "server CPU per request (uvicorn + postgres), "
        f"baseline / for-you: {server_ms(base) / server_ms(feed):.3f}; first page (catalogue load in the "
        f"server): {http.first_request_s:.2f} s; page size {http.page_kib:.1f} KiB"
    )


# --- main --------------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=100_000, help="READY public videos in the realm")
    parser.add_argument("--viewers", type=int, default=10_000, help="viewers with events and profiles")
    parser.add_argument("--events", type=int, default=1_000_000, help="watch events")
    parser.add_argument("--creators", type=int, default=None, help="creators (default: videos / 50)")
    parser.add_argument(
        "--quick", action="store_true", help="10k videos, 1k viewers, 100k events, 5 s phases"
    )
    parser.add_argument("--sample", type=int, default=100, help="viewers measured (in process and over HTTP)")
    parser.add_argument("--pages", type=int, default=3, help="pages per scroll, following the exclude set")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each HTTP phase")
    parser.add_argument("--concurrency", type=int, default=16, help="simultaneous HTTP clients")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the synthetic realm")
    parser.add_argument("--profile", action="store_true", help="cProfile the engine's pages")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE one page of each ranker")
    parser.add_argument("--skip-http", action="store_true", help="in-process measurements only")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="experiment: gc.freeze() after the in-process catalogue load"
    )
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "DATA_DIR"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.quick:
        options.videos, options.viewers, options.events = 10_000, 1_000, 100_000
        options.seconds = min(options.seconds, 5.0)
    options.creators = options.creators or max(20, options.videos // 50)
    options.sample = min(options.sample, options.viewers - 1)
    return options


def bench(options: argparse.Namespace, data_dir: Path, console: Console) -> None:
    sizes = Sizes(options.videos, options.viewers, options.events, options.creators)
    started = time.perf_counter()
    runtime = start_runtime(bench_settings(data_dir))
    console.print(f"embedded PostgreSQL started and migrated in {time.perf_counter() - started:.1f} s")
    try:
        realm, build = build_realm(runtime, sizes, options.seed, console)
        report_build(console, sizes, realm, build)
        rng = np.random.default_rng(options.seed + 2)
        chosen = rng.choice(len(realm.viewer_ids), size=options.sample + 1, replace=False)
        sample, warm = realm.viewer_ids[chosen[1:]].tolist(), int(realm.viewer_ids[chosen[0]])
        # The build's Python objects (a tuple of hashtags per video ...) would lengthen every full garbage
        # collection measured below, which a server process does not hold.
        del realm
        gc.collect()
        result = asyncio.run(in_process(runtime, sample, warm, options.pages, options))
        report_in_process(console, result, options)
        if options.skip_http:
            return
        with psycopg.connect(runtime.realm_url(REALM), autocommit=True) as conn:
            tokens = issue_tokens(conn, sample, datetime.now(UTC))
        port = free_port()
        server = start_server(Path(__file__).resolve(), port, data_dir)
        try:
            meter = CpuMeter(server.pid, runtime.server.get_pid() if runtime.server else None)
            http = asyncio.run(http_load(port, tokens, options, meter))
        finally:
            stop_server(server)
        report_http(console, http, options)
    finally:
        if runtime.server is not None:
            runtime.server.cleanup()  # the last handle: stops PostgreSQL before its directory is removed


def main() -> None:
    options = parse_args()
    if options.serve:
        serve(int(options.serve[0]), Path(options.serve[1]))  # bench/feed.py's app + /bench/constant
        return
    console = Console(width=max(Console().width, 130))  # not the 80 columns of a pipe: the tables must fit
    with tempfile.TemporaryDirectory(prefix="reelm-bench-recs-serving-") as tmp:
        bench(options, Path(tmp) / "data", console)
    console.print(machine_note(f"numpy {np.__version__}"))


if __name__ == "__main__":
    main()
