"""JSON API for accounts: sign-up, log-in (bearer tokens), profiles."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response, UploadFile
from fastapi.params import File
from fastapi.responses import JSONResponse
from sqlalchemy import Row

from reelm import ids, mail
from reelm.accounts import avatars, credentials, service
from reelm.accounts.login_limits import check_login_rate
from reelm.accounts.models import Suspension, User
from reelm.accounts.schemas import (
    DeletionIn,
    DeletionOut,
    EmailChangeIn,
    EmailChangeOut,
    EmailConfirmIn,
    LogInIn,
    MeOut,
    PasswordChangeIn,
    ProfileOut,
    ProfileUpdateIn,
    SignUpIn,
    TokenOut,
)
from reelm.accounts.security_schemas import (
    PasskeyLogInIn,
    PasskeyOptionsIn,
    SecondFactorOut,
    SecondStepIn,
    credential_dict,
)
from reelm.accounts.viewer import SignedInViewer
from reelm.crossrealm.service import access_public_profile, reader_realm
from reelm.errors import Problem, not_found
from reelm.ratelimit import RateLimiter
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
from reelm.web.routes.account_security import (
    finish_log_in,
    notify_new_log_in,
    passkey_log_in,
    passkey_options,
)
from reelm.web.suspensions import suspension_problem

# The route class checks the profile_edit switch before an avatar upload is read.
router = APIRouter(tags=["accounts"], route_class=CapabilityRoute)
log = logging.getLogger(__name__)

# Each request mails a stranger's address: a handful an hour is all a person needs.
EMAIL_CHANGES_PER_HOUR = 5
EMAIL_CONFIRMS_PER_HOUR = 20


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


@router.post(
    "/sessions",
    status_code=201,
    response_model=TokenOut,
    responses={
        202: {"model": SecondFactorOut, "description": "The password was right; a second factor is due"}
    },
)
async def create_session(runtime: RuntimeDep, request: Request, body: LogInIn) -> TokenOut | JSONResponse:
    """Log in; the returned bearer token authenticates API calls (`Authorization: Bearer …`).

    An account with two-factor log-in answers 202 with a pending token instead: send it with a code to
    `POST /sessions/second-factor`."""
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
    except service.SecondFactorRequired as required:
        due = SecondFactorOut(
            pending_token=required.token,
            methods=required.methods,
            expires_at=datetime.now(UTC) + timedelta(minutes=runtime.settings.pending_login_minutes),
        )
        return JSONResponse(due.model_dump(mode="json"), status_code=202)
    realm = runtime.settings.realm_of_id(user.id) or ""
    await notify_new_log_in(runtime, realm, user.id, token)
    return TokenOut(token=token, expires_at=auth.expires_at, user=profile_out(realm, user))


@router.post("/sessions/second-factor", status_code=201, response_model=TokenOut)
async def create_session_second_step(runtime: RuntimeDep, body: SecondStepIn) -> TokenOut:
    """Finish a log-in that answered `second_factor_required`: a code from the authenticator app or an
    unused recovery code, with the pending token (valid a few minutes). Codes are limited per account."""
    try:
        token, auth, user = await finish_log_in(runtime, pending_token=body.pending_token, code=body.code)
    except service.AccountSuspendedError as suspended:
        raise await suspension_problem(runtime, suspended) from None
    realm = runtime.settings.realm_of_id(user.id) or ""
    return TokenOut(token=token, expires_at=auth.expires_at, user=profile_out(realm, user))


@router.post("/sessions/passkey/options")
async def create_session_passkey_options(
    runtime: RuntimeDep, limiter: Limiter, request: Request, body: PasskeyOptionsIn
) -> dict[str, Any]:
    """Options for navigator.credentials.get: with `pending_token`, the second step of a log-in (that
    account's passkeys); without, a log-in with a passkey alone. The challenge is good once, for minutes."""
    return await passkey_options(runtime, limiter, client_ip(request), body.pending_token)


@router.post("/sessions/passkey", status_code=201, response_model=TokenOut)
async def create_session_with_passkey(
    runtime: RuntimeDep, request: Request, body: PasskeyLogInIn
) -> TokenOut:
    """Log in with the passkey's answer to those options: a bearer token, as `POST /sessions` gives."""
    try:
        token, auth, user = await passkey_log_in(
            runtime,
            credential_dict(body.credential),
            pending_token=body.pending_token,
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


# --- password and e-mail ----------------------------------------------------------------------------------


@router.put("/me/password", status_code=204)
async def change_password(
    runtime: RuntimeDep, viewer: UserViewer, request: Request, body: PasswordChangeIn
) -> Response:
    """Set a new password (the current one is asked again). Every other session of the account ends; the
    one asking stays signed in."""
    await limit_logins(
        runtime, request, viewer.user.handle
    )  # the current password must not be guessable here
    await credentials.do_change_password(
        runtime,
        viewer.realm,
        viewer.user,
        current=body.current_password,
        new=body.new_password,
        keep_token=viewer.token,
    )
    forget_user_sessions(request, viewer.user.id)
    return Response(status_code=204)


def confirmation_link(runtime: Runtime, token: str) -> str:
    return f"{runtime.settings.base_url.rstrip('/')}/settings/email/confirm?{urlencode({'token': token})}"


async def request_email_change(
    runtime: Runtime,
    limiter: RateLimiter,
    request: Request,
    viewer: SignedInViewer,
    email: str,
    password: str,
) -> credentials.EmailChangeRequested:
    """Record the request and mail the link to the new address (shared by the API and the settings page)."""
    limiter.hit("e-mail change", str(viewer.user.id), limit=EMAIL_CHANGES_PER_HOUR, per_seconds=3600)
    await limit_logins(runtime, request, viewer.user.handle)
    requested = await credentials.do_request_email_change(
        runtime, viewer.realm, viewer.user, password=password, new_email=email
    )
    link = confirmation_link(runtime, requested.token)
    message = mail.compose(
        runtime.settings,
        to=requested.email,
        subject="Confirm your new e-mail address for Reelm",
        text=(
            f"Hello @{viewer.user.handle},\n\n"
            "someone (we hope you) asked to use this address for a Reelm account. To confirm it, open this "
            f"link while logged in to that account:\n\n{link}\n\n"
            f"The link works until {requested.expires_at:%Y-%m-%d %H:%M} UTC. If you did not ask for this, "
            "ignore this message: nothing changes until the link is opened.\n"
        ),
    )
    try:
        await mail.sender_for(runtime.settings).send(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("the confirmation mail could not be sent: %s", exc)
        raise Problem(
            503,
            "mail-unavailable",
            "The e-mail could not be sent",
            "We could not send the confirmation e-mail just now. Try again in a few minutes.",
        ) from exc
    return requested


@router.post("/me/email", status_code=202, response_model=EmailChangeOut)
async def change_email(
    runtime: RuntimeDep, limiter: Limiter, viewer: UserViewer, request: Request, body: EmailChangeIn
) -> EmailChangeOut:
    """Ask to use another address: a confirmation link goes to it, and the account's address changes only
    when that link is opened by this account (signed in). A newer request replaces an older one."""
    requested = await request_email_change(runtime, limiter, request, viewer, body.email, body.password)
    return EmailChangeOut(pending_email=requested.email, expires_at=requested.expires_at)


@router.post("/me/email/confirm", response_model=MeOut)
async def confirm_email(
    runtime: RuntimeDep, limiter: Limiter, viewer: UserViewer, request: Request, body: EmailConfirmIn
) -> MeOut:
    """Confirm the new address with the token of the link that was mailed to it."""
    limiter.hit("e-mail confirmation", str(viewer.user.id), limit=EMAIL_CONFIRMS_PER_HOUR, per_seconds=3600)
    email = await credentials.do_confirm_email_change(runtime, viewer.realm, viewer.user, body.token)
    forget_user_sessions(request, viewer.user.id)  # cached sessions hold the account's row as it was
    return me_out(viewer.realm, viewer.user, email)
