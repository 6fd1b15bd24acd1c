"""Generated viewer sessions with known watch patterns, and the figures they must give, computed here from the
sessions themselves (not with the rollup's code)."""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import update

from reelm.runtime import Runtime
from reelm.videos.models import Video
from tests.conftest import Account, make_account
from tests.factories import eventually, publish

DURATION_S = 12.0  # the video's length as the analytics read it
SOURCES = ("for_you", "following", "profile", "search", "hashtag", "sound", "share_link", "embed", "external")


@dataclass(frozen=True)
class Session:
    watched_s: float
    loops: int
    source: str | None
    kind: str = "watch"


@dataclass
class Viewer:
    account: Account
    sessions: list[Session] = field(default_factory=list)
    likes: int = 0
    shares: int = 0
    follows: int = 0


def generate(accounts: list[Account], seed: int, *, sources: tuple[str, ...] = SOURCES) -> list[Viewer]:
    """One to three sessions per viewer: some quick skips, some partial, some watched in full or looped."""
    rng = random.Random(seed)
    viewers = []
    for account in accounts:
        viewer = Viewer(account)
        for _ in range(rng.randint(1, 3)):
            shape = rng.random()
            if shape < 0.2:
                viewer.sessions.append(
                    Session(round(rng.uniform(0.1, 1.9), 1), 0, rng.choice(sources), "skip")
                )
            elif shape < 0.6:
                viewer.sessions.append(Session(round(rng.uniform(2.0, 11.4), 1), 0, rng.choice(sources)))
            else:
                loops = rng.randint(0, 2)
                watched = DURATION_S * (loops + 1) - (0.3 if loops == 0 else rng.uniform(0, 3))
                viewer.sessions.append(Session(round(watched, 1), loops, rng.choice((*sources, None))))
        viewer.likes = int(rng.random() < 0.5)
        viewer.shares = int(rng.random() < 0.3)
        viewer.follows = int(rng.random() < 0.2)
        viewers.append(viewer)
    return viewers


def reached(session: Session) -> float:
    """How far into the video the session got: all of it when it looped or stopped within half a second of the
    end, else the seconds watched."""
    if session.loops > 0 or session.watched_s >= DURATION_S - 0.5:
        return DURATION_S
    return min(session.watched_s, DURATION_S)


@dataclass(frozen=True)
class Expected:
    views: int
    viewers: int
    watch_s: float
    full_views: int
    avg_pct: float
    retention: list[float]  # share of views still watching at each whole second 0..12
    sources: dict[str, int]
    likes: int
    shares: int
    follows: int


def expected(viewers: list[Viewer]) -> Expected:
    sessions = [s for v in viewers for s in v.sessions]
    points = [reached(s) for s in sessions]
    retention = [sum(1 for p in points if p >= t) / len(points) for t in range(math.floor(DURATION_S) + 1)]
    sources: dict[str, int] = {}
    for s in sessions:
        key = s.source or "unknown"
        sources[key] = sources.get(key, 0) + 1
    return Expected(
        views=len(sessions),
        viewers=sum(1 for v in viewers if v.sessions),
        watch_s=sum(s.watched_s for s in sessions),
        full_views=sum(1 for p in points if p == DURATION_S),
        avg_pct=sum(p / DURATION_S for p in points) / len(points),
        retention=retention,
        sources=sources,
        likes=sum(v.likes for v in viewers),
        shares=sum(v.shares for v in viewers),
        follows=sum(v.follows for v in viewers),
    )


def events_of(viewer: Viewer, video_id: str) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []

    def add(kind: str, **extra: object) -> None:
        events.append({"id": uuid.uuid4().hex, "video_id": video_id, "kind": kind, **extra})

    for s in viewer.sessions:
        source = {"source": s.source} if s.source else {}
        add("impression", **source)
        add("play", **source)
        add(s.kind, watched_s=s.watched_s, loops=s.loops, **source)
    for kind, n in (("like", viewer.likes), ("share", viewer.shares), ("follow", viewer.follows)):
        for _ in range(n):
            add(kind)
    return events


async def send_sessions(client: httpx.AsyncClient, viewers: list[Viewer], video_id: str) -> None:
    for viewer in viewers:
        response = await client.post(
            "/api/v1/events", json={"events": events_of(viewer, video_id)}, headers=viewer.account.auth
        )
        assert response.status_code == 200, response.text
        assert response.json()["duplicates"] == 0


async def creator_video(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, handle: str = "maker"
) -> tuple[Account, str]:
    """A creator and a published video whose length the analytics read as DURATION_S (the tiny test clip is
    one second long; transcoding a twelve-second one would only slow the tests down)."""
    creator = await make_account(client, handle)
    video = await publish(client, runtime, creator, clip, caption="retention #test")

    async def ready() -> bool:  # a live server's own worker may be the one transcoding it
        answer = await client.get(f"/api/v1/videos/{video}", headers=creator.auth)
        return answer.status_code == 200 and answer.json()["status"] == "ready"

    await eventually(ready, seconds=60)
    async with runtime.databases.transaction(creator.realm) as session:
        await session.execute(update(Video).where(Video.id == int(video)).values(duration_s=DURATION_S))
    return creator, video


async def accounts(client: httpx.AsyncClient, prefix: str, n: int, *, country: str = "US") -> list[Account]:
    return [await make_account(client, f"{prefix}{i}", country=country) for i in range(n)]
