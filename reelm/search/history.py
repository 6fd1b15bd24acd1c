"""A person's recent searches: protected data of their home realm, theirs to list, delete and pause.

Kept short (the newest `KEEP` distinct queries); included in the data export and gone with the account
(the rows cascade with the user).
"""

from __future__ import annotations

from sqlalchemy import Integer, cast, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.errors import not_found
from reelm.search.models import SearchQuery, SearchSettings
from reelm.search.schemas import RecentSearch, SearchHistory

KEEP = 50


async def is_paused(session: AsyncSession, user_id: int) -> bool:
    paused = await session.scalar(
        select(SearchSettings.history_paused).where(SearchSettings.user_id == user_id)
    )
    return bool(paused)


async def remember(session: AsyncSession, user_id: int, query: str) -> None:
    """Note a search unless the person paused their history; the same query again moves to the top."""
    # One writer per person at a time: two searches at once (two tabs, a fast typist) would otherwise each
    # delete rows the other just wrote, and deadlock. The pause is read in the same round trip.
    paused = select(SearchSettings.history_paused).where(SearchSettings.user_id == user_id).scalar_subquery()
    lock = func.pg_advisory_xact_lock(func.hashtext("reelm.search_history"), cast(user_id % 2**31, Integer))
    if (await session.execute(select(lock, paused))).one()[1]:
        return
    await session.execute(
        delete(SearchQuery).where(SearchQuery.user_id == user_id, SearchQuery.query == query)
    )
    await session.execute(insert(SearchQuery).values(user_id=user_id, query=query))
    kept = (
        select(SearchQuery.id)
        .where(SearchQuery.user_id == user_id)
        .order_by(SearchQuery.searched_at.desc(), SearchQuery.id.desc())
        .limit(KEEP)
    )
    await session.execute(
        delete(SearchQuery).where(
            SearchQuery.user_id == user_id, SearchQuery.id.not_in(kept.scalar_subquery())
        )
    )


async def recent(
    session: AsyncSession, user_id: int, *, starting: str = "", limit: int = KEEP
) -> list[RecentSearch]:
    query = select(SearchQuery).where(SearchQuery.user_id == user_id)
    if starting:
        escaped = starting.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(SearchQuery.query.ilike(escaped + "%", escape="\\"))
    rows = await session.scalars(
        query.order_by(SearchQuery.searched_at.desc(), SearchQuery.id.desc()).limit(limit)
    )
    return [RecentSearch(id=str(r.id), query=r.query, searched_at=r.searched_at) for r in rows]


async def history(session: AsyncSession, user_id: int) -> SearchHistory:
    return SearchHistory(paused=await is_paused(session, user_id), items=await recent(session, user_id))


async def forget(session: AsyncSession, user_id: int, search_id: int) -> None:
    """Delete one search of one's own (another person's id is not found, as if it did not exist)."""
    gone = await session.execute(
        delete(SearchQuery).where(SearchQuery.id == search_id, SearchQuery.user_id == user_id)
    )
    if gone.rowcount == 0:  # type: ignore[attr-defined]
        raise not_found("Search")


async def forget_all(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(SearchQuery).where(SearchQuery.user_id == user_id))


async def set_paused(session: AsyncSession, user_id: int, *, paused: bool) -> SearchHistory:
    await session.execute(
        insert(SearchSettings)
        .values(user_id=user_id, history_paused=paused)
        .on_conflict_do_update(index_elements=[SearchSettings.user_id], set_={"history_paused": paused})
    )
    return await history(session, user_id)
