"""Changing what an account logs in with: its password, and its e-mail address (confirmed by a link).

Both ask for the current password: a session left open on a shared device must not be enough to take the
account over. A new address is only a request until the link sent to it is opened by the signed-in account
holder; the link carries a signed, expiring token that names the request (a nonce), never the address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from reelm import security
from reelm.accounts.models import AuthSession, EmailChange, User
from reelm.accounts.service import EMAIL_TAKEN, check_email, check_email_free, check_password
from reelm.crypto.service import user_cipher
from reelm.errors import Problem
from reelm.runtime import Runtime
from reelm.text import invalid

LINK_PURPOSE = "email-change"  # keeps these MACs apart from any other use of the secret


def _wrong_password() -> Problem:
    return Problem(403, "bad-password", "Wrong password", "The current password is wrong.")


def _bad_link() -> Problem:
    return Problem(
        400,
        "bad-confirmation-link",
        "This link does not work",
        "The confirmation link is incomplete, was replaced by a newer one, or was already used.",
    )


async def do_change_password(
    runtime: Runtime, realm: str, user: User, *, current: str, new: str, keep_token: str | None
) -> None:
    """Set a new password and end every other session of the account (the one asking stays signed in)."""
    check_password(new, user.handle)
    async with runtime.databases.transaction(realm) as session:
        row = await session.get(User, user.id, with_for_update=True)
        if row is None or not security.verify_password(row.password_hash, current):
            raise _wrong_password()
        if security.verify_password(row.password_hash, new):
            raise invalid("new_password", "is the password you have now")
        row.password_hash = security.hash_password(new)
        others = delete(AuthSession).where(AuthSession.user_id == user.id)
        if keep_token is not None:
            others = others.where(AuthSession.token_hash != security.token_digest(keep_token))
        await session.execute(others)


def _mac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), f"{LINK_PURPOSE}:{message}".encode(), hashlib.sha256).hexdigest()[:32]


def make_token(secret: str, user_id: int, nonce: str, expires_at: datetime) -> str:
    message = f"{user_id}.{int(expires_at.timestamp())}.{nonce}"
    return f"{message}.{_mac(secret, message)}"


@dataclass(frozen=True)
class ConfirmationToken:
    user_id: int
    expires_at: datetime
    nonce: str


def read_token(secret: str, token: str) -> ConfirmationToken:
    """The token's content if our secret signed it; 400 otherwise. Expiry is the caller's to check."""
    parts = token.split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit():
        raise _bad_link()
    message = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3], _mac(secret, message)):
        raise _bad_link()
    return ConfirmationToken(int(parts[0]), datetime.fromtimestamp(int(parts[1]), UTC), parts[2])


@dataclass(frozen=True)
class EmailChangeRequested:
    email: str  # the new address, normalised
    token: str
    expires_at: datetime


async def do_request_email_change(
    runtime: Runtime, realm: str, user: User, *, password: str, new_email: str
) -> EmailChangeRequested:
    """Record the new address as pending (replacing any earlier request) and mint its link's token.

    The caller sends the link after commit. An address another account uses is refused with the same words
    sign-up uses, which name no one.
    """
    email = check_email(new_email)
    keys = runtime.keys.realm(realm)
    index = keys.email_index(email)
    if hmac.compare_digest(index, user.email_index):
        raise invalid("email", "is the address you have now")
    await check_email_free(runtime, email)
    nonce = secrets.token_urlsafe(18)
    now = datetime.now(UTC)
    expires_at = now + timedelta(hours=runtime.settings.email_change_hours)
    async with runtime.databases.transaction(realm) as session:
        row = await session.get(User, user.id, with_for_update=True)
        if row is None or not security.verify_password(row.password_hash, password):
            raise _wrong_password()
        cipher = await user_cipher(session, keys, user.id)
        await session.execute(delete(EmailChange).where(EmailChange.user_id == user.id))
        session.add(
            EmailChange(
                user_id=user.id,
                email=cipher.seal("email_changes.email", email),
                email_index=index,
                nonce_digest=hashlib.sha256(nonce.encode()).digest(),
                created_at=now,
                expires_at=expires_at,
            )
        )
    token = make_token(runtime.settings.secret_key, user.id, nonce, expires_at)
    return EmailChangeRequested(email=email, token=token, expires_at=expires_at)


async def pending_email(runtime: Runtime, realm: str, user_id: int) -> tuple[str, datetime] | None:
    """The address waiting for confirmation and until when its link works, if a request is pending."""
    async with runtime.databases.read(realm) as session:
        row = await session.get(EmailChange, user_id)
        if row is None or row.expires_at <= datetime.now(UTC):
            return None
        cipher = await user_cipher(session, runtime.keys.realm(realm), user_id)
        return cipher.open("email_changes.email", row.email), row.expires_at


async def do_confirm_email_change(runtime: Runtime, realm: str, user: User, token: str) -> str:
    """Make the pending address the account's, if the token is ours, current, unexpired and this user's."""
    claim = read_token(runtime.settings.secret_key, token)
    if claim.user_id != user.id:
        raise Problem(
            403,
            "wrong-account",
            "Another account's link",
            "This link confirms an address for another account. Log in as that account and open it again.",
        )
    if claim.expires_at <= datetime.now(UTC):
        raise Problem(410, "link-expired", "This link has expired", "Ask for a new confirmation link.")
    keys = runtime.keys.realm(realm)
    async with runtime.databases.read(realm) as session:
        pending = await session.get(EmailChange, user.id)
        if pending is None or not hmac.compare_digest(
            pending.nonce_digest, hashlib.sha256(claim.nonce.encode()).digest()
        ):
            raise _bad_link()
        email = (await user_cipher(session, keys, user.id)).open("email_changes.email", pending.email)
    # Someone may have taken the address since it was asked for (another realm answers for its own).
    await check_email_free(runtime, email)
    try:
        async with runtime.databases.transaction(realm) as session:
            cipher = await user_cipher(session, keys, user.id)
            taken = await session.execute(
                delete(EmailChange)
                .where(EmailChange.user_id == user.id, EmailChange.nonce_digest == pending.nonce_digest)
                .returning(EmailChange.user_id)
            )
            if taken.first() is None:  # confirmed twice at once: the other one won
                raise _bad_link()
            await session.execute(
                update(User)
                .where(User.id == user.id)
                .values(email=cipher.seal("users.email", email), email_index=keys.email_index(email))
            )
    except IntegrityError as exc:  # the unique blind index: taken in this realm meanwhile
        raise Problem(409, "email-taken", *EMAIL_TAKEN) from exc
    return email
