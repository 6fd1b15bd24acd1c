"""The pages of discovery render for visitors and account holders, escape what people typed, and follow the
search switch; sign-up goes on to the welcome page, whose interests reach For You."""

from __future__ import annotations

import re

import httpx

from reelm.realms.switches import Switchboard
from reelm.runtime import Runtime
from tests.conftest import make_account
from tests.realms.common import set_switch
from tests.search.test_search import plant_video


async def test_pages_render_and_escape(client: httpx.AsyncClient, runtime: Runtime) -> None:
    me = await make_account(client, "me")
    for _ in range(3):
        await plant_video(runtime, me, "today #surfing")
    hostile = '<script>alert("x")</script>'
    for path, params in (
        ("/search", {}),
        ("/search", {"q": hostile, "tab": "videos"}),
        ("/search/watch", {"q": hostile, "start": "123"}),
        ("/explore", {}),
        ("/tag/surfing", {}),
    ):
        page = await client.get(path, params=params, headers={"Accept": "text/html"})
        assert page.status_code == 200, (path, page.text[:300])
        assert hostile not in page.text
    explore = await client.get("/explore", headers={"Accept": "text/html"})
    assert 'data-tag="surfing"' in explore.text
    spark = r'class="sparkline"[^>]*aria-label="New videos per day over the last 7 days: 0, 0, 0, 0, 0, 0, 3"'
    assert re.search(spark, explore.text)
    assert (await client.get("/search/watch", follow_redirects=False)).status_code == 303
    assert (await client.get("/settings/hashtags", headers=me.auth)).status_code == 200
    assert (await client.get("/welcome", headers=me.auth)).status_code == 200


async def test_explore_page_follows_the_search_switch(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    me = await make_account(client, "me")
    await set_switch(runtime, board, "us", "search", 0)
    for path in ("/explore", "/search?q=x", "/search/watch?q=x"):
        page = await client.get(path, headers={"Accept": "text/html", **me.auth})
        assert page.status_code == 451, path
