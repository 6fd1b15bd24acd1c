"""JSON API for accounts: sign-up, log-in (bearer tokens), profiles."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response, UploadFile
from fastapi.params import File
from sqlalchemy import Row

from reelm import ids
from reelm.accounts import avatars, service
from reelm.accounts.login_limits import check_login_rate
from reelm.accounts.models import Suspension, User
from reelm.accounts.schemas import (
    DeletionIn,
    DeletionOut,
    LogInIn,
    MeOut,
    ProfileOut,
    ProfileUpdateIn,
    SignUpIn,
    TokenOut,
)
from reelm.crossrealm.service import access_public_profile, reader_realm
from reelm.errors import not_found
from reelm.realms.models import Capability
from reelm.runtime import Runtime
from reelm.scratch import scratch
from reelm.social.service import is_following
from reelm.videos.service import media_url
from reelm.web.capabilities import CapabilityRoute, check_capability, require_capability
from reelm.web.deps import (
    Limiter,
    RuntimeDep,
    UserViewer,
    ViewerDep,
    client_ip,
    forget_session,
    forget_user_sessions,
)
from reelm.web.params import HandlePath
from reelm.web.suspensions import suspension_problem

# The route class checks the profile_edit switch before an avatar upload is read.
router = APIRouter(tags=["accounts"], route_class=CapabilityRoute)


def profile_out(realm: str, user: User | Row[Any], *, is_following: bool | None = None) -> ProfileOut:
    """A profile from the user's row (their realm) or their public projection (any other realm)."""
    return ProfileOut(
        id=str(user.id),
        handle=user.handle,
        display_name=user.display_name,
        bio=user.bio,
        avatar_url=media_url(realm, user.avatar_key) if user.avatar_key else None,
        realm=realm,
        follower_count=user.follower_count,
        following_count=user.following_count,
        video_count=user.video_count,
        likes_received=user.likes_received,
        created_at=user.created_at,
        is_following=is_following,
    )


def me_out(realm: str, user: User, email: str) -> MeOut:
    """The owner's own view; `email` is the decrypted address (see service.read_email)."""
    return MeOut(
        **profile_out(realm, user).model_dump(),
        email=email,
        country=user.country,
        deletion_due_at=user.deletion_due_at,
    )


async def my_view(runtime: Runtime, realm: str, user: User) -> MeOut:
    return me_out(realm, user, await service.read_email(runtime, realm, user))


async def sign_up(runtime: Runtime, limiter: Limiter, request: Request, body: SignUpIn) -> User:
    # The realm the account would live in decides; the newcomer has no id to bucket yet.
    check_capability(request, runtime.settings.realm_for_country(body.country), Capability.SIGNUP, None)
    limiter.hit("sign-up", client_ip(request), limit=runtime.settings.signups_per_hour, per_seconds=3600)
    return await service.do_sign_up(
        runtime,
        handle=body.handle,
        email=body.email,
        password=body.password,
        country=body.country,
        display_name=body.display_name,
    )


async def limit_logins(runtime: Runtime, request: Request, login: str) -> None:
    """Count a password check against the address and the account, in every process at once."""
    await check_login_rate(runtime, address=client_ip(request), login=login)


@router.post("/accounts", status_code=201, response_model=MeOut)
async def create_account(runtime: RuntimeDep, limiter: Limiter, request: Request, body: SignUpIn) -> MeOut:
    user = await sign_up(runtime, limiter, request, body)
    return await my_view(runtime, runtime.settings.realm_for_country(body.country), user)


@router.post("/sessions", status_code=201, response_model=TokenOut)
async def create_session(runtime: RuntimeDep, request: Request, body: LogInIn) -> TokenOut:
    """Log in; the returned bearer token authenticates API calls (`Authorization: Bearer …`)."""
    await limit_logins(runtime, request, body.login)
    try:
        token, auth, user = await service.do_log_in(
            runtime,
            login=body.login,
            password=body.password,
            kind="api",
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    except service.AccountSuspendedError as suspended:
        raise await suspension_problem(runtime, suspended) from None
    realm = runtime.settings.realm_of_id(user.id) or ""
    return TokenOut(token=token, expires_at=auth.expires_at, user=profile_out(realm, user))


@router.delete("/sessions/current", status_code=204)
async def delete_session(runtime: RuntimeDep, viewer: UserViewer, request: Request) -> Response:
    assert viewer.token is not None
    await service.do_log_out(runtime, viewer.token)
    forget_session(request, viewer.token)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut)
async def get_me(runtime: RuntimeDep, viewer: UserViewer) -> MeOut:
    return await my_view(runtime, viewer.realm, viewer.user)


@router.delete("/me", status_code=202, response_model=DeletionOut)
async def delete_me(
    runtime: RuntimeDep, viewer: UserViewer, request: Request, body: DeletionIn
) -> DeletionOut:
    """Delete the account: every session ends now; after the grace period its data key is destroyed
    and its data removed. Logging in again before then cancels the deletion."""
    # The password check must not become a guessing oracle.
    await limit_logins(runtime, request, viewer.user.handle)
    due = await service.do_request_deletion(runtime, viewer.realm, viewer.user, body.password)
    forget_user_sessions(request, viewer.user.id)
    return DeletionOut(deletion_due_at=due)


@router.patch("/me", response_model=MeOut, dependencies=[require_capability(Capability.PROFILE_EDIT)])
async def update_me(
    runtime: RuntimeDep, viewer: UserViewer, body: ProfileUpdateIn, request: Request
) -> MeOut:
    user = await service.do_update_profile(
        runtime, viewer.realm, viewer.user, display_name=body.display_name, bio=body.bio, avatar_key=None
    )
    forget_session(request, viewer.token or "")
    return await my_view(runtime, viewer.realm, user)


async def store_avatar(runtime: Runtime, realm: str, user_id: int, file: UploadFile) -> str:
    """Validate and convert an uploaded image and store it under a new key (so caches never go stale).

    Nothing refers to the object until the caller records the key, so a later failure leaves only an
    unreferenced file, never a broken profile.
    """
    with scratch(runtime.settings.data_dir) as tmp:
        source, target = tmp / "in", tmp / "avatar.jpg"
        data = await file.read(avatars.MAX_AVATAR_BYTES + 1)
        await asyncio.to_thread(source.write_bytes, data)
        await asyncio.to_thread(avatars.make_avatar, source, target)
        key = f"avatars/{user_id}/{ids.new_id(runtime.settings.realm(realm).code)}.jpg"
        await runtime.storage.realm(realm).put_file(key, target)
    return key


@router.put("/me/avatar", response_model=MeOut, dependencies=[require_capability(Capability.PROFILE_EDIT)])
async def put_avatar(
    runtime: RuntimeDep,
    viewer: UserViewer,
    file: Annotated[UploadFile, File(description="PNG, JPEG or WebP")],
    request: Request,
) -> MeOut:
    key = await store_avatar(runtime, viewer.realm, viewer.user.id, file)
    user = await service.do_update_profile(
        runtime, viewer.realm, viewer.user, display_name=None, bio=None, avatar_key=key
    )
    forget_session(request, viewer.token or "")
    return await my_view(runtime, viewer.realm, user)


@router.get("/users/{handle}", response_model=ProfileOut)
async def get_user(runtime: RuntimeDep, viewer: ViewerDep, handle: HandlePath) -> ProfileOut:
    entry = await service.resolve_handle(runtime, handle)
    if entry is None:
        raise not_found("User")
    # Read at home: the viewer's own realm holds the public profiles of every realm, and their follows.
    home = reader_realm(viewer, entry.realm)
    async with runtime.databases.transaction(home) as session:
        user: User | Row[Any]
        if entry.realm == home:
            found = await session.get(User, entry.user_id)
            # A suspended account's profile is not public meanwhile (as it left the projections).
            if found is None or (
                found.id != viewer.user_id and await session.get(Suspension, found.id) is not None
            ):
                raise not_found("User")
            user = found
        else:
            user = await access_public_profile(session, entry.user_id)
        following = None
        if viewer.user_id is not None and viewer.user_id != user.id:
            following = await is_following(session, viewer.user_id, user.id)
        return profile_out(entry.realm, user, is_following=following)
