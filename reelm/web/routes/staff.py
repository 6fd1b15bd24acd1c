"""JSON API for staff: break-glass justifications, the gated read of protected data, policies, figures.

Staff are ordinary accounts holding a role grant (see `reelm staff grant`). Every route first checks
that the viewer is staff: anyone else gets a plain 403, unlogged, since only staff attempts matter to
the log. What a staff member may then do is for the Cedar policies to say.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from reelm.staff import policy, service
from reelm.staff.models import Purpose
from reelm.staff.policy import PolicyEngine, default_engine
from reelm.staff.schemas import AggregatesOut, JustificationIn, JustificationOut, PoliciesOut, ProtectedOut
from reelm.staff.service import StaffMember
from reelm.web.deps import RuntimeDep, UserViewer
from reelm.web.params import HandlePath, IdPath, IdQuery, RealmQuery


@asynccontextmanager
async def lifespan(_: Any) -> AsyncIterator[None]:
    """Load and validate the policies when the server starts: a bad policy stops it."""
    default_engine()
    yield


async def get_policy_engine() -> PolicyEngine:
    return default_engine()


async def require_staff(runtime: RuntimeDep, viewer: UserViewer) -> StaffMember:
    member = await service.access_staff(runtime, viewer.user.id)
    service.check_second_factor(runtime, viewer.second_factor)  # after: a non-member learns nothing more
    return member


PolicyDep = Annotated[PolicyEngine, Depends(get_policy_engine)]
StaffDep = Annotated[StaffMember, Depends(require_staff)]

router = APIRouter(prefix="/staff", tags=["staff"], lifespan=lifespan)


@router.post("/justifications", status_code=201, response_model=JustificationOut)
async def create_justification(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, body: JustificationIn
) -> JustificationOut:
    """Ask for break-glass access to one person's protected data; another operator must approve it."""
    return await service.do_request_justification(
        runtime, engine, staff, subject_handle=body.subject_handle, purpose=body.purpose, reason=body.reason
    )


async def _decide_justification(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, justification_id: IdPath, *, approve: bool
) -> JustificationOut:
    return await service.do_decide_justification(
        runtime,
        engine,
        staff,
        justification_id=justification_id,
        approve=approve,
        valid_for=timedelta(hours=runtime.settings.staff_justification_hours),
    )


@router.post("/justifications/{justification_id}/approve", response_model=JustificationOut)
async def approve_justification(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, justification_id: IdPath
) -> JustificationOut:
    return await _decide_justification(runtime, engine, staff, justification_id, approve=True)


@router.post("/justifications/{justification_id}/reject", response_model=JustificationOut)
async def reject_justification(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, justification_id: IdPath
) -> JustificationOut:
    return await _decide_justification(runtime, engine, staff, justification_id, approve=False)


@router.get("/users/{handle}/protected", response_model=ProtectedOut)
async def read_protected(
    runtime: RuntimeDep,
    engine: PolicyDep,
    staff: StaffDep,
    handle: HandlePath,
    purpose: Annotated[Purpose, Query()],
    justification_id: IdQuery = None,
) -> ProtectedOut:
    """A person's e-mail, country and sessions, returned only after the decision has been logged."""
    return await service.do_read_protected(
        runtime, engine, staff, handle=handle, purpose=purpose, justification_id=justification_id
    )


@router.get("/policies", response_model=PoliciesOut)
async def get_policies(engine: PolicyDep, staff: StaffDep) -> PoliciesOut:
    """The policies in force and their hash, as logged with every decision."""
    first_realm = sorted(staff.grants)[0]
    service.access_realm_read(engine, staff, action=policy.READ_AUDIT_LOG, realm=first_realm)
    return PoliciesOut(policy_hash=engine.policy_hash, files=engine.files)


@router.get("/aggregates", response_model=AggregatesOut)
async def get_aggregates(
    runtime: RuntimeDep, engine: PolicyDep, staff: StaffDep, realm: RealmQuery
) -> AggregatesOut:
    """Counts without personal data: justifications by status and purpose, staff by role."""
    realm = service.check_realm(runtime, realm)
    service.access_realm_read(engine, staff, action=policy.READ_AGGREGATES, realm=realm)
    return AggregatesOut(realm=realm, **await service.aggregates(runtime, realm))
