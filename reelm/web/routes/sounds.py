"""Sounds: the JSON API (a sound, the videos that use it, its creator's rename) and its pages (`/sound/{id}`,
its videos in the vertical player, the rename form).

Reads come from the public projections in the viewer's own realm database (reelm.sounds.catalogue), whatever
the sound's realm; watching is gated by the sound's realm, as a video's is by its own.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from reelm import ids
from reelm.accounts.viewer import Viewer
from reelm.crossrealm.views import public_sounds, public_videos
from reelm.errors import Problem, not_found
from reelm.inputs import Line
from reelm.moderation.rules import check_name
from reelm.realms.models import Capability
from reelm.runtime import Runtime
from reelm.social.cards import fetch_cards, public_card_select
from reelm.sounds.catalogue import access_sound, do_rename_sound
from reelm.sounds.schemas import MAX_TITLE_CHARS, SoundOut, SoundTitleIn
from reelm.videos.schemas import VideoPage
from reelm.web.capabilities import require_capability
from reelm.web.deps import RuntimeDep, UserViewer, ViewerDep
from reelm.web.pagination import decode_cursor, encode_cursor
from reelm.web.params import CsrfForm, Cursor, IdPath, IdQuery
from reelm.web.rendering import check_form_csrf, error_page, login_redirect, refused_page, render

router = APIRouter(tags=["sounds"])
pages = APIRouter(include_in_schema=False)

GRID_PAGE = 24  # the sound page's first grid, as a profile's


async def sound_realm_in_path(request: Request, _: Viewer) -> str | None:
    """The realm that minted the `sound_id` in the path: the sound's (its creator's) realm."""
    parsed = ids.parse_id(str(request.path_params.get("sound_id", "")))
    return request.app.state.runtime.settings.realm_of_id(parsed) if parsed is not None else None


def _sound_id(runtime: Runtime, sound_id: str) -> int:
    parsed = ids.parse_id(sound_id)
    if parsed is None or runtime.settings.realm_of_id(parsed) is None:
        raise not_found("Sound")
    return parsed


async def get_sound(runtime: Runtime, viewer: Viewer, sound_id: str) -> SoundOut:
    async with runtime.databases.read(viewer.realm) as session:
        return await access_sound(session, viewer, _sound_id(runtime, sound_id))


async def sound_videos(
    runtime: Runtime, viewer: Viewer, sound_id: str, *, cursor: str | None, start: str | None, limit: int
) -> VideoPage:
    """The public videos of every realm using the sound, newest first (keyset on the id, which grows with
    time): a stable order, so that paging never repeats or skips a video whatever counts do meanwhile, and a
    new video using the sound comes first. From the video `start` on (the one tapped in the grid)."""
    sid = _sound_id(runtime, sound_id)
    kind = f"sound:{sid}"
    pv = public_videos.c
    query = public_card_select(viewer.user_id).where(pv.sound_id == sid)
    if cursor:
        query = query.where(pv.id < int(decode_cursor(runtime.settings.secret_key, cursor, kind)["before"]))
    elif start is not None:
        query = query.where(pv.id <= int(start))
    async with runtime.databases.read(viewer.realm) as session:
        # An unknown sound is a 404, not an empty list.
        if await session.scalar(select(public_sounds.c.id).where(public_sounds.c.id == sid)) is None:
            raise not_found("Sound")
        items = await fetch_cards(
            session,
            query.order_by(pv.id.desc()).limit(limit + 1),
            realm=viewer.realm,
            viewer=viewer,
            base_url=runtime.settings.base_url,
        )
    more, items = len(items) > limit, items[:limit]
    next_cursor = encode_cursor(runtime.settings.secret_key, kind, {"before": items[-1].id}) if more else None
    return VideoPage(items=items, next_cursor=next_cursor)


@router.get(
    "/sounds/{sound_id}",
    response_model=SoundOut,
    dependencies=[require_capability(Capability.WATCH, sound_realm_in_path)],
)
async def read_sound(runtime: RuntimeDep, viewer: ViewerDep, sound_id: IdPath) -> SoundOut:
    """A public sound of any realm: its title (or "original sound - @handle"), creator, original video,
    waveform, audio, how many public videos of every realm use it, and whether you may use it. A sound taken
    down answers with status `unavailable`, a message, and no audio."""
    return await get_sound(runtime, viewer, sound_id)


@router.get(
    "/sounds/{sound_id}/videos",
    response_model=VideoPage,
    dependencies=[require_capability(Capability.WATCH, sound_realm_in_path)],
)
async def read_sound_videos(
    runtime: RuntimeDep,
    viewer: ViewerDep,
    sound_id: IdPath,
    cursor: Cursor = None,
    start: Annotated[
        IdQuery, Query(description="begin at this video (one of the sound's), then older ones")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 24,
) -> VideoPage:
    """The public videos of every realm that use the sound, newest first, as cards."""
    return await sound_videos(runtime, viewer, sound_id, cursor=cursor, start=start, limit=limit)


@router.patch("/sounds/{sound_id}", response_model=SoundOut)
async def rename_sound(
    runtime: RuntimeDep, viewer: UserViewer, sound_id: IdPath, body: SoundTitleIn
) -> SoundOut:
    """Name your sound (its creator only): 1-80 characters on one line. Every realm shows the new title
    once the projection reaches it (milliseconds)."""
    sid = _sound_id(runtime, sound_id)
    async with runtime.databases.transaction(viewer.realm) as session:
        renamed = await do_rename_sound(session, viewer, sid, body.title)
        await check_name(session, body.title)  # after the creator check; a refusal rolls the rename back
        return renamed


# ---- pages -----------------------------------------------------------------------------------------------


async def _sound_page(
    request: Request, runtime: Runtime, viewer: Viewer, sound_id: str, *, status: int = 200, **extra: Any
) -> Response:
    try:
        sound = await get_sound(runtime, viewer, sound_id)
        page = await sound_videos(runtime, viewer, sound_id, cursor=None, start=None, limit=GRID_PAGE)
    except Problem as problem:
        return error_page(request, viewer, problem)
    return render(
        request,
        viewer,
        "sound.html",
        status,
        sound=sound.model_dump(mode="json"),
        videos=[v.model_dump(mode="json") for v in page.items],
        next_cursor=page.next_cursor,
        max_title=MAX_TITLE_CHARS,
        **({"rename_error": None, "title_typed": None} | extra),
    )


def _refused(request: Request, runtime: Runtime, viewer: Viewer, sound_id: str) -> Response | None:
    parsed = ids.parse_id(sound_id)
    realm = runtime.settings.realm_of_id(parsed) if parsed is not None else None
    return refused_page(request, viewer, realm, Capability.WATCH) if realm is not None else None


@pages.get("/sound/{sound_id}")
async def sound_page(request: Request, runtime: RuntimeDep, viewer: ViewerDep, sound_id: IdPath) -> Response:
    """A sound: its cover, title, creator, waveform and preview, "Use this sound", and the videos using it."""
    if refused := _refused(request, runtime, viewer, sound_id):
        return refused
    return await _sound_page(request, runtime, viewer, sound_id)


@pages.post("/sound/{sound_id}/title")
async def rename_sound_form(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    sound_id: IdPath,
    title: Annotated[Line, Form(max_length=MAX_TITLE_CHARS * 2)] = "",
    csrf_token: CsrfForm = "",
) -> Response:
    """The creator's rename form on the sound page (works without scripts): back to the page, renamed, or
    with the reason it was not."""
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    check_form_csrf(request, csrf_token)
    try:
        sid = _sound_id(runtime, sound_id)
        async with runtime.databases.transaction(me.realm) as session:
            await do_rename_sound(session, me, sid, title)
            await check_name(session, title)
    except Problem as problem:
        if problem.status != 422:
            return error_page(request, me, problem)
        return await _sound_page(
            request, runtime, me, sound_id, status=422, rename_error=problem.detail, title_typed=title
        )
    return RedirectResponse(f"/sound/{sound_id}", status_code=303)


@pages.get("/sound/{sound_id}/watch")
async def sound_watch_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, sound_id: IdPath, start: IdQuery = None
) -> Response:
    """The sound's videos in the vertical player, from the one tapped in the grid; swipe for the next."""
    if refused := _refused(request, runtime, viewer, sound_id):
        return refused
    try:
        sound = await get_sound(runtime, viewer, sound_id)
    except Problem as problem:
        return error_page(request, viewer, problem)
    return render(request, viewer, "sound_watch.html", sound=sound.model_dump(mode="json"), start=start)
