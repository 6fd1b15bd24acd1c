"""Raw events stay in the viewer's realm; only aggregates of ten or more viewers cross, counted, and none of
them lets one viewer's activity be singled out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from reelm.analytics import release
from reelm.analytics.models import AnalyticsPending, AnalyticsPendingActive
from reelm.analytics.release import ANALYTICS, roll_up
from reelm.crossrealm.models import RealmFlow
from reelm.events.models import WatchEvent
from reelm.residency.scan import check
from reelm.runtime import Runtime
from tests.analytics.sessions import Session, Viewer, accounts, creator_video, send_sessions
from tests.factories import eventually, make_tiny_clip, take_deliveries, transit_ready

API = "/api/v1/studio/analytics"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("analytics-realms"))


async def analytics_flows(runtime: Runtime) -> int:
    async with runtime.databases.read("us") as session:
        rows = await session.scalar(
            select(func.coalesce(func.sum(RealmFlow.rows), 0)).where(
                RealmFlow.relation == ANALYTICS, RealmFlow.source_realm == "eu"
            )
        )
    return int(rows or 0)


async def test_only_suppressed_aggregates_cross_to_the_creators_realm(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await transit_ready(runtime)
    sent: list[dict[str, Any]] = []
    deliver = release.deliver  # type: ignore[attr-defined]  # imported there from reelm.crossrealm

    async def recorded(session: Any, **kwargs: Any) -> None:  # the real delivery, whose payload we also read
        sent.append(kwargs["payload"])
        await deliver(session, **kwargs)

    monkeypatch.setattr(release, "deliver", recorded)
    # Twelve people log in from the test's one address within a minute: more than its log-in limit allows.
    monkeypatch.setattr(runtime.settings, "login_attempts_per_minute", 100)
    creator, video = await creator_video(client, runtime, clip)
    people = await accounts(client, "eu", 11, country="FR")  # home realm eu

    async def visible() -> bool:
        return (await client.get(f"/api/v1/videos/{video}", headers=people[0].auth)).status_code == 200

    await eventually(visible)
    # Nine viewers from For You; the tenth alone comes from an embed (a value only one viewer has).
    viewers = [Viewer(p, [Session(6.0, 0, "for_you")]) for p in people[:9]]
    lone = Viewer(people[9], [Session(12.0, 1, "embed")])
    await send_sessions(client, viewers, video)
    await roll_up(runtime, "eu")
    assert sent == []  # nine viewers: nothing leaves
    assert await analytics_flows(runtime) == 0
    async with runtime.databases.read("eu") as session:
        assert await session.scalar(select(func.count()).select_from(AnalyticsPending)) == 9

    await send_sessions(client, [lone], video)
    await roll_up(runtime, "eu")
    assert len(sent) == 1
    (payload,) = sent
    (released,) = payload["releases"]
    assert released["viewers"] == 10
    assert released["views"] == 10
    # The lone embed viewer is merged: no value of any dimension describes fewer than ten viewers.
    assert released["dims"]["source"] == {"other": [10, pytest.approx(66.0)]}
    assert released["dims"]["country"] == {"FR": [10, pytest.approx(66.0)]}
    text = repr(payload)
    for person in [*people, creator]:
        if person is not creator:
            assert person.id not in text  # no viewer named, ever
            assert person.handle not in text

    async def arrived() -> bool:
        await take_deliveries(runtime)
        return await analytics_flows(runtime) == 1

    await eventually(arrived)
    figures = (await client.get(f"{API}/videos/{video}", headers=creator.auth)).json()
    assert figures["totals"]["views"] == 10
    assert figures["realms"] == [{"value": "eu", "views": 10, "share": 1.0}]
    assert [s["value"] for s in figures["sources"]] == ["other"]

    # An eleventh viewer alone: held in eu, nothing crosses, the creator's figures do not move, so what the
    # creator sees cannot be compared before and after to isolate one person.
    await send_sessions(client, [Viewer(people[10], [Session(3.0, 0, "search")])], video)
    await roll_up(runtime, "eu")
    assert len(sent) == 1
    await take_deliveries(runtime)
    again = (await client.get(f"{API}/videos/{video}", headers=creator.auth)).json()
    assert again["totals"] == figures["totals"]

    async with runtime.databases.read("us") as session:  # raw events never reached the creator's realm
        assert await session.scalar(select(func.count()).select_from(WatchEvent)) == 0
    report = await check(runtime)
    assert report.ok, report.findings


async def test_followers_activity_crosses_per_closed_hour_ten_or_more(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await transit_ready(runtime)
    monkeypatch.setattr(runtime.settings, "login_attempts_per_minute", 100)
    creator, video = await creator_video(client, runtime, clip)
    people = await accounts(client, "eu", 11, country="FR")

    async def visible() -> bool:
        return (await client.get(f"/api/v1/videos/{video}", headers=people[0].auth)).status_code == 200

    await eventually(visible)
    now = datetime.now(UTC)
    for n, person in enumerate(people):
        followed = await client.post(f"/api/v1/users/{creator.handle}/follow", headers=person.auth)
        assert followed.status_code in (200, 201, 204), followed.text
        # Ten followers active in the last hour (closed), the eleventh alone in the hour before it.
        at = now - timedelta(hours=1 if n < 10 else 2)
        event = {"id": uuid.uuid4().hex, "video_id": video, "kind": "impression", "at": at.isoformat()}
        sent = await client.post("/api/v1/events", json={"events": [event]}, headers=person.auth)
        assert sent.status_code == 200, sent.text
    await roll_up(runtime, "eu")

    async def heat() -> int:
        await take_deliveries(runtime)
        figures = (await client.get(API, params={"period": "7d"}, headers=creator.auth)).json()
        return sum(cell["followers"] for cell in figures["heatmap"])

    await eventually(lambda: _equals(heat, 10))
    async with runtime.databases.read("eu") as session:  # the lone hour was dropped, not kept to cross later
        assert await session.scalar(select(func.count()).select_from(AnalyticsPendingActive)) == 0


async def _equals(read: Any, value: int) -> bool:
    return bool(await read() == value)
