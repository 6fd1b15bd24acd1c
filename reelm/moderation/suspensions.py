"""What a suspension does to the account itself, and the sweep that ends suspensions whose time is up.

A `suspend` decision stores a `moderation_suspensions` row (reelm.moderation.decisions). From then on:
- the projections drop the account's profile, videos and comments (triggers on that table,
  reelm.crossrealm.schema), and this realm's own reads leave its videos out (reelm.social.cards,
  reelm.videos.service);
- log-in is refused, and so is every existing session of the account (reelm.accounts.service raises
  AccountSuspendedError), which the web layer answers with a 403 problem `account-suspended` made here
  (`suspended_problem`), linking the statement of reasons where the user may be told. The
  sessions are kept, not deleted: they work again once the suspension ends, like the content comes back.

`lift_expired_suspensions` deletes the rows whose end has passed, which restores the projections in the
same transaction; each lifting is logged as an automated action.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import Suspension
from reelm.audit.service import pseudonym, record_event
from reelm.errors import Problem
from reelm.moderation.models import Decision, LegalOrder
from reelm.runtime import Runtime

ACCOUNT_SUSPENDED = "account-suspended"
SUSPENSION_LIFTED = "moderation.suspension_lifted"  # stable event type of the transparency log
LIFT_BATCH = 500


async def statement_link(session: AsyncSession, decision_id: int) -> str | None:
    """The statement of reasons of the decision, unless a legal order behind it forbids telling the user."""
    row = (
        await session.execute(
            select(Decision.id, LegalOrder.notify_users)
            .outerjoin(LegalOrder, LegalOrder.id == Decision.legal_order_id)
            .where(Decision.id == decision_id)
        )
    ).first()
    if row is None or row.notify_users is False:
        return None
    return f"/statements/{decision_id}"


async def suspended_problem(session: AsyncSession, decision_id: int, ends_at: datetime | None) -> Problem:
    """The 403 a suspended account gets for logging in or using a session."""
    link = await statement_link(session, decision_id)
    until = f" until {ends_at.date().isoformat()}" if ends_at is not None else ""
    detail = f"This account is suspended{until}."
    if link is not None:
        detail += f" The statement of reasons ({link}) explains why and how to appeal."
    return Problem(
        403,
        ACCOUNT_SUSPENDED,
        "Account suspended",
        detail,
        statement_url=link,
        ends_at=ends_at.isoformat() if ends_at is not None else None,
    )


async def lift_expired_suspensions(runtime: Runtime, realm: str) -> int:
    """End every suspension of the realm whose end has passed; returns how many. Idempotent and safe to
    run in several workers at once (the rows are deleted by one statement, each by whoever gets it)."""
    now = datetime.now(UTC)
    async with runtime.databases.transaction(realm) as session:
        due = (
            select(Suspension.user_id)
            .where(Suspension.ends_at.is_not(None), Suspension.ends_at <= now)
            .order_by(Suspension.ends_at)
            .limit(LIFT_BATCH)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        lifted = (
            await session.execute(
                delete(Suspension)
                .where(Suspension.user_id.in_(due))
                .returning(Suspension.user_id, Suspension.decision_id, Suspension.ends_at)
            )
        ).all()
        for user_id, decision_id, ends_at in lifted:
            await record_event(
                session,
                realm=realm,
                event_type=SUSPENSION_LIFTED,
                actor={"kind": "automated", "system": "suspension-sweep"},
                subject=pseudonym(runtime.settings.secret_key, realm, user_id),
                details={"decision": str(decision_id), "ended_at": ends_at.isoformat() if ends_at else None},
            )
    return len(lifted)
