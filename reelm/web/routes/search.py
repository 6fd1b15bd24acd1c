"""JSON API for search and discovery: results in tabs, typeahead suggestions, the viewer's search history,
the video results as a feed to swipe through, Explore, and following hashtags.

Queries run in the viewer's realm database only (reelm.search.results); the realm's `search` switch turns
all of it off with a 451 notice, and searches are rate-limited per account (per address when anonymous).
Reads go to the realm's search replica when one is configured (RealmConfig.search_database_url): that is
how search scales past one database server. What a search writes (the history) goes to the primary.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from reelm.accounts.viewer import Viewer
from reelm.inputs import Line
from reelm.realms.models import Capability
from reelm.runtime import Runtime
from reelm.search import answers, hashtag_follows, history
from reelm.search.explore import explore
from reelm.search.schemas import (
    Explore,
    FollowedHashtag,
    HashtagFollowState,
    HistorySettingsIn,
    SearchHistory,
    SearchResults,
    SearchTab,
    Suggestions,
)
from reelm.videos.schemas import VideoPage
from reelm.web.capabilities import require_capability
from reelm.web.deps import Limiter, RuntimeDep, UserViewer, ViewerDep, client_ip
from reelm.web.pagination import decode_cursor, encode_cursor
from reelm.web.params import Cursor, IdPath, IdQuery, TagPath

router = APIRouter(tags=["search"], dependencies=[require_capability(Capability.SEARCH)])

MAX_QUERY_CHARS = 200

SearchText = Annotated[
    Line, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="what to look for, as typed")
]


def _limit(runtime: Runtime, limiter: Limiter, request: Request, viewer: Viewer) -> None:
    key = str(viewer.user_id) if viewer.user_id is not None else client_ip(request)
    limiter.hit("search", key, limit=runtime.settings.searches_per_minute, per_seconds=60)


def _cursor_kind(tab: SearchTab, q: str) -> str:
    # A cursor continues the search it came from only.
    return f"search:{tab.value}:{hashlib.sha256(q.encode()).hexdigest()[:16]}"


@router.get("/search", response_model=SearchResults)
async def search(
    runtime: RuntimeDep,
    limiter: Limiter,
    request: Request,
    viewer: ViewerDep,
    q: SearchText,
    tab: SearchTab = SearchTab.TOP,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 24,
) -> SearchResults:
    """Videos, accounts and hashtags of every realm matching every word (as prefixes, one typo allowed in
    words of 5+ letters, accents ignored). Top mixes the best accounts and hashtags with the videos."""
    _limit(runtime, limiter, request, viewer)
    kind = _cursor_kind(tab, q)
    offset = int(decode_cursor(runtime.settings.secret_key, cursor, kind)["o"]) if cursor else 0
    if viewer.user_id is not None and cursor is None:
        async with runtime.databases.transaction(viewer.realm) as session:
            await history.remember(session, viewer.user_id, q.strip())
    async with runtime.databases.search(viewer.realm) as session:
        results, more = await answers.tab_page(
            session, viewer, q, tab, offset=offset, limit=limit, base_url=runtime.settings.base_url
        )
    if more:
        results.next_cursor = encode_cursor(runtime.settings.secret_key, kind, {"o": offset + limit})
    return results


@router.get("/search/watch", response_model=VideoPage)
async def search_watch(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    q: SearchText,
    start: IdQuery = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 8,
) -> VideoPage:
    """The video results of a search as a feed to swipe through, from the video `start` on (the one tapped
    in the results; from the first result when it is no longer among them). Not rate-limited as a search:
    it continues one already made, and is not kept in the history."""
    kind = _cursor_kind(SearchTab.VIDEOS, q) + ":watch"
    offset = int(decode_cursor(runtime.settings.secret_key, cursor, kind)["o"]) if cursor else None
    async with runtime.databases.search(viewer.realm) as session:
        items, began, more = await answers.watch_page(
            session,
            viewer,
            q,
            offset=offset,
            start=int(start) if start is not None else None,
            limit=limit,
            base_url=runtime.settings.base_url,
        )
    next_cursor = encode_cursor(runtime.settings.secret_key, kind, {"o": began + limit}) if more else None
    return VideoPage(items=items, next_cursor=next_cursor)


@router.get("/search/suggestions", response_model=Suggestions)
async def suggestions(
    runtime: RuntimeDep, limiter: Limiter, request: Request, viewer: ViewerDep, q: SearchText
) -> Suggestions:
    """Typeahead: accounts and hashtags for what is typed so far, and the viewer's own recent searches."""
    _limit(runtime, limiter, request, viewer)
    async with runtime.databases.search(viewer.realm) as session:
        return await answers.suggestions(session, viewer, q)


@router.get("/me/search-history", response_model=SearchHistory)
async def search_history(runtime: RuntimeDep, viewer: UserViewer) -> SearchHistory:
    """Your recent searches (newest first) and whether you paused keeping them."""
    async with runtime.databases.read(viewer.realm) as session:
        return await history.history(session, viewer.user.id)


@router.delete("/me/search-history", status_code=204)
async def clear_search_history(runtime: RuntimeDep, viewer: UserViewer) -> Response:
    """Delete all your recent searches."""
    async with runtime.databases.transaction(viewer.realm) as session:
        await history.forget_all(session, viewer.user.id)
    return Response(status_code=204)


@router.delete("/me/search-history/{search_id}", status_code=204)
async def delete_search(runtime: RuntimeDep, viewer: UserViewer, search_id: IdPath) -> Response:
    """Delete one of your recent searches."""
    async with runtime.databases.transaction(viewer.realm) as session:
        await history.forget(session, viewer.user.id, int(search_id))
    return Response(status_code=204)


@router.put("/me/search-settings", response_model=SearchHistory)
async def pause_search_history(
    runtime: RuntimeDep, viewer: UserViewer, body: HistorySettingsIn
) -> SearchHistory:
    """Pause (or resume) keeping your searches; what is kept stays until you delete it."""
    async with runtime.databases.transaction(viewer.realm) as session:
        return await history.set_paused(session, viewer.user.id, paused=body.paused)


@router.get("/explore", response_model=Explore)
async def get_explore(runtime: RuntimeDep, viewer: ViewerDep) -> Explore:
    """Trending hashtags (their last 7 days, and a few of their videos) and rising creators (accounts under
    10,000 followers whose week's videos drew the most engagement for their audience), from every realm."""
    async with runtime.databases.search(viewer.realm) as session:
        return await explore(session, viewer, base_url=runtime.settings.base_url)


@router.put("/hashtags/{tag}/follow", response_model=HashtagFollowState)
async def follow_hashtag(runtime: RuntimeDep, viewer: UserViewer, tag: TagPath) -> HashtagFollowState:
    """Follow a hashtag: its public videos join your Following feed, and it counts as an interest for For
    You. A tag that no public video ever carried is not found."""
    async with runtime.databases.transaction(viewer.realm) as session:
        return await hashtag_follows.do_follow_hashtag(session, viewer.user.id, tag)


@router.delete("/hashtags/{tag}/follow", response_model=HashtagFollowState)
async def unfollow_hashtag(runtime: RuntimeDep, viewer: UserViewer, tag: TagPath) -> HashtagFollowState:
    """Stop following a hashtag."""
    async with runtime.databases.transaction(viewer.realm) as session:
        return await hashtag_follows.do_unfollow_hashtag(session, viewer.user.id, tag)


@router.get("/me/hashtags", response_model=list[FollowedHashtag])
async def my_hashtags(runtime: RuntimeDep, viewer: UserViewer) -> list[FollowedHashtag]:
    """The hashtags you follow, most recently followed first."""
    async with runtime.databases.read(viewer.realm) as session:
        return await hashtag_follows.followed_hashtags(session, viewer.user.id)
