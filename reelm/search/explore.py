"""Explore: trending hashtags (with their last 7 days) and rising creators, from the viewer's realm database.

Both read the public projections of every realm (reelm.crossrealm) with the feed's safety rules: the cards
come through `public_card_select` (nothing private, held, restricted in the viewer's realm, age-restricted for
anonymous visitors) and accounts blocked either way are left out.

Trending: `search_hashtag_days` counts the public videos published per tag and day (UTC; see
reelm.crossrealm.schema.SEARCH_FUNCTIONS for why a trigger keeps it). A tag trends when at least
`MIN_RECENT` of its videos came out in the last 2 days, ranked by its growth:

    growth = (recent / 2 + 1) / (earlier / 5 + 1)

the daily rate of the last 2 days against the daily rate of the 5 days before them, each plus one so that a
tag out of nowhere ranks high but finite, and a tag steady at 10 a day scores about 1 however big it is.

Rising creators: public accounts under `RISING_MAX_FOLLOWERS` followers, ranked by what their videos of the
last 7 days gathered, relative to the audience they already have:

    rising = engagement of the week / (followers + FOLLOWER_SMOOTHING)
    engagement = views + 10 x likes + 20 x comments + 30 x shares   (the hashtag page's "top" weights)

The smoothing keeps a brand-new account with a handful of views from outranking one whose week brought
thousands; an account with no video this week is not rising.

Trending sounds: the available sounds most used by the public videos published in the last 7 days (of every
realm, as the viewer may see them), with those counts; a sound needs `MIN_SOUND_USES` of them (one video is a
video with its own sound, not a trend). The week's videos are grouped by sound on each visit, through the
projections' `videos_published` index: unlike hashtags, a video has one sound, so the week is read once, not
once per tag; a counter kept by trigger, as for hashtags, is the next step if that grows too costly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, Float, and_, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import Viewer
from reelm.crossrealm.views import public_profiles, public_sounds, public_videos
from reelm.search.hashtag_follows import follows_among
from reelm.search.models import SearchHashtagDay
from reelm.search.results import account_hit, following_column, not_blocked
from reelm.search.schemas import AccountHit, Explore, TrendingHashtag, TrendingSound
from reelm.social.cards import fetch_cards, public_card_select
from reelm.sounds.catalogue import shown_in, sound_summaries
from reelm.sounds.models import SoundStatus
from reelm.videos.schemas import VideoOut

DAYS = 7
RECENT_DAYS = 2
MIN_RECENT = 3  # videos in the last 2 days: fewer is noise, not a trend
TRENDING = 8
VIDEOS_PER_TREND = 3
RISING = 10
TRENDING_SOUNDS = 8
MIN_SOUND_USES = 2
RISING_MAX_FOLLOWERS = 10_000
FOLLOWER_SMOOTHING = 50


def _engagement() -> Any:
    pv = public_videos.c
    return pv.view_count + 10 * pv.like_count + 20 * pv.comment_count + 30 * pv.share_count


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


async def utc_today(session: AsyncSession) -> date:
    """Today in UTC as the database sees it, the clock the trigger dated the counts by."""
    today: date | None = await session.scalar(select(cast(text("(now() AT TIME ZONE 'UTC')"), Date)))
    assert today is not None
    return today


async def trending(
    session: AsyncSession, viewer: Viewer, *, today: date, base_url: str, limit: int = TRENDING
) -> list[TrendingHashtag]:
    d = SearchHashtagDay
    first, recent_from = today - timedelta(days=DAYS - 1), today - timedelta(days=RECENT_DAYS - 1)
    recent = func.coalesce(func.sum(d.videos).filter(d.day >= recent_from), 0)
    earlier = func.coalesce(func.sum(d.videos).filter(d.day < recent_from), 0)
    growth = (cast(recent, Float) / RECENT_DAYS + 1) / (cast(earlier, Float) / (DAYS - RECENT_DAYS) + 1)
    picked = list(
        await session.execute(
            select(d.tag, recent.label("recent"), growth.label("growth"))
            .where(d.day >= first, d.day <= today)
            .group_by(d.tag)
            .having(recent >= MIN_RECENT)
            .order_by(growth.desc(), recent.desc(), d.tag)
            .limit(limit)
        )
    )
    tags = [row.tag for row in picked]
    daily: dict[str, list[int]] = {tag: [0] * DAYS for tag in tags}
    for row in await session.execute(
        select(d.tag, d.day, d.videos).where(d.tag.in_(tags), d.day >= first, d.day <= today)
    ):
        daily[row.tag][(row.day - first).days] = max(0, row.videos)
    followed = await follows_among(session, viewer.user_id, tags)
    return [
        TrendingHashtag(
            tag=row.tag,
            daily=daily[row.tag],
            recent=int(row.recent),
            growth=round(float(row.growth), 3),
            videos=await _videos_of_the_week(session, viewer, row.tag, first, base_url),
            is_following=None if viewer.user_id is None else row.tag in followed,
        )
        for row in picked
    ]


async def _videos_of_the_week(
    session: AsyncSession, viewer: Viewer, tag: str, first: date, base_url: str
) -> list[VideoOut]:
    pv = public_videos.c
    query = (
        public_card_select(viewer.user_id)
        .where(
            pv.hashtags.contains([tag]),
            pv.published_at >= _start_of(first),
            not_blocked(viewer, pv.owner_id),
        )
        .order_by(_engagement().desc(), pv.id.desc())
        .limit(VIDEOS_PER_TREND)
    )
    return await fetch_cards(session, query, realm=viewer.realm, viewer=viewer, base_url=base_url)


async def rising_creators(
    session: AsyncSession, viewer: Viewer, *, today: date, limit: int = RISING
) -> list[AccountHit]:
    pv, pp = public_videos.c, public_profiles.c
    first = today - timedelta(days=DAYS - 1)
    week = (
        select(pv.owner_id, func.sum(_engagement()).label("engagement"))
        .where(pv.published_at >= _start_of(first))
        .group_by(pv.owner_id)
        .subquery()
    )
    score = cast(week.c.engagement, Float) / (pp.follower_count + FOLLOWER_SMOOTHING)
    query = (
        select(public_profiles, following_column(viewer).label("following"))
        .join(week, week.c.owner_id == pp.id)
        .where(
            and_(pp.follower_count < RISING_MAX_FOLLOWERS, week.c.engagement > 0),
            not_blocked(viewer, pp.id),
        )
        .order_by(score.desc(), pp.id.desc())
        .limit(limit)
    )
    if viewer.user_id is not None:
        query = query.where(pp.id != viewer.user_id)
    return [account_hit(row, viewer) for row in await session.execute(query)]


async def trending_sounds(
    session: AsyncSession, viewer: Viewer, *, today: date, limit: int = TRENDING_SOUNDS
) -> list[TrendingSound]:
    pv, ps = public_videos.c, public_sounds.c
    first = today - timedelta(days=DAYS - 1)
    recent = func.count().label("recent")
    week = (
        select(pv.sound_id, recent)
        .where(pv.published_at >= _start_of(first), pv.sound_id.is_not(None), *shown_in(viewer))
        .group_by(pv.sound_id)
        .having(func.count() >= MIN_SOUND_USES)
        .subquery()
    )
    picked = list(
        await session.execute(
            select(week.c.sound_id, week.c.recent)
            .join(public_sounds, ps.id == week.c.sound_id)
            .where(ps.status == SoundStatus.AVAILABLE.value, not_blocked(viewer, ps.owner_id))
            .order_by(week.c.recent.desc(), week.c.sound_id.desc())
            .limit(limit)
        )
    )
    counts = {row.sound_id: int(row.recent) for row in picked}
    sounds = await sound_summaries(session, viewer, [row.sound_id for row in picked])
    return [TrendingSound(sound=sound, recent=counts[int(sound.id)]) for sound in sounds]


async def explore(session: AsyncSession, viewer: Viewer, *, base_url: str) -> Explore:
    today = await utc_today(session)
    first = today - timedelta(days=DAYS - 1)
    return Explore(
        days=[first + timedelta(days=n) for n in range(DAYS)],
        trending=await trending(session, viewer, today=today, base_url=base_url),
        rising=await rising_creators(session, viewer, today=today),
        sounds=await trending_sounds(session, viewer, today=today),
    )
