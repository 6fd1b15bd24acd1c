"""Passkeys (WebAuthn): registering one, and using one as a second factor or to log in without a password.

Every ceremony starts with a random challenge that the server keeps (its SHA-256, in the directory's
webauthn_challenges: a log-in without a password does not know the realm until the browser answers) for a
few minutes, and that the answer spends: the row is deleted by the statement that reads it, so a replayed
answer finds nothing. The relying party's id and origin come from the settings (Settings.webauthn_party).

The credential's user handle is the account's id, which carries its realm; the passkey row (its public key
and signature counter) lives in that realm with the account.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import webauthn
from sqlalchemy import delete, func, select, update
from webauthn.helpers import base64url_to_bytes, options_to_json, parse_client_data_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from reelm import ids, security
from reelm.accounts.factor_models import Passkey, WebAuthnChallenge
from reelm.accounts.models import AuthSession, User
from reelm.errors import Problem, not_found
from reelm.runtime import Runtime

RP_NAME = "Reelm"
CHALLENGE_LIFE = timedelta(minutes=5)
TIMEOUT_MS = 120_000
MAX_PASSKEYS = 20  # per account: a list a person can still read
REGISTER, LOGIN, FACTOR = "register", "login", "factor"


def refused(detail: str = "The passkey's answer could not be verified. Try again.") -> Problem:
    return Problem(400, "passkey-refused", "Passkey not accepted", detail)


def _expired() -> Problem:
    return refused("This passkey request was already used or has expired. Try again.")


def _challenge_of(credential: dict[str, Any]) -> bytes:
    """The challenge the browser signed, read from the answer's client data (verified again by webauthn)."""
    try:
        client_data = parse_client_data_json(base64url_to_bytes(credential["response"]["clientDataJSON"]))
    except (KeyError, TypeError, ValueError, WebAuthnException) as exc:
        raise refused() from exc
    return client_data.challenge


async def _keep_challenge(
    runtime: Runtime, options_challenge: bytes, purpose: str, user_id: int | None
) -> None:
    now = datetime.now(UTC)
    async with runtime.databases.transaction(None) as directory:
        # Challenges nobody answered go with the next one asked for (the table stays a few minutes deep).
        await directory.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at <= now))
        directory.add(
            WebAuthnChallenge(
                digest=hashlib.sha256(options_challenge).digest(),
                purpose=purpose,
                user_id=user_id,
                expires_at=now + CHALLENGE_LIFE,
            )
        )


async def _spend_challenge(runtime: Runtime, challenge: bytes, purpose: str) -> int | None:
    """Take the challenge (once): the user id it was made for, or None for a log-in without a password.
    Refused when unknown, expired, for another ceremony, or already spent."""
    async with runtime.databases.transaction(None) as directory:
        row = (
            await directory.execute(
                delete(WebAuthnChallenge)
                .where(
                    WebAuthnChallenge.digest == hashlib.sha256(challenge).digest(),
                    WebAuthnChallenge.purpose == purpose,
                    WebAuthnChallenge.expires_at > func.now(),
                )
                .returning(WebAuthnChallenge.user_id)
            )
        ).first()
    if row is None:
        raise _expired()
    return row[0]


# --- registration ---------------------------------------------------------------------------------------


async def registration_options(runtime: Runtime, realm: str, user: User) -> dict[str, Any]:
    """Options for navigator.credentials.create: a discoverable credential (so it can log in without a
    name), none of the account's existing ones again."""
    rp_id, _ = runtime.settings.webauthn_party
    async with runtime.databases.read(realm) as session:
        existing = (
            await session.scalars(select(Passkey.credential_id).where(Passkey.user_id == user.id))
        ).all()
    if len(existing) >= MAX_PASSKEYS:
        raise Problem(
            409, "too-many-passkeys", "Too many passkeys", f"An account keeps at most {MAX_PASSKEYS}."
        )
    options = webauthn.generate_registration_options(
        rp_id=rp_id,
        rp_name=RP_NAME,
        user_id=str(user.id).encode(),
        user_name=user.handle,
        user_display_name=user.display_name,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in existing],
    )
    await _keep_challenge(runtime, options.challenge, REGISTER, user.id)
    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


async def do_register(
    runtime: Runtime, realm: str, user: User, credential: dict[str, Any], *, name: str, token: str | None
) -> Passkey:
    """Verify the authenticator's answer and keep its public key. The session that added it counts as
    confirmed with a passkey (it just proved one), as one that confirms an authenticator app does."""
    challenge = _challenge_of(credential)
    if await _spend_challenge(runtime, challenge, REGISTER) != user.id:
        raise _expired()
    rp_id, origin = runtime.settings.webauthn_party
    try:
        verified = webauthn.verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin
        )
    except WebAuthnException as exc:
        raise refused() from exc
    passkey = Passkey(
        id=ids.new_id(runtime.settings.realm(realm).code),
        user_id=user.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=name[:50] or "Passkey",
    )
    async with runtime.databases.transaction(realm) as session:
        if await session.scalar(select(Passkey.id).where(Passkey.credential_id == verified.credential_id)):
            raise Problem(409, "passkey-known", "Passkey already added", "This passkey is already added.")
        session.add(passkey)
        if token is not None:
            await session.execute(
                update(AuthSession)
                .where(AuthSession.token_hash == security.token_digest(token))
                .values(second_factor="passkey")
            )
    return passkey


async def do_remove(runtime: Runtime, realm: str, user_id: int, passkey_id: int) -> None:
    async with runtime.databases.transaction(realm) as session:
        gone = await session.execute(
            delete(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user_id).returning(Passkey.id)
        )
        if gone.first() is None:
            raise not_found("Passkey")


# --- authentication ---------------------------------------------------------------------------------------


async def authentication_options(
    runtime: Runtime, *, realm: str | None, user_id: int | None
) -> dict[str, Any]:
    """Options for navigator.credentials.get. With a user (the second step of a log-in whose password was
    right): that account's passkeys. Without: any passkey of this site, the browser offers them (a log-in
    without a password, which asks the authenticator to verify its user)."""
    rp_id, _ = runtime.settings.webauthn_party
    allowed: list[PublicKeyCredentialDescriptor] = []
    if user_id is not None and realm is not None:
        async with runtime.databases.read(realm) as session:
            credential_ids = (
                await session.scalars(select(Passkey.credential_id).where(Passkey.user_id == user_id))
            ).all()
        allowed = [PublicKeyCredentialDescriptor(id=c) for c in credential_ids]
    options = webauthn.generate_authentication_options(
        rp_id=rp_id,
        timeout=TIMEOUT_MS,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement.PREFERRED
        if user_id is not None
        else UserVerificationRequirement.REQUIRED,
    )
    await _keep_challenge(runtime, options.challenge, FACTOR if user_id is not None else LOGIN, user_id)
    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


@dataclass(frozen=True)
class PasskeyUsed:
    realm: str
    user_id: int


async def do_authenticate(
    runtime: Runtime, credential: dict[str, Any], *, factor_for: int | None
) -> PasskeyUsed:
    """Verify a passkey's answer: for the second step of `factor_for`'s log-in, or (None) a log-in without
    a password, where the answer's user handle names the account. Updates the key's counter."""
    challenge = _challenge_of(credential)
    expected_user = await _spend_challenge(runtime, challenge, FACTOR if factor_for is not None else LOGIN)
    if expected_user != factor_for:
        raise _expired()
    try:
        raw_id = base64url_to_bytes(str(credential["rawId"]))
        handle = credential["response"].get("userHandle")
        handle_id = int(base64url_to_bytes(handle).decode()) if handle else None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise refused() from exc
    user_id = factor_for if factor_for is not None else handle_id
    realm = runtime.settings.realm_of_id(user_id) if user_id is not None else None
    if user_id is None or realm is None or (handle_id is not None and handle_id != user_id):
        raise refused("This passkey belongs to no account here, or to another one.")
    rp_id, origin = runtime.settings.webauthn_party
    async with runtime.databases.transaction(realm) as session:
        passkey = await session.scalar(
            select(Passkey)
            .where(Passkey.credential_id == raw_id, Passkey.user_id == user_id)
            .with_for_update()
        )
        if passkey is None:
            raise refused("This passkey belongs to no account here, or to another one.")
        try:
            verified = webauthn.verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=rp_id,
                expected_origin=origin,
                credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=factor_for is None,
            )
        except WebAuthnException as exc:
            raise refused() from exc
        passkey.sign_count, passkey.last_used_at = verified.new_sign_count, datetime.now(UTC)
    return PasskeyUsed(realm=realm, user_id=user_id)
