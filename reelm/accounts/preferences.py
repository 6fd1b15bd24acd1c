"""Preferences a person keeps with their account: the interface language, for now."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import i18n
from reelm.accounts.models import User
from reelm.errors import Problem


def check_locale(locale: str) -> str:
    if not i18n.is_supported(locale):
        raise Problem(
            400,
            "unknown-locale",
            "Unknown language",
            f"The interface is available in {', '.join(i18n.SUPPORTED)}.",
        )
    return locale


async def do_set_locale(session: AsyncSession, user_id: int, locale: str) -> None:
    """Keep the interface language with the account, so that it follows the person to other browsers."""
    await session.execute(update(User).where(User.id == user_id).values(locale=check_locale(locale)))
