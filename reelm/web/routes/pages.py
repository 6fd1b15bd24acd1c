"""HTML pages. They render what the JSON API returns; the browser's JavaScript does the rest."""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from reelm import ids
from reelm.accounts import service as accounts
from reelm.accounts.schemas import SignUpIn
from reelm.accounts.viewer import SignedInViewer, Viewer
from reelm.crossrealm.service import moved_to
from reelm.errors import Problem
from reelm.inputs import Line, Secret, Text
from reelm.realms.models import Capability
from reelm.recommend.schemas import MAX_PICKED, InterestsIn
from reelm.recommend.service import do_pick_interests, do_reset_interests
from reelm.runtime import Runtime
from reelm.social import pins
from reelm.sounds.remixes_of import RemixOrigin, RemixSource, remix_origin, remix_source
from reelm.videos.models import RemixKind
from reelm.videos.permissions import account_defaults
from reelm.videos.remix import STITCH_MAX_S, STITCH_MIN_S
from reelm.web.deps import (
    SESSION_COOKIE,
    Limiter,
    RuntimeDep,
    ViewerDep,
    client_ip,
    forget_session,
)
from reelm.web.forms import signed_in_form
from reelm.web.params import CsrfForm, HandlePath, IdPath, IdQuery, NextForm, NextQuery, TagPath
from reelm.web.rendering import (
    check_form_csrf,
    error_page,
    login_redirect,
    refused_page,
    render,
    safe_next,
    script_json,
)
from reelm.web.routes import account_security_pages as security_pages
from reelm.web.routes import profile_pages, settings_pages
from reelm.web.routes.account_security import notify_new_log_in
from reelm.web.routes.accounts import get_user, limit_logins, sign_up, store_avatar
from reelm.web.routes.demo import still_preparing
from reelm.web.routes.embed import embed_code
from reelm.web.routes.exports import request_export
from reelm.web.routes.studio_videos import subtitles_for_page
from reelm.web.routes.videos import HashtagSort, get_video, hashtag_videos, remixes_page, user_videos

router = APIRouter(include_in_schema=False)

# Duets and stitches listed under a video at first; "Show more" asks the API for the rest.
REMIXES_SHOWN = 12


@router.get("/")
async def for_you_page(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    if refused := refused_page(request, viewer, viewer.realm, Capability.WATCH):
        return refused
    preparing = await still_preparing(runtime)  # shown instead of "nothing posted" while the feed is empty
    return render(request, viewer, "feed.html", tab="for_you", preparing=preparing)


@router.get("/following")
async def following_page(request: Request, viewer: ViewerDep) -> Response:
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    if refused := refused_page(request, me, me.realm, Capability.WATCH):
        return refused
    return render(request, me, "feed.html", tab="following")


@router.get("/v/{video_id}")
async def video_page(request: Request, runtime: RuntimeDep, viewer: ViewerDep, video_id: IdPath) -> Response:
    parsed = ids.parse_id(video_id)
    realm = runtime.settings.realm_of_id(parsed) if parsed is not None else None
    if realm is not None and (refused := refused_page(request, viewer, realm, Capability.WATCH)):
        return refused  # the content's realm decides whether it may be watched
    try:
        card = await get_video(runtime, viewer, video_id)
    except Problem as problem:
        moved = await moved_to(runtime, viewer.realm, parsed) if parsed is not None else None
        if problem.status == 404 and moved is not None:  # its creator moved realm: the video has a new id
            return RedirectResponse(f"/v/{moved}", status_code=301)
        if problem.type == "age-restricted":  # adults only: account holders may watch it after log-in
            return login_redirect(request)
        return error_page(request, viewer, problem)
    video = card.model_dump(mode="json")
    video["subtitles"] = await subtitles_for_page(runtime, viewer, card)  # the player's CC tracks
    is_owner = viewer.user_id is not None and video["creator"]["id"] == str(viewer.user_id)
    pinned = False
    async with runtime.databases.read(viewer.realm) as session:
        if is_owner and viewer.user_id is not None:  # the owner may pin it to their profile, or unpin it
            pinned = int(video["id"]) in await pins.pinned_ids(session, viewer.user_id)
        # "Duet with @original", and the sound "Use this sound" takes.
        origin = await remix_origin(session, card)
    remixes = await remixes_page(runtime, viewer, int(card.id), cursor=None, limit=REMIXES_SHOWN)
    remix = _origin_context(origin)
    return render(
        request,
        viewer,
        "video.html",
        video=video,
        video_json=script_json(video),
        embed_code=embed_code(runtime.settings.base_url, card.id) if card.can_embed else None,
        remix=remix,
        remix_json=script_json(remix),
        remixes=[v.model_dump(mode="json") for v in remixes.items],
        remixes_cursor=remixes.next_cursor,
        is_owner=is_owner,
        pinned=pinned,
    )


def _origin_context(origin: RemixOrigin) -> dict[str, object]:
    """What a video remixes, JSON-ready (ids as strings, as the API gives them)."""
    creator = origin.original_creator
    return {
        "kind": origin.kind.value if origin.kind is not None else None,
        "original_id": str(origin.original_id) if origin.original_id is not None else None,
        "original_creator": creator.model_dump(mode="json") if creator is not None else None,
        "sound_id": str(origin.sound_id) if origin.sound_id is not None else None,
    }


@router.get("/@{handle}")
async def profile_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, handle: HandlePath
) -> Response:
    try:
        profile = await get_user(runtime, viewer, handle)
        if refused := refused_page(request, viewer, profile.realm, Capability.WATCH):
            return refused
        page = await user_videos(runtime, viewer, handle, cursor=None, limit=24)
    except Problem as problem:
        return error_page(request, viewer, problem)
    return render(
        request,
        viewer,
        "profile.html",
        profile=profile.model_dump(mode="json"),
        videos=[v.model_dump(mode="json") for v in page.items],
        next_cursor=page.next_cursor,
        is_me=viewer.user_id is not None and profile.id == str(viewer.user_id),
    )


@router.get("/tag/{tag}")
async def tag_page(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, tag: TagPath, sort: HashtagSort = "latest"
) -> Response:
    if refused := refused_page(request, viewer, viewer.realm, Capability.SEARCH):
        return refused
    page = await hashtag_videos(runtime, viewer, tag, cursor=None, limit=24, sort=sort)
    return render(
        request,
        viewer,
        "tag.html",
        tag=tag.lower().lstrip("#"),
        sort=sort,
        videos=[v.model_dump(mode="json") for v in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/upload")
async def upload_page(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    sound: IdQuery = None,
    duet: IdQuery = None,
    stitch: IdQuery = None,
) -> Response:
    """The upload form; with `sound`, `duet` or `stitch` (an id) the remix it makes: the sound or original
    shown, its controls, or why it cannot be made (read as the upload will check it: reelm.sounds.remixes_of).
    """
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    if refused := refused_page(request, me, me.realm, Capability.UPLOAD):
        return refused
    asked = _asked_remix(sound=sound, duet=duet, stitch=stitch)
    async with runtime.databases.read(me.realm) as session:  # the form's permissions start from them
        defaults = await account_defaults(session, me.user.id)
        source = await remix_source(session, *asked, me.user.id) if asked is not None else None
    return render(
        request,
        me,
        "upload.html",
        defaults=defaults.model_dump(mode="json"),
        remix=_remix_context(source) if source is not None else None,
        stitch_max_s=STITCH_MAX_S,
        stitch_min_s=STITCH_MIN_S,
    )


def _asked_remix(*, sound: str | None, duet: str | None, stitch: str | None) -> tuple[RemixKind, int] | None:
    """The remix a link asks for. One per upload: were several named, the first of these wins."""
    for kind, value in ((RemixKind.SOUND, sound), (RemixKind.DUET, duet), (RemixKind.STITCH, stitch)):
        if value is not None:
            return kind, int(value)
    return None


def _remix_context(source: RemixSource) -> dict[str, object]:
    """What the template and upload.js need of the sound or original (JSON-ready)."""
    values = dataclasses.asdict(source)
    values |= {
        "kind": source.kind.value,
        "id": str(source.id),
        "video_id": str(source.video_id) if source.video_id is not None else None,
        "refusal": source.refusal.value if source.refusal is not None else None,
        "creator": source.creator.model_dump(mode="json") if source.creator is not None else None,
    }
    return values


def _session_response(request: Request, token: str, target: str) -> RedirectResponse:
    response = RedirectResponse(safe_next(target), status_code=303)
    security_pages.session_cookie(request, response, token)
    return response


async def _web_log_in(request: Request, runtime: Runtime, login: str, password: str) -> tuple[str, str, int]:
    """The new session's token, realm and user id; raises SecondFactorRequired or AccountSuspendedError
    (account_security_pages answers both)."""
    token, auth, user = await accounts.do_log_in(
        runtime,
        login=login,
        password=password,
        kind="web",
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    return token, runtime.settings.realm_of_id(user.id) or "", auth.user_id


def _form_error(
    request: Request, viewer: Viewer, template: str, problem: Problem, values: dict[str, str], target: str
) -> HTMLResponse:
    """The form again, with the problem and what was typed (never the password)."""
    return render(
        request,
        viewer,
        template,
        problem.status,
        error=problem.detail,
        values=values,
        next=safe_next(target),
    )


@router.get("/login")
async def login_form(request: Request, viewer: ViewerDep, next: NextQuery = "/") -> Response:
    return render(request, viewer, "login.html", error=None, values={}, next=safe_next(next))


@router.post("/login")
async def login_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    login: Annotated[Line, Form(max_length=254)],
    password: Annotated[Secret, Form(max_length=200)],
    csrf_token: CsrfForm = "",
    next: NextForm = "/",
) -> Response:
    values = {"login": login}
    try:
        check_form_csrf(request, csrf_token)
        await limit_logins(runtime, request, login)
        token, viewer_realm, user_id = await _web_log_in(request, runtime, login, password)
    except Problem as problem:
        return _form_error(request, viewer, "login.html", problem, values, next)
    except accounts.SecondFactorRequired as required:
        return security_pages.second_step_redirect(request, required, next)
    except accounts.AccountSuspendedError as suspended:
        return await security_pages.suspended_log_in(request, runtime, viewer, suspended)
    await notify_new_log_in(runtime, viewer_realm, user_id, token)
    return _session_response(request, token, next)


@router.get("/signup")
async def signup_form(request: Request, viewer: ViewerDep, next: NextQuery = "/") -> Response:
    return render(request, viewer, "signup.html", error=None, values={}, next=safe_next(next))


@router.post("/signup")
async def signup_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    limiter: Limiter,
    handle: Annotated[Line, Form(max_length=30)],
    email: Annotated[Line, Form(max_length=254)],
    password: Annotated[Secret, Form(max_length=200)],
    country: Annotated[Line, Form(max_length=2)],
    display_name: Annotated[Line, Form(max_length=50)] = "",
    csrf_token: CsrfForm = "",
    next: NextForm = "/",
) -> Response:
    values = {"handle": handle, "email": email, "country": country, "display_name": display_name}
    try:
        check_form_csrf(request, csrf_token)
        try:
            body = SignUpIn(
                handle=handle,
                email=email,
                password=password,
                country=country,
                display_name=display_name or None,
            )
        except ValueError as exc:
            raise Problem(
                422,
                "invalid-request",
                "The request is not valid",
                "Check the fields: the password needs at least 10 characters.",
            ) from exc
        await sign_up(runtime, limiter, request, body)
        token, _, _ = await _web_log_in(request, runtime, handle, password)
    except Problem as problem:
        if problem.status == 451:  # sign-up is switched off in the realm of that country
            return error_page(request, viewer, problem)
        return _form_error(request, viewer, "signup.html", problem, values, next)
    # A new account is offered interests and people to follow first (reelm.web.routes.discovery_pages).
    return _session_response(request, token, f"/welcome?next={quote(safe_next(next), safe='')}")


@router.post("/logout")
async def logout(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    csrf_token: CsrfForm = "",
) -> Response:
    check_form_csrf(request, csrf_token)
    if viewer.token is not None:
        await accounts.do_log_out(runtime, viewer.token)
        forget_session(request, viewer.token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/settings")
async def settings_form(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> Response:
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    return await settings_pages.settings_page(request, runtime, me)


@router.post("/settings/interests")
async def interests_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    hashtags: Annotated[Line, Form(max_length=1100)] = "",
    reset: Annotated[Line, Form(max_length=5)] = "",
    csrf_token: CsrfForm = "",
) -> Response:
    """Pick the interests that seed For You, or reset everything the engine learnt."""

    async def pick(me: SignedInViewer) -> str:
        async with runtime.databases.transaction(me.realm) as session:
            if reset:
                await do_reset_interests(session, me.user.id)
            else:
                tags = [
                    t.strip().lstrip("#").lower() for t in hashtags.replace(",", " ").split() if t.strip()
                ]
                try:
                    picked = InterestsIn(hashtags=tags)
                except ValidationError as exc:
                    raise Problem(
                        422,
                        "invalid-request",
                        "The request is not valid",
                        f"hashtags: up to {MAX_PICKED} words of letters, digits or _",
                    ) from exc
                await do_pick_interests(session, me.user.id, picked.hashtags)
        return "/settings/feed"

    feed_again = partial(settings_pages.settings_page, request, runtime, section="feed")
    return await signed_in_form(request, viewer, csrf_token, pick, problem_page=feed_again)


@router.post("/settings/export")
async def export_submit(
    request: Request,
    runtime: RuntimeDep,
    limiter: Limiter,
    viewer: ViewerDep,
    csrf_token: CsrfForm = "",
) -> Response:
    async def export(me: SignedInViewer) -> str:
        await request_export(runtime, limiter, me)
        return "/settings/data"

    data_again = partial(settings_pages.settings_page, request, runtime, section="data")
    return await signed_in_form(request, viewer, csrf_token, export, problem_page=data_again)


@router.post("/settings")
async def settings_submit(
    request: Request,
    runtime: RuntimeDep,
    viewer: ViewerDep,
    display_name: Annotated[Line, Form(max_length=50)],
    bio: Annotated[Text, Form(max_length=300)] = "",
    avatar: UploadFile | None = None,
    csrf_token: CsrfForm = "",
) -> Response:
    if (me := viewer.signed_in()) is None:
        return login_redirect(request)
    if refused := refused_page(request, me, me.realm, Capability.PROFILE_EDIT):
        return refused  # before the image is converted or stored
    try:
        check_form_csrf(request, csrf_token)
        # The image first: if it is rejected, nothing of the form has been saved.
        avatar_key = None
        if avatar is not None and avatar.filename:
            avatar_key = await store_avatar(runtime, me.realm, me.user.id, avatar)
        await accounts.do_update_profile(
            runtime, me.realm, me.user, display_name=display_name, bio=bio, avatar_key=avatar_key
        )
        if me.token is not None:
            forget_session(request, me.token)
    except Problem as problem:
        return await settings_pages.settings_page(request, runtime, me, problem, section="account")
    return RedirectResponse(f"/@{me.user.handle}", status_code=303)


# The sections of the settings page, each at its own address, and their forms.
router.include_router(settings_pages.router)

# A profile's follower and following lists as pages.
router.include_router(profile_pages.router)
