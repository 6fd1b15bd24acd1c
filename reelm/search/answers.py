"""What a search answers: one page of a tab, the video results as a feed to swipe through, and typeahead.

The web layer brings the session (the realm's search replica, reelm.db.Databases.search), decodes and signs
the cursors, and keeps the history; the assembling is here.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import Viewer
from reelm.search import hashtag_follows, history
from reelm.search.results import (
    MAX_RESULTS,
    cards_of,
    find_accounts,
    find_hashtags,
    find_sounds,
    find_videos,
    matching,
    video_search,
)
from reelm.search.schemas import HashtagHit, SearchResults, SearchTab, Suggestions
from reelm.videos.schemas import VideoOut

TOP_ACCOUNTS = 3  # the Top tab's first page leads with a few accounts and hashtags, then videos
TOP_HASHTAGS = 3
TOP_SOUNDS = 3
SUGGESTIONS = 5
SUGGESTED_SOUNDS = 3  # after the accounts and hashtags: a short list stays readable on a phone


async def with_follow_state(
    session: AsyncSession, viewer: Viewer, hits: list[HashtagHit]
) -> list[HashtagHit]:
    if viewer.user_id is None:
        return hits
    followed = await hashtag_follows.follows_among(session, viewer.user_id, [h.tag for h in hits])
    return [h.model_copy(update={"is_following": h.tag in followed}) for h in hits]


async def tab_page(
    session: AsyncSession, viewer: Viewer, q: str, tab: SearchTab, *, offset: int, limit: int, base_url: str
) -> tuple[SearchResults, bool]:
    """One page of a tab, and whether more follow it."""
    match = await matching(session, q)
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
        return results, False
    more = False
    if tab in (SearchTab.TOP, SearchTab.VIDEOS):
        found = await find_videos(session, viewer, match, offset=offset, limit=limit + 1, base_url=base_url)
        more, results.videos = len(found) > limit, found[:limit]
    if tab is SearchTab.ACCOUNTS or (tab is SearchTab.TOP and offset == 0):
        wanted = limit if tab is SearchTab.ACCOUNTS else TOP_ACCOUNTS
        accounts = await find_accounts(session, viewer, match, offset=offset, limit=wanted + 1)
        results.accounts = accounts[:wanted]
        more = more or (tab is SearchTab.ACCOUNTS and len(accounts) > wanted)
    if tab is SearchTab.HASHTAGS or (tab is SearchTab.TOP and offset == 0):
        wanted = limit if tab is SearchTab.HASHTAGS else TOP_HASHTAGS
        tags = await find_hashtags(session, match, offset=offset, limit=wanted + 1)
        results.hashtags = await with_follow_state(session, viewer, tags[:wanted])
        more = more or (tab is SearchTab.HASHTAGS and len(tags) > wanted)
    if tab is SearchTab.SOUNDS or (tab is SearchTab.TOP and offset == 0):
        wanted = limit if tab is SearchTab.SOUNDS else TOP_SOUNDS
        sounds = await find_sounds(session, viewer, match, offset=offset, limit=wanted + 1)
        results.sounds = sounds[:wanted]
        more = more or (tab is SearchTab.SOUNDS and len(sounds) > wanted)
    return results, more and offset + limit < MAX_RESULTS


async def watch_page(
    session: AsyncSession,
    viewer: Viewer,
    q: str,
    *,
    offset: int | None,
    start: int | None,
    limit: int,
    base_url: str,
) -> tuple[list[VideoOut], int, bool]:
    """The video results as a feed: from `offset` (a cursor's), else from the video `start` (the one tapped in
    the results; from the first when it is no longer among them). The videos, the offset they began at,
    and whether more follow."""
    match = await matching(session, q)
    if match is None:
        return [], 0, False
    if offset is None:
        offset = 0
        if start is not None:
            found = list(await session.scalars(video_search(viewer, match).limit(MAX_RESULTS)))
            offset = found.index(start) if start in found else 0
    ids = list(await session.scalars(video_search(viewer, match).offset(offset).limit(limit + 1)))
    items = await cards_of(session, viewer, ids[:limit], base_url=base_url)
    return items, offset, len(ids) > limit and offset + limit < MAX_RESULTS


async def suggestions(session: AsyncSession, viewer: Viewer, q: str) -> Suggestions:
    """Typeahead: accounts, hashtags and sounds for what is typed so far, and the viewer's own recent
    searches."""
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
        hashtags=await with_follow_state(
            session, viewer, await find_hashtags(session, match, offset=0, limit=SUGGESTIONS)
        ),
        sounds=await find_sounds(session, viewer, match, offset=0, limit=SUGGESTED_SOUNDS),
        recent=recent,
    )
