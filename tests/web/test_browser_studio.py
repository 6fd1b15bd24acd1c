"""Browser story of the studio's analytics, at phone and desktop widths.

Maya's video has been watched by six people (generated sessions with known patterns) and two of them follow
her. From her profile she opens Analytics: the totals say how many views, the charts are drawn (views per day,
followers, top videos, the followers heatmap, sources) each with its table and CSV, nothing is wider than the
screen, and the page passes axe-core. Her top video leads to its own analytics: the retention curve, whose
table holds the share still watching at each second as computed from the sessions. Another person asking for
that page is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from reelm.analytics.release import roll_up
from reelm.runtime import Runtime
from tests import live
from tests.analytics.sessions import accounts, creator_video, expected, generate, send_sessions
from tests.factories import make_tiny_clip
from tests.web import test_browser
from tests.web.conftest import DESKTOP, PHONE
from tests.web.test_accessibility import log_in, serious_violations
from tests.web.test_browser import Pages, press, shot

pages = test_browser.pages  # the browser stories' fixture; its `live_server` is the one below


@pytest.fixture
def live_server(runtime: Runtime, tmp_path: Path) -> Iterator[str]:
    server, base = live.start_server(runtime, tmp_path / "server.log")
    yield base
    live.stop(server)


async def no_wider_than_the_screen(page: object, width: int) -> None:
    scroll = await page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert scroll <= width, f"the page scrolls sideways: {scroll} > {width}"


@pytest.mark.parametrize("pages", [PHONE, DESKTOP], ids=["phone", "desktop"], indirect=True)
async def test_a_creator_reads_the_dashboard_and_a_videos_retention(
    client: httpx.AsyncClient, runtime: Runtime, pages: Pages, tmp_path: Path
) -> None:
    maya, video = await creator_video(client, runtime, make_tiny_clip(tmp_path), handle="maya")
    viewers = generate(await accounts(client, "fan", 6), seed=11)
    for viewer in viewers[:2]:
        followed = await client.post(f"/api/v1/users/{maya.handle}/follow", headers=viewer.account.auth)
        assert followed.status_code in (200, 201, 204), followed.text
    await send_sessions(client, viewers, video)
    await roll_up(runtime, "us")
    want = expected(viewers)

    page = await pages.new()
    await log_in(page, "maya")
    await page.goto("/@maya")
    await press(page, page.get_by_test_id("studio-analytics-link"))
    await expect(page.get_by_test_id("studio-dashboard")).to_be_visible()
    await expect(page.get_by_test_id("total-views")).to_have_text(str(want.views))
    for chart in ("days", "followers", "top_videos", "heatmap", "sources"):
        await expect(page.get_by_test_id(f"chart-{chart}")).to_be_visible()
    heatmap = page.get_by_test_id("chart-heatmap")
    await expect(heatmap.locator("svg[role=img] title").first).to_have_text("When your followers are active")
    csv = heatmap.get_by_test_id("csv-heatmap")
    assert (await csv.get_attribute("href") or "").startswith(
        "/api/v1/studio/analytics/export.csv?chart=heatmap"
    )
    await press(page, heatmap.locator("summary"))
    await expect(heatmap.locator("table tbody tr")).to_have_count(7)
    await no_wider_than_the_screen(page, pages.viewport["width"])
    await shot(page, "studio-dashboard")
    assert await serious_violations(page) == []

    await press(page, page.get_by_test_id("top-videos").get_by_role("link").first)
    await expect(page.get_by_test_id("studio-video")).to_be_visible()
    retention = page.get_by_test_id("chart-retention")
    await expect(retention.locator("svg path.line")).to_have_count(1)
    await press(page, retention.locator("summary"))
    cells = retention.locator("table tbody tr td")
    await expect(cells).to_have_count(len(want.retention))
    shown = [float(v) for v in await cells.all_inner_texts()]
    assert shown == pytest.approx(want.retention, abs=1e-4)
    await no_wider_than_the_screen(page, pages.viewport["width"])
    await shot(page, "studio-video")
    assert await serious_violations(page) == []

    other = await pages.new()
    await log_in(other, "fan0")
    response = await other.goto(f"/studio/analytics/videos/{video}")
    assert response is not None
    assert response.status == 403
