"""Search results: videos, accounts and hashtags of every realm, from the viewer's own realm database.

Every realm holds the public projections of all realms (reelm.crossrealm), indexed for search there, so a
query never leaves the viewer's realm and a video made private leaves every realm's results as soon as it
leaves their feeds. Videos come through the feed's own card query, with its safety rules: nothing removed,
held, private or from a suspended or deleting account (none of it is projected), nothing restricted in the
viewer's realm, nothing age-restricted for anonymous visitors; accounts blocked either way are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import Viewer
from reelm.crossrealm.views import public_profiles, public_videos
from reelm.safety.models import UserBlock
from reelm.search.models import SearchHashtag, SearchWord
from reelm.search.schemas import AccountHit, HashtagHit
from reelm.search.terms import MAX_WORDS, tsqueries, typo_candidates, typo_variants
from reelm.social.cards import fetch_cards, public_card_select
from reelm.social.models import Follow
from reelm.videos.schemas import VideoOut
from reelm.videos.service import media_url

# A typo match counts for less than a word or prefix typed right.
TYPO_WEIGHT = 0.3
# ts_rank_cd normalisation 1: divide by 1 + log(document length), so long captions do not win by length.
_RANK_NORMALISATION = 1
FRESHNESS_DAYS = 30.0  # a video this old scores half what a new one does, other things equal


@dataclass(frozen=True)
class Matching:
    """One search's words and the text-search queries built from them."""

    words: list[str]
    strict: ColumnElement[Any]
    loose: ColumnElement[Any]
    # The words run together, as a hashtag or handle would be written ("dance party" -> "danceparty").
    joined: str
    # For each word, the real words one typo away that the loose query also takes.
    typos: dict[str, list[str]]


async def matching(session: AsyncSession, query: str) -> Matching | None:
    """Fold and split the query as the index folded the documents; None when no word is left."""
    rows = await session.execute(
        text(
            "SELECT lexeme FROM unnest(to_tsvector('pg_catalog.simple', reelm_search_fold(:q))) "
            "ORDER BY positions[1] LIMIT :n"
        ),
        {"q": query, "n": MAX_WORDS},
    )
    words = [row.lexeme for row in rows]
    candidates = typo_candidates(words)
    wanted = sorted({c for found in candidates.values() for c in found})
    real = (
        set(await session.scalars(select(SearchWord.word).where(SearchWord.word.in_(wanted))))
        if wanted
        else set()
    )
    typos = {word: [c for c in found if c in real] for word, found in candidates.items()}
    built = tsqueries(words, typos)
    if built is None:
        return None
    strict, loose = built
    return Matching(
        words=words,
        strict=cast(literal(strict), TSQUERY),
        loose=cast(literal(loose), TSQUERY),
        joined="".join(words),
        typos=typos,
    )


def _relevance(document: ColumnElement[Any], match: Matching) -> ColumnElement[float]:
    return func.ts_rank_cd(document, match.strict, _RANK_NORMALISATION) + TYPO_WEIGHT * func.ts_rank_cd(
        document, match.loose, _RANK_NORMALISATION
    )


def not_blocked(viewer: Viewer, account: ColumnElement[int]) -> ColumnElement[bool]:
    me = viewer.user_id
    if me is None:
        return true()
    return ~exists().where(
        or_(
            and_(UserBlock.blocker_id == me, UserBlock.blocked_id == account),
            and_(UserBlock.blocker_id == account, UserBlock.blocked_id == me),
        )
    )


def video_search(viewer: Viewer, match: Matching) -> Select[Any]:
    """Videos matching every word, best first: relevance x engagement x freshness, an exact hashtag hit
    doubled and a video that moderation demoted halved (as the feed demotes it)."""
    pv = public_videos
    document = func.reelm_video_document(pv.c.caption, pv.c.hashtags)
    engagement = 1.0 + 0.1 * func.ln(1 + pv.c.view_count) + 0.2 * func.ln(1 + pv.c.like_count)
    age_days = func.extract("epoch", func.now() - func.coalesce(pv.c.published_at, pv.c.created_at)) / 86400
    freshness = 1.0 / (1.0 + func.greatest(age_days, 0) / FRESHNESS_DAYS)
    exact_tag = case((pv.c.hashtags.contains([match.joined]), 2.0), else_=1.0)
    demoted = case((pv.c.demoted, 0.5), else_=1.0)
    score = cast(_relevance(document, match) * engagement * freshness * exact_tag * demoted, Float)
    return (
        public_card_select(viewer.user_id)
        .where(document.op("@@")(match.loose), not_blocked(viewer, pv.c.owner_id))
        .order_by(score.desc(), pv.c.id.desc())
    )


async def find_videos(
    session: AsyncSession, viewer: Viewer, match: Matching, *, offset: int, limit: int, base_url: str
) -> list[VideoOut]:
    query = video_search(viewer, match).offset(offset).limit(limit)
    return await fetch_cards(session, query, realm=viewer.realm, viewer=viewer, base_url=base_url)


async def find_accounts(
    session: AsyncSession, viewer: Viewer, match: Matching, *, offset: int, limit: int
) -> list[AccountHit]:
    """Accounts whose handle, name or bio match, the exact handle first, then by relevance x followers."""
    pp = public_profiles
    document = func.reelm_profile_document(pp.c.handle, pp.c.display_name, pp.c.bio)
    exact = case((pp.c.handle == match.joined, 10.0), else_=1.0)
    popularity = 1.0 + 0.1 * func.ln(1 + pp.c.follower_count)
    score = cast(_relevance(document, match) * popularity * exact, Float)
    query = (
        select(pp, following_column(viewer).label("following"))
        .where(document.op("@@")(match.loose), not_blocked(viewer, pp.c.id))
        .order_by(score.desc(), pp.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [account_hit(row, viewer) for row in await session.execute(query)]


def following_column(viewer: Viewer) -> ColumnElement[Any]:
    """Whether the viewer follows each `public_profiles` row (NULL for anonymous visitors)."""
    me = viewer.user_id
    if me is None:
        return literal(None)
    return exists().where(Follow.follower_id == me, Follow.followee_id == public_profiles.c.id)


def account_hit(row: Any, viewer: Viewer) -> AccountHit:
    """An account found, from a `public_profiles` row with its `following` column."""
    me = viewer.user_id
    return AccountHit(
        id=str(row.id),
        realm=row.realm,
        handle=row.handle,
        display_name=row.display_name,
        bio=row.bio,
        avatar_url=media_url(row.realm, row.avatar_key) if row.avatar_key else None,
        follower_count=row.follower_count,
        video_count=row.video_count,
        is_following=None if me is None or row.id == me else bool(row.following),
    )


async def find_hashtags(
    session: AsyncSession, match: Matching, *, offset: int, limit: int
) -> list[HashtagHit]:
    """Hashtags starting with the words run together, or one typo from them; the exact tag first, then by
    how many public videos carry each."""
    h = SearchHashtag
    prefix = match.joined.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    typos = typo_variants(match.joined)
    matches: ColumnElement[bool] = h.folded.like(prefix, escape="\\")
    if typos:
        matches = or_(matches, h.folded.in_(typos))
    query = (
        select(h.tag, h.videos)
        .where(h.videos > 0, matches)
        .order_by(
            (h.folded == match.joined).desc(), h.folded.like(prefix, escape="\\").desc(), h.videos.desc()
        )
        .order_by(h.tag)
        .offset(offset)
        .limit(limit)
    )
    return [HashtagHit(tag=row.tag, video_count=row.videos) for row in await session.execute(query)]
