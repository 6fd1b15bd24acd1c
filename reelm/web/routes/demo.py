"""What a fresh demo says while its videos are still being transcoded, so that an empty For You does not read
as "nothing was ever posted": the feed's empty answer, the page, and a small progress endpoint it polls."""

from __future__ import annotations

from fastapi import APIRouter

from reelm.errors import Problem
from reelm.feed.schemas import PreparingOut
from reelm.runtime import Runtime
from reelm.videos.progress import processing_counts
from reelm.web.deps import RuntimeDep

router = APIRouter(tags=["demo"])


async def demo_progress(runtime: Runtime) -> PreparingOut:
    """The demo's videos over every realm (the seed puts them in all of them), ready or not."""
    ready = total = 0
    for realm in runtime.settings.realm_names:
        async with runtime.databases.read(realm) as session:
            done, count = await processing_counts(session)
        ready, total = ready + done, total + count
    return PreparingOut(ready=ready, total=total)


async def still_preparing(runtime: Runtime) -> PreparingOut | None:
    """The progress while a demo's videos are still being prepared; None when they are done or not a demo."""
    if not runtime.settings.demo:
        return None
    progress = await demo_progress(runtime)
    return progress if progress.ready < progress.total else None


@router.get("/demo/preparing", response_model=PreparingOut)
async def preparing(runtime: RuntimeDep) -> PreparingOut:
    """How many of the demo's videos are ready to watch (demo mode only: 404 otherwise)."""
    if not runtime.settings.demo:
        raise Problem(404, "not-found", "Not a demo", "This server does not run the demo.")
    return await demo_progress(runtime)
