"""Who may message whom: blocks, "who can message me", requests, account age, and what a message may hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import User
from reelm.crossrealm.views import public_profiles, public_videos
from reelm.errors import Problem
from reelm.messages.models import (
    AllowFrom,
    MemberState,
    MessageSettings,
)
from reelm.messages.policy import MAX_BODY_CHARS, MessagingSettings
from reelm.safety.blocks import is_blocked_between
from reelm.social.models import Follow
from reelm.text import clean_text, invalid


class Someone(Protocol):
    """A person taking part: a user row of this realm, or a Person of another realm (their profile)."""

    @property
    def id(self) -> int: ...
    @property
    def handle(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


@dataclass(frozen=True)
class Person:
    """Someone of another realm, as their public profile describes them."""

    id: int
    handle: str
    created_at: datetime


async def public_person(session: AsyncSession, user_id: int) -> tuple[Person, str] | None:
    """Someone of another realm and their realm, while their profile is public (as this realm heard)."""
    row = (await session.execute(select(public_profiles).where(public_profiles.c.id == user_id))).first()
    return (Person(row.id, row.handle, row.created_at), row.realm) if row is not None else None


async def follows(session: AsyncSession, follower_id: int, followee_id: int) -> bool:
    found = await session.scalar(
        select(Follow.follower_id).where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
    )
    return found is not None


async def allow_from(session: AsyncSession, user_id: int) -> AllowFrom:
    value = await session.scalar(select(MessageSettings.allow_from).where(MessageSettings.user_id == user_id))
    return AllowFrom(value) if value is not None else AllowFrom.EVERYONE


def _refused(type_: str, title: str, detail: str) -> Problem:
    return Problem(403, type_, title, detail)


def blocked_problem(recipient: Someone) -> Problem:
    return _refused("blocked", "You can't message this account", f"@{recipient.handle} can't be messaged.")


async def check_may_message(
    session: AsyncSession, policy: MessagingSettings, sender: Someone, recipient: User, now: datetime
) -> MemberState:
    """Where a conversation from `sender` lands for `recipient`: their inbox or their requests; or 403.

    A block either way refuses without saying who blocked whom. People the recipient follows reach the
    inbox; others reach the requests folder, unless the recipient allows only people they follow, or
    nobody; and an account younger than the policy's minimum age cannot send requests at all.
    """
    if recipient.id == sender.id:
        raise invalid("handles", "you cannot start a conversation with yourself")
    if await is_blocked_between(session, sender.id, recipient.id):
        raise blocked_problem(recipient)
    setting = await allow_from(session, recipient.id)
    if setting is AllowFrom.NOBODY:
        raise _refused(
            "messages-closed", "Not accepting messages", f"@{recipient.handle} does not accept messages."
        )
    if await follows(session, recipient.id, sender.id):
        return MemberState.ACCEPTED
    if setting is AllowFrom.FOLLOWING:
        raise _refused(
            "messages-closed",
            "Not accepting messages",
            f"@{recipient.handle} accepts messages only from people they follow.",
        )
    if now - sender.created_at < timedelta(hours=policy.min_account_age_hours):
        raise _refused(
            "account-too-new",
            "Your account is too new",
            f"New accounts can message only people who follow them for the first "
            f"{policy.min_account_age_hours:g} hours.",
        )
    return MemberState.REQUEST


def check_body(body: str, video_id: int | None) -> str | None:
    """The message text, cleaned; None when the message only shares a video. 422 for nothing at all."""
    text = clean_text("body", body, max_len=MAX_BODY_CHARS)
    if not text and video_id is None:
        raise invalid("body", "write something or share a video")
    return text or None


async def check_shared_video(session: AsyncSession, video_id: int) -> None:
    """Only what every member can watch may be shared: a public, published video of any realm."""
    found = await session.scalar(select(public_videos.c.id).where(public_videos.c.id == video_id))
    if found is None:
        raise invalid("video_id", "no such public video")


async def do_set_allow_from(session: AsyncSession, user_id: int, value: AllowFrom, now: datetime) -> None:
    await session.execute(
        insert(MessageSettings)
        .values(user_id=user_id, allow_from=value, updated_at=now)
        .on_conflict_do_update(
            index_elements=[MessageSettings.user_id], set_={"allow_from": value, "updated_at": now}
        )
    )
