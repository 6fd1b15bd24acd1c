"""JSON API for account safety: two-factor log-in (authenticator app, recovery codes), the second step of a
log-in, and the account's list of sessions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from reelm.accounts import passkeys, sessions, two_factor
from reelm.accounts.factor_models import Passkey
from reelm.accounts.login_limits import check_second_factor_rate
from reelm.accounts.models import AuthSession, User
from reelm.accounts.security_schemas import (
    CodeIn,
    PasskeyAddIn,
    PasskeyOut,
    RecoveryCodesOut,
    SessionItemOut,
    SessionsOut,
    TotpDisableIn,
    TotpEnrolmentOut,
    TwoFactorOut,
    credential_dict,
)
from reelm.accounts.sessions import device_of
from reelm.notifications.models import NotificationKind
from reelm.notifications.service import do_notify
from reelm.ratelimit import RateLimiter
from reelm.runtime import Runtime
from reelm.web.deps import RuntimeDep, UserViewer, forget_session, forget_user_sessions
from reelm.web.params import IdPath

router = APIRouter(tags=["account safety"])

PASSKEY_OPTIONS_PER_MINUTE = 30


async def passkey_log_in(
    runtime: Runtime,
    credential: dict[str, Any],
    *,
    pending_token: str | None,
    kind: str,
    ip: str | None,
    user_agent: str | None,
) -> tuple[str, AuthSession, User]:
    """A passkey's answer turned into a session: the second step of a pending log-in, or a log-in without a
    password. Raises AccountSuspendedError for a suspended account (with a restricted web session)."""
    if pending_token is not None:
        pending = await two_factor.pending_log_in(runtime, pending_token)
        used = await passkeys.do_authenticate(runtime, credential, factor_for=pending.user_id)
        return await finish_log_in(runtime, pending_token=pending_token, passkey_user=used.user_id)
    used = await passkeys.do_authenticate(runtime, credential, factor_for=None)
    token, auth, user = await two_factor.do_log_in_with_passkey(
        runtime, used.realm, used.user_id, kind=kind, ip=ip, user_agent=user_agent
    )
    await notify_new_log_in(runtime, used.realm, user.id, token)
    return token, auth, user


async def passkey_options(
    runtime: Runtime, limiter: RateLimiter, address: str, pending_token: str | None
) -> dict[str, Any]:
    """Options for a passkey log-in: the pending log-in's account's passkeys, or any (no password)."""
    # Each asks the directory to keep a challenge for a few minutes: an address gets a bounded number.
    limiter.hit("passkey log-in", address, limit=PASSKEY_OPTIONS_PER_MINUTE, per_seconds=60)
    if pending_token is None:
        return await passkeys.authentication_options(runtime, realm=None, user_id=None)
    pending = await two_factor.pending_log_in(runtime, pending_token)
    return await passkeys.authentication_options(runtime, realm=pending.realm, user_id=pending.user_id)


async def notify_new_log_in(runtime: Runtime, realm: str, user_id: int, token: str) -> None:
    """Tell the account holder of a log-in from a network none of their other sessions came from, so that
    one they did not make shows (with a link to end it). No actor: the platform says it."""
    if not await sessions.is_new_place(runtime, realm, user_id, token):
        return
    async with runtime.databases.transaction(realm) as session:
        await do_notify(session, recipient_id=user_id, kind=NotificationKind.NEW_LOGIN, actor_id=None)


async def finish_log_in(
    runtime: Runtime, *, pending_token: str, code: str | None = None, passkey_user: int | None = None
) -> tuple[str, AuthSession, User]:
    """The second step of a log-in, for the API and the log-in page: codes are counted per account first.

    A suspended account's log-in raises AccountSuspendedError (with a restricted web session, if web)."""
    if passkey_user is None:
        pending = await two_factor.pending_log_in(runtime, pending_token)
        await check_second_factor_rate(runtime, user_id=pending.user_id)
    token, auth, user = await two_factor.do_finish_log_in(
        runtime, token=pending_token, code=code, passkey_used=passkey_user
    )
    await notify_new_log_in(runtime, runtime.settings.realm_of_id(user.id) or "", user.id, token)
    return token, auth, user


# --- the authenticator app and recovery codes --------------------------------------------------------


async def two_factor_view(runtime: Runtime, realm: str, user_id: int) -> TwoFactorOut:
    async with runtime.databases.read(realm) as session:
        status = await two_factor.factor_status(session, user_id)
        keys = (
            await session.scalars(
                select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.created_at)
            )
        ).all()
    return TwoFactorOut(
        totp=status.totp,
        totp_pending=status.totp_pending,
        recovery_codes_left=status.recovery_left,
        passkeys=[
            PasskeyOut(id=str(k.id), name=k.name, created_at=k.created_at, last_used_at=k.last_used_at)
            for k in keys
        ],
    )


@router.get("/me/two-factor", response_model=TwoFactorOut)
async def get_two_factor(runtime: RuntimeDep, viewer: UserViewer) -> TwoFactorOut:
    """Which second factors the account has: an authenticator app, recovery codes left, passkeys."""
    return await two_factor_view(runtime, viewer.realm, viewer.user.id)


@router.post("/me/two-factor/totp", status_code=201, response_model=TotpEnrolmentOut)
async def begin_totp(runtime: RuntimeDep, viewer: UserViewer) -> TotpEnrolmentOut:
    """Start setting up an authenticator app: its secret, as text, an otpauth:// URI and a QR code. It counts
    once confirmed with a code from the app."""
    enrolment = await two_factor.do_begin_totp(runtime, viewer.realm, viewer.user)
    return TotpEnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.uri, qr_svg=enrolment.qr_svg)


@router.post("/me/two-factor/totp/confirm", response_model=RecoveryCodesOut)
async def confirm_totp(
    runtime: RuntimeDep, viewer: UserViewer, request: Request, body: CodeIn
) -> RecoveryCodesOut:
    """Turn the app on with a code from it. Answers the recovery codes, this once only."""
    await check_second_factor_rate(runtime, user_id=viewer.user.id)
    codes = await two_factor.do_confirm_totp(
        runtime, viewer.realm, viewer.user, code=body.code, token=viewer.token
    )
    forget_session(request, viewer.token or "")  # the cached session does not know it used a factor now
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/me/two-factor/recovery-codes", response_model=RecoveryCodesOut)
async def new_recovery_codes(
    runtime: RuntimeDep, viewer: UserViewer, request: Request, body: CodeIn
) -> RecoveryCodesOut:
    """New recovery codes, for a code from the app (or an unused recovery code); the old ones stop working."""
    await check_second_factor_rate(runtime, user_id=viewer.user.id)
    codes = await two_factor.do_new_recovery_codes(
        runtime, viewer.realm, viewer.user, code=body.code, token=viewer.token
    )
    forget_session(request, viewer.token or "")
    return RecoveryCodesOut(recovery_codes=codes)


@router.delete("/me/two-factor/totp", status_code=204)
async def disable_totp(runtime: RuntimeDep, viewer: UserViewer, body: TotpDisableIn) -> Response:
    """Turn the authenticator app off (its recovery codes go too), for the password and a code."""
    await check_second_factor_rate(runtime, user_id=viewer.user.id)
    await two_factor.do_disable_totp(
        runtime, viewer.realm, viewer.user, password=body.password, code=body.code
    )
    return Response(status_code=204)


# --- passkeys ------------------------------------------------------------------------------------------


@router.post("/me/passkey-options")
async def passkey_registration_options(runtime: RuntimeDep, viewer: UserViewer) -> dict[str, Any]:
    """Options for the browser's navigator.credentials.create (WebAuthn JSON); the challenge in them is
    good for one registration within a few minutes."""
    return await passkeys.registration_options(runtime, viewer.realm, viewer.user)


@router.post("/me/passkeys", status_code=201, response_model=PasskeyOut)
async def add_passkey(
    runtime: RuntimeDep, viewer: UserViewer, request: Request, body: PasskeyAddIn
) -> PasskeyOut:
    """Add the passkey the browser made with those options; it logs in without a password from then on,
    and is a second factor after one."""
    name = body.name or device_of(request.headers.get("user-agent"))
    passkey = await passkeys.do_register(
        runtime, viewer.realm, viewer.user, credential_dict(body.credential), name=name, token=viewer.token
    )
    forget_session(request, viewer.token or "")
    return PasskeyOut(
        id=str(passkey.id),
        name=passkey.name,
        created_at=passkey.created_at,
        last_used_at=passkey.last_used_at,
    )


@router.delete("/me/passkeys/{passkey_id}", status_code=204)
async def remove_passkey(runtime: RuntimeDep, viewer: UserViewer, passkey_id: IdPath) -> Response:
    await passkeys.do_remove(runtime, viewer.realm, viewer.user.id, int(passkey_id))
    return Response(status_code=204)


# --- sessions ----------------------------------------------------------------------------------------


def _session_out(item: sessions.SessionItem) -> SessionItemOut:
    return SessionItemOut(
        id=item.id,
        current=item.current,
        kind=item.kind,
        device=item.device,
        place=item.place,
        second_factor=item.second_factor,
        created_at=item.created_at,
        last_seen_at=item.last_seen_at,
    )


@router.get("/me/sessions", response_model=SessionsOut)
async def list_my_sessions(runtime: RuntimeDep, viewer: UserViewer) -> SessionsOut:
    """The account's sessions (device, the network they came from, last use); only its holder sees this."""
    items = await sessions.list_sessions(runtime, viewer.realm, viewer.user.id, viewer.token)
    return SessionsOut(items=[_session_out(item) for item in items])


@router.delete("/me/sessions/others", status_code=204)
async def end_other_sessions(runtime: RuntimeDep, viewer: UserViewer, request: Request) -> Response:
    """Log out everywhere else: every session of the account but this one ends."""
    await sessions.do_end_other_sessions(runtime, viewer.realm, viewer.user.id, viewer.token or "")
    forget_user_sessions(request, viewer.user.id)
    return Response(status_code=204)


@router.delete("/me/sessions/{session_id}", status_code=204)
async def end_session(
    runtime: RuntimeDep, viewer: UserViewer, request: Request, session_id: IdPath
) -> Response:
    """Log one session of the account out (this one included, if named)."""
    await sessions.do_end_session(runtime, viewer.realm, viewer.user.id, session_id)
    forget_user_sessions(request, viewer.user.id)
    return Response(status_code=204)
