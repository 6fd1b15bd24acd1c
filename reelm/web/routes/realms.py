"""The switches over HTTP: a public list per realm, the operators' JSON API and the /admin page.

Reading the admin API or page needs the operator role for some realm; changing a realm's switch
needs it for that realm. A change made here is applied to this process at once (so the page shows
it after the redirect) and reaches every other process through the notification.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from reelm.accounts.viewer import Viewer
from reelm.errors import Problem, not_found
from reelm.inputs import Line, Text
from reelm.realms import service
from reelm.realms.models import LABELS, Capability
from reelm.realms.schemas import SwitchIn, SwitchList, SwitchOut
from reelm.realms.service import MAX_NOTICE, MAX_REASON
from reelm.realms.switches import Switch
from reelm.runtime import Runtime
from reelm.staff.service import StaffMember, check_second_factor
from reelm.web.capabilities import SwitchboardDep
from reelm.web.deps import RuntimeDep, UserViewer, ViewerDep
from reelm.web.params import CsrfForm, RealmChoice, RealmPath
from reelm.web.rendering import check_form_csrf, error_page, render

api = APIRouter(tags=["realms"])
pages = APIRouter(include_in_schema=False)


def path_realm(runtime: Runtime, realm: str) -> str:
    if realm not in runtime.settings.realm_names:
        raise not_found("Realm")
    return realm


async def require_operator(runtime: RuntimeDep, viewer: UserViewer) -> StaffMember:
    member = await service.access_operator(runtime, viewer.user.id)
    check_second_factor(runtime, viewer.second_factor)
    return member


@api.get("/realms/{realm}/capabilities", response_model=SwitchList)
async def realm_capabilities(runtime: RuntimeDep, realm: RealmPath) -> SwitchList:
    """Every capability of a realm and its switch, for anyone: refusals link here (RFC 7725)."""
    realm = path_realm(runtime, realm)
    switches = await service.list_switches(runtime, realm)
    return SwitchList(
        realm=realm, title=runtime.settings.realm(realm).title, items=[SwitchOut.of(s) for s in switches]
    )


@api.get(
    "/admin/realms/{realm}/capabilities/{capability}",
    response_model=SwitchOut,
    dependencies=[Depends(require_operator)],
)
async def get_capability(runtime: RuntimeDep, realm: RealmPath, capability: Capability) -> SwitchOut:
    return SwitchOut.of(await service.get_switch(runtime, path_realm(runtime, realm), capability))


@api.put("/admin/realms/{realm}/capabilities/{capability}", response_model=SwitchOut)
async def put_capability(
    runtime: RuntimeDep,
    board: SwitchboardDep,
    viewer: UserViewer,
    realm: RealmPath,
    capability: Capability,
    body: SwitchIn,
) -> SwitchOut:
    """Switch a capability on, off (with a notice), or on for `percent` % of accounts."""
    realm = path_realm(runtime, realm)
    member = await service.access_operator(runtime, viewer.user.id, realm)
    check_second_factor(runtime, viewer.second_factor)
    [switch] = await service.do_set_switches(
        runtime,
        realm=realm,
        capabilities=[capability],
        percent=body.target_percent(),
        notice=body.notice,
        reason=body.reason,
        actor=service.operator_actor(member, realm),
    )
    await board.reload()
    return SwitchOut.of(switch)


# --- the /admin page ----------------------------------------------------------------------------------


def _switch_view(switch: Switch) -> dict[str, Any]:
    return {
        "capability": switch.capability.value,
        "label": LABELS[switch.capability],
        "state": switch.state.value,
        "percent": switch.percent,
        "notice": switch.notice,
        "changed_by": switch.changed_by,
        "changed_at": switch.changed_at.isoformat(timespec="seconds") if switch.changed_at else None,
        "reason": switch.reason,
    }


async def _admin_page(
    request: Request,
    runtime: Runtime,
    viewer: Viewer,
    member: StaffMember,
    *,
    problem: Problem | None = None,
    changed: str | None = None,
) -> Response:
    operated = set(service.operated_realms(member))
    switches = await service.list_switches(runtime)
    realms = [
        {
            "name": realm.name,
            "title": realm.title,
            "operates": realm.name in operated,
            "switches": [_switch_view(s) for s in switches if s.realm == realm.name],
        }
        for realm in runtime.settings.realms
    ]
    return render(
        request,
        viewer,
        "admin.html",
        problem.status if problem else 200,
        realms=realms,
        capabilities=[{"value": c.value, "label": LABELS[c]} for c in Capability],
        error=problem.detail if problem else None,
        changed=changed if changed in runtime.settings.realm_names else None,
        max_notice=MAX_NOTICE,
        max_reason=MAX_REASON,
    )


async def _page_operator(request: Request, runtime: Runtime, viewer: Viewer) -> StaffMember | Response:
    """The operator behind a page request, or the response for anyone else (log-in, or 403)."""
    if viewer.user is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    try:
        member = await service.access_operator(runtime, viewer.user.id)
        check_second_factor(runtime, viewer.second_factor)
    except Problem as problem:
        return error_page(request, viewer, problem)
    return member


@pages.get("/admin")
async def admin_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, changed: RealmChoice = None
) -> Response:
    member = await _page_operator(request, runtime, viewer)
    if isinstance(member, Response):
        return member
    return await _admin_page(request, runtime, viewer, member, changed=changed)


@pages.post("/admin/realms/{realm}")
async def admin_switch(
    request: Request,
    runtime: RuntimeDep,
    board: SwitchboardDep,
    viewer: ViewerDep,
    realm: RealmPath,
    action: Annotated[str, Form(pattern="^(suspend|restore)$")],
    capability: Annotated[list[Line] | None, Form()] = None,
    percent: Annotated[Line, Form(max_length=3)] = "100",
    notice: Annotated[Text, Form(max_length=MAX_NOTICE)] = "",
    reason: Annotated[Text, Form(max_length=MAX_REASON)] = "",
    csrf_token: CsrfForm = "",
) -> Response:
    """Suspend or restore the ticked capabilities of one realm (an operator of that realm only)."""
    member = await _page_operator(request, runtime, viewer)
    if isinstance(member, Response):
        return member
    try:
        check_form_csrf(request, csrf_token)
        await _apply_form(runtime, member, realm, action, capability or [], percent, notice, reason)
    except Problem as problem:
        return await _admin_page(request, runtime, viewer, member, problem=problem)
    await board.reload()
    return RedirectResponse(f"/admin?changed={realm}#realm-{realm}", status_code=303)


async def _apply_form(
    runtime: Runtime,
    member: StaffMember,
    realm: str,
    action: str,
    capability: list[str],
    percent: str,
    notice: str,
    reason: str,
) -> None:
    realm = service.check_realm(runtime, realm)
    member = await service.access_operator(runtime, member.user_id, realm)
    capabilities = service.parse_capabilities(",".join(capability))
    actor = service.operator_actor(member, realm)
    if action == "suspend":
        await service.do_suspend(
            runtime, realm=realm, capabilities=capabilities, notice=notice, reason=reason, actor=actor
        )
        return
    if not re.fullmatch(r"\s*[0-9]{1,3}\s*", percent):  # ASCII digits: int() refuses "²"
        raise Problem(422, "invalid-request", "The request is not valid", "percent: a whole number")
    await service.do_restore(
        runtime,
        realm=realm,
        capabilities=capabilities,
        percent=int(percent),
        notice=notice or None,
        reason=reason,
        actor=actor,
    )
