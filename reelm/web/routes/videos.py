"""JSON API for videos: upload, status, edit, delete, a creator's videos, share."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

from fastapi import APIRouter, Form, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import ColumnElement, Select, func, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from reelm import ids
from reelm.accounts.models import User
from reelm.accounts.service import resolve_handle
from reelm.accounts.viewer import SignedInViewer, Viewer
from reelm.crossrealm.service import access_public_video, do_tally, reader_realm
from reelm.crossrealm.views import public_videos
from reelm.errors import Problem, not_found
from reelm.inputs import Text, TimeZoneName
from reelm.moderation.screening import do_rescreen_caption
from reelm.ratelimit import RateLimiter
from reelm.realms.models import Capability
from reelm.runtime import Runtime
from reelm.scratch import scratch
from reelm.social.cards import (
    access_card,
    access_public_card,
    card_from_row,
    card_params,
    card_select,
    card_viewer,
    fetch_cards,
    public_card_select,
    visible_to,
)
from reelm.social.service import do_delete_video
from reelm.sounds.remixes_of import remixes_of
from reelm.sounds.remixing import RemixAsked, plan_remix
from reelm.storage import ObjectMissingError
from reelm.videos import media
from reelm.videos.caption_history import do_record_caption_edit
from reelm.videos.downloads import (
    DownloadPlan,
    Step,
    check_download_allowed,
    do_start_download,
    download_key,
    download_step,
)
from reelm.videos.drafts import check_publish_at
from reelm.videos.models import CommentPolicy, RemixKind, Video, VideoStatus
from reelm.videos.permissions import account_defaults, do_set_account_defaults
from reelm.videos.schemas import (
    DownloadOut,
    HashtagOut,
    PermissionChoices,
    VideoAccepted,
    VideoOut,
    VideoPage,
    VideoPermissions,
    VideoUpdateIn,
)
from reelm.videos.service import (
    access_own_video,
    access_video,
    check_caption,
    do_count,
    do_create_video,
    do_update_video,
    media_limits,
    original_key,
)
from reelm.web.capabilities import (
    CapabilityRoute,
    handle_realm_in_path,
    require_capability,
    video_realm_in_path,
)
from reelm.web.deps import Limiter, RuntimeDep, UserViewer, ViewerDep, client_ip
from reelm.web.pagination import decode_cursor, encode_cursor
from reelm.web.params import Cursor, HandlePath, IdForm, IdPath, LevelForm, SecondsForm, TagPath

# The route class checks the upload switch before the body is read: a refused upload stores nothing.
router = APIRouter(tags=["videos"], route_class=CapabilityRoute)

HashtagSort = Literal["latest", "top"]


def video_realm(runtime: RuntimeDep, video_id: str) -> tuple[str, int]:
    parsed = ids.parse_id(video_id)
    realm = runtime.settings.realm_of_id(parsed) if parsed is not None else None
    if parsed is None or realm is None:
        raise not_found("Video")
    return realm, parsed


def _copy_to_file(source: BinaryIO, target: Path) -> int:
    source.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
    return target.stat().st_size


@router.post(
    "/videos",
    status_code=202,
    response_model=VideoAccepted,
    dependencies=[require_capability(Capability.UPLOAD)],
)
async def upload_video(
    runtime: RuntimeDep,
    viewer: UserViewer,
    limiter: Limiter,
    request: Request,
    file: UploadFile,
    caption: Annotated[Text, Form(max_length=2200)] = "",
    visibility: Annotated[str, Form(pattern="^(public|private)$")] = "public",
    comment_policy: Annotated[CommentPolicy | None, Form()] = None,
    allow_duet: Annotated[bool | None, Form()] = None,
    allow_stitch: Annotated[bool | None, Form()] = None,
    allow_sound_reuse: Annotated[bool | None, Form()] = None,
    allow_download: Annotated[bool | None, Form()] = None,
    allow_embed: Annotated[bool | None, Form()] = None,
    remix_kind: Annotated[RemixKind | None, Form()] = None,
    remix_of: IdForm = None,
    own_level: LevelForm = 1.0,
    other_level: LevelForm = 1.0,
    sound_offset_s: SecondsForm = 0.0,
    stitch_start_s: SecondsForm = 0.0,
    stitch_end_s: SecondsForm = 0.0,
    draft: Annotated[bool, Form()] = False,
    publish_at: Annotated[datetime | None, Form()] = None,
    time_zone: Annotated[TimeZoneName | None, Form()] = None,
    ai_generated: Annotated[bool, Form()] = False,
    paid_partnership: Annotated[bool, Form()] = False,
) -> VideoAccepted:
    """Accept a video file (multipart `file`, `caption`); transcoding continues in the background.

    Who may comment, duet, stitch, use the sound, download and embed: a permission left out is the creator's
    default for new videos (`/me/video-defaults`).

    A remix names its `remix_kind` and what it remixes (`remix_of`): a sound's id for `sound` (the file is
    filmed to it: `sound_offset_s` is where in the sound it starts), a video's id for `duet` (side by side)
    or `stitch` (`stitch_start_s` to `stitch_end_s` of it, at most 5 s, then the file). `own_level` and
    `other_level` mix the file's own audio and the sound's or original's (0 to 1). Refused before anything
    is stored when the sound or video is not public, is unavailable, its creator does not allow it, or the
    times fall outside it.

    `draft` keeps the video private once transcoded, to publish later (`/videos/{id}/publish`); with
    `publish_at` it is scheduled: a time without an offset is read in `time_zone` (IANA), at most 30 days
    ahead. Either way `visibility` is who may watch it once published.

    `ai_generated` and `paid_partnership` are labels every viewer sees (a paid partnership is the commercial
    communication the DSA's Art. 26 asks platforms to show as such)."""
    limiter.hit("upload", str(viewer.user.id), limit=runtime.settings.uploads_per_hour, per_seconds=3600)
    caption = check_caption(caption)
    scheduled = check_publish_at(publish_at, time_zone) if publish_at is not None else None
    plan = None
    if remix_kind is not None or remix_of is not None:
        if remix_kind is None or remix_of is None:
            raise Problem(422, "remix-incomplete", "Remix incomplete", "Name both remix_kind and remix_of.")
        asked = RemixAsked(
            remix_kind,
            int(remix_of),
            own_level=own_level,
            other_level=other_level,
            offset_s=sound_offset_s,
            start_s=stitch_start_s,
            end_s=stitch_end_s,
        )
        async with runtime.databases.read(viewer.realm) as session:
            plan = await plan_remix(session, viewer.user.id, asked)
    permissions = PermissionChoices(
        comment_policy=comment_policy,
        allow_duet=allow_duet,
        allow_stitch=allow_stitch,
        allow_sound_reuse=allow_sound_reuse,
        allow_download=allow_download,
        allow_embed=allow_embed,
    )
    with scratch(runtime.settings.data_dir) as tmp:
        path = tmp / "upload"
        size = await asyncio.to_thread(_copy_to_file, file.file, path)
        try:
            # The content decides, never the file name or the declared Content-Type.
            probe = await asyncio.to_thread(media.probe, path, media_limits(runtime.settings))
        except media.MediaRejected as exc:
            raise Problem(422, "media-rejected", "Video rejected", exc.reason, code=exc.code) from exc
        video_id = ids.new_id(runtime.settings.realm(viewer.realm).code)
        # The original is stored before the row exists: a crash in between leaves an orphan object,
        # never a video row without its file.
        await runtime.storage.realm(viewer.realm).put_file(original_key(video_id), path)
    async with runtime.databases.transaction(viewer.realm) as session:
        await do_create_video(
            session,
            video_id=video_id,
            owner=viewer.user,
            caption=caption,
            visibility=visibility,
            size=size,
            width=probe.width,
            height=probe.height,
            duration_s=probe.duration_s,
            permissions=permissions,
            remix=plan,
            draft=draft,
            publish_at=scheduled,
            time_zone=time_zone,
            ai_generated=ai_generated,
            paid_partnership=paid_partnership,
        )
    request.app.state.metrics.uploads.labels(viewer.realm).inc()
    return VideoAccepted(
        id=str(video_id), status=VideoStatus.PROCESSING, status_url=f"/api/v1/videos/{video_id}"
    )


@router.get(
    "/videos/{video_id}",
    response_model=VideoOut,
    dependencies=[require_capability(Capability.WATCH, video_realm_in_path)],
)
async def get_video(runtime: RuntimeDep, viewer: ViewerDep, video_id: IdPath) -> VideoOut:
    realm, vid = video_realm(runtime, video_id)
    if reader_realm(viewer, realm) != realm:  # another realm's video: its public projection, read at home
        async with runtime.databases.transaction(viewer.realm) as session:
            return await access_public_card(session, viewer, vid, runtime.settings.base_url)
    async with runtime.databases.transaction(realm) as session:
        return await access_card(session, viewer, realm, vid, runtime.settings.base_url)


@router.patch("/videos/{video_id}", response_model=VideoOut)
async def edit_video(
    runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath, body: VideoUpdateIn
) -> VideoOut:
    realm, vid = video_realm(runtime, video_id)
    async with runtime.databases.transaction(realm) as session:
        video = await access_own_video(session, viewer, vid)
        before = video.caption
        await do_update_video(
            video,
            caption=body.caption,
            visibility=body.visibility,
            permissions=body,
            ai_generated=body.ai_generated,
            paid_partnership=body.paid_partnership,
            cover_alt=body.cover_alt,
        )
        await do_record_caption_edit(session, video, before)
        if video.caption != before:
            # An edited caption meets the realm's caption rules as an uploaded one does (held or labelled).
            await do_rescreen_caption(session, runtime, realm, video)
        await session.flush()  # the card is read back from the database
        return await access_card(session, viewer, realm, vid, runtime.settings.base_url)


@router.get("/me/video-defaults", response_model=VideoPermissions)
async def get_video_defaults(runtime: RuntimeDep, viewer: UserViewer) -> VideoPermissions:
    """Your permissions for new videos: the upload form starts from them, and an upload that leaves one out
    gets it."""
    async with runtime.databases.read(viewer.realm) as session:
        return await account_defaults(session, viewer.user.id)


@router.put("/me/video-defaults", response_model=VideoPermissions)
async def put_video_defaults(
    runtime: RuntimeDep, viewer: UserViewer, body: VideoPermissions
) -> VideoPermissions:
    """Replace your permissions for new videos (videos already posted keep theirs)."""
    async with runtime.databases.transaction(viewer.realm) as session:
        await do_set_account_defaults(session, viewer.user.id, body)
    return body


def _download_url(video_id: int) -> str:
    return f"/api/v1/videos/{video_id}/download"


async def _plan_download(
    runtime: Runtime, viewer: SignedInViewer, limiter: RateLimiter, video_id: str, *, serving: bool
) -> tuple[str, int, DownloadPlan, str]:
    """Check and, where needed, start a download, in the video's own realm whichever realm the viewer is
    of (as its media is served: the file is made and kept by the realm that holds the video). Counted
    against the viewer's limit when it serves the file (`serving`) or starts making it; polls are free.
    (realm, video id, what to do, the creator's handle)."""
    realm, vid = video_realm(runtime, video_id)
    async with runtime.databases.transaction(realm) as session:
        video = await access_video(session, viewer, vid)
        check_download_allowed(video, viewer.user.id)
        now = datetime.now(UTC)
        plan = await download_step(session, video, now)
        if plan.step is Step.START or (plan.step is Step.SERVE and serving):
            limiter.hit(
                "download", str(viewer.user.id), limit=runtime.settings.downloads_per_hour, per_seconds=3600
            )
        if plan.step is Step.START:
            await do_start_download(session, vid, plan.rendition, now)
        handle = await session.scalar(select(User.handle).where(User.id == video.owner_id))
    if plan.step is Step.FAILED:
        raise Problem(
            503,
            "download-unavailable",
            "Download unavailable",
            "This download could not be prepared. Try again later.",
            headers={"Retry-After": str(plan.retry_after_s)},
            retry_after=plan.retry_after_s,
        )
    return realm, vid, plan, handle or "reelm"


def _preparing(vid: int, plan: DownloadPlan) -> JSONResponse:
    body = DownloadOut(status="preparing", url=_download_url(vid), retry_after_s=plan.retry_after_s)
    return JSONResponse(
        body.model_dump(mode="json"), status_code=202, headers={"Retry-After": str(plan.retry_after_s)}
    )


_DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": DownloadOut, "description": "being prepared: ask again after Retry-After seconds"},
}


@router.get(
    "/videos/{video_id}/download",
    response_class=Response,
    responses={
        200: {"content": {"video/mp4": {}}, "description": "the MP4, watermarked"},
        **_DOWNLOAD_RESPONSES,
    },
    dependencies=[require_capability(Capability.WATCH, video_realm_in_path)],
)
async def download_video(
    runtime: RuntimeDep, viewer: UserViewer, limiter: Limiter, video_id: IdPath
) -> Response:
    """The video as an MP4 with "Reelm" and the creator's @handle burned in, where the creator allows
    downloads (never the original upload). Made once, in the background: until it is ready this answers 202
    with its status and Retry-After; ask again."""
    realm, vid, plan, handle = await _plan_download(runtime, viewer, limiter, video_id, serving=True)
    if plan.step is not Step.SERVE:
        return _preparing(vid, plan)
    store = runtime.storage.realm(realm)
    key = download_key(vid)
    try:
        info = await store.head(key)
    except ObjectMissingError:
        raise not_found("Download") from None
    headers = {
        "Content-Disposition": f'attachment; filename="reelm-{handle}-{vid}.mp4"',
        "Content-Length": str(info.size),
        # The creator's permission is checked on every request: no cache may serve it once they turn it off.
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(store.stream(key, 0, info.size), headers=headers, media_type="video/mp4")


@router.post(
    "/videos/{video_id}/download",
    response_model=DownloadOut,
    responses=_DOWNLOAD_RESPONSES,
    dependencies=[require_capability(Capability.WATCH, video_realm_in_path)],
)
async def prepare_download(
    runtime: RuntimeDep, viewer: UserViewer, limiter: Limiter, video_id: IdPath
) -> Response:
    """Prepare the download without fetching it: 200 `ready` (GET `url` now) or 202 `preparing`."""
    _, vid, plan, _ = await _plan_download(runtime, viewer, limiter, video_id, serving=False)
    if plan.step is not Step.SERVE:
        return _preparing(vid, plan)
    return JSONResponse(DownloadOut(status="ready", url=_download_url(vid)).model_dump(mode="json"))


@router.delete("/videos/{video_id}", status_code=204)
async def delete_video(runtime: RuntimeDep, viewer: UserViewer, video_id: IdPath) -> Response:
    realm, vid = video_realm(runtime, video_id)
    async with runtime.databases.transaction(realm) as session:
        video = await access_own_video(session, viewer, vid)
        await do_delete_video(session, video)
    # After commit: a failure here leaves unreferenced objects, which is safe, not missing ones.
    with contextlib.suppress(OSError):
        await runtime.storage.realm(realm).delete_prefix(f"videos/{vid}")
    return Response(status_code=204)


@router.post("/videos/{video_id}/share", status_code=204)
async def count_share(runtime: RuntimeDep, viewer: ViewerDep, video_id: IdPath) -> Response:
    """Counted when a viewer copies or sends the link; anonymous viewers count too."""
    realm, vid = video_realm(runtime, video_id)
    if reader_realm(viewer, realm) != realm:
        await _count_foreign(runtime, viewer, vid, "video_shares")
        return Response(status_code=204)
    async with runtime.databases.transaction(realm) as session:
        await do_count(session, await access_video(session, viewer, vid), "shares")
    return Response(status_code=204)


async def _count_foreign(runtime: Runtime, viewer: Viewer, video_id: int, metric: str) -> None:
    """A share or view of another realm's video: counted at home, the count reaches the video's realm."""
    async with runtime.databases.transaction(viewer.realm) as session:
        await access_public_video(session, video_id)
        await do_tally(session, viewer.realm, video_id, metric)


@router.post("/videos/{video_id}/view", status_code=204)
async def count_view(
    runtime: RuntimeDep, viewer: ViewerDep, limiter: Limiter, request: Request, video_id: IdPath
) -> Response:
    """Counted when playback starts; one view per viewer and video every 10 minutes."""
    realm, vid = video_realm(runtime, video_id)
    who = str(viewer.user_id) if viewer.user_id is not None else client_ip(request)
    try:
        limiter.hit("view", f"{who}:{vid}", limit=1, per_seconds=600)
    except Problem:
        return Response(status_code=204)  # a repeat view is accepted and simply not counted
    if reader_realm(viewer, realm) != realm:
        await _count_foreign(runtime, viewer, vid, "video_views")
        return Response(status_code=204)
    async with runtime.databases.transaction(realm) as session:
        await do_count(session, await access_video(session, viewer, vid), "views")
    return Response(status_code=204)


@router.get(
    "/users/{handle}/videos",
    response_model=VideoPage,
    dependencies=[require_capability(Capability.WATCH, handle_realm_in_path)],
)
async def user_videos(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    handle: HandlePath,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 24,
) -> VideoPage:
    """A creator's videos, newest first; the creator also sees their processing, rejected and private ones."""
    entry = await resolve_handle(runtime, handle)
    if entry is None:
        raise not_found("User")
    kind = f"user:{entry.user_id}"
    if reader_realm(viewer, entry.realm) != entry.realm:  # another realm's creator, read at home
        public = public_card_select(viewer.user_id).where(public_videos.c.owner_id == entry.user_id)
        return await _video_page(
            runtime, viewer, viewer.realm, public, public_videos.c.id, cursor, limit, kind
        )
    query = card_select(card_viewer(viewer, entry.realm)).where(
        Video.owner_id == entry.user_id,
        visible_to(viewer),
        Video.draft.is_(False),  # drafts: /me/drafts
    )
    return await _video_page(runtime, viewer, entry.realm, query, Video.id, cursor, limit, kind)


@router.get(
    "/videos/{video_id}/remixes",
    response_model=VideoPage,
    dependencies=[require_capability(Capability.WATCH, video_realm_in_path)],
)
async def video_remixes(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    video_id: IdPath,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 24,
) -> VideoPage:
    """The public duets and stitches of a video, from every realm, newest first (a 404 where the video itself
    may not be seen)."""
    await get_video(runtime, viewer, video_id)  # the original as this viewer may see it, or its 404
    return await remixes_page(runtime, viewer, video_realm(runtime, video_id)[1], cursor=cursor, limit=limit)


async def remixes_page(
    runtime: Runtime, viewer: Viewer, video_id: int, *, cursor: str | None, limit: int
) -> VideoPage:
    """A page of the duets and stitches of a video the viewer may see (the caller checked)."""
    query = public_card_select(viewer.user_id).where(remixes_of(video_id))
    return await _video_page(
        runtime, viewer, viewer.realm, query, public_videos.c.id, cursor, limit, f"remixes:{video_id}"
    )


@router.get(
    "/hashtags/{tag}/videos", response_model=VideoPage, dependencies=[require_capability(Capability.SEARCH)]
)
async def hashtag_videos(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    tag: TagPath,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 24,
    sort: Annotated[
        HashtagSort, Query(description="latest: newest first; top: most engagement first")
    ] = "latest",
) -> VideoPage:
    """Public videos of every realm carrying #tag, newest first, or with `sort=top` by engagement."""
    tag = tag.lower().lstrip("#")[:50]
    query = public_card_select(viewer.user_id).where(public_videos.c.hashtags.contains([tag]))
    if sort == "top":
        return await _top_page(runtime, viewer, query, cursor, limit, f"tag-top:{tag}")
    return await _video_page(
        runtime, viewer, viewer.realm, query, public_videos.c.id, cursor, limit, f"tag:{tag}"
    )


def engagement() -> ColumnElement[int]:
    """How much people did with a video: a share counts most, then a comment, a like, and a view least."""
    pv = public_videos.c
    return pv.share_count * 30 + pv.comment_count * 20 + pv.like_count * 10 + pv.view_count


async def _top_page(
    runtime: Runtime, viewer: Viewer, query: Select[Any], cursor: str | None, limit: int, kind: str
) -> VideoPage:
    """Most engagement first (ties: newest first), keyset-paginated on (engagement, id)."""
    score = engagement()
    if cursor:
        state = decode_cursor(runtime.settings.secret_key, cursor, kind)
        position = (int(state["score"]), int(state["before"]))
        query = query.where(tuple_(score, public_videos.c.id) < tuple_(*position))
    query = query.add_columns(score.label("engagement")).order_by(score.desc(), public_videos.c.id.desc())
    async with runtime.databases.read(viewer.realm) as session:
        rows = list((await session.execute(query.limit(limit + 1), card_params(viewer, viewer.realm))).all())
    viewer_id = card_viewer(viewer, viewer.realm)
    page = rows[:limit]
    items = [card_from_row(row, viewer.realm, viewer_id, runtime.settings.base_url) for row in page]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor(
            runtime.settings.secret_key, kind, {"score": last.engagement, "before": str(last.id)}
        )
    return VideoPage(items=items, next_cursor=next_cursor)


async def hashtag_info(runtime: Runtime, viewer: Viewer, tag: str) -> HashtagOut:
    """A hashtag's public videos as this viewer may see them, counted."""
    tag = tag.lower().lstrip("#")[:50]
    query = public_card_select(viewer.user_id).where(public_videos.c.hashtags.contains([tag])).subquery()
    async with runtime.databases.read(viewer.realm) as session:
        count = await session.scalar(
            select(func.count()).select_from(query), card_params(viewer, viewer.realm)
        )
    return HashtagOut(name=tag, video_count=int(count or 0))


@router.get(
    "/hashtags/{tag}", response_model=HashtagOut, dependencies=[require_capability(Capability.SEARCH)]
)
async def get_hashtag(runtime: RuntimeDep, viewer: ViewerDep, tag: TagPath) -> HashtagOut:
    """A hashtag and how many public videos carry it."""
    return await hashtag_info(runtime, viewer, tag)


async def _video_page(
    runtime: Runtime,
    viewer: Viewer,
    realm: str,
    query: Select[Any],
    id_column: ColumnElement[int] | InstrumentedAttribute[int],
    cursor: str | None,
    limit: int,
    kind: str,
) -> VideoPage:
    """Newest first, keyset-paginated by id (ids grow with time); fetches one extra to know if more exist."""
    if cursor:
        query = query.where(
            id_column < int(decode_cursor(runtime.settings.secret_key, cursor, kind)["before"])
        )
    async with runtime.databases.transaction(realm) as session:
        items = await fetch_cards(
            session,
            query.order_by(id_column.desc()).limit(limit + 1),
            realm=realm,
            viewer=viewer,
            base_url=runtime.settings.base_url,
        )
    more = len(items) > limit
    items = items[:limit]
    next_cursor = encode_cursor(runtime.settings.secret_key, kind, {"before": items[-1].id}) if more else None
    return VideoPage(items=items, next_cursor=next_cursor)
