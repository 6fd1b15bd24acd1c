"""A suspended account's log-in or session, answered with the problem content review words for it."""

from __future__ import annotations

from reelm.accounts.service import AccountSuspendedError
from reelm.errors import Problem
from reelm.moderation.suspensions import suspended_problem
from reelm.runtime import Runtime


async def suspension_problem(runtime: Runtime, suspended: AccountSuspendedError) -> Problem:
    """The 403 `account-suspended` problem, linking the statement of reasons where the user may be told."""
    async with runtime.databases.read(suspended.realm) as session:
        return await suspended_problem(session, suspended.decision_id, suspended.ends_at)
