"""JSON API for search: results in tabs, typeahead suggestions, and the viewer's search history.

Queries run in the viewer's realm database only (reelm.search.results); the realm's `search` switch turns
all of it off with a 451 notice, and searches are rate-limited per account (per address when anonymous).
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from reelm.accounts.viewer import Viewer
from reelm.inputs import Line
from reelm.realms.models import Capability
from reelm.runtime import Runtime
from reelm.search import history
from reelm.search.results import find_accounts, find_hashtags, find_videos, matching
from reelm.search.schemas import HistorySettingsIn, SearchHistory, SearchResults, SearchTab, Suggestions
from reelm.web.capabilities import require_capability
from reelm.web.deps import Limiter, RuntimeDep, UserViewer, ViewerDep, client_ip
from reelm.web.pagination import decode_cursor, encode_cursor
from reelm.web.params import Cursor, IdPath

router = APIRouter(tags=["search"], dependencies=[require_capability(Capability.SEARCH)])

MAX_QUERY_CHARS = 200
MAX_OFFSET = 500  # deep pages of a search are never read; the bound keeps each page cheap
TOP_ACCOUNTS = 3
TOP_HASHTAGS = 3
SUGGESTIONS = 5

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
    async with runtime.databases.transaction(viewer.realm) as session:
        match = await matching(session, q)
        if viewer.user_id is not None and cursor is None:
            await history.remember(session, viewer.user_id, q.strip())
        results = SearchResults(
            query=q,
            tab=tab,
            words=match.words if match else [],
            videos=[],
            accounts=[],
            hashtags=[],
            next_cursor=None,
        )
        if match is None:
            return results
        more = False
        if tab in (SearchTab.TOP, SearchTab.VIDEOS):
            found = await find_videos(
                session, viewer, match, offset=offset, limit=limit + 1, base_url=runtime.settings.base_url
            )
            more, results.videos = len(found) > limit, found[:limit]
        if tab is SearchTab.ACCOUNTS or (tab is SearchTab.TOP and offset == 0):
            wanted = limit if tab is SearchTab.ACCOUNTS else TOP_ACCOUNTS
            found_accounts = await find_accounts(session, viewer, match, offset=offset, limit=wanted + 1)
            results.accounts = found_accounts[:wanted]
            more = more or (tab is SearchTab.ACCOUNTS and len(found_accounts) > wanted)
        if tab is SearchTab.HASHTAGS or (tab is SearchTab.TOP and offset == 0):
            wanted = limit if tab is SearchTab.HASHTAGS else TOP_HASHTAGS
            found_tags = await find_hashtags(session, match, offset=offset, limit=wanted + 1)
            results.hashtags = found_tags[:wanted]
            more = more or (tab is SearchTab.HASHTAGS and len(found_tags) > wanted)
    if more and offset + limit <= MAX_OFFSET:
        results.next_cursor = encode_cursor(runtime.settings.secret_key, kind, {"o": offset + limit})
    return results


@router.get("/search/suggestions", response_model=Suggestions)
async def suggestions(
    runtime: RuntimeDep, limiter: Limiter, request: Request, viewer: ViewerDep, q: SearchText
) -> Suggestions:
    """Typeahead: accounts and hashtags for what is typed so far, and the viewer's own recent searches."""
    _limit(runtime, limiter, request, viewer)
    async with runtime.databases.read(viewer.realm) as session:
        recent = (
            await history.recent(session, viewer.user_id, starting=q.strip(), limit=SUGGESTIONS)
            if viewer.user_id is not None
            else []
        )
        match = await matching(session, q)
        if match is None:
            return Suggestions(query=q, accounts=[], hashtags=[], recent=recent)
        return Suggestions(
            query=q,
            accounts=await find_accounts(session, viewer, match, offset=0, limit=SUGGESTIONS),
            hashtags=await find_hashtags(session, match, offset=0, limit=SUGGESTIONS),
            recent=recent,
        )


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


@router.put("/me/search-history/settings", response_model=SearchHistory)
async def pause_search_history(
    runtime: RuntimeDep, viewer: UserViewer, body: HistorySettingsIn
) -> SearchHistory:
    """Pause (or resume) keeping your searches; what is kept stays until you delete it."""
    async with runtime.databases.transaction(viewer.realm) as session:
        return await history.set_paused(session, viewer.user.id, paused=body.paused)
