"""The rollup in the creator's own realm: generated sessions give exactly the figures computed from them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from reelm.analytics.models import AnalyticsCell, AnalyticsDim
from reelm.analytics.release import roll_up
from reelm.events.models import WatchEvent
from reelm.runtime import Runtime
from tests.analytics.sessions import accounts, creator_video, expected, generate, send_sessions
from tests.factories import make_tiny_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("analytics"))


async def test_sessions_roll_up_to_the_figures_they_describe(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    _, video = await creator_video(client, runtime, clip)
    viewers = generate(await accounts(client, "fan", 6), seed=17)
    await send_sessions(client, viewers[:3], video)
    assert await roll_up(runtime, "us") > 0
    await send_sessions(client, viewers[3:], video)  # a second sweep adds to the same cells
    await roll_up(runtime, "us")
    assert await roll_up(runtime, "us") == 0  # nothing new: nothing read again
    want = expected(viewers)
    async with runtime.databases.read("us") as session:
        c = AnalyticsCell
        totals = (
            await session.execute(
                select(
                    func.sum(c.views),
                    func.sum(c.new_viewers),
                    func.sum(c.watch_s),
                    func.sum(c.full_views),
                    func.sum(c.pct_sum),
                    func.sum(c.likes),
                    func.sum(c.shares),
                    func.sum(c.follows),
                ).where(c.video_id == int(video), c.grain == "h")
            )
        ).one()
        stops = (await session.scalars(select(c.stops).where(c.video_id == int(video), c.grain == "d"))).all()
        sources = dict(
            (
                await session.execute(
                    select(AnalyticsDim.value, func.sum(AnalyticsDim.views))
                    .where(AnalyticsDim.video_id == int(video), AnalyticsDim.dimension == "source")
                    .group_by(AnalyticsDim.value)
                )
            ).all()
        )
    views, new, watch_s, full, pct, likes, shares, follows = totals
    assert (views, new, full, likes, shares, follows) == (
        want.views,
        want.viewers,
        want.full_views,
        want.likes,
        want.shares,
        want.follows,
    )
    assert watch_s == pytest.approx(want.watch_s)
    assert pct / int(views) == pytest.approx(want.avg_pct)
    histogram = [0] * 13
    for day in stops:
        for second, n in enumerate(day or ()):
            histogram[second] += n
    retention = [sum(histogram[t:]) / int(views) for t in range(13)]
    assert retention == pytest.approx(want.retention)
    assert {k: int(v) for k, v in sources.items()} == want.sources


async def test_a_traffic_source_is_one_the_player_knows(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    _, video = await creator_video(client, runtime, clip)
    (viewer,) = await accounts(client, "fan", 1)
    known = {"id": "known-source-1", "video_id": video, "kind": "play", "source": "hashtag"}
    unknown = {"id": "unknown-source", "video_id": video, "kind": "play", "source": "television"}
    refused = await client.post("/api/v1/events", json={"events": [known, unknown]}, headers=viewer.auth)
    assert refused.status_code == 422
    assert "events.1.source" in refused.text
    taken = await client.post("/api/v1/events", json={"events": [known]}, headers=viewer.auth)
    assert taken.json() == {"accepted": 1, "duplicates": 0}
    async with runtime.databases.read("us") as session:
        stored = await session.scalar(
            select(WatchEvent.source).where(WatchEvent.client_id == "known-source-1")
        )
    assert stored == "hashtag"
