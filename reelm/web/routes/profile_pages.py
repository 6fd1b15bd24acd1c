"""A profile's follower and following lists as pages (the profile opens them in a dialog when scripts run)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from reelm.errors import Problem
from reelm.social.follow_lists import Direction
from reelm.web.deps import RuntimeDep, ViewerDep
from reelm.web.params import Cursor, HandlePath
from reelm.web.rendering import error_page, render
from reelm.web.routes.accounts import get_user
from reelm.web.routes.social import people_page

router = APIRouter(include_in_schema=False)


async def _people(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    handle: str,
    direction: Direction,
    cursor: str | None,
) -> Response:
    try:
        profile = await get_user(runtime, viewer, handle)
        page = await people_page(runtime, viewer, handle, direction, cursor, 50)
    except Problem as problem:
        return error_page(request, viewer, problem)
    return render(
        request,
        viewer,
        "people.html",
        profile=profile.model_dump(mode="json"),
        direction=direction,
        people=[p.model_dump(mode="json") for p in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/@{handle}/followers")
async def followers_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, handle: HandlePath, cursor: Cursor = None
) -> Response:
    return await _people(request, runtime, viewer, handle, "followers", cursor)


@router.get("/@{handle}/following")
async def following_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, handle: HandlePath, cursor: Cursor = None
) -> Response:
    return await _people(request, runtime, viewer, handle, "following", cursor)
