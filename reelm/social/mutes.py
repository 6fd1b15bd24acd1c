"""Mutes and keyword filters: what a viewer chooses not to see, kept in their home realm (protected).

A muted account's videos and comments leave the muter's For You, Following, search and comments; the muted
account is not told (nothing changes for them: no notification, their follow stays). A keyword filter hides
videos whose caption contains the words (or that carry the #hashtag) and comments whose text contains them,
for a set time or for ever. Words are matched as plain text, case aside: no pattern language, so `.*` or
`[a]` are the characters they are.

Both are applied inside the statement that reads a page (`video_hidden`, `comment_hidden`: NOT EXISTS
clauses on the viewer's own rows), so a change applies from the next page on and costs no query of its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.errors import Problem, not_found
from reelm.social.models import KEYWORD_MAX, KeywordFilter, UserMute, ViewingPreferences
from reelm.text import clean_text

MAX_MUTES = 10_000
MAX_FILTERS = 200  # as TikTok allows; each is at most KEYWORD_MAX characters
# The durations a filter may be set for (days); None is for ever.
FILTER_DAYS = (1, 7, 30, None)


def _active(now: Any = None) -> ColumnElement[bool]:
    return or_(KeywordFilter.expires_at.is_(None), KeywordFilter.expires_at > (now or func.now()))


def video_hidden(
    viewer_id: int | None, owner_id: Any, caption: Any, hashtags: Any, ai_generated: Any = None
) -> ColumnElement[bool]:
    """True for a video the viewer muted the creator of, that one of their active filters matches, or (given
    the video's `ai_generated` label) that is AI-generated while they chose to hide those."""
    if viewer_id is None:
        return literal(False)
    me = literal(viewer_id)
    kf = KeywordFilter
    muted: ColumnElement[bool] = exists().where(UserMute.user_id == me, UserMute.muted_id == owner_id)
    if ai_generated is not None:
        muted = or_(
            muted,
            and_(
                ai_generated.is_(True),
                exists().where(
                    ViewingPreferences.user_id == me, ViewingPreferences.hide_ai_generated.is_(True)
                ),
            ),
        )
    matched = exists().where(
        kf.user_id == me,
        _active(),
        or_(
            kf.folded == hashtags.any_(),
            and_(kf.is_tag.is_(False), func.strpos(func.lower(caption), kf.folded) > 0),
        ),
    )
    return or_(muted, matched)


def comment_hidden(viewer_id: int | None, author_id: Any, body: Any) -> ColumnElement[bool]:
    """True for a comment by an account the viewer muted, or whose text an active filter matches."""
    if viewer_id is None:
        return literal(False)
    me = literal(viewer_id)
    kf = KeywordFilter
    muted = exists().where(UserMute.user_id == me, UserMute.muted_id == author_id)
    folded_body = func.lower(body)
    matched = exists().where(
        kf.user_id == me,
        _active(),
        or_(
            and_(kf.is_tag.is_(True), func.strpos(folded_body, func.concat("#", kf.folded)) > 0),
            and_(kf.is_tag.is_(False), func.strpos(folded_body, kf.folded) > 0),
        ),
    )
    return or_(muted, matched)


# --- mutes ---------------------------------------------------------------------------------------------


async def do_mute(session: AsyncSession, user_id: int, muted_id: int, *, mute: bool) -> bool:
    """Mute or unmute any account, of any realm; returns whether it is muted now."""
    if user_id == muted_id:
        raise Problem(422, "invalid-request", "The request is not valid", "You cannot mute yourself.")
    if not mute:
        await session.execute(
            delete(UserMute).where(UserMute.user_id == user_id, UserMute.muted_id == muted_id)
        )
        return False
    count = await session.scalar(
        select(func.count()).select_from(UserMute).where(UserMute.user_id == user_id)
    )
    if (count or 0) >= MAX_MUTES:
        raise Problem(
            409, "too-many-mutes", "Too many muted accounts", "Unmute someone first.", limit=MAX_MUTES
        )
    await session.execute(
        insert(UserMute).values(user_id=user_id, muted_id=muted_id).on_conflict_do_nothing()
    )
    return True


async def muted_by(session: AsyncSession, user_id: int) -> list[int]:
    """The accounts a person muted, the latest first."""
    rows = await session.scalars(
        select(UserMute.muted_id).where(UserMute.user_id == user_id).order_by(UserMute.created_at.desc())
    )
    return list(rows)


async def is_muted(session: AsyncSession, user_id: int, other_id: int) -> bool:
    found = await session.scalar(
        select(UserMute.muted_id).where(UserMute.user_id == user_id, UserMute.muted_id == other_id)
    )
    return found is not None


# --- keyword filters -----------------------------------------------------------------------------------


def parse_phrase(text: str) -> tuple[str, str, bool]:
    """(the phrase as shown, what is matched, whether it is a #hashtag). A hashtag is one word after '#';
    anything else is matched as the plain text it is."""
    phrase = " ".join(clean_text("phrase", text, max_len=KEYWORD_MAX, allow_empty=False).split())
    if not phrase:
        raise Problem(422, "invalid-request", "The request is not valid", "phrase: type a word or a #hashtag")
    is_tag = phrase.startswith("#") and len(phrase) > 1 and " " not in phrase
    folded = phrase[1:].lower() if is_tag else phrase.lower()
    return phrase, folded, is_tag


async def do_add_filter(
    session: AsyncSession, user_id: int, text: str, *, days: int | None, now: datetime
) -> KeywordFilter:
    """Add a filter (or renew one with the same words: its duration is the new one)."""
    if days not in FILTER_DAYS:
        raise Problem(
            422, "invalid-request", "The request is not valid", "days: 1, 7 or 30, or none for ever"
        )
    phrase, folded, is_tag = parse_phrase(text)
    expires = now + timedelta(days=days) if days is not None else None
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"filters:{user_id}", 0))))
    existing = await session.scalar(
        select(KeywordFilter).where(KeywordFilter.user_id == user_id, KeywordFilter.folded == folded)
    )
    if existing is not None:
        existing.phrase, existing.is_tag, existing.expires_at = phrase, is_tag, expires
        await session.flush()
        return existing
    count = await session.scalar(
        select(func.count()).select_from(KeywordFilter).where(KeywordFilter.user_id == user_id, _active(now))
    )
    if (count or 0) >= MAX_FILTERS:
        raise Problem(
            409,
            "too-many-filters",
            "Too many keyword filters",
            f"You have {MAX_FILTERS} filters already: remove one first.",
            limit=MAX_FILTERS,
        )
    # Expired filters make room for new ones.
    await session.execute(delete(KeywordFilter).where(KeywordFilter.user_id == user_id, ~_active(now)))
    added = KeywordFilter(user_id=user_id, phrase=phrase, folded=folded, is_tag=is_tag, expires_at=expires)
    session.add(added)
    await session.flush()
    return added


async def do_remove_filter(session: AsyncSession, user_id: int, filter_id: int) -> None:
    gone = await session.execute(
        delete(KeywordFilter)
        .where(KeywordFilter.user_id == user_id, KeywordFilter.id == filter_id)
        .returning(KeywordFilter.id)
    )
    if gone.first() is None:
        raise not_found("Filter")


async def filters_of(session: AsyncSession, user_id: int, now: datetime) -> list[KeywordFilter]:
    """A person's active filters, the latest added first."""
    rows = await session.scalars(
        select(KeywordFilter)
        .where(KeywordFilter.user_id == user_id, _active(now))
        .order_by(KeywordFilter.created_at.desc(), KeywordFilter.id.desc())
    )
    return list(rows)


# --- hiding AI-generated videos --------------------------------------------------------------------------


async def hides_ai_generated(session: AsyncSession, user_id: int) -> bool:
    found = await session.scalar(
        select(ViewingPreferences.hide_ai_generated).where(ViewingPreferences.user_id == user_id)
    )
    return bool(found)


async def do_hide_ai_generated(session: AsyncSession, user_id: int, *, hide: bool, now: datetime) -> bool:
    """Hide (or show again) videos their creators labelled AI-generated, wherever filters apply."""
    await session.execute(
        insert(ViewingPreferences)
        .values(user_id=user_id, hide_ai_generated=hide, updated_at=now)
        .on_conflict_do_update(
            index_elements=["user_id"], set_={"hide_ai_generated": hide, "updated_at": now}
        )
    )
    return hide
