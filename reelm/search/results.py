"""Search results: videos, accounts and hashtags of every realm, from the viewer's own realm database.

Every realm holds the public projections of all realms (reelm.crossrealm), indexed for search there, so a
query never leaves the viewer's realm and a video made private leaves every realm's results as soon as it
leaves their feeds. Videos come through the feed's own card query, with its safety rules: nothing removed,
held, private or from a suspended or deleting account (none of it is projected), nothing restricted in the
viewer's realm, nothing age-restricted for anonymous visitors; accounts blocked either way are left out.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    Text,
    and_,
    any_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG, TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import Viewer
from reelm.crossrealm.views import public_profiles, public_sounds, public_videos
from reelm.safety.models import UserBlock
from reelm.search.models import SearchHashtag, SearchWord
from reelm.search.schemas import AccountHit, HashtagHit
from reelm.search.terms import MAX_WORDS, tsqueries, typo_candidates, typo_variants
from reelm.social.cards import fetch_cards, public_card_select
from reelm.social.models import Follow
from reelm.social.mutes import video_hidden
from reelm.sounds.catalogue import sound_summaries, uses
from reelm.sounds.models import SoundStatus
from reelm.sounds.schemas import SoundSummary
from reelm.videos.schemas import VideoOut
from reelm.videos.service import media_url

# A typo match counts for less than a word or prefix typed right.
TYPO_WEIGHT = 0.3
# ts_rank_cd normalisation 1: divide by 1 + log(document length), so long captions do not win by length.
_RANK_NORMALISATION = 1
# A search lists at most this many videos or accounts (a dozen pages): deeper results are not read, and each
# candidate pool (see video_search) takes this many matches, so that every page ranks the same candidates.
MAX_RESULTS = 300


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


# The words of recent query texts: typeahead sends the same few prefixes from many people, and the database's
# folding and splitting of a text never changes (reelm_search_fold, the `simple` parser). Bounded in size.
_WORDS_KEPT = 4096
_words_of: OrderedDict[str, list[str]] = OrderedDict()


async def matching(session: AsyncSession, query: str) -> Matching | None:
    """Fold and split the query as the index folded the documents; None when no word is left."""
    words = _words_of.get(query)
    if words is None:
        words = await _words(session, query)
        _words_of[query] = words
        while len(_words_of) > _WORDS_KEPT:
            _words_of.popitem(last=False)
    _words_of.move_to_end(query)
    candidates = typo_candidates(words)
    wanted = sorted({c for found in candidates.values() for c in found})
    real = (
        set(await session.scalars(select(SearchWord.word).where(SearchWord.word == any_(_texts(wanted)))))
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


async def _words(session: AsyncSession, query: str) -> list[str]:
    rows = await session.execute(
        text(
            "SELECT lexeme FROM unnest(to_tsvector('pg_catalog.simple', reelm_search_fold(:q))) "
            "ORDER BY positions[1] LIMIT :n"
        ),
        {"q": query, "n": MAX_WORDS},
    )
    return [row.lexeme for row in rows]


def _texts(values: list[str]) -> ColumnElement[Any]:
    # One array parameter, not one parameter per value: a typo's hundreds of candidates would otherwise
    # make every search compile and send a statement of that many placeholders.
    return cast(literal(values, ARRAY(Text)), ARRAY(Text))


def _relevance(document: ColumnElement[Any], match: Matching) -> ColumnElement[float]:
    strict = func.ts_rank_cd(document, match.strict, _RANK_NORMALISATION)
    if not any(match.typos.values()):
        return (1 + TYPO_WEIGHT) * strict  # the loose query is the strict one: rank once
    return strict + TYPO_WEIGHT * func.ts_rank_cd(document, match.loose, _RANK_NORMALISATION)


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


def _shown(viewer: Viewer) -> list[ColumnElement[bool]]:
    """The feed's rules for a video list, on `public_videos` (see the module's docstring)."""
    pv = public_videos
    rules = [
        # Not array_position(...) IS NULL, as the cards write it: the planner has statistics for `@>` and
        # so estimates how many matches remain, which decides how each pool is read.
        ~pv.c.restricted_realms.contains([viewer.realm]),
        not_blocked(viewer, pv.c.owner_id),
        # The viewer's mutes and keyword filters (reelm.social.mutes), in the same statement.
        ~video_hidden(viewer.user_id, pv.c.owner_id, pv.c.caption, pv.c.hashtags, pv.c.ai_generated),
    ]
    if viewer.user_id is None:
        rules.append(pv.c.age_restricted.is_(False))
    return rules


def video_search(viewer: Viewer, match: Matching) -> Select[Any]:
    """The ids of the videos matching every word, best first.

    A video's score is its text relevance x its prior (engagement, freshness and moderation's demotion:
    `reelm_video_prior` in reelm.crossrealm.schema, stored and indexed with the video), doubled for an
    exact hashtag hit. Scoring every match of a common word would grow with the catalogue, so only two
    pools are ranked: the MAX_RESULTS matches with the best prior, and the MAX_RESULTS videos tagged with
    the words run together. PostgreSQL fills each pool from whichever index costs less for that query: the
    prior's B-tree, stopping at MAX_RESULTS matches (a common word), or the document's GIN index (a rare one).
    """
    pv = public_videos

    def pool(matches: ColumnElement[bool]) -> Select[Any]:
        return (
            select(pv.c.id, pv.c.search_document, pv.c.hashtags, pv.c.search_prior)
            .where(matches, *_shown(viewer))
            .order_by(pv.c.search_prior.desc())
            .limit(MAX_RESULTS)
        )

    found = union_all(
        pool(pv.c.search_document.op("@@")(match.loose)), pool(pv.c.hashtags.contains([match.joined]))
    ).subquery("found")
    exact_tag = case((found.c.hashtags.contains([match.joined]), 2.0), else_=1.0)
    # exp(prior) is the prior's factor up to one constant (its freshness counted from now, not a fixed day).
    prior = func.exp(found.c.search_prior)
    score = cast(_relevance(found.c.search_document, match) * exact_tag * prior, Float)
    scored = select(found.c.id, score.label("score")).distinct().subquery("scored")
    return select(scored.c.id).order_by(scored.c.score.desc(), scored.c.id.desc())


async def find_videos(
    session: AsyncSession, viewer: Viewer, match: Matching, *, offset: int, limit: int, base_url: str
) -> list[VideoOut]:
    """One page of the videos found, as cards: ranked by id first, so that only the page becomes cards."""
    ids = list(await session.scalars(video_search(viewer, match).offset(offset).limit(limit)))
    return await cards_of(session, viewer, ids, base_url=base_url)


async def cards_of(session: AsyncSession, viewer: Viewer, ids: list[int], *, base_url: str) -> list[VideoOut]:
    """The cards of these public videos, in this order."""
    if not ids:
        return []
    query = public_card_select(viewer.user_id).where(public_videos.c.id.in_(ids))
    found = await fetch_cards(session, query, realm=viewer.realm, viewer=viewer, base_url=base_url)
    cards = {card.id: card for card in found}
    return [cards[str(i)] for i in ids if str(i) in cards]


async def find_accounts(
    session: AsyncSession, viewer: Viewer, match: Matching, *, offset: int, limit: int
) -> list[AccountHit]:
    """Accounts whose handle, name or bio match, the exact handle first, then by relevance x followers.

    As with videos, two pools are ranked, not every match: the MAX_RESULTS most followed matches, and the
    account whose handle is the words run together."""
    pp = public_profiles

    def pool(matches: ColumnElement[bool]) -> Select[Any]:
        return (
            select(pp.c.id)
            .where(matches, not_blocked(viewer, pp.c.id))
            .order_by(pp.c.follower_count.desc())
            .limit(MAX_RESULTS)
        )

    found = union_all(
        pool(pp.c.search_document.op("@@")(match.loose)), pool(pp.c.handle == match.joined)
    ).subquery("found")
    exact = case((pp.c.handle == match.joined, 10.0), else_=1.0)
    popularity = 1.0 + 0.1 * func.ln(1 + pp.c.follower_count)
    score = cast(_relevance(pp.c.search_document, match) * popularity * exact, Float)
    query = (
        select(pp, following_column(viewer).label("following"))
        .where(pp.c.id.in_(select(found.c.id)))
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
        matches = or_(matches, h.folded == any_(_texts(typos)))
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


# An unnamed sound is "original sound - @handle": its document holds "original sound" (reelm_sound_document),
# and its creator's handle and name are joined when searching. These words, or their beginnings, name no one.
_UNNAMED_WORDS = ("original", "sound")


def _creator_words(match: Matching) -> list[str]:
    return [w for w in match.words if not any(word.startswith(w) for word in _UNNAMED_WORDS)]


def sound_search(viewer: Viewer, match: Matching) -> Select[Any]:
    """The ids of the available sounds matching every word, best first.

    A sound matches by its title, or, unnamed, by "original sound" and its creator's handle and name. Its
    score is its text relevance x (1 + ln(1 + the public videos using it)): a sound many people film to
    comes before a barely used one of the same words. As for videos, only pools are ranked, each of
    MAX_RESULTS candidates, newest first: the sounds whose title matches (the document's GIN index), and the
    unnamed sounds of the most followed accounts whose profile matches the words other than "original sound"
    (the profiles' index, then each account's unnamed sounds by `sounds_owner`). A common word thus ranks
    the newest matches only, as a video search ranks the best-prior ones.
    """
    ps = public_sounds.c
    owner = public_profiles.alias("sound_owner")
    available = ps.status == SoundStatus.AVAILABLE.value
    pools = [
        select(ps.id)
        .where(ps.search_document.op("@@")(match.loose), available)
        .order_by(ps.id.desc())
        .limit(MAX_RESULTS)
    ]
    if creator_words := _creator_words(match):
        built = tsqueries(creator_words, match.typos)
        assert built is not None  # there are words
        named_by = cast(literal(built[1]), TSQUERY)
        owners = (
            select(public_profiles.c.id)
            .where(public_profiles.c.search_document.op("@@")(named_by))
            .order_by(public_profiles.c.follower_count.desc())
            .limit(MAX_RESULTS)
        )
        pools.append(
            select(ps.id)
            .where(ps.title.is_(None), ps.owner_id.in_(owners), available)
            .order_by(ps.id.desc())
            .limit(MAX_RESULTS)
        )
    found = union_all(*pools).subquery("found")
    names = func.concat_ws(" ", owner.c.handle, owner.c.display_name)
    # The weight as an untyped literal: a bound string is varchar, and setweight takes "char".
    creator = func.setweight(
        func.to_tsvector(cast("pg_catalog.simple", REGCONFIG), func.reelm_search_fold(names)),
        literal_column("'B'"),
    )
    document = case((ps.title.is_(None), ps.search_document.op("||")(creator)), else_=ps.search_document)
    score = cast(_relevance(document, match) * (1 + func.ln(1 + uses(viewer, ps.id))), Float)
    return (
        select(ps.id)
        .join(owner, owner.c.id == ps.owner_id)
        .where(
            ps.id.in_(select(found.c.id)), document.op("@@")(match.loose), not_blocked(viewer, ps.owner_id)
        )
        .order_by(score.desc(), ps.id.desc())
    )


async def find_sounds(
    session: AsyncSession, viewer: Viewer, match: Matching, *, offset: int, limit: int
) -> list[SoundSummary]:
    """One page of the sounds found: ranked by id first, so that only the page is read in full."""
    ids = list(await session.scalars(sound_search(viewer, match).offset(offset).limit(limit)))
    return await sound_summaries(session, viewer, ids)
