"""Search: what matches (prefixes, accents, one typo, any script), what never shows, history, bad input."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from reelm import ids
from reelm.exports.service import gather
from reelm.realms.models import Capability
from reelm.realms.switches import Switchboard
from reelm.runtime import Runtime
from reelm.search.models import SearchQuery
from reelm.search.results import matching
from reelm.text import hashtags_of
from reelm.videos.models import Video, VideoStatus, Visibility
from tests.conftest import Account, make_account
from tests.factories import assert_problem, eventually
from tests.realms.common import assert_capability_off, set_switch

US = "us"


async def plant_video(runtime: Runtime, owner: Account, caption: str, **fields: Any) -> str:
    """A published video row (no media: search reads captions, tags and counts), projected by the
    realm's triggers as an upload's would be."""
    video_id = ids.new_id(runtime.settings.realm(owner.realm).code)
    values: dict[str, Any] = {
        "visibility": Visibility.PUBLIC,
        "status": VideoStatus.READY,
        "published_at": datetime.now(UTC),
        **fields,
    }
    async with runtime.databases.transaction(owner.realm) as session:
        session.add(
            Video(
                id=video_id,
                owner_id=int(owner.id),
                caption=caption,
                hashtags=hashtags_of(caption),
                mentions=[],
                original_key=f"videos/{video_id}/original",
                original_size=1,
                **values,
            )
        )
    return str(video_id)


async def search(client: httpx.AsyncClient, q: str, *, who: Account | None = None, **params: str) -> Any:
    response = await client.get("/api/v1/search", params={"q": q, **params}, headers=who.auth if who else {})
    assert response.status_code == 200, response.text
    return response.json()


def captions(results: Any) -> list[str]:
    return [v["caption"] for v in results["videos"]]


async def test_prefixes_accents_typos_and_other_scripts_match(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ada = await make_account(client, "ada")
    await plant_video(runtime, ada, "Late night at the Café Noir #dance")
    await plant_video(runtime, ada, "Sourdough bread from scratch #baking")
    await plant_video(runtime, ada, "Jazz improvisation on a rainy day #jazz")
    await plant_video(runtime, ada, "Жук танцует под дождём")

    assert captions(await search(client, "danc")) == ["Late night at the Café Noir #dance"]
    assert captions(await search(client, "cafe noir")) == ["Late night at the Café Noir #dance"]
    assert captions(await search(client, "CAFÉ")) == ["Late night at the Café Noir #dance"]
    # One typo in a word of five or more letters: dropped, swapped, wrong or extra letter.
    for typo in ("improvsation", "imrpovisation", "improvisatoin", "improvisations", "sourdoguh"):
        assert len((await search(client, typo))["videos"]) == 1, typo
    # Two typos, or a typo in a short word, are too far.
    assert (await search(client, "imprvsation"))["videos"] == []
    assert (await search(client, "jzaz"))["videos"] == []
    assert captions(await search(client, "жук")) == ["Жук танцует под дождём"]
    assert captions(await search(client, "дожде")) == ["Жук танцует под дождём"]  # a diaeresis folds away
    # Every word must match.
    assert (await search(client, "jazz bread"))["videos"] == []
    assert (await search(client, "jazz rainy"))["words"] == ["jazz", "rainy"]


async def test_typos_are_expanded_to_the_real_words_only(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ada = await make_account(client, "ada")
    await plant_video(runtime, ada, "Jazz improvisation on a rainy day")
    async with runtime.databases.read(US) as session:
        match = await matching(session, "improvsation rainy")
    assert match is not None
    # Of the ~650 strings one edit from each word, only words some document holds reach the index.
    assert match.typos == {"improvsation": ["improvisation"], "rainy": []}


async def test_exact_hashtags_and_handles_come_first_and_hashtags_count_videos(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ada = await make_account(client, "ada")
    dancer = await make_account(client, "dancer")
    await plant_video(
        runtime, ada, "dancers of the world, a dance marathon", view_count=10_000, like_count=900
    )
    tagged = await plant_video(runtime, ada, "tonight #dance")
    await plant_video(runtime, ada, "more tonight #dance #dancehall")

    found = await search(client, "dance", tab="videos")
    assert found["videos"][0]["id"] == tagged or found["videos"][1]["id"] == tagged
    assert found["videos"][-1]["caption"].startswith("dancers")  # popular, but no exact hashtag
    tags = (await search(client, "danc", tab="hashtags"))["hashtags"]
    assert [(t["tag"], t["video_count"]) for t in tags] == [("dance", 2), ("dancehall", 1)]
    accounts = (await search(client, "dancer", tab="accounts"))["accounts"]
    assert (accounts[0]["handle"], accounts[0]["id"]) == ("dancer", dancer.id)

    top = await search(client, "dance")
    assert {t["tag"] for t in top["hashtags"]} == {"dance", "dancehall"}
    assert top["accounts"][0]["handle"] == "dancer"


async def test_only_the_best_prior_matches_and_the_exact_hashtag_are_ranked(
    client: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more matches than a search lists, the pools take the matches of best prior (engagement and
    freshness) and the videos with the exact hashtag, and the pages end where the pools do."""
    monkeypatch.setattr("reelm.search.results.MAX_RESULTS", 3)
    monkeypatch.setattr("reelm.search.answers.MAX_RESULTS", 3)
    ada = await make_account(client, "ada")
    popular = [
        await plant_video(
            runtime, ada, f"river rafting day {n}", view_count=10**6 * (n + 1), like_count=10**4
        )
        for n in range(3)
    ]
    await plant_video(runtime, ada, "river rafting, nobody watched", view_count=1)
    tagged = await plant_video(runtime, ada, "rafting with friends #river", view_count=2)
    days_ago = datetime.fromtimestamp(datetime.now(UTC).timestamp() - 400 * 86400, UTC)
    await plant_video(runtime, ada, "river rafting long ago", view_count=10**6, published_at=days_ago)

    found = await search(client, "river", tab="videos", limit="10")
    ids_found = [v["id"] for v in found["videos"]]
    assert ids_found[0] == tagged  # the exact hashtag, though hardly watched
    assert set(ids_found) == {tagged, *popular}
    assert found["next_cursor"] is None


async def test_hashtag_counts_follow_edits_privacy_and_removal(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ada = await make_account(client, "ada")
    first = await plant_video(runtime, ada, "one #sunset")
    await plant_video(runtime, ada, "two #sunset")

    async def sunset_count() -> int | None:
        tags = (await search(client, "sunset", tab="hashtags"))["hashtags"]
        return tags[0]["video_count"] if tags else None

    assert await sunset_count() == 2
    async with runtime.databases.transaction(US) as session:
        await session.execute(
            update(Video).where(Video.id == int(first)).values(visibility=Visibility.PRIVATE)
        )
    assert await sunset_count() == 1
    assert captions(await search(client, "sunset", tab="videos")) == ["two #sunset"]
    async with runtime.databases.transaction(US) as session:
        await session.execute(
            update(Video).where(Video.id == int(first)).values(visibility=Visibility.PUBLIC)
        )
        await session.execute(
            update(Video).where(Video.caption == "two #sunset").values(status=VideoStatus.REMOVED)
        )
    assert await sunset_count() == 1
    assert captions(await search(client, "sunset", tab="videos")) == ["one #sunset"]


async def test_private_held_age_restricted_and_blocked_never_show(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ada = await make_account(client, "ada")
    eve = await make_account(client, "eve")
    viewer = await make_account(client, "viewer")
    await plant_video(runtime, ada, "secret lighthouse", visibility=Visibility.PRIVATE)
    await plant_video(runtime, ada, "held lighthouse", status=VideoStatus.HELD)
    await plant_video(runtime, ada, "adult lighthouse", age_restricted=True)
    await plant_video(runtime, eve, "blocked lighthouse")
    await plant_video(runtime, ada, "open lighthouse")

    # Anonymous visitors get no age-restricted video.
    assert sorted(captions(await search(client, "lighthouse"))) == ["blocked lighthouse", "open lighthouse"]
    assert sorted(captions(await search(client, "lighthouse", who=viewer))) == [
        "adult lighthouse",
        "blocked lighthouse",
        "open lighthouse",
    ]
    blocked = await client.post(f"/api/v1/users/{eve.handle}/block", headers=viewer.auth)
    assert blocked.status_code == 200, blocked.text
    assert sorted(captions(await search(client, "lighthouse", who=viewer))) == [
        "adult lighthouse",
        "open lighthouse",
    ]
    assert [a["handle"] for a in (await search(client, "eve", tab="accounts", who=viewer))["accounts"]] == []
    # Nothing of a private video leaks through any tab.
    for who in (None, viewer, ada):
        everything = await search(client, "secret", who=who)
        assert (everything["videos"], everything["accounts"], everything["hashtags"]) == ([], [], []), who


async def test_other_realms_are_searched_but_the_query_stays_home(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    berliner = await make_account(client, "berliner", country="DE")
    viewer = await make_account(client, "viewer")
    assert (berliner.realm, viewer.realm) == ("eu", "us")
    await plant_video(runtime, berliner, "Currywurst am Alexanderplatz #berlin")

    async def found() -> bool:
        return captions(await search(client, "alexanderplatz", who=viewer)) == [
            "Currywurst am Alexanderplatz #berlin"
        ]

    await eventually(found)
    result = await search(client, "alexanderplatz", who=viewer)
    assert result["videos"][0]["realm"] == "eu"
    for realm, expected in (("us", ["alexanderplatz"]), ("eu", [])):
        async with runtime.databases.read(realm) as session:
            assert list(await session.scalars(select(SearchQuery.query))) == expected


async def test_history_is_listed_deleted_and_paused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    me = await make_account(client, "me")
    other = await make_account(client, "other")
    for q in ("cats", "dogs", "cats"):
        await search(client, q, who=me)
    await search(client, "birds", who=other)

    listed = (await client.get("/api/v1/me/search-history", headers=me.auth)).json()
    assert [i["query"] for i in listed["items"]] == ["cats", "dogs"]
    assert listed["paused"] is False
    suggest = (await client.get("/api/v1/search/suggestions", params={"q": "ca"}, headers=me.auth)).json()
    assert [r["query"] for r in suggest["recent"]] == ["cats"]

    theirs = (await client.get("/api/v1/me/search-history", headers=other.auth)).json()["items"][0]["id"]
    assert_problem(
        await client.delete(f"/api/v1/me/search-history/{theirs}", headers=me.auth), 404, "not-found"
    )
    dogs = listed["items"][1]["id"]
    assert (await client.delete(f"/api/v1/me/search-history/{dogs}", headers=me.auth)).status_code == 204
    paused = await client.put("/api/v1/me/search-settings", headers=me.auth, json={"paused": True})
    assert paused.json()["paused"] is True
    await search(client, "fish", who=me)
    assert [
        i["query"] for i in (await client.get("/api/v1/me/search-history", headers=me.auth)).json()["items"]
    ] == ["cats"]
    exported, _ = await gather(runtime, US, int(me.id))
    assert [i["query"] for i in exported["search_history"]["items"]] == ["cats"]
    assert exported["search_history"]["paused"] is True
    assert (await client.delete("/api/v1/me/search-history", headers=me.auth)).status_code == 204
    assert (await client.get("/api/v1/me/search-history", headers=me.auth)).json()["items"] == []
    assert len((await client.get("/api/v1/me/search-history", headers=other.auth)).json()["items"]) == 1
    assert_problem(await client.get("/api/v1/me/search-history"), 401, "login-required")


async def test_pages_follow_a_cursor_bound_to_its_search(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ada = await make_account(client, "ada")
    for n in range(5):
        await plant_video(runtime, ada, f"waterfall number {n}")
    first = await search(client, "waterfall", tab="videos", limit="2")
    second = await search(client, "waterfall", tab="videos", limit="2", cursor=first["next_cursor"])
    third = await search(client, "waterfall", tab="videos", limit="2", cursor=second["next_cursor"])
    seen = [v["id"] for page in (first, second, third) for v in page["videos"]]
    assert len(seen) == len(set(seen)) == 5
    assert third["next_cursor"] is None
    elsewhere = await client.get(
        "/api/v1/search", params={"q": "lake", "tab": "videos", "cursor": first["next_cursor"]}
    )
    assert_problem(elsewhere, 400, "bad-cursor")


async def test_hostile_queries_get_results_or_a_422(client: httpx.AsyncClient, runtime: Runtime) -> None:
    ada = await make_account(client, "ada")
    await plant_video(runtime, ada, "rock & roll (live!)")
    for q in ("&|!():*\\", "rock & roll", "'; DROP TABLE videos; --", "rock:*", "!roll", "(((", "\\'", "% _"):
        response = await client.get("/api/v1/search", params={"q": q})
        assert response.status_code == 200, (q, response.text)
        response = await client.get("/api/v1/search/suggestions", params={"q": q})
        assert response.status_code == 200, (q, response.text)
    assert captions(await search(client, "rock & roll")) == ["rock & roll (live!)"]
    for q in ("", "x" * 10_000, "nul\x00byte", "bell\x07"):
        assert_problem(await client.get("/api/v1/search", params={"q": q}), 422, "invalid-request")
    assert_problem(
        await client.get("/api/v1/search", params={"q": "a", "tab": "music"}), 422, "invalid-request"
    )
    # Many long words are bounded (eight words, a capped number of typo variants), not refused.
    many = (
        "alphabets brilliant chocolate dangerous elephants fantastic gorgeous happiness important jellyfish"
    )
    assert len((await search(client, many))["words"]) == 8


async def test_the_search_switch_turns_it_off_with_a_notice(
    client: httpx.AsyncClient, runtime: Runtime, board: Switchboard
) -> None:
    me = await make_account(client, "me")
    await set_switch(runtime, board, US, "search", 0)
    for path in ("/api/v1/search", "/api/v1/search/suggestions"):
        assert_capability_off(
            await client.get(path, params={"q": "x"}, headers=me.auth), Capability.SEARCH, US
        )
    assert await search_count(runtime) == 0
    await set_switch(runtime, board, US, "search", 100)
    await search(client, "x", who=me)
    assert await search_count(runtime) == 1


async def search_count(runtime: Runtime) -> int:
    async with runtime.databases.read(US) as session:
        return len(list(await session.scalars(select(SearchQuery.id))))


async def test_search_reads_from_the_realms_search_replica_and_writes_history_to_the_primary(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ada = await make_account(client, "ada")
    await plant_video(runtime, ada, "harbour lights at dawn")
    # A stand-in for a streaming replica that behaves as one does for search: the realm's data, read-only.
    primary = runtime.databases.realm_urls[US]
    joiner = "&" if "?" in primary else "?"
    read_only = "options=-c%20default_transaction_read_only%3Don"
    replica = f"{primary}{joiner}application_name=reelm-search-replica&{read_only}"
    runtime.databases.search_urls[US] = replica

    assert captions(await search(client, "harbour", who=ada)) == ["harbour lights at dawn"]
    suggested = await client.get("/api/v1/search/suggestions", params={"q": "harb"}, headers=ada.auth)
    assert [r["query"] for r in suggested.json()["recent"]] == ["harbour"]  # written to the primary
    async with runtime.databases.read(US) as session:
        readers = await session.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'reelm-search-replica'")
        )
    assert readers >= 1  # the searches went through the replica's connections
    async with runtime.databases.search(US) as session:
        with pytest.raises(DBAPIError, match="read-only transaction"):
            await session.execute(text("CREATE TEMP TABLE scribble (x int)"))


async def test_searches_at_once_by_one_person_all_answer_and_are_all_kept(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    me = await make_account(client, "me")
    queries = [f"query {n % 7}" for n in range(28)]  # repeats too: each moves its entry to the top
    answers = await asyncio.gather(
        *(client.get("/api/v1/search", params={"q": q}, headers=me.auth) for q in queries)
    )
    assert [a.status_code for a in answers] == [200] * len(queries)
    kept = (await client.get("/api/v1/me/search-history", headers=me.auth)).json()["items"]
    assert sorted(i["query"] for i in kept) == sorted(set(queries))


async def test_search_plans_each_statement_for_its_own_words(runtime: Runtime) -> None:
    """A rare word and a common one need different plans: search's connections never reuse a generic one."""
    async with runtime.databases.search(US) as session:
        mode = await session.scalar(text("SHOW plan_cache_mode"))
    assert mode == "force_custom_plan"
    async with runtime.databases.read(US) as session:
        assert await session.scalar(text("SHOW plan_cache_mode")) == "auto"
