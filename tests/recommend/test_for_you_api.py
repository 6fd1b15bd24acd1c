"""The For You engine end to end: events change the next page, controls, modes, interests, realm isolation."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from reelm.recommend.model_store import load_model
from reelm.recommend.models import RecommenderModel
from reelm.recommend.training import do_train
from reelm.runtime import Runtime
from tests.conftest import Account, make_account, run_jobs
from tests.factories import app_of, assert_problem, eventually, make_tiny_clip, upload
from tests.web.test_security import browser_login

FOR_YOU = "/api/v1/feed/for-you"
EVENTS = "/api/v1/events"
INTERESTS = "/api/v1/me/interests"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("foryou"))


def event(video_id: str, kind: str, **extra: object) -> dict[str, object]:
    return {"id": uuid.uuid4().hex, "video_id": video_id, "kind": kind, **extra}


async def two_kinds(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> tuple[list[str], list[str], Account, Account]:
    """Two creators in realm us: one posts #cooking, the other #dance (three videos each)."""
    cook = await make_account(client, "cook")
    dancer = await make_account(client, "dancer")
    cooking = [await upload(client, cook, clip, caption=f"pasta {i} #cooking") for i in range(3)]
    dance = [await upload(client, dancer, clip, caption=f"moves {i} #dance") for i in range(3)]
    await run_jobs(runtime, "us")
    return cooking, dance, cook, dancer


async def page(client: httpx.AsyncClient, account: Account, **params: str | int) -> dict[str, Any]:
    response = await client.get(FOR_YOU, params={"limit": 6, **params}, headers=account.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_events_from_a_viewer_change_their_next_page(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    cooking, dance, _, _ = await two_kinds(client, runtime, clip)
    viewer = await make_account(client, "viewer")
    before = await page(client, viewer)
    assert before["personalized"] is False
    assert {i["source"] for i in before["items"]} <= {"trending", "fresh"}

    loved = cooking[0]
    batch = [event(loved, "impression"), event(loved, "watch", watched_s=1.0, loops=3), event(loved, "like")]
    batch += [event(d, "impression") for d in dance[:1]] + [event(d, "skip") for d in dance[:1]]
    assert (await client.post(EVENTS, json={"events": batch}, headers=viewer.auth)).status_code == 200

    after = await page(client, viewer)
    assert after["personalized"] is True
    ids = [i["id"] for i in after["items"]]
    assert loved not in ids
    assert dance[0] not in ids
    first = after["items"][0]
    assert first["id"] in cooking
    assert "#cooking" in first["reason"]
    assert first["reasons"][0] == first["reason"].split(" · ")[0]
    # Never the same creator twice in a row.
    owners = [i["creator"]["id"] for i in after["items"]]
    assert all(a != b for a, b in itertools.pairwise(owners))


async def test_not_interested_and_hide_creator_take_effect_on_the_next_page(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    cooking, dance, cook, _ = await two_kinds(client, runtime, clip)
    viewer = await make_account(client, "viewer")
    assert dance[1] in [i["id"] for i in (await page(client, viewer))["items"]]
    hide = [event(dance[1], "not_interested"), event(cooking[0], "hide_creator")]
    assert (await client.post(EVENTS, json={"events": hide}, headers=viewer.auth)).status_code == 200
    ids = [i["id"] for i in (await page(client, viewer))["items"]]
    assert dance[1] not in ids
    assert set(ids).isdisjoint(cooking)
    # The non-personalised feeds honour the viewer's explicit controls too.
    for mode in ("popular", "latest"):
        shown = await page(client, viewer, mode=mode)
        assert shown["personalized"] is False
        assert {i["creator"]["handle"] for i in shown["items"]} == {"dancer"}, mode
    assert cook.handle == "cook"


async def test_modes_are_not_personalised_and_latest_is_newest_first(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    cooking, dance, _, _ = await two_kinds(client, runtime, clip)
    viewer = await make_account(client, "viewer")
    put = await client.put(INTERESTS, json={"hashtags": ["cooking"]}, headers=viewer.auth)
    assert put.status_code == 200
    assert (await page(client, viewer))["personalized"] is True
    latest = await page(client, viewer, mode="latest")
    assert latest["personalized"] is False
    assert {i["source"] for i in latest["items"]} == {"latest"}
    assert sorted(i["id"] for i in latest["items"]) == sorted(cooking + dance)
    popular = await page(client, viewer, mode="popular")
    assert popular["personalized"] is False
    assert all("picked" not in i["reason"] for i in popular["items"])
    assert_problem(
        await client.get(FOR_YOU, params={"mode": "best"}, headers=viewer.auth), 422, "invalid-request"
    )


async def test_interests_can_be_picked_seen_and_reset(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    cooking, _, _, _ = await two_kinds(client, runtime, clip)
    viewer = await make_account(client, "viewer")
    assert_problem(await client.get(INTERESTS), 401, "login-required")
    empty = (await client.get(INTERESTS, headers=viewer.auth)).json()
    assert empty["picked"] == []
    assert empty["events"] == 0
    bad = await client.put(INTERESTS, json={"hashtags": ["no spaces allowed"]}, headers=viewer.auth)
    assert_problem(bad, 422, "invalid-request")

    picked = await client.put(INTERESTS, json={"hashtags": ["Cooking"]}, headers=viewer.auth)
    assert picked.json()["picked"] == ["cooking"]
    first = (await page(client, viewer))["items"][0]
    assert first["id"] in cooking
    assert first["source"] == "interest"
    assert "You picked #cooking as an interest" in first["reasons"]

    video = cooking[1]
    await client.post(EVENTS, json={"events": [event(video, "like")]}, headers=viewer.auth)
    seen = (await client.get(INTERESTS, headers=viewer.auth)).json()
    assert seen["events"] == 1
    assert seen["learned_hashtags"][0]["name"] == "cooking"

    reset = await client.delete(INTERESTS, headers=viewer.auth)
    assert reset.status_code == 200
    assert reset.json()["picked"] == []
    assert reset.json()["learned_hashtags"] == []
    assert (await page(client, viewer))["personalized"] is False


async def test_models_learn_only_from_their_realms_events(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    cooking, dance, _, _ = await two_kinds(client, runtime, clip)
    fans = [await make_account(client, f"fan{i}", country="FR") for i in range(4)]  # realm eu

    async def replicated() -> bool:
        response = await client.post(
            EVENTS, json={"events": [event(cooking[0], "impression")]}, headers=fans[0].auth
        )
        return response.status_code == 200

    await eventually(replicated)
    for fan in fans:
        batch = [event(cooking[0], "like"), event(cooking[1], "like"), event(dance[0], "complete")]
        assert (await client.post(EVENTS, json={"events": batch}, headers=fan.auth)).status_code == 200

    async with runtime.databases.transaction("eu") as session:
        eu = await do_train(session)
    async with runtime.databases.transaction("us") as session:
        us = await do_train(session)
    assert eu.events_used == 12
    assert eu.items_with_neighbours == 3
    assert us.events_used == 0
    assert us.items_with_neighbours == 0
    assert us.trending == 0
    async with runtime.databases.transaction("eu") as session:
        model = await load_model(session)
    assert model is not None
    assert model.version == eu.version
    assert set(model.trending_ids.tolist()) == {int(v) for v in (cooking[0], cooking[1], dance[0])}
    async with runtime.databases.transaction("us") as session:
        us_model = await load_model(session)
    assert us_model is not None
    assert us_model.trending_ids.size == 0


async def test_model_versions_are_kept_and_served(
    client: httpx.AsyncClient, runtime: Runtime, clip: Path
) -> None:
    cooking, _, _, _ = await two_kinds(client, runtime, clip)
    viewers = [await make_account(client, f"fan{i}") for i in range(3)]
    for viewer in viewers:
        batch = [event(cooking[0], "like"), event(cooking[1], "like")]
        assert (await client.post(EVENTS, json={"events": batch}, headers=viewer.auth)).status_code == 200
    versions = []
    for _ in range(4):
        async with runtime.databases.transaction("us") as session:
            versions.append((await do_train(session)).version)
    assert versions == sorted(versions)
    assert len(set(versions)) == 4
    async with runtime.databases.transaction("us") as session:
        kept = list(
            await session.scalars(select(RecommenderModel.version).order_by(RecommenderModel.version))
        )
    assert kept == versions[1:]
    # A viewer who liked cooking[0] is offered cooking[1] as a co-engagement neighbour by the new model.
    newcomer = await make_account(client, "newcomer")
    app_of(client).state.ranker.forget()  # the app would notice the new version within a minute
    await client.post(EVENTS, json={"events": [event(cooking[0], "like")]}, headers=newcomer.auth)
    items = (await page(client, newcomer))["items"]
    neighbour = next(i for i in items if i["id"] == cooking[1])
    # Similar, unless it also takes an exploration slot (it is new): the reason stays either way.
    assert "Viewers who enjoyed a video you enjoyed also enjoyed this" in neighbour["reasons"]


async def test_the_settings_page_shows_picks_and_resets_the_interest_profile(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    viewer = await make_account(client, "picker")
    csrf = await browser_login(client, "picker")
    page = await client.get("/settings")
    assert page.status_code == 200
    assert 'id="interests"' in page.text

    picked = await client.post("/settings/interests", data={"hashtags": "#Dance cooking", "csrf_token": csrf})
    assert picked.status_code == 303
    api = (await client.get("/api/v1/me/interests", headers=viewer.auth)).json()
    assert api["picked"] == ["dance", "cooking"]
    assert 'value="dance cooking"' in (await client.get("/settings")).text

    bad = await client.post("/settings/interests", data={"hashtags": "no-dashes", "csrf_token": csrf})
    assert bad.status_code == 422
    assert (await client.get("/api/v1/me/interests", headers=viewer.auth)).json()["picked"] == [
        "dance",
        "cooking",
    ]
    forged = await client.post("/settings/interests", data={"reset": "1", "csrf_token": "forged"})
    assert forged.status_code == 403
    reset = await client.post("/settings/interests", data={"reset": "1", "csrf_token": csrf})
    assert reset.status_code == 303
    assert (await client.get("/api/v1/me/interests", headers=viewer.auth)).json()["picked"] == []
