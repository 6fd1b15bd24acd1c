"""Passwords, session tokens and CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verifying against this when the account does not exist keeps the timing of both answers alike.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_session_token(realm: str) -> str:
    """The realm prefix routes the token to the database that holds the session."""
    return f"{realm}.{secrets.token_urlsafe(32)}"


def token_realm(token: str) -> str:
    return token.split(".", 1)[0]


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def csrf_token(secret_key: str, nonce: str) -> str:
    return hmac.new(secret_key.encode(), f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def check_csrf(secret_key: str, nonce: str | None, presented: str | None) -> bool:
    if not nonce or not presented:
        return False
    return hmac.compare_digest(csrf_token(secret_key, nonce), presented)
