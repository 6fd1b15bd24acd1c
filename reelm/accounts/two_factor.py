"""Two-factor log-in with an authenticator app (TOTP, RFC 6238) and recovery codes.

Enrolment makes a secret, shows it once (as an otpauth:// URI and a QR code) and counts only after a code
from the app confirmed it; confirming also makes ten recovery codes, shown once and kept as keyed digests,
each good for one log-in. The secret is sealed under the user's field key like their e-mail address.

A log-in whose password was right then waits as a pending log-in (reelm.accounts.service.do_log_in) for a
code; `do_finish_log_in` turns it into a session that records which factor was used (staff need one). A
code is accepted once: the step of the last accepted code is stored, and it and any older one are refused
after. The routes count every code tried against the account (login_limits.check_second_factor_rate).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import segno
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import security
from reelm.accounts.factor_models import PendingLogin, RecoveryCode, TotpFactor
from reelm.accounts.models import AuthSession, User
from reelm.accounts.service import AccountSuspendedError, open_session, second_factor_methods
from reelm.crypto.fields import UserCipher
from reelm.crypto.service import user_cipher
from reelm.errors import Problem
from reelm.runtime import Runtime

ISSUER = "Reelm"
STEP_S = 30  # the authenticator apps' default period
RECOVERY_CODES = 10
# Recovery codes: ten characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown as two groups.
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RECOVERY_PURPOSE = "recovery-code"  # keeps these MACs apart from any other use of the secret
TOTP, RECOVERY, PASSKEY = "totp", "recovery", "passkey"
SIX_DIGITS = re.compile(r"^[0-9]{6}$")


def wrong_code() -> Problem:
    return Problem(
        401,
        "bad-second-factor",
        "Wrong code",
        "The code is wrong or was already used. Enter the current code from your app, or a recovery code.",
    )


def _pending_gone() -> Problem:
    return Problem(
        401,
        "log-in-expired",
        "Log in again",
        "This log-in waited too long for its second step, or was already completed. Log in again.",
    )


def normalise_code(code: str) -> str:
    """What was typed, without the spaces and dashes apps and printouts put in, upper-cased."""
    return re.sub(r"[\s-]", "", code).upper()


def recovery_digest(secret_key: str, user_id: int, code: str) -> bytes:
    message = f"{RECOVERY_PURPOSE}:{user_id}:{normalise_code(code)}"
    return hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).digest()


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str  # base32, for typing into an app
    uri: str  # otpauth://totp/...
    qr_svg: str  # the URI as a QR code, an inline <svg> element


def enrolment_of(secret: str, handle: str) -> TotpEnrolment:
    uri = pyotp.TOTP(secret, interval=STEP_S).provisioning_uri(name=f"@{handle}", issuer_name=ISSUER)
    qr = segno.make(uri, error="m")
    svg = qr.svg_inline(scale=4, dark="#000", light="#fff", title="QR code of the authenticator secret")
    return TotpEnrolment(secret=secret, uri=uri, qr_svg=svg)


def accepted_step(secret: str, code: str, last_step: int | None, now: datetime) -> int | None:
    """The time step the code belongs to (this one or a neighbour, for clocks a little apart), if it is
    right and newer than the last one accepted; None otherwise."""
    code = normalise_code(code)
    if not SIX_DIGITS.match(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_S)
    current = int(now.timestamp()) // STEP_S
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_S), code):
            return step
    return None


@dataclass(frozen=True)
class FactorStatus:
    totp: bool  # confirmed
    totp_pending: bool  # made, not yet confirmed
    recovery_left: int
    methods: list[str]


async def factor_status(session: AsyncSession, user_id: int) -> FactorStatus:
    factor = await session.get(TotpFactor, user_id)
    left = await session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )
    return FactorStatus(
        totp=factor is not None and factor.confirmed_at is not None,
        totp_pending=factor is not None and factor.confirmed_at is None,
        recovery_left=left or 0,
        methods=await second_factor_methods(session, user_id),
    )


async def do_begin_totp(runtime: Runtime, realm: str, user: User) -> TotpEnrolment:
    """A new secret for the account's app, replacing one not yet confirmed; 409 while one is in use."""
    secret = pyotp.random_base32()
    async with runtime.databases.transaction(realm) as session:
        existing = await session.get(TotpFactor, user.id, with_for_update=True)
        if existing is not None and existing.confirmed_at is not None:
            raise Problem(
                409,
                "two-factor-on",
                "Two-factor log-in is on",
                "An authenticator app is already set up. Turn it off first to set up another one.",
            )
        cipher = await user_cipher(session, runtime.keys.realm(realm), user.id)
        sealed = cipher.seal("totp_factors.secret", secret)
        if existing is None:
            session.add(TotpFactor(user_id=user.id, secret=sealed))
        else:
            existing.secret, existing.created_at = sealed, datetime.now(UTC)
    return enrolment_of(secret, user.handle)


async def _replace_recovery_codes(session: AsyncSession, secret_key: str, user_id: int) -> list[str]:
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.add_all(
        RecoveryCode(user_id=user_id, digest=recovery_digest(secret_key, user_id, c)) for c in codes
    )
    return codes


async def _mark_session(session: AsyncSession, token: str | None, method: str) -> None:
    """The session that just proved a factor counts as confirmed with it (as a log-in with it would)."""
    if token is not None:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.token_hash == security.token_digest(token))
            .values(second_factor=method)
        )


async def do_confirm_totp(
    runtime: Runtime, realm: str, user: User, *, code: str, token: str | None
) -> list[str]:
    """Turn the app on with a code from it; returns the new recovery codes (shown once, never again)."""
    now = datetime.now(UTC)
    async with runtime.databases.transaction(realm) as session:
        factor = await session.get(TotpFactor, user.id, with_for_update=True)
        if factor is None or factor.confirmed_at is not None:
            raise Problem(
                409,
                "nothing-to-confirm",
                "Nothing to confirm",
                "Start setting up an authenticator app first.",
            )
        cipher = await user_cipher(session, runtime.keys.realm(realm), user.id)
        step = accepted_step(cipher.open("totp_factors.secret", factor.secret), code, None, now)
        if step is None:
            raise wrong_code()
        factor.confirmed_at, factor.last_step = now, step
        codes = await _replace_recovery_codes(session, runtime.settings.secret_key, user.id)
        await _mark_session(session, token, TOTP)
    return codes


async def _use_code(
    session: AsyncSession, secret_key: str, cipher: UserCipher, user_id: int, code: str, now: datetime
) -> str | None:
    """Spend a TOTP code or a recovery code of the account: the factor it proved, or None."""
    if SIX_DIGITS.match(normalise_code(code)):
        factor = await session.get(TotpFactor, user_id, with_for_update=True)
        if factor is None or factor.confirmed_at is None:
            return None
        secret = cipher.open("totp_factors.secret", factor.secret)
        step = accepted_step(secret, code, factor.last_step, now)
        if step is None:
            return None
        factor.last_step = step
        return TOTP
    # One statement both checks and spends the code, so two log-ins racing with it cannot both pass.
    spent = await session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.digest == recovery_digest(secret_key, user_id, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .returning(RecoveryCode.user_id)
    )
    return RECOVERY if spent.first() is not None else None


async def do_new_recovery_codes(
    runtime: Runtime, realm: str, user: User, *, code: str, token: str | None
) -> list[str]:
    """New recovery codes (the old ones stop working), for a code from the app or an unused recovery code."""
    now = datetime.now(UTC)
    async with runtime.databases.transaction(realm) as session:
        if not (await factor_status(session, user.id)).totp:
            raise Problem(
                409, "two-factor-off", "Two-factor log-in is off", "Set up an authenticator app first."
            )
        cipher = await user_cipher(session, runtime.keys.realm(realm), user.id)
        method = await _use_code(session, runtime.settings.secret_key, cipher, user.id, code, now)
        if method is None:
            raise wrong_code()
        codes = await _replace_recovery_codes(session, runtime.settings.secret_key, user.id)
        await _mark_session(session, token, method)
    return codes


async def do_disable_totp(runtime: Runtime, realm: str, user: User, *, password: str, code: str) -> None:
    """Turn the app off (recovery codes go with it), for the password and a current or recovery code: a
    session left open must not be enough to weaken the account."""
    now = datetime.now(UTC)
    async with runtime.databases.transaction(realm) as session:
        row = await session.get(User, user.id)
        if row is None or not security.verify_password(row.password_hash, password):
            raise Problem(403, "bad-password", "Wrong password", "The password is wrong.")
        if not (await factor_status(session, user.id)).totp:
            raise Problem(
                409, "two-factor-off", "Two-factor log-in is off", "No authenticator app is set up."
            )
        cipher = await user_cipher(session, runtime.keys.realm(realm), user.id)
        if await _use_code(session, runtime.settings.secret_key, cipher, user.id, code, now) is None:
            raise wrong_code()
        await session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
        await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# --- the second step of a log-in ------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingOf:
    realm: str
    user_id: int
    methods: list[str]


async def pending_log_in(runtime: Runtime, token: str) -> PendingOf:
    """Whose log-in the token names (for the rate limit and the page), or 401 when gone or expired."""
    realm = security.token_realm(token)
    if realm not in runtime.databases.realm_urls:
        raise _pending_gone()
    async with runtime.databases.read(realm) as session:
        pending = await session.get(PendingLogin, security.token_digest(token))
        if pending is None or pending.expires_at <= datetime.now(UTC):
            raise _pending_gone()
        return PendingOf(realm, pending.user_id, await second_factor_methods(session, pending.user_id))


async def do_finish_log_in(
    runtime: Runtime, *, token: str, code: str | None = None, passkey_used: int | None = None
) -> tuple[str, AuthSession, User]:
    """The session a pending log-in becomes once a code (or, `passkey_used`, a passkey of the same account
    already verified by reelm.accounts.passkeys) proves the second factor; the pending log-in is spent.

    Raises AccountSuspendedError for a suspended account (with a restricted web session's token).
    """
    now = datetime.now(UTC)
    pending_of = await pending_log_in(runtime, token)
    realm = pending_of.realm
    suspended: AccountSuspendedError | None
    async with runtime.databases.transaction(realm) as session:
        pending = await session.get(PendingLogin, security.token_digest(token), with_for_update=True)
        user = await session.get(User, pending_of.user_id)
        if pending is None or user is None:
            raise _pending_gone()
        if passkey_used is not None:
            if passkey_used != user.id:
                raise wrong_code()
            method: str | None = PASSKEY
        else:
            cipher = await user_cipher(session, runtime.keys.realm(realm), user.id)
            method = await _use_code(session, runtime.settings.secret_key, cipher, user.id, code or "", now)
        if method is None:
            raise wrong_code()
        await session.delete(pending)
        new_token, auth, suspended = await open_session(
            session,
            runtime,
            realm,
            user,
            kind=pending.kind,
            ip=pending.ip,
            user_agent=pending.user_agent,
            second_factor=method,
        )
        # Pending log-ins that nobody finished go with the next one that is.
        await session.execute(delete(PendingLogin).where(PendingLogin.expires_at <= now))
    if suspended is not None:
        raise suspended
    return new_token, auth, user


async def do_log_in_with_passkey(
    runtime: Runtime, realm: str, user_id: int, *, kind: str, ip: str | None, user_agent: str | None
) -> tuple[str, AuthSession, User]:
    """The session of a log-in without a password: a passkey that verified its user
    (reelm.accounts.passkeys) stands for both factors. Raises AccountSuspendedError for a suspended account,
    as a password log-in does."""
    suspended: AccountSuspendedError | None
    async with runtime.databases.transaction(realm) as session:
        user = await session.get(User, user_id)
        if user is None:
            raise _pending_gone()
        cipher = await user_cipher(session, runtime.keys.realm(realm), user_id)
        token, auth, suspended = await open_session(
            session,
            runtime,
            realm,
            user,
            kind=kind,
            ip=cipher.seal_optional("sessions.ip", ip),
            user_agent=cipher.seal_optional("sessions.user_agent", (user_agent or "")[:300] or None),
            second_factor=PASSKEY,
        )
    if suspended is not None:
        raise suspended
    return token, auth, user
