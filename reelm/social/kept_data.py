"""What an account keeps and filters, as its data export lists it (reelm.exports): favourites and their
collections, reposts, the Liked tab's setting, muted accounts, keyword filters, whether AI-generated videos
are hidden, and comment controls."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.social.models import (
    CommentControls,
    Favourite,
    FavouriteCollection,
    KeywordFilter,
    ProfileTabs,
    UserMute,
    VideoRepost,
    ViewingPreferences,
)


async def kept_by(session: AsyncSession, user_id: int) -> dict[str, Any]:
    """Every row of these kinds that the account owns, oldest first (ids as strings, times in ISO 8601)."""
    collections = await session.scalars(
        select(FavouriteCollection)
        .where(FavouriteCollection.user_id == user_id)
        .order_by(FavouriteCollection.created_at)
    )
    favourites = await session.scalars(
        select(Favourite).where(Favourite.user_id == user_id).order_by(Favourite.created_at)
    )
    reposts = await session.scalars(
        select(VideoRepost).where(VideoRepost.user_id == user_id).order_by(VideoRepost.created_at)
    )
    mutes = await session.scalars(
        select(UserMute).where(UserMute.user_id == user_id).order_by(UserMute.created_at)
    )
    filters = await session.scalars(
        select(KeywordFilter).where(KeywordFilter.user_id == user_id).order_by(KeywordFilter.created_at)
    )
    controls = await session.scalars(select(CommentControls).where(CommentControls.user_id == user_id))
    tabs = await session.get(ProfileTabs, user_id)
    viewing = await session.get(ViewingPreferences, user_id)
    return {
        "collections": [
            {
                "id": str(c.id),
                "name": c.name,
                "is_public": c.is_public,
                "created_at": c.created_at.isoformat(),
            }
            for c in collections
        ],
        "favourites": [
            {
                "kind": f.kind,
                "target": f.target,
                "collection_id": str(f.collection_id) if f.collection_id is not None else None,
                "saved_at": f.created_at.isoformat(),
            }
            for f in favourites
        ],
        "reposts": [{"video_id": str(r.video_id), "reposted_at": r.created_at.isoformat()} for r in reposts],
        "liked_public": bool(tabs.liked_public) if tabs is not None else False,
        "hide_ai_generated": bool(viewing.hide_ai_generated) if viewing is not None else False,
        "muted_accounts": [{"id": str(m.muted_id), "muted_at": m.created_at.isoformat()} for m in mutes],
        "keyword_filters": [
            {
                "phrase": f.phrase,
                "expires_at": f.expires_at.isoformat() if f.expires_at else None,
                "created_at": f.created_at.isoformat(),
            }
            for f in filters
        ],
        "comment_controls": [
            {
                "video_id": str(c.video_id) if c.video_id else None,  # None: the default of one's videos
                "hold": c.hold,
                "keywords": list(c.keywords),
                "min_account_days": c.min_account_days,
                "pinned_comment_id": str(c.pinned_comment_id) if c.pinned_comment_id is not None else None,
            }
            for c in controls
        ],
    }
