"""The viewer's interest profile: see it, pick interests (cold start), reset it."""

from __future__ import annotations

from fastapi import APIRouter

from reelm.recommend.schemas import InterestsIn, InterestsOut
from reelm.recommend.service import access_interests, do_pick_interests, do_reset_interests
from reelm.web.deps import RuntimeDep, UserViewer

router = APIRouter(tags=["feed"])


@router.get("/me/interests", response_model=InterestsOut)
async def get_interests(runtime: RuntimeDep, viewer: UserViewer) -> InterestsOut:
    """What the For You engine knows about the viewer's interests, and what they picked."""
    async with runtime.databases.transaction(viewer.realm) as session:
        return await access_interests(session, viewer.user.id)


@router.put("/me/interests", response_model=InterestsOut)
async def put_interests(body: InterestsIn, runtime: RuntimeDep, viewer: UserViewer) -> InterestsOut:
    """Pick interests (hashtags): they seed the For You feed from the next page on."""
    async with runtime.databases.transaction(viewer.realm) as session:
        return await do_pick_interests(session, viewer.user.id, body.hashtags)


@router.delete("/me/interests", response_model=InterestsOut)
async def delete_interests(runtime: RuntimeDep, viewer: UserViewer) -> InterestsOut:
    """Reset the interest profile: the next page is chosen as for a new viewer."""
    async with runtime.databases.transaction(viewer.realm) as session:
        return await do_reset_interests(session, viewer.user.id)
