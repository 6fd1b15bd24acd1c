"""Changing and listing the switches: validated, recorded in the transparency log, announced on commit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.audit.service import CAPABILITY_CHANGE, record_event
from reelm.errors import Problem
from reelm.realms.models import Capability, RealmCapability, SwitchState
from reelm.realms.switches import CHANNEL, Switch
from reelm.runtime import Runtime
from reelm.staff.models import Role
from reelm.staff.service import StaffMember, access_staff, actor_label, staff_actor
from reelm.text import clean_text, invalid

ALL = "all"
MAX_NOTICE = 500
MAX_REASON = 500


def check_realm(runtime: Runtime, value: str) -> str:
    if value not in runtime.settings.realm_names:
        configured = ", ".join(runtime.settings.realm_names)
        raise invalid("realm", f"unknown realm {value!r}; configured: {configured}")
    return value


def parse_capabilities(value: str) -> list[Capability]:
    """`all`, or capabilities separated by commas (`message,comment`), in the order of `Capability`."""
    names = {part.strip().lower() for part in value.split(",") if part.strip()}
    if not names:
        raise invalid("capability", f"name one or more of {', '.join(Capability)}, or {ALL}")
    if ALL in names:
        return list(Capability)
    known = {c.value for c in Capability}
    if unknown := sorted(names - known):
        raise invalid(
            "capability", f"unknown {', '.join(map(repr, unknown))}; known: {', '.join(Capability)}, or {ALL}"
        )
    return [c for c in Capability if c.value in names]


def check_percent(percent: int) -> int:
    if not 0 <= percent <= 100:
        raise invalid("percent", "must be between 0 (off) and 100 (on)")
    return percent


def state_of(percent: int) -> SwitchState:
    if percent == 0:
        return SwitchState.OFF
    return SwitchState.ON if percent == 100 else SwitchState.PERCENT


def switch_of(row: RealmCapability) -> Switch:
    return Switch(
        realm=row.realm,
        capability=Capability(row.capability),
        state=SwitchState(row.state),
        percent=row.percent,
        notice=row.notice,
        changed_by=row.changed_by,
        changed_at=row.changed_at,
        reason=row.reason,
    )


def _notice_for(percent: int, given: str | None, existing: RealmCapability | None) -> str:
    if percent == 100:
        return ""  # fully on: there is nothing left to explain
    notice = given if given else (existing.notice if existing is not None else "")
    if percent == 0 and not notice:
        raise invalid("notice", "is required to switch a capability off: it tells people why")
    return notice


async def do_set_switches(
    runtime: Runtime,
    *,
    realm: str,
    capabilities: list[Capability],
    percent: int,
    notice: str | None,
    reason: str,
    actor: dict[str, Any],
) -> list[Switch]:
    """Set capabilities of a realm to `percent` (0 off, 100 on) in one transaction.

    Each change is recorded in the directory's audit outbox, and the switchboards of every process
    are told by a notification that PostgreSQL delivers only if, and when, the transaction commits.
    A notice left out keeps the current one (a partial restore goes on explaining to those left out).
    """
    realm = check_realm(runtime, realm)
    percent = check_percent(percent)
    if not capabilities:
        raise invalid("capability", "name at least one capability")
    given = clean_text("notice", notice, max_len=MAX_NOTICE) if notice is not None else None
    why = clean_text("reason", reason, max_len=MAX_REASON)
    state = state_of(percent)
    now = datetime.now(UTC)
    by = actor_label(actor)
    changed: list[Switch] = []
    async with runtime.databases.transaction(None) as session:
        existing = {
            row.capability: row
            for row in await session.scalars(
                select(RealmCapability)
                .where(RealmCapability.realm == realm, RealmCapability.capability.in_(capabilities))
                .with_for_update()
            )
        }
        for capability in capabilities:
            switch = Switch(
                realm=realm,
                capability=capability,
                state=state,
                percent=percent,
                notice=_notice_for(percent, given, existing.get(capability.value)),
                changed_by=by,
                changed_at=now,
                reason=why,
            )
            values = {
                "state": state.value,
                "percent": percent,
                "notice": switch.notice,
                "changed_by": by,
                "changed_at": now,
                "reason": why,
            }
            await session.execute(
                insert(RealmCapability)
                .values(realm=realm, capability=capability.value, **values)
                .on_conflict_do_update(index_elements=["realm", "capability"], set_=values)
            )
            changed.append(switch)
            await record_event(
                session,
                realm=None,
                event_type=CAPABILITY_CHANGE,
                actor=actor,
                details={
                    "realm": realm,
                    "capability": capability.value,
                    "state": state.value,
                    "percent": percent,
                    "notice": switch.notice,
                    "reason": why,
                },
            )
        await announce(session, realm)
    return changed


async def announce(session: AsyncSession, realm: str) -> None:
    """Wake every switchboard once this transaction commits (never, if it rolls back)."""
    await session.execute(select(func.pg_notify(CHANNEL, realm)))


async def do_suspend(
    runtime: Runtime,
    *,
    realm: str,
    capabilities: list[Capability],
    notice: str,
    reason: str,
    actor: dict[str, Any],
) -> list[Switch]:
    return await do_set_switches(
        runtime,
        realm=realm,
        capabilities=capabilities,
        percent=0,
        notice=notice,
        reason=reason,
        actor=actor,
    )


async def do_restore(
    runtime: Runtime,
    *,
    realm: str,
    capabilities: list[Capability],
    percent: int = 100,
    reason: str,
    actor: dict[str, Any],
    notice: str | None = None,
) -> list[Switch]:
    if not 1 <= percent <= 100:
        raise invalid("percent", "must be between 1 and 100 to restore; suspend switches off")
    return await do_set_switches(
        runtime,
        realm=realm,
        capabilities=capabilities,
        percent=percent,
        notice=notice,
        reason=reason,
        actor=actor,
    )


async def list_switches(runtime: Runtime, realm: str | None = None) -> list[Switch]:
    """Every capability of every configured realm (or of one), as stored; unstored ones are on."""
    realms = [check_realm(runtime, realm)] if realm is not None else runtime.settings.realm_names
    async with runtime.databases.read(None) as session:
        rows = await session.scalars(
            select(RealmCapability).where(
                RealmCapability.realm.in_(realms),
                RealmCapability.capability.in_([c.value for c in Capability]),  # not a newer release's
            )
        )
        stored = {(row.realm, row.capability): switch_of(row) for row in rows}
    return [
        stored.get((name, capability.value)) or Switch(realm=name, capability=capability)
        for name in realms
        for capability in Capability
    ]


async def get_switch(runtime: Runtime, realm: str, capability: Capability) -> Switch:
    async with runtime.databases.read(None) as session:
        row = await session.get(RealmCapability, (check_realm(runtime, realm), capability.value))
    return switch_of(row) if row is not None else Switch(realm=realm, capability=capability)


# --- who may switch ------------------------------------------------------------------------------------


def not_operator(realm: str | None = None) -> Problem:
    where = f" for the {realm} realm" if realm else ""
    return Problem(403, "not-operator", "Operators only", f"This needs the operator role{where}.")


def operated_realms(member: StaffMember) -> list[str]:
    return sorted(realm for realm, roles in member.grants.items() if Role.OPERATOR.value in roles)


async def access_operator(runtime: Runtime, user_id: int, realm: str | None = None) -> StaffMember:
    """The viewer as an operator: of `realm` when given (to change its switches), else of any realm.

    Roles are held per realm, and an operator of one realm cannot switch another's service.
    """
    member = await access_staff(runtime, user_id)
    realms = operated_realms(member)
    if not realms or (realm is not None and realm not in realms):
        raise not_operator(realm)
    return member


def operator_actor(member: StaffMember, realm: str) -> dict[str, Any]:
    return staff_actor(member.user_id, realm, member.grants[realm])
