"""A creator's drafts and scheduled posts: the JSON API and the drafts page (reelm.videos.drafts).

Publishing now is an upload's last step, so the realm's `upload` switch gates it (a 451 with the
operator's notice); scheduling only sets a time, and the switch is asked again when that time comes
(reelm.publishing.scheduled).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from reelm.publishing.scheduled import do_publish
from reelm.realms.models import Capability
from reelm.social.cards import access_card
from reelm.videos.drafts import (
    DRAFTS_SHOWN,
    MAX_AHEAD,
    check_publish_at,
    check_publishable,
    do_schedule,
    do_unschedule,
    draft_out,
    drafts_of,
)
from reelm.videos.schemas import DraftOut, DraftPage, ScheduleIn, VideoOut
from reelm.videos.service import access_own_video
from reelm.web.capabilities import CapabilityRoute, require_capability
from reelm.web.deps import RuntimeDep, UserViewer, ViewerDep
from reelm.web.params import IdPath
from reelm.web.rendering import login_redirect, render
from reelm.web.routes.videos import video_realm

router = APIRouter(tags=["drafts"], route_class=CapabilityRoute)
pages = APIRouter(include_in_schema=False)


@router.get("/me/drafts", response_model=DraftPage)
async def my_drafts(runtime: RuntimeDep, viewer: UserViewer) -> DraftPage:
    """Your drafts: scheduled ones first (soonest first), then the others, newest first; at most 100."""
    async with runtime.databases.read(viewer.realm) as session:
        drafts = await drafts_of(session, viewer.user.id)
    return DraftPage(items=[draft_out(video, viewer.realm) for video in drafts])


@router.post(
    "/videos/{video_id}/publish",
    response_model=VideoOut,
    dependencies=[require_capability(Capability.UPLOAD)],
)
async def publish_now(runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath) -> VideoOut:
    """Publish your draft now, to whom it was meant for. A draft still processing cannot be published yet
    (schedule it instead: it goes out once ready)."""
    realm, vid = video_realm(runtime, video_id)
    async with runtime.databases.transaction(realm) as session:
        video = await access_own_video(session, viewer, vid)
        check_publishable(video)
        await do_publish(session, realm, video)
        await session.flush()  # the card is read back from the database
        return await access_card(session, viewer, realm, vid, runtime.settings.base_url)


@router.put("/videos/{video_id}/schedule", response_model=DraftOut)
async def schedule(runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath, body: ScheduleIn) -> DraftOut:
    """Schedule your draft, or move its time: in the future, at most 30 days ahead. A time without an offset
    is read in `time_zone`. The realm's worker publishes it within a minute of that time."""
    when = check_publish_at(body.publish_at, body.time_zone)
    realm, vid = video_realm(runtime, video_id)
    async with runtime.databases.transaction(realm) as session:
        video = await access_own_video(session, viewer, vid)
        do_schedule(video, when, body.time_zone)
        return draft_out(video, realm)


@router.delete("/videos/{video_id}/schedule", response_model=DraftOut)
async def unschedule(runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath) -> DraftOut:
    """Take your draft's time off: it stays a draft until you publish or schedule it."""
    realm, vid = video_realm(runtime, video_id)
    async with runtime.databases.transaction(realm) as session:
        video = await access_own_video(session, viewer, vid)
        do_unschedule(video)
        return draft_out(video, realm)


@pages.get("/studio/drafts", response_class=HTMLResponse)
async def drafts_page(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    """The creator's drafts, to publish, schedule or open (drafts.js acts through the API above)."""
    if viewer.user is None:
        return login_redirect(request)
    async with runtime.databases.read(viewer.realm) as session:
        drafts = await drafts_of(session, viewer.user.id)
    items = [draft_out(video, viewer.realm) for video in drafts]
    return render(
        request,
        viewer,
        "drafts.html",
        drafts=items,
        shown_at_most=DRAFTS_SHOWN,
        max_days=MAX_AHEAD.days,
    )
