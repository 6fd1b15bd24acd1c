"""Staff roles, break-glass justifications and the gated read of protected data.

Every staff request that touches a person is decided by Cedar (see `policy.py`), and the decision,
allowed or not, is written to the audit outbox of the person's home realm. For a read of protected
data the decision is committed in its own transaction *before* anything protected is read, so no
read can happen that the log does not show; a crash in between loses a read, never a record.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.models import AuthSession, HandleEntry, User
from reelm.accounts.service import resolve_handle
from reelm.audit.service import JUSTIFICATION, STAFF_ACCESS, STAFF_ROLE_CHANGE, pseudonym, record_event
from reelm.crypto.service import user_cipher
from reelm.errors import Problem, not_found
from reelm.runtime import Runtime
from reelm.staff import policy
from reelm.staff.models import AccessJustification, JustificationStatus, Purpose, Role, StaffRole
from reelm.staff.policy import Decision, PolicyEngine, Uid
from reelm.staff.schemas import JustificationOut, ProtectedOut, SessionOut
from reelm.text import clean_text, invalid


def not_staff() -> Problem:
    return Problem(403, "not-staff", "Staff only", "This needs a staff role.")


def check_second_factor(runtime: Runtime, second_factor: str | None) -> None:
    """Staff act only from a session whose log-in used a second factor (reelm.accounts.two_factor): a stolen
    password alone must not open anyone's protected data. Refused before the role is even looked at."""
    if runtime.settings.staff_need_second_factor and second_factor is None:
        raise Problem(
            403,
            "second-factor-required",
            "Second factor required",
            "Staff actions need a log-in confirmed with a second factor. Set up an authenticator app or a "
            "passkey under Settings, Security, then log out and log in again with it.",
        )


def denied(action: str, decision: Decision) -> Problem:
    return Problem(
        403,
        "access-denied",
        "Access denied",
        f"The access policy does not allow {action}; the attempt has been logged.",
        reasons=decision.reasons,
    )


# --- who is staff -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffMember:
    user_id: int
    grants: dict[str, frozenset[str]]  # staff realm → roles held there

    def candidates(self, subject_realm: str | None) -> list[tuple[str, frozenset[str]]]:
        """The (realm, roles) a request is tried as: the subject's realm first, then the others."""
        order = sorted(self.grants, key=lambda realm: (realm != subject_realm, realm))
        return [(realm, self.grants[realm]) for realm in order]


def role_label(roles: frozenset[str]) -> str:
    return "+".join(sorted(roles))


def staff_actor(user_id: int, realm: str, roles: frozenset[str]) -> dict[str, Any]:
    return {"kind": "staff", "id": str(user_id), "role": role_label(roles), "staff_realm": realm}


async def staff_member(runtime: Runtime, user_id: int) -> StaffMember | None:
    async with runtime.databases.read(None) as directory:
        rows = (await directory.scalars(select(StaffRole).where(StaffRole.user_id == user_id))).all()
    grants: dict[str, set[str]] = {}
    for row in rows:
        if row.staff_realm in runtime.settings.realm_names:  # grants for realms no longer configured lapse
            grants.setdefault(row.staff_realm, set()).add(row.role)
    if not grants:
        return None
    return StaffMember(user_id=user_id, grants={k: frozenset(v) for k, v in grants.items()})


async def access_staff(runtime: Runtime, user_id: int) -> StaffMember:
    """The viewer as a staff member; anyone else gets a plain 403 (not logged: not a staff attempt)."""
    member = await staff_member(runtime, user_id)
    if member is None:
        raise not_staff()
    return member


@dataclass(frozen=True)
class StaffDecision:
    decision: Decision
    realm: str  # the staff realm the request was decided for
    roles: frozenset[str]

    def actor(self, user_id: int) -> dict[str, Any]:
        return staff_actor(user_id, self.realm, self.roles)


def decide_as_staff(
    engine: PolicyEngine,
    member: StaffMember,
    *,
    action: str,
    resource: Uid,
    context: dict[str, Any],
    entities: list[dict[str, Any]],
    subject_realm: str | None,
) -> StaffDecision:
    """Ask Cedar once per staff realm the member works for; the first allowing realm wins.

    A staff entity is a person acting for one realm with the roles held there, so that a role in one
    realm never lends its powers to another. A denial is reported for the first realm tried.
    """
    tried: list[StaffDecision] = []
    for realm, roles in member.candidates(subject_realm):
        principal = policy.staff_entity(member.user_id, roles=set(roles), staff_realm=realm)
        decision = engine.decide(
            policy.staff_uid(member.user_id), action, resource, context, [principal, *entities]
        )
        tried.append(StaffDecision(decision=decision, realm=realm, roles=roles))
        if decision.allowed:
            return tried[-1]
    first = tried[0]
    errors = [e for t in tried for e in t.decision.errors]
    return StaffDecision(
        decision=Decision(allowed=False, reasons=first.decision.reasons, errors=errors),
        realm=first.realm,
        roles=first.roles,
    )


def decision_details(engine: PolicyEngine, decision: Decision, **details: Any) -> dict[str, Any]:
    return {
        **details,
        "decision": "allow" if decision.allowed else "deny",
        "policies": decision.reasons,
        "policy_hash": engine.policy_hash,
    }


# --- role grants ----------------------------------------------------------------------------------------


def check_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise invalid("role", f"must be one of {', '.join(r.value for r in Role)}") from None


def check_realm(runtime: Runtime, value: str) -> str:
    if value not in runtime.settings.realm_names:
        raise invalid("realm", f"must be one of {', '.join(runtime.settings.realm_names)}")
    return value


async def resolve_subject(runtime: Runtime, handle: str) -> HandleEntry:
    entry = await resolve_handle(runtime, handle)
    if entry is None:
        raise not_found("User")
    return entry


async def do_grant_role(
    runtime: Runtime, *, handle: str, role: str, staff_realm: str, actor: dict[str, Any]
) -> StaffRole:
    """Grant a role and record the change in the directory's outbox, in one transaction."""
    checked = check_role(role)
    realm = check_realm(runtime, staff_realm)
    entry = await resolve_subject(runtime, handle)
    try:
        async with runtime.databases.transaction(None) as directory:
            held = set(
                await directory.scalars(select(StaffRole.role).where(StaffRole.user_id == entry.user_id))
            )
            # Auditors are independent: an auditor holds no other role, anywhere, and vice versa.
            if held and (checked is Role.AUDITOR) != (held == {Role.AUDITOR.value}):
                raise Problem(
                    409,
                    "role-conflict",
                    "Conflicting roles",
                    "An auditor holds no other staff role; revoke the other roles first.",
                )
            grant = StaffRole(
                user_id=entry.user_id,
                role=checked.value,
                staff_realm=realm,
                granted_by=actor_label(actor),
                granted_at=datetime.now(UTC),
            )
            directory.add(grant)
            await directory.flush()  # the unique constraint speaks before the change is logged
            await _record_role_change(directory, actor, "grant", entry.user_id, checked, realm)
    except IntegrityError as exc:
        raise Problem(
            409, "role-exists", "Role already granted", f"@{entry.handle} already holds this role."
        ) from exc
    return grant


async def do_revoke_role(
    runtime: Runtime, *, handle: str, role: str, staff_realm: str, actor: dict[str, Any]
) -> None:
    checked = check_role(role)
    realm = check_realm(runtime, staff_realm)
    entry = await resolve_subject(runtime, handle)
    async with runtime.databases.transaction(None) as directory:
        removed = await directory.execute(
            delete(StaffRole)
            .where(
                StaffRole.user_id == entry.user_id,
                StaffRole.role == checked.value,
                StaffRole.staff_realm == realm,
            )
            .returning(StaffRole.id)
        )
        if removed.first() is None:
            raise Problem(404, "not-found", "Grant not found", f"@{entry.handle} does not hold this role.")
        await _record_role_change(directory, actor, "revoke", entry.user_id, checked, realm)


async def _record_role_change(
    directory: AsyncSession, actor: dict[str, Any], change: str, user_id: int, role: Role, realm: str
) -> None:
    details = {"change": change, "staff": str(user_id), "role": role.value, "staff_realm": realm}
    await record_event(directory, realm=None, event_type=STAFF_ROLE_CHANGE, actor=actor, details=details)


def actor_label(actor: dict[str, Any]) -> str:
    return f"staff:{actor['id']}" if actor.get("kind") == "staff" else str(actor.get("kind", "unknown"))[:64]


async def list_roles(runtime: Runtime) -> list[tuple[str, StaffRole]]:
    """Every grant with the holder's handle, ordered by handle, realm and role."""
    async with runtime.databases.read(None) as directory:
        rows = (
            await directory.execute(
                select(HandleEntry.handle, StaffRole).join(
                    HandleEntry, HandleEntry.user_id == StaffRole.user_id
                )
            )
        ).all()
    return sorted(((h, g) for h, g in rows), key=lambda r: (r[0], r[1].staff_realm, r[1].role))


# --- justifications -------------------------------------------------------------------------------------


def justification_out(j: AccessJustification, *, subject_handle: str, subject_realm: str) -> JustificationOut:
    return JustificationOut(
        id=str(j.id),
        requester_id=str(j.requester_id),
        requester_realm=j.requester_realm,
        subject_handle=subject_handle,
        subject_realm=subject_realm,
        purpose=Purpose(j.purpose),
        reason=j.reason,
        status=j.status,
        approver_id=str(j.approver_id) if j.approver_id is not None else None,
        approved_at=j.approved_at,
        decided_at=j.decided_at,
        expires_at=j.expires_at,
        created_at=j.created_at,
    )


def justification_entities(j: AccessJustification) -> dict[str, Any]:
    return policy.justification_entity(
        j.id,
        status=j.status,
        purpose=j.purpose,
        requester_id=j.requester_id,
        subject_id=j.subject_id,
        approver_id=j.approver_id,
        expires_at=j.expires_at,
    )


async def _existing_user(session: AsyncSession, user_id: int) -> bool:
    # Only the id: nothing protected is read before the decision is logged.
    return await session.scalar(select(User.id).where(User.id == user_id)) is not None


async def do_request_justification(
    runtime: Runtime,
    engine: PolicyEngine,
    member: StaffMember,
    *,
    subject_handle: str,
    purpose: Purpose,
    reason: str,
) -> JustificationOut:
    """Store a pending break-glass request in the subject's home realm, with its logged decision."""
    text = clean_text("reason", reason, max_len=500, allow_empty=False)
    entry = await resolve_subject(runtime, subject_handle)
    realm = entry.realm
    subject = pseudonym(runtime.settings.secret_key, realm, entry.user_id)
    resource = policy.user_uid(entry.user_id)
    verdict = decide_as_staff(
        engine,
        member,
        action=policy.REQUEST_JUSTIFICATION,
        resource=resource,
        context={"purpose": purpose.value},
        entities=[policy.user_entity(entry.user_id, home_realm=realm)],
        subject_realm=realm,
    )
    async with runtime.databases.transaction(realm) as session:
        if not await _existing_user(session, entry.user_id):
            raise not_found("User")
        justification = None
        if verdict.decision.allowed:
            justification = AccessJustification(
                id=ids.new_id(runtime.settings.realm(realm).code),
                requester_id=member.user_id,
                requester_realm=verdict.realm,
                subject_id=entry.user_id,
                purpose=purpose.value,
                reason=text,
                status=JustificationStatus.PENDING.value,
                created_at=datetime.now(UTC),
            )
            session.add(justification)
        await record_event(
            session,
            realm=realm,
            event_type=JUSTIFICATION,
            actor=verdict.actor(member.user_id),
            subject=subject,
            details=decision_details(
                engine,
                verdict.decision,
                action=policy.REQUEST_JUSTIFICATION,
                purpose=purpose.value,
                justification=str(justification.id) if justification else None,
                status=JustificationStatus.PENDING.value if justification else None,
            ),
        )
    if justification is None:
        raise denied("requesting this justification", verdict.decision)
    return justification_out(justification, subject_handle=entry.handle, subject_realm=realm)


async def do_decide_justification(
    runtime: Runtime,
    engine: PolicyEngine,
    member: StaffMember,
    *,
    justification_id: str,
    approve: bool,
    valid_for: timedelta,
) -> JustificationOut:
    """Approve or reject a pending justification; the decision and the change commit together."""
    an_id = ids.parse_id(justification_id)
    realm = runtime.settings.realm_of_id(an_id) if an_id is not None else None
    if an_id is None or realm is None or realm not in runtime.databases.realm_urls:
        raise not_found("Justification")
    now = datetime.now(UTC)
    async with runtime.databases.transaction(realm) as session:
        justification = await session.get(AccessJustification, an_id, with_for_update=True)
        if justification is None:
            raise not_found("Justification")
        if justification.status != JustificationStatus.PENDING.value:
            raise Problem(
                409,
                "justification-decided",
                "Already decided",
                f"This justification is already {justification.status}.",
            )
        verdict = decide_as_staff(
            engine,
            member,
            action=policy.APPROVE_JUSTIFICATION,
            resource=policy.justification_uid(an_id),
            context={"now": policy.epoch(now)},
            entities=[justification_entities(justification)],
            subject_realm=realm,
        )
        outcome = None
        if verdict.decision.allowed:
            justification.approver_id = member.user_id
            justification.decided_at = now
            if approve:
                justification.status = JustificationStatus.APPROVED.value
                justification.approved_at = now
                justification.expires_at = now + valid_for
            else:
                justification.status = JustificationStatus.REJECTED.value
            outcome = justification.status
        expires = justification.expires_at if outcome == JustificationStatus.APPROVED.value else None
        await record_event(
            session,
            realm=realm,
            event_type=JUSTIFICATION,
            actor=verdict.actor(member.user_id),
            subject=pseudonym(runtime.settings.secret_key, realm, justification.subject_id),
            details=decision_details(
                engine,
                verdict.decision,
                action=policy.APPROVE_JUSTIFICATION,
                justification=str(an_id),
                requested=JustificationStatus.APPROVED.value
                if approve
                else JustificationStatus.REJECTED.value,
                status=outcome,
                expires_at=expires.isoformat(timespec="seconds") if expires else None,
            ),
        )
        subject_handle = await session.scalar(select(User.handle).where(User.id == justification.subject_id))
    if outcome is None:
        raise denied("deciding on this justification", verdict.decision)
    return justification_out(justification, subject_handle=subject_handle or "", subject_realm=realm)


# --- the gated read ---------------------------------------------------------------------------------------


async def do_read_protected(
    runtime: Runtime,
    engine: PolicyEngine,
    member: StaffMember,
    *,
    handle: str,
    purpose: Purpose,
    justification_id: str | None,
) -> ProtectedOut:
    """Decide, commit the logged decision, and only then read the person's protected data."""
    an_id: int | None = None
    if justification_id is not None:
        an_id = ids.parse_id(justification_id)
        if an_id is None:
            raise invalid("justification_id", "is not an id")
    entry = await resolve_subject(runtime, handle)
    realm = entry.realm
    now = datetime.now(UTC)

    async with runtime.databases.read(realm) as session:
        if not await _existing_user(session, entry.user_id):
            raise not_found("User")
        # A justification is looked up where it must live, the subject's realm; any other id is none.
        justification = await session.get(AccessJustification, an_id) if an_id is not None else None

    context: dict[str, Any] = {"purpose": purpose.value, "now": policy.epoch(now)}
    entities = [policy.user_entity(entry.user_id, home_realm=realm)]
    if justification is not None:
        context["justification"] = policy.justification_uid(justification.id).attr()
        entities.append(justification_entities(justification))
    verdict = decide_as_staff(
        engine,
        member,
        action=policy.READ_PROTECTED,
        resource=policy.user_uid(entry.user_id),
        context=context,
        entities=entities,
        subject_realm=realm,
    )

    # The decision commits on its own, before any protected read: the log never misses an access.
    async with runtime.databases.transaction(realm) as session:
        await record_event(
            session,
            realm=realm,
            event_type=STAFF_ACCESS,
            actor=verdict.actor(member.user_id),
            subject=pseudonym(runtime.settings.secret_key, realm, entry.user_id),
            details=decision_details(
                engine,
                verdict.decision,
                action=policy.READ_PROTECTED,
                purpose=purpose.value,
                justification=str(an_id) if an_id is not None else None,
            ),
        )
    if not verdict.decision.allowed:
        raise denied("reading this person's protected data", verdict.decision)

    async with runtime.databases.read(realm) as session:
        user = await session.get(User, entry.user_id)
        if user is None:  # deleted between the decision and the read
            raise not_found("User")
        sessions = (
            await session.scalars(
                select(AuthSession)
                .where(AuthSession.user_id == user.id)
                .order_by(AuthSession.created_at.desc())
            )
        ).all()
        # Decrypted only here, after the logged decision allowed the read.
        cipher = await user_cipher(session, runtime.keys.realm(realm), user.id)
    return ProtectedOut(
        user_id=str(user.id),
        handle=user.handle,
        realm=realm,
        email=cipher.open("users.email", user.email),
        country=user.country,
        sessions=[
            SessionOut(
                kind=s.kind,
                created_at=s.created_at,
                expires_at=s.expires_at,
                ip=cipher.open_optional("sessions.ip", s.ip),
                user_agent=cipher.open_optional("sessions.user_agent", s.user_agent),
            )
            for s in sessions
        ],
        purpose=purpose,
        justification_id=str(an_id) if an_id is not None else None,
        policy_hash=engine.policy_hash,
    )


# --- realm-wide reads -------------------------------------------------------------------------------------


def access_realm_read(engine: PolicyEngine, member: StaffMember, *, action: str, realm: str) -> StaffDecision:
    """Reads without personal data (aggregates, the policies): decided by Cedar, not logged."""
    verdict = decide_as_staff(
        engine,
        member,
        action=action,
        resource=Uid("Realm", realm),
        context={},
        entities=[policy.entity(Uid("Realm", realm), {})],
        subject_realm=realm,
    )
    if not verdict.decision.allowed:
        raise denied("this read", verdict.decision)
    return verdict


async def aggregates(runtime: Runtime, realm: str) -> dict[str, dict[str, int]]:
    async with runtime.databases.read(realm) as session:
        by_status = (
            await session.execute(
                select(AccessJustification.status, func.count()).group_by(AccessJustification.status)
            )
        ).all()
        by_purpose = (
            await session.execute(
                select(AccessJustification.purpose, func.count()).group_by(AccessJustification.purpose)
            )
        ).all()
    async with runtime.databases.read(None) as directory:
        roles = (await directory.scalars(select(StaffRole.role).where(StaffRole.staff_realm == realm))).all()
    return {
        "justifications_by_status": {s.value: 0 for s in JustificationStatus}
        | {str(k): int(v) for k, v in by_status},
        "justifications_by_purpose": {p.value: 0 for p in Purpose} | {str(k): int(v) for k, v in by_purpose},
        "staff_by_role": {r.value: 0 for r in Role} | dict(Counter(roles)),
    }
