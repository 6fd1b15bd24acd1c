"""Pages for keeping, sharing and not seeing: save a video to a collection, repost it, the profile's
Favourites, Reposts and Liked tabs, muting an account, the settings page of mutes and keyword filters, and
creators' comment controls with the list of comments waiting for approval.

Every form works without JavaScript: it posts here with the CSRF field and comes back to where it was, with
the problem shown in place when there is one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request, Response
from pydantic import Field, ValidationError

from reelm.accounts.service import resolve_handle
from reelm.accounts.viewer import SignedInViewer
from reelm.errors import Problem
from reelm.inputs import TAG_PATTERN, Line
from reelm.realms.models import Capability
from reelm.social import comment_controls, favourites, mutes
from reelm.social.models import COLLECTION_NAME_MAX, KEYWORD_MAX, FavouriteKind
from reelm.social.schemas import CommentControlsIn
from reelm.social.service import comments_out
from reelm.videos.service import access_own_video
from reelm.web.deps import RuntimeDep, ViewerDep
from reelm.web.forms import signed_in_form
from reelm.web.params import CsrfForm, HandlePath, IdForm, IdPath
from reelm.web.rendering import error_page, login_redirect, refused_page, render
from reelm.web.routes.accounts import get_user
from reelm.web.routes.keep import (
    decide,
    favourites_of,
    liked_of,
    liked_public,
    muted_people,
    own_row_id,
    own_video_id,
    reposts_of,
    save_favourite,
    set_liked_public,
    set_mute,
    set_repost,
)
from reelm.web.routes.videos import get_video

router = APIRouter(include_in_schema=False)

NameForm = Annotated[Line, Form(max_length=COLLECTION_NAME_MAX)]
FlagForm = Annotated[bool, Form()]


# --- saving and reposting a video ------------------------------------------------------------------------


async def _save_page(
    request: Request, runtime: RuntimeDep, me: SignedInViewer, video_id: str, problem: Problem | None = None
) -> Response:
    card = await get_video(runtime, me, video_id)
    async with runtime.databases.read(me.realm) as session:
        collections = await favourites.collections_of(session, me.user_id, public_only=False)
        saved = await favourites.saved_state(session, me.user_id, FavouriteKind.VIDEO, card.id)
    return render(
        request,
        me,
        "keep_save.html",
        problem.status if problem else 200,
        video=card.model_dump(mode="json"),
        collections=[c.model_dump(mode="json") for c in collections],
        saved_in=(str(saved.collection_id) if saved.collection_id else "") if saved else None,
        error=problem.detail if problem else None,
    )


@router.get("/v/{video_id}/save")
async def save_page(request: Request, runtime: RuntimeDep, viewer: ViewerDep, video_id: IdPath) -> Response:
    """Where to keep a video: among all favourites, in one of one's collections, or a new one."""
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    try:
        return await _save_page(request, runtime, me, video_id)
    except Problem as problem:
        return error_page(request, me, problem)


@router.post("/v/{video_id}/save")
async def save_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    video_id: IdPath,
    collection_id: IdForm = None,
    new_collection: NameForm = "",
    new_public: FlagForm = False,
    remove: FlagForm = False,
    csrf_token: CsrfForm = "",
) -> Response:
    """Save (to the collection chosen, or a new one named here), or remove from favourites."""

    async def save(me: SignedInViewer) -> str:
        if remove:
            async with runtime.databases.transaction(me.realm) as session:
                await favourites.do_unsave(session, me.user_id, FavouriteKind.VIDEO, video_id)
            return f"/v/{video_id}"
        chosen = collection_id
        if new_collection.strip():
            async with runtime.databases.transaction(me.realm) as session:
                made = await favourites.do_create_collection(
                    session, me.user_id, name=new_collection, is_public=new_public
                )
                chosen = str(made.id)
        await save_favourite(runtime, me, FavouriteKind.VIDEO, video_id, chosen)
        return f"/v/{video_id}?kept=saved"

    async def save_page_again(me: SignedInViewer, problem: Problem) -> Response:
        try:
            return await _save_page(request, runtime, me, video_id, problem)
        except Problem as again:
            return error_page(request, me, again)

    return await signed_in_form(request, viewer, csrf_token, save, problem_page=save_page_again)


@router.post("/v/{video_id}/repost")
async def repost_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    video_id: IdPath,
    undo: FlagForm = False,
    csrf_token: CsrfForm = "",
) -> Response:
    async def repost(me: SignedInViewer) -> str:
        await set_repost(runtime, me, video_id, repost=not undo)
        return f"/v/{video_id}?kept={'unreposted' if undo else 'reposted'}"

    return await signed_in_form(request, viewer, csrf_token, repost)


@router.post("/keep/{kind}/{target}")
async def keep_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    kind: Annotated[str, Path(pattern=r"^(sound|hashtag)$")],
    target: Annotated[str, Path(pattern=TAG_PATTERN, max_length=51)],
    csrf_token: CsrfForm = "",
) -> Response:
    """Keep a sound or a hashtag among one's favourites; then to the Favourites tab, where it is listed."""

    async def keep(me: SignedInViewer) -> str:
        await save_favourite(runtime, me, FavouriteKind(kind), target, None)
        return f"/@{me.user.handle}/favourites"

    return await signed_in_form(request, viewer, csrf_token, keep)


# --- the profile's tabs ----------------------------------------------------------------------------------


async def _tab_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, handle: str, tab: str, collection: str | None
) -> Response:
    try:
        profile = await get_user(runtime, viewer, handle)
        if refused := refused_page(request, viewer, profile.realm, Capability.WATCH):
            return refused
        is_me = viewer.user_id is not None and profile.id == str(viewer.user_id)
        context: dict[str, Any] = {"collections": [], "collection": collection, "private": False}
        if tab == "favourites":
            page = await favourites_of(
                runtime, viewer, handle, collection=collection, kind=None, cursor=None, limit=48
            )
            context["items"] = [i.model_dump(mode="json") for i in page.items]
            entry = await resolve_handle(runtime, handle)
            assert entry is not None
            async with runtime.databases.read(entry.realm) as session:
                found = await favourites.collections_of(session, entry.user_id, public_only=not is_me)
            context["collections"] = [c.model_dump(mode="json") for c in found]
        elif tab == "reposts":
            videos = await reposts_of(runtime, viewer, handle, None, 48)
            context["items"] = [{"kind": "video", "video": v.model_dump(mode="json")} for v in videos.items]
        else:
            context["liked_public"] = await liked_public(runtime, profile.realm, int(profile.id))
            try:
                videos = await liked_of(runtime, viewer, handle, None, 48)
                context["items"] = [
                    {"kind": "video", "video": v.model_dump(mode="json")} for v in videos.items
                ]
            except Problem as problem:
                if problem.type != "liked-private":
                    raise
                context["items"], context["private"] = [], True
    except Problem as problem:
        return error_page(request, viewer, problem)
    return render(
        request,
        viewer,
        "profile_keep.html",
        profile=profile.model_dump(mode="json"),
        tab=tab,
        is_me=is_me,
        **context,
    )


@router.get("/@{handle}/favourites")
async def favourites_tab(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    handle: HandlePath,
    collection: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
) -> Response:
    return await _tab_page(request, runtime, viewer, handle, "favourites", collection)


@router.get("/@{handle}/reposts")
async def reposts_tab(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, handle: HandlePath
) -> Response:
    return await _tab_page(request, runtime, viewer, handle, "reposts", None)


@router.get("/@{handle}/liked")
async def liked_tab(request: Request, runtime: RuntimeDep, viewer: ViewerDep, handle: HandlePath) -> Response:
    return await _tab_page(request, runtime, viewer, handle, "liked", None)


@router.post("/settings/collections/{collection_id}")
async def collection_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    collection_id: IdPath,
    is_public: FlagForm = False,
    delete: FlagForm = False,
    csrf_token: CsrfForm = "",
) -> Response:
    """Make one of one's collections public or private, or delete it; back to the Favourites tab."""

    async def change(me: SignedInViewer) -> str:
        async with runtime.databases.transaction(me.realm) as session:
            found = await favourites.access_collection(
                session, me.user_id, own_row_id(collection_id, "Collection")
            )
            if delete:
                await favourites.do_delete_collection(session, found)
            else:
                await favourites.do_change_collection(session, found, name=None, is_public=is_public)
        return f"/@{me.user.handle}/favourites"

    return await signed_in_form(request, viewer, csrf_token, change)


@router.post("/settings/liked-tab")
async def liked_tab_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    liked_public: FlagForm = False,
    csrf_token: CsrfForm = "",
) -> Response:
    async def change(me: SignedInViewer) -> str:
        await set_liked_public(runtime, me, liked_public)
        return f"/@{me.user.handle}/liked"

    return await signed_in_form(request, viewer, csrf_token, change)


# --- muting an account -----------------------------------------------------------------------------------


@router.get("/@{handle}/mute")
async def mute_page(request: Request, runtime: RuntimeDep, viewer: ViewerDep, handle: HandlePath) -> Response:
    """Mute or unmute an account: what it means, and the button."""
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    try:
        profile = await get_user(runtime, me, handle)
        async with runtime.databases.read(me.realm) as session:
            muted = await mutes.is_muted(session, me.user_id, int(profile.id))
    except Problem as problem:
        return error_page(request, me, problem)
    return render(request, me, "keep_mute.html", profile=profile.model_dump(mode="json"), muted=muted)


@router.post("/@{handle}/mute")
async def mute_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    handle: HandlePath,
    mute: FlagForm = False,
    csrf_token: CsrfForm = "",
) -> Response:
    async def change(me: SignedInViewer) -> str:
        await set_mute(runtime, me, handle, mute=mute)
        return f"/@{handle.lstrip('@').lower()}/mute"

    return await signed_in_form(request, viewer, csrf_token, change)


# --- settings: mutes and keyword filters -----------------------------------------------------------------


async def _filters_page(
    request: Request,
    runtime: RuntimeDep,
    me: SignedInViewer,
    problem: Problem | None = None,
    done: str | None = None,
) -> Response:
    async with runtime.databases.read(me.realm) as session:
        found = await mutes.filters_of(session, me.user_id, datetime.now(UTC))
        hide_ai = await mutes.hides_ai_generated(session, me.user_id)
    muted = await muted_people(runtime, me)
    return render(
        request,
        me,
        "settings_filters.html",
        problem.status if problem else 200,
        filters=[
            {"id": str(f.id), "phrase": f.phrase, "is_tag": f.is_tag, "expires_at": f.expires_at}
            for f in found
        ],
        muted=[m.model_dump(mode="json") for m in muted],
        error=problem.detail if problem else None,
        done=done if done in {"added", "removed", "unmuted"} else None,
        keyword_max=KEYWORD_MAX,
        hide_ai=hide_ai,
    )


@router.get("/settings/filters")
async def filters_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    done: Annotated[str | None, Query(pattern=r"^[a-z]{1,20}$")] = None,
) -> Response:
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    return await _filters_page(request, runtime, me, done=done)


@router.post("/settings/filters")
async def filter_add_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    phrase: Annotated[Line, Form(max_length=KEYWORD_MAX)] = "",
    days: Annotated[str, Form(pattern=r"^(1|7|30|ever)$")] = "ever",
    csrf_token: CsrfForm = "",
) -> Response:
    async def add(me: SignedInViewer) -> str:
        async with runtime.databases.transaction(me.realm) as session:
            await mutes.do_add_filter(
                session, me.user_id, phrase, days=None if days == "ever" else int(days), now=datetime.now(UTC)
            )
        return "/settings/filters?done=added"

    return await signed_in_form(
        request, viewer, csrf_token, add, problem_page=partial(_filters_page, request, runtime)
    )


@router.post("/settings/hide-ai")
async def hide_ai_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    hide: FlagForm = False,
    csrf_token: CsrfForm = "",
) -> Response:
    async def change(me: SignedInViewer) -> str:
        async with runtime.databases.transaction(me.realm) as session:
            await mutes.do_hide_ai_generated(session, me.user_id, hide=hide, now=datetime.now(UTC))
        return "/settings/filters?done=added"

    return await signed_in_form(
        request, viewer, csrf_token, change, problem_page=partial(_filters_page, request, runtime)
    )


@router.post("/settings/filters/{filter_id}/delete")
async def filter_remove_submit(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, filter_id: IdPath, csrf_token: CsrfForm = ""
) -> Response:
    async def remove(me: SignedInViewer) -> str:
        async with runtime.databases.transaction(me.realm) as session:
            await mutes.do_remove_filter(session, me.user_id, own_row_id(filter_id, "Filter"))
        return "/settings/filters?done=removed"

    return await signed_in_form(
        request, viewer, csrf_token, remove, problem_page=partial(_filters_page, request, runtime)
    )


@router.post("/settings/unmute")
async def unmute_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    handle: Annotated[Line, Form(max_length=30)],
    csrf_token: CsrfForm = "",
) -> Response:
    async def unmute(me: SignedInViewer) -> str:
        await set_mute(runtime, me, handle, mute=False)
        return "/settings/filters?done=unmuted"

    return await signed_in_form(
        request, viewer, csrf_token, unmute, problem_page=partial(_filters_page, request, runtime)
    )


# --- settings: comment controls and the approval list ----------------------------------------------------


async def _comments_page(
    request: Request,
    runtime: RuntimeDep,
    me: SignedInViewer,
    problem: Problem | None = None,
    done: str | None = None,
) -> Response:
    async with runtime.databases.read(me.realm) as session:
        controls = await comment_controls.controls_for(session, me.user_id, comment_controls.DEFAULT)
        found = await comment_controls.held_comments(session, me.user_id, comment_controls.MAX_DECIDED)
        waiting = await comments_out(session, found, me)
    return render(
        request,
        me,
        "settings_comments.html",
        problem.status if problem else 200,
        controls=controls.model_dump(mode="json"),
        held=[c.model_dump(mode="json") for c in waiting],
        error=problem.detail if problem else None,
        done=done if done in {"saved", "approved", "deleted"} else None,
    )


@router.get("/settings/comments")
async def comments_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    done: Annotated[str | None, Query(pattern=r"^[a-z]{1,20}$")] = None,
) -> Response:
    """Comment controls for one's videos, and the comments waiting for approval."""
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    return await _comments_page(request, runtime, me, done=done)


async def _video_controls_page(
    request: Request,
    runtime: RuntimeDep,
    me: SignedInViewer,
    video_id: str,
    problem: Problem | None = None,
    done: str | None = None,
) -> Response:
    vid = await own_video_id(runtime, me, video_id)
    async with runtime.databases.read(me.realm) as session:
        video = await access_own_video(session, me, vid)
        controls = await comment_controls.controls_for(session, me.user_id, video.id)
        caption = video.caption
    return render(
        request,
        me,
        "video_comment_controls.html",
        problem.status if problem else 200,
        video={"id": str(vid), "caption": caption},
        controls=controls.model_dump(mode="json"),
        error=problem.detail if problem else None,
        done=done == "saved",
    )


@router.get("/v/{video_id}/comment-controls")
async def video_controls_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    video_id: IdPath,
    done: Annotated[str | None, Query(pattern=r"^[a-z]{1,20}$")] = None,
) -> Response:
    """One video's own comment controls (the creator only)."""
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    try:
        return await _video_controls_page(request, runtime, me, video_id, done=done)
    except Problem as problem:
        return error_page(request, me, problem)


@router.post("/v/{video_id}/comment-controls")
async def video_controls_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    video_id: IdPath,
    hold: Annotated[str, Form(pattern=r"^(off|keywords|all)$")] = "off",
    keywords: Annotated[Line, Form(max_length=3100)] = "",
    min_account_days: Annotated[int, Form(ge=0, le=365)] = 0,
    csrf_token: CsrfForm = "",
) -> Response:
    async def change(me: SignedInViewer) -> str:
        chosen = _chosen_controls(hold, keywords, min_account_days)
        vid = await own_video_id(runtime, me, video_id)
        async with runtime.databases.transaction(me.realm) as session:
            video = await access_own_video(session, me, vid)
            await comment_controls.do_set_controls(session, me.user_id, video.id, chosen)
        return f"/v/{video_id}/comment-controls?done=saved"

    async def shown_again(me: SignedInViewer, problem: Problem) -> Response:
        # Not the creator's video, or none: the error page, not a form the viewer may not use.
        if problem.status in (403, 404):
            return error_page(request, me, problem)
        return await _video_controls_page(request, runtime, me, video_id, problem)

    return await signed_in_form(request, viewer, csrf_token, change, problem_page=shown_again)


def _chosen_controls(hold: str, keywords: str, min_account_days: int) -> CommentControlsIn:
    """The controls as posted, or a 422 Problem naming the first field that is not valid."""
    try:
        return CommentControlsIn.model_validate(
            {
                "hold": hold,
                "keywords": [w.strip() for w in keywords.split(",") if w.strip()],
                "min_account_days": min_account_days,
            }
        )
    except ValidationError as invalid:
        raise Problem(422, "invalid-request", "The request is not valid", _first_error(invalid)) from invalid


@router.post("/settings/comments")
async def comments_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    hold: Annotated[str, Form(pattern=r"^(off|keywords|all)$")] = "off",
    keywords: Annotated[Line, Form(max_length=3100)] = "",
    min_account_days: Annotated[int, Form(ge=0, le=365)] = 0,
    csrf_token: CsrfForm = "",
) -> Response:
    async def change(me: SignedInViewer) -> str:
        chosen = _chosen_controls(hold, keywords, min_account_days)
        async with runtime.databases.transaction(me.realm) as session:
            await comment_controls.do_set_controls(session, me.user_id, comment_controls.DEFAULT, chosen)
        return "/settings/comments?done=saved"

    return await signed_in_form(
        request, viewer, csrf_token, change, problem_page=partial(_comments_page, request, runtime)
    )


def _ticked(comments: list[str]) -> list[str]:
    if not comments:
        raise Problem(422, "invalid-request", "The request is not valid", "Tick the comments first.")
    return comments


def _first_error(invalid: ValidationError) -> str:
    error = invalid.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"


@router.post("/settings/comments/held")
async def held_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    action: Annotated[str, Form(pattern=r"^(approve|delete)$")],
    comment: Annotated[list[Annotated[str, Field(pattern=r"^[0-9]{1,19}$")]], Form(max_length=100)] = [],  # noqa: B006
    csrf_token: CsrfForm = "",
) -> Response:
    """Approve or delete the comments ticked in the approval list."""

    async def decide_ticked(me: SignedInViewer) -> str:
        await decide(runtime, me, _ticked(comment), approve=action == "approve")
        return f"/settings/comments?done={action}d"

    return await signed_in_form(
        request, viewer, csrf_token, decide_ticked, problem_page=partial(_comments_page, request, runtime)
    )
