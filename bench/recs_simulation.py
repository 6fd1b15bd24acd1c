# ruff: noqa: E402 - the reelm imports follow the sys.path and warnings set-up below
"""For You quality in a seeded simulation: the engine against random and popularity feeds, in the same run.

    .venv/bin/python bench/recs_simulation.py [--viewers 60] [--rounds 12] [--seed 1]

Each policy gets its own realm (engine: us, popularity: eu, random: global), so their events, counters,
profiles and models never mix, while all three serve the same catalogue (public videos are every realm's).
Viewers have hidden tastes over hashtags; creators have a hidden quality and a follower count (a few famous,
most small). Every round each viewer asks for a page of 10, "watches" it (complete with a probability from
taste and quality, like, skip) and reports the events through the real ingestion code; models retrain every
4 rounds through the real training code. New creators publish after round 2, one of them a hidden gem (high
quality, no followers). Reported: completion rate, like rate, share of impressions of creators with fewer
than 100 followers, and the round in which the gem is discovered (10 impressions and 3 likes in the realm).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import tempfile
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

from feed import TAGS, bench_settings, make_video, sign_up
from sqlalchemy import update

from reelm.accounts.models import User
from reelm.accounts.viewer import Viewer
from reelm.events.schemas import EventBatchIn
from reelm.recommend.candidates import FeedRequest
from reelm.recommend.ingest import do_ingest_events
from reelm.recommend.ranker import PersonalizedRanker
from reelm.recommend.training import do_train
from reelm.runtime import Runtime
from reelm.startup import start_runtime

POLICIES = {"engine": ("us", "US"), "popularity": ("eu", "FR"), "random": ("global", "JP")}
PAGE = 10
SMALL = 100


@dataclass
class Creator:
    user: User
    quality: float
    followers: int
    tags: list[str]


@dataclass
class Tally:
    impressions: int = 0
    completions: int = 0
    likes: int = 0
    small: int = 0
    gem_impressions: int = 0
    gem_likes: int = 0
    gem_found: int | None = None
    seen: dict[int, set[int]] = field(default_factory=dict)


def watch_probability(taste: dict[str, float], tags: list[str], quality: float) -> float:
    affinity = sum(taste.get(t, 0.0) for t in tags) / max(1, len(tags))
    return 1 / (1 + math.exp(-(3.0 * affinity + 2.0 * quality - 2.2)))


async def run(options: argparse.Namespace, runtime: Runtime) -> dict[str, Tally]:
    rng = random.Random(options.seed)
    creators: list[Creator] = []
    for i in range(30):
        user = await sign_up(runtime, f"sim_creator{i:02d}")
        followers = int(rng.paretovariate(0.8) * 20)  # most small, a few famous
        creators.append(Creator(user, rng.betavariate(2, 3), followers, rng.sample(TAGS, 2)))
    viewers: dict[str, list[tuple[User, dict[str, float]]]] = {}
    for policy, (_, country) in POLICIES.items():
        viewers[policy] = []
        for i in range(options.viewers):
            user = await do_sign_up_quick(runtime, f"sim_{policy[:3]}_{i:03d}", country)
            favourites = rng.sample(TAGS, 2)
            viewers[policy].append((user, {t: (1.0 if t in favourites else -0.3) for t in TAGS}))
    code = runtime.settings.realm("us").code
    videos: dict[int, tuple[Creator, list[str]]] = {}

    async def publish(creator: Creator, count: int, *, new: bool = False) -> None:
        now = datetime.now(UTC)
        batch = []
        for _ in range(count):
            video = make_video(rng, code, creator.user.id, now)
            # The established catalogue is 1-10 days old; a brand-new creator's videos are just out.
            age = timedelta(minutes=rng.uniform(1, 30)) if new else timedelta(hours=rng.uniform(24, 240))
            video.published_at = now - age
            video.created_at = video.published_at - timedelta(minutes=2)
            video.hashtags = [rng.choice(creator.tags)]
            video.like_count = int(creator.followers * rng.uniform(0.05, 0.2))  # fame shows in public counts
            video.view_count = creator.followers * 5
            video.comment_count = video.share_count = 0
            batch.append(video)
            videos[video.id] = (creator, video.hashtags)
        async with runtime.databases.transaction("us") as session:
            session.add_all(batch)
            await session.execute(
                update(User).where(User.id == creator.user.id).values(follower_count=creator.followers)
            )

    for creator in creators:
        await publish(creator, 8)
    ranker = PersonalizedRanker(runtime.databases, model_check_every_s=0.0)
    tallies = {policy: Tally() for policy in POLICIES}
    gem: Creator | None = None
    for round_no in range(1, options.rounds + 1):
        if round_no == 3:  # brand-new creators, one of them a hidden gem
            for i in range(4):
                user = await sign_up(runtime, f"sim_new{i}")
                new = Creator(user, 0.95 if i == 0 else rng.betavariate(2, 3), 0, rng.sample(TAGS, 2))
                creators.append(new)
                await publish(new, 3, new=True)
                gem = gem or new
        for policy, (realm, _) in POLICIES.items():
            tally = tallies[policy]
            for user, taste in viewers[policy]:
                seen = tally.seen.setdefault(user.id, set())
                viewer = Viewer(user=user, realm=realm)
                async with runtime.databases.transaction(realm) as session:
                    if policy == "random":
                        pool = [v for v in videos if v not in seen]
                        picked = rng.sample(pool, min(PAGE, len(pool)))
                    else:
                        request = FeedRequest(
                            viewer,
                            realm,
                            realm,
                            set(),
                            PAGE,
                            "http://bench",
                            "for_you" if policy == "engine" else "popular",
                        )
                        picked = [int(c.video.id) for c in await ranker.rank(session, request)]
                events = []
                for video_id in picked:
                    creator, tags = videos[video_id]
                    seen.add(video_id)
                    tally.impressions += 1
                    tally.small += creator.followers < SMALL
                    events.append({"id": uuid.uuid4().hex, "video_id": str(video_id), "kind": "impression"})
                    complete = rng.random() < watch_probability(taste, tags, creator.quality)
                    liked = complete and rng.random() < 0.15 + 0.5 * creator.quality
                    kind = "complete" if complete else "skip"
                    events.append({"id": uuid.uuid4().hex, "video_id": str(video_id), "kind": kind})
                    if liked:
                        events.append({"id": uuid.uuid4().hex, "video_id": str(video_id), "kind": "like"})
                    tally.completions += complete
                    tally.likes += liked
                    if creator is gem:
                        tally.gem_impressions += 1
                        tally.gem_likes += liked
                if events:
                    async with runtime.databases.transaction(realm) as session:
                        await do_ingest_events(
                            session, user.id, EventBatchIn.model_validate({"events": events})
                        )
            if tally.gem_found is None and tally.gem_impressions >= 10 and tally.gem_likes >= 3:
                tally.gem_found = round_no
        if round_no % 4 == 0:
            for realm, _ in POLICIES.values():
                async with runtime.databases.transaction(realm) as session:
                    await do_train(session)
    return tallies


async def run_and_close(options: argparse.Namespace, runtime: Runtime) -> dict[str, Tally]:
    try:
        return await run(options, runtime)
    finally:
        await runtime.close()


async def do_sign_up_quick(runtime: Runtime, handle: str, country: str) -> User:
    from reelm.accounts.service import do_sign_up  # noqa: PLC0415 - same as feed.sign_up, another country

    return await do_sign_up(
        runtime,
        handle=handle,
        email=f"{handle}@bench.example",
        password="bench-password-0123",
        country=country,
        display_name=None,
    )


def report(tallies: dict[str, Tally], options: argparse.Namespace) -> None:
    print(f"viewers per policy {options.viewers}, rounds {options.rounds}, seed {options.seed}")
    print("| feed | impressions | completion rate | like rate | small creators' share | gem found in round |")
    print("|---|---:|---:|---:|---:|---:|")
    for policy, t in tallies.items():
        found = "never" if t.gem_found is None else str(t.gem_found)
        n = t.impressions
        rates = f"{t.completions / n:.3f} | {t.likes / n:.3f} | {t.small / n:.3f}"
        gem = f"{found} (gem: {t.gem_impressions} impressions, {t.gem_likes} likes)"
        print(f"| {policy} | {t.impressions} | {rates} | {gem} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reelm-bench-recs-") as tmp:
        runtime = start_runtime(bench_settings(Path(tmp) / "data"))
        try:
            tallies = asyncio.run(run_and_close(options, runtime))
        finally:
            if runtime.server is not None:
                runtime.server.cleanup()
    report(tallies, options)


if __name__ == "__main__":
    main()
