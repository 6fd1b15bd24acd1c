"""Seeing, picking and resetting one's interest profile."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.recommend.models import ViewerProfile
from reelm.recommend.profile import locked_profile
from reelm.recommend.schemas import InterestsOut, WeightOut


def interests_out(profile: ViewerProfile | None) -> InterestsOut:
    if profile is None:
        return InterestsOut(
            picked=[],
            learned_hashtags=[],
            learned_creators=[],
            hidden_creators=[],
            not_interested=0,
            events=0,
            updated_at=None,
            reset_at=None,
        )

    def ranked(weights: dict[str, float]) -> list[WeightOut]:
        return [WeightOut(name=k, weight=v) for k, v in sorted(weights.items(), key=lambda kv: -kv[1])]

    return InterestsOut(
        picked=list(profile.picked_interests),
        learned_hashtags=ranked(profile.tag_weights),
        learned_creators=ranked(profile.creator_weights),
        hidden_creators=[str(c) for c in profile.hidden_creators],
        not_interested=len(profile.not_interested),
        events=profile.events,
        updated_at=profile.updated_at,
        reset_at=profile.reset_at,
    )


async def access_interests(session: AsyncSession, user_id: int) -> InterestsOut:
    profile = await session.scalar(select(ViewerProfile).where(ViewerProfile.user_id == user_id))
    return interests_out(profile)


async def do_pick_interests(session: AsyncSession, user_id: int, hashtags: list[str]) -> InterestsOut:
    now = datetime.now(UTC)
    profile = await locked_profile(session, user_id, now)
    profile.picked_interests = list(dict.fromkeys(t.lower() for t in hashtags))
    profile.updated_at = now
    return interests_out(profile)


async def do_reset_interests(session: AsyncSession, user_id: int) -> InterestsOut:
    """Forget what was learnt (and picked); explicit controls (hidden creators, "not interested") stay."""
    now = datetime.now(UTC)
    profile = await locked_profile(session, user_id, now)
    profile.picked_interests = []
    profile.tag_weights = {}
    profile.creator_weights = {}
    profile.recent_positive = []
    profile.recent_seen = []
    profile.events = 0
    profile.updated_at = now
    profile.reset_at = now
    return interests_out(profile)
