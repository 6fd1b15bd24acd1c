"""Enforcing the switches in requests: the 451 problem, the `require_capability` gate and its route class.

The realm that matters is the viewer's home realm for what a user does (upload, comment, edit their
profile, search their realm), and the content's realm for watching it. A refusal is HTTP 451
(RFC 7725) with a problem body a client can act on, `type: /problems/capability-off`, and a `Link`
to the realm's public switch list.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute

from reelm import ids
from reelm.accounts.service import resolve_handle
from reelm.accounts.viewer import Viewer
from reelm.errors import Problem
from reelm.inputs import HANDLE_PATTERN
from reelm.realms.models import LABELS, Capability, SwitchState
from reelm.realms.switches import Switch, Switchboard
from reelm.runtime import Runtime
from reelm.web.deps import ViewerDep, identify

CAPABILITY_OFF = "capability-off"
_HANDLE = re.compile(HANDLE_PATTERN.removeprefix("^").removesuffix("$"))


async def get_switchboard(request: Request) -> Switchboard:
    board: Switchboard = request.app.state.switchboard
    return board


SwitchboardDep = Annotated[Switchboard, Depends(get_switchboard)]


def notice_url(runtime: Runtime, realm: str) -> str:
    return f"{runtime.settings.base_url.rstrip('/')}/api/v1/realms/{realm}/capabilities"


def capability_off(runtime: Runtime, switch: Switch) -> Problem:
    """The 451 for a viewer that a switch keeps out: off, or outside a partial rollout."""
    label = LABELS[switch.capability]
    title = runtime.settings.realm(switch.realm).title
    if switch.state is SwitchState.OFF:
        default = f"{label} is switched off in the {title} realm for now."
    else:
        default = f"{label} is coming back gradually in the {title} realm and is not open to you yet."
    return Problem(
        451,
        CAPABILITY_OFF,
        "Unavailable in this realm",
        switch.notice or default,
        # RFC 7725 §3: the link names who blocks; here the operator's own public list of switches.
        headers={"Link": f'<{notice_url(runtime, switch.realm)}>; rel="blocked-by"'},
        capability=switch.capability.value,
        realm=switch.realm,
        state=switch.state.value,
        percent=switch.percent,
        notice=switch.notice,
        changed_at=switch.changed_at.isoformat() if switch.changed_at else None,
    )


def refusal(request: Request, realm: str, capability: Capability, user_id: int | None) -> Problem | None:
    """The problem to answer with when the switch keeps this user out, else None."""
    board: Switchboard = request.app.state.switchboard
    if board.allowed(realm, capability, user_id):
        return None
    return capability_off(request.app.state.runtime, board.switch(realm, capability))


def check_capability(request: Request, realm: str, capability: Capability, user_id: int | None) -> None:
    if (problem := refusal(request, realm, capability, user_id)) is not None:
        raise problem


# Which realm a gate asks about: None lets the request through to the route, which then answers
# (a 404 for an id that names no realm, say).
RealmOf = Callable[[Request, Viewer], Awaitable[str | None]]


async def viewer_realm(_: Request, viewer: Viewer) -> str | None:
    return viewer.realm


async def video_realm_in_path(request: Request, _: Viewer) -> str | None:
    """The realm that minted the `video_id` in the path: the content's realm."""
    parsed = ids.parse_id(str(request.path_params.get("video_id", "")))
    return request.app.state.runtime.settings.realm_of_id(parsed) if parsed is not None else None


async def handle_realm_in_path(request: Request, _: Viewer) -> str | None:
    """The home realm of the `handle` in the path: where that creator's videos live."""
    handle = str(request.path_params.get("handle", ""))
    if _HANDLE.fullmatch(handle) is None:  # gates run before the path is validated: let the route say 404
        return None
    entry = await resolve_handle(request.app.state.runtime, handle)
    return entry.realm if entry is not None else None


class CapabilityGate:
    """A dependency that answers 451 unless the capability is open to this viewer in the realm."""

    def __init__(self, capability: Capability, realm_of: RealmOf = viewer_realm) -> None:
        self.capability = capability
        self.realm_of = realm_of

    async def check(self, request: Request, viewer: Viewer) -> None:
        realm = await self.realm_of(request, viewer)
        if realm is not None:
            check_capability(request, realm, self.capability, viewer.user_id)

    async def __call__(self, request: Request, viewer: ViewerDep) -> None:
        await self.check(request, viewer)


def require_capability(capability: Capability, realm_of: RealmOf = viewer_realm) -> Any:
    """For a route's `dependencies=[...]`: `require_capability(Capability.UPLOAD)`."""
    return Depends(CapabilityGate(capability, realm_of))


class CapabilityRoute(APIRoute):
    """A route class that checks a route's capability gates before FastAPI reads the request body.

    FastAPI reads and parses the body before it solves any dependency, so a plain gate would refuse
    an upload only after receiving it in full and spooling it to disk. With this class a refused
    upload is answered from its headers alone. The gates run once more as ordinary dependencies,
    for the viewer FastAPI resolves; the second look costs a dictionary lookup.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        gates = [d.call for d in self.dependant.dependencies if isinstance(d.call, CapabilityGate)]
        if self.body_field is None or not gates:
            return handler

        async def gated(request: Request) -> Response:
            viewer = await identify(request, request.app.state.runtime)
            if viewer is not None:  # a bad token: the route's own dependency answers 401
                for gate in gates:
                    await gate.check(request, viewer)
            return await handler(request)

        return gated
