"""The creator studio's video routes: drafts and scheduled posts (reelm.videos.drafts), with the drafts page,
and captions per language (reelm.videos.subtitles).

Publishing now is an upload's last step, so the realm's `upload` switch gates it (a 451 with the
operator's notice); scheduling only sets a time, and the switch is asked again when that time comes
(reelm.publishing.scheduled). Captions meet the realm's caption rules as an edited caption does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request, Response, UploadFile
from fastapi.responses import HTMLResponse

from reelm.accounts.viewer import Viewer
from reelm.crossrealm.service import reader_realm
from reelm.errors import Problem
from reelm.inputs import LANGUAGE_PATTERN, Text
from reelm.moderation.screening import do_rescreen_caption
from reelm.publishing.scheduled import do_publish
from reelm.realms.models import Capability
from reelm.runtime import Runtime
from reelm.scratch import scratch
from reelm.social.cards import access_card
from reelm.videos.caption_history import caption_history
from reelm.videos.covers import (
    MAX_ALT_CHARS,
    MAX_COVER_BYTES,
    best_rendition_key,
    check_coverable,
    check_frame_time,
    do_set_cover,
    frame_cover,
    image_cover,
)
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
from reelm.videos.schemas import (
    CaptionHistory,
    DraftOut,
    DraftPage,
    ScheduleIn,
    SubtitleList,
    SubtitleOut,
    SubtitleText,
    VideoOut,
)
from reelm.videos.service import access_own_video, access_video, do_update_video
from reelm.videos.subtitle_files import MAX_BYTES
from reelm.videos.subtitles import (
    access_track,
    do_delete_track,
    do_put_track,
    track_out,
    tracks_of,
)
from reelm.web.capabilities import CapabilityRoute, require_capability, video_realm_in_path
from reelm.web.deps import RuntimeDep, UserViewer, ViewerDep
from reelm.web.params import IdPath
from reelm.web.rendering import login_redirect, render
from reelm.web.routes.videos import video_realm

router = APIRouter(tags=["studio"], route_class=CapabilityRoute)
pages = APIRouter(include_in_schema=False)

LanguagePath = Annotated[
    str, Path(pattern=LANGUAGE_PATTERN, max_length=16, description="a BCP 47 language tag: en, pt-BR")
]


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


# --- captions ---------------------------------------------------------------------------------------------


@router.get(
    "/videos/{video_id}/subtitles",
    response_model=SubtitleList,
    dependencies=[require_capability(Capability.WATCH, video_realm_in_path)],
)
async def list_subtitles(runtime: RuntimeDep, viewer: ViewerDep, video_id: IdPath) -> SubtitleList:
    """The video's captions, one track per language (also listed in its HLS master playlist)."""
    realm, vid = video_realm(runtime, video_id)
    async with runtime.databases.read(realm) as session:
        video = await access_video(session, viewer, vid)
        return SubtitleList(items=[track_out(realm, t) for t in await tracks_of(session, video.id)])


@router.get(
    "/videos/{video_id}/subtitles/{language}",
    response_model=SubtitleText,
    dependencies=[require_capability(Capability.WATCH, video_realm_in_path)],
)
async def get_subtitles(
    runtime: RuntimeDep, viewer: ViewerDep, video_id: IdPath, language: LanguagePath
) -> SubtitleText:
    """One language's captions with their WebVTT text (what the creator edits)."""
    realm, vid = video_realm(runtime, video_id)
    async with runtime.databases.read(realm) as session:
        video = await access_video(session, viewer, vid)
        track = await access_track(session, video, language)
        return SubtitleText(**track_out(realm, track).model_dump(), webvtt=track.webvtt)


@router.put("/videos/{video_id}/subtitles/{language}", response_model=SubtitleOut)
async def put_subtitles(
    runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath, language: LanguagePath, file: UploadFile
) -> SubtitleOut:
    """Add or replace your video's captions in one language: a WebVTT or SRT file (UTF-8, at most 512 KB),
    kept as WebVTT. A file that cannot be read is refused with the number of the line where it breaks. The
    words meet the realm's caption rules (a video may be held for review or labelled)."""
    data = await file.read(MAX_BYTES + 1)
    realm, vid = video_realm(runtime, video_id)
    async with runtime.databases.transaction(realm) as session:
        video = await access_own_video(session, viewer, vid)
        track = await do_put_track(session, runtime.storage.realm(realm), video, language, data)
        await do_rescreen_caption(session, runtime, realm, video, text=track.plain_text)
        return track_out(realm, track)


@router.delete("/videos/{video_id}/subtitles/{language}", status_code=204)
async def delete_subtitles(
    runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath, language: LanguagePath
) -> Response:
    """Remove your video's captions in one language."""
    realm, vid = video_realm(runtime, video_id)
    async with runtime.databases.transaction(realm) as session:
        video = await access_own_video(session, viewer, vid)
        await do_delete_track(session, runtime.storage.realm(realm), video, language)
    return Response(status_code=204)


async def subtitles_for_page(runtime: Runtime, viewer: Viewer, video: VideoOut) -> list[dict[str, object]]:
    """The tracks the video page's player offers (JSON-ready). A video of another realm, read from its
    public projection, has none here: caption tracks are not projected across realms."""
    if reader_realm(viewer, video.realm) != video.realm:
        return []
    async with runtime.databases.read(video.realm) as session:
        tracks = await tracks_of(session, int(video.id))
    return [track_out(video.realm, t).model_dump(mode="json") for t in tracks]


# --- covers -----------------------------------------------------------------------------------------------


@router.put("/videos/{video_id}/cover", response_model=VideoOut)
async def put_cover(
    runtime: RuntimeDep,
    viewer: UserViewer,
    video_id: IdPath,
    at_s: Annotated[float | None, Form(ge=0.0, le=3600.0, allow_inf_nan=False)] = None,
    file: UploadFile | None = None,
    alt: Annotated[Text | None, Form(max_length=MAX_ALT_CHARS)] = None,
) -> VideoOut:
    """Your video's cover: the frame at `at_s` seconds, or an uploaded image (`file`: PNG, JPEG, WebP or
    GIF, at most 10 MB), not both; `alt` is its text alternative (`PATCH /videos/{id}` with an empty
    `cover_alt` removes it). Each may come alone."""
    if at_s is not None and file is not None:
        raise Problem(
            422,
            "invalid-request",
            "The request is not valid",
            "Give either at_s (a frame) or file (an image), not both.",
            errors=[{"field": "file", "message": "cannot come with at_s"}],
        )
    realm, vid = video_realm(runtime, video_id)
    store = runtime.storage.realm(realm)
    async with runtime.databases.transaction(realm) as session:
        video = await access_own_video(session, viewer, vid)
        if at_s is not None or file is not None:
            check_coverable(video)
            with scratch(runtime.settings.data_dir) as tmp:
                cover = tmp / "cover.jpg"
                if at_s is not None:
                    check_frame_time(video, at_s)
                    source = tmp / "rendition.mp4"
                    await store.download(best_rendition_key(video), source)
                    await frame_cover(source, at_s, cover)
                else:
                    assert file is not None
                    source = tmp / "upload"
                    source.write_bytes(await file.read(MAX_COVER_BYTES + 1))
                    await image_cover(source, cover)
                await do_set_cover(store, video, cover)
        if alt is not None:
            await do_update_video(video, caption=None, visibility=None, cover_alt=alt)
        await session.flush()  # the card is read back from the database
        return await access_card(session, viewer, realm, vid, runtime.settings.base_url)


# --- caption history --------------------------------------------------------------------------------------


async def _history(runtime: Runtime, viewer: Viewer, video_id: str) -> CaptionHistory:
    # Read in the video's realm, as its media is: the history is public with the video, and not projected.
    realm, vid = video_realm(runtime, video_id)
    async with runtime.databases.read(realm) as session:
        video = await access_video(session, viewer, vid)
        return CaptionHistory(caption=video.caption, edits=await caption_history(session, video.id))


@router.get(
    "/videos/{video_id}/caption-history",
    response_model=CaptionHistory,
    dependencies=[require_capability(Capability.WATCH, video_realm_in_path)],
)
async def get_caption_history(runtime: RuntimeDep, viewer: ViewerDep, video_id: IdPath) -> CaptionHistory:
    """What the video's caption says now and said before each edit since it was published (newest first)."""
    return await _history(runtime, viewer, video_id)


@pages.get("/v/{video_id}/caption-history", response_class=HTMLResponse)
async def caption_history_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, video_id: IdPath
) -> Response:
    history = await _history(runtime, viewer, video_id)
    return render(request, viewer, "caption_history.html", video_id=video_id, history=history)
