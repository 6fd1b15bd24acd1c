"""The studio's analytics API and pages: the creator's own figures only, every chart as CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest

from reelm.analytics.release import roll_up
from reelm.runtime import Runtime
from tests.analytics.sessions import accounts, creator_video, expected, generate, send_sessions
from tests.conftest import make_account
from tests.factories import assert_problem, make_tiny_clip

API = "/api/v1/studio/analytics"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("analytics-api"))


async def test_a_creator_reads_their_figures_and_exports_every_chart(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator, video = await creator_video(client, runtime, clip)
    viewers = generate(await accounts(client, "fan", 5), seed=3)
    await send_sessions(client, viewers, video)
    for viewer in viewers[:2]:  # two of them follow the creator: they count as active followers
        follow = await client.post(f"/api/v1/users/{creator.handle}/follow", headers=viewer.account.auth)
        assert follow.status_code in (200, 201, 204), follow.text
    await send_sessions(client, viewers[:2], video)
    await roll_up(runtime, "us")
    want = expected([*viewers, *viewers[:2]])

    mine = await client.get(
        f"{API}/videos/{video}", params={"period": "7d", "tz": "Europe/Berlin"}, headers=creator.auth
    )
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["totals"]["views"] == want.views
    assert body["totals"]["unique_viewers"] == len(viewers)
    assert body["totals"]["watched_in_full"] == pytest.approx(want.full_views / want.views, abs=1e-4)
    assert body["retention"] == pytest.approx(want.retention, abs=1e-4)
    assert {s["value"]: s["views"] for s in body["sources"]} == want.sources
    assert body["realms"] == [{"value": "us", "views": want.views, "share": 1.0}]
    assert sum(d["views"] for d in body["days"]) == want.views

    account = await client.get(API, params={"period": "28d"}, headers=creator.auth)
    assert account.status_code == 200, account.text
    figures = account.json()
    assert figures["totals"]["views"] == want.views
    assert [t["id"] for t in figures["top_videos"]] == [video]
    assert sum(c["followers"] for c in figures["heatmap"]) == 2  # two followers active, once each
    assert len(figures["heatmap"]) == 7 * 24
    assert figures["followers"][-1]["followers"] == 2
    assert sum(d["new_followers"] for d in figures["followers"]) == 2

    for chart in ("days", "followers", "top_videos", "heatmap", "sources", "countries", "realms"):
        exported = await client.get(f"{API}/export.csv", params={"chart": chart}, headers=creator.auth)
        assert exported.status_code == 200, exported.text
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(exported.text)))
        assert len(rows) >= 2, (chart, rows)
    retention = await client.get(
        f"{API}/videos/{video}/export.csv", params={"chart": "retention"}, headers=creator.auth
    )
    rows = list(csv.reader(io.StringIO(retention.text)))
    assert rows[0] == ["second", "still_watching"]
    assert [float(r[1]) for r in rows[1:]] == pytest.approx(want.retention, abs=1e-4)

    page = await client.get("/studio/analytics", headers=creator.auth)
    assert page.status_code == 200
    assert 'data-testid="chart-heatmap"' in page.text
    assert "<svg" in page.text
    video_page = await client.get(f"/studio/analytics/videos/{video}", headers=creator.auth)
    assert video_page.status_code == 200
    assert 'data-testid="chart-retention"' in video_page.text


async def test_only_the_creator_reads_a_videos_figures(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    creator, video = await creator_video(client, runtime, clip)
    other = await make_account(client, "other")
    abroad = await make_account(client, "abroad", country="FR")
    assert_problem(await client.get(f"{API}/videos/{video}"), 401, "login-required")
    assert_problem(await client.get(API), 401, "login-required")
    assert_problem(await client.get(f"{API}/videos/{video}", headers=other.auth), 403, "forbidden")
    assert_problem(await client.get(f"{API}/videos/{video}", headers=abroad.auth), 403, "forbidden")
    assert_problem(
        await client.get(
            f"{API}/videos/{video}/export.csv", params={"chart": "retention"}, headers=other.auth
        ),
        403,
        "forbidden",
    )
    # Someone else's dashboard is their own (empty), never the creator's.
    theirs = await client.get(API, headers=other.auth)
    assert theirs.json()["top_videos"] == []
    page = await client.get(f"/studio/analytics/videos/{video}", headers=other.auth)
    assert page.status_code == 403
    bad = await client.get(
        API, params={"period": "custom", "start": "2026-01-10", "end": "2026-01-01"}, headers=creator.auth
    )
    assert bad.status_code == 422
    for start in ("2026-02-31", "0", "1767225600"):  # not a day; seconds are not a day either
        wrong = await client.get(
            API, params={"period": "custom", "start": start, "end": "2026-03-01"}, headers=creator.auth
        )
        assert wrong.status_code == 422, (start, wrong.text)
    zone = await client.get(API, params={"tz": "Mars/Olympus"}, headers=creator.auth)
    assert zone.status_code == 422
    custom = await client.get(
        API, params={"period": "custom", "start": "2026-01-01", "end": "2026-01-31"}, headers=creator.auth
    )
    assert custom.status_code == 200
    assert len(custom.json()["days"]) == 31
