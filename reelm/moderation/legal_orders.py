"""Orders of authorities (DSA Art. 9): recorded, applied to every target, logged, and told to the user
unless the order forbids it (then the user sees neither the statement nor why the content went)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.audit.service import LEGAL_ORDER, record_event
from reelm.errors import Problem
from reelm.moderation.decisions import DecisionSpec, check_realms, do_record_decision
from reelm.moderation.models import REVIEWER_ACTIONS, Action, Ground, LegalOrder, LegalOrderTarget, Source
from reelm.moderation.schemas import LegalOrderIn, LegalOrderOut
from reelm.moderation.service import check_category, content_info, content_ref, open_case_of
from reelm.runtime import Runtime
from reelm.staff.service import StaffDecision
from reelm.text import clean_text, invalid


def legal_order_out(order: LegalOrder, realm: str, decision_ids: list[int]) -> LegalOrderOut:
    return LegalOrderOut(
        id=str(order.id),
        realm=realm,
        authority=order.authority,
        legal_basis=order.legal_basis,
        reference=order.reference,
        scope=order.scope,
        territorial_scope=list(order.territorial_scope),
        notify_users=order.notify_users,
        target_count=order.target_count,
        received_at=order.received_at,
        applied_at=order.applied_at,
        decision_ids=[str(d) for d in decision_ids],
    )


async def do_record_legal_order(
    session: AsyncSession,
    runtime: Runtime,
    verdict: StaffDecision,
    staff_id: int,
    realm: str,
    body: LegalOrderIn,
) -> tuple[LegalOrder, list[int]]:
    """Record the order and apply it to each target (all in this realm), in the caller's transaction."""
    authority = clean_text("authority", body.authority, max_len=500, allow_empty=False)
    legal_basis = clean_text("legal_basis", body.legal_basis, max_len=1000, allow_empty=False)
    reference = clean_text("reference", body.reference, max_len=200, allow_empty=False, multiline=False)
    scope = clean_text("scope", body.scope, max_len=4000, allow_empty=False)
    category = check_category(body.category)
    action = Action(body.action)
    territory = check_realms(runtime, body.territorial_scope, "territorial_scope")
    if action is Action.GEO_RESTRICT and not territory:
        raise invalid("territorial_scope", "a restriction to some realms names them")
    refs = []
    for index, target in enumerate(body.targets):
        ref = content_ref(runtime, target.content_type, target.content_id)
        if ref.realm != realm:
            raise invalid(f"targets.{index}", f"lives in realm {ref.realm}: record the order there")
        if ref.type not in REVIEWER_ACTIONS[action]:
            raise invalid(f"targets.{index}", f"{action.value} does not apply to a {ref.type.value}")
        if await content_info(session, ref) is None:
            raise Problem(404, "not-found", "Target not found", f"targets.{index}: no such {ref.type.value}")
        refs.append(ref)
    if len({(r.type, r.id) for r in refs}) != len(refs):
        raise invalid("targets", "a target is listed twice")
    now = datetime.now(UTC)
    order = LegalOrder(
        id=ids.new_id(runtime.settings.realm(realm).code),
        authority=authority,
        legal_basis=legal_basis,
        reference=reference,
        scope=scope,
        territorial_scope=territory,
        notify_users=body.notify_users,
        target_count=len(refs),
        received_at=body.received_at or now,
        applied_at=now,
        recorded_by=f"staff:{staff_id}",
    )
    session.add(order)
    await session.flush()  # targets refer to the order
    actor = verdict.actor(staff_id)
    decision_ids = []
    for ref in refs:
        case = await open_case_of(session, ref.type.value, ref.id)
        decision = await do_record_decision(
            session,
            runtime,
            ref,
            DecisionSpec(
                action=action,
                category=category,
                ground=Ground.ILLEGAL,
                facts=f"Order {reference} of {authority}: {scope}"[:5000],
                legal_ground=legal_basis[:500],
                restricted_realms=territory if action is Action.GEO_RESTRICT else [],
            ),
            actor=actor,
            reviewer_id=staff_id,
            source_type=Source.OTHER_NOTIFICATION,
            automated_detection=False,
            case=case,
            close_case=True,
            legal_order_id=order.id,
            tell_user=body.notify_users,
        )
        session.add(
            LegalOrderTarget(
                order_id=order.id,
                content_type=ref.type.value,
                content_id=ref.id,
                content_owner_id=decision.content_owner_id,
                decision_id=decision.id,
            )
        )
        decision_ids.append(decision.id)
    await record_event(
        session,
        realm=realm,
        event_type=LEGAL_ORDER,
        actor=actor,
        details={
            "order": str(order.id),
            "authority": authority,
            "legal_basis": legal_basis,
            "action": action.value,
            "territorial_scope": territory,
            "targets": len(refs),
            "notify_users": body.notify_users,
            "policies": verdict.decision.reasons,
        },
    )
    return order, decision_ids


async def list_orders(session: AsyncSession, realm: str) -> list[LegalOrderOut]:
    orders = list(await session.scalars(select(LegalOrder).order_by(LegalOrder.applied_at.desc()).limit(200)))
    out = []
    for order in orders:
        decision_ids = list(
            await session.scalars(
                select(LegalOrderTarget.decision_id).where(LegalOrderTarget.order_id == order.id)
            )
        )
        out.append(legal_order_out(order, realm, decision_ids))
    return out
