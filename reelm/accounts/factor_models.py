"""Second factors of log-in: an authenticator app's secret (TOTP), recovery codes, passkeys, and the
log-ins that passed the password check and wait for one of them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped

from reelm.db import TZ, DirectoryBase, RealmBase, protected, public, utcnow


class TotpFactor(RealmBase):
    """An authenticator app's shared secret; it counts as a second factor once a code from it confirmed it."""

    __tablename__ = "totp_factors"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # The base32 secret, sealed like users.email: a copy of the database alone cannot mint codes.
    secret: Mapped[bytes] = protected(LargeBinary)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
    confirmed_at: Mapped[datetime | None] = protected(TZ)
    # The 30-second step of the last code accepted: a code, and any older one, is then spent (no replay).
    last_step: Mapped[int | None] = protected(BigInteger)


class RecoveryCode(RealmBase):
    """One recovery code, as a keyed digest; shown once when made, each good for one log-in."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[bytes] = protected(LargeBinary(32), primary_key=True)
    used_at: Mapped[datetime | None] = protected(TZ)


class PendingLogin(RealmBase):
    """A log-in whose password was right, waiting a few minutes for its second factor. Its token (kept only
    as a SHA-256) opens nothing but the second step; the session is made when that step succeeds."""

    __tablename__ = "pending_logins"
    __table_args__ = (Index("ix_pending_logins_user", "user_id"),)

    token_hash: Mapped[bytes] = protected(LargeBinary(32), primary_key=True)
    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = protected(String(8))  # the session it becomes: "web" or "api"
    ip: Mapped[bytes | None] = protected(LargeBinary)  # sealed like sessions.ip
    user_agent: Mapped[bytes | None] = protected(LargeBinary)
    expires_at: Mapped[datetime] = protected(TZ)


class Passkey(RealmBase):
    """A WebAuthn credential of the account: a second factor, and a log-in without a password."""

    __tablename__ = "passkeys"
    __table_args__ = (Index("ix_passkeys_user", "user_id"),)

    id: Mapped[int] = protected(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    # Identifies the authenticator's key pair; the browser names it at log-in.
    credential_id: Mapped[bytes] = protected(LargeBinary, unique=True)
    public_key: Mapped[bytes] = protected(LargeBinary)  # COSE; needs no secrecy
    sign_count: Mapped[int] = protected(BigInteger, default=0)
    name: Mapped[str] = protected(String(50))
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
    last_used_at: Mapped[datetime | None] = protected(TZ)


class WebAuthnChallenge(DirectoryBase):
    """A challenge handed to a browser for one ceremony, used at most once and for a few minutes.

    In the directory because a log-in without a password does not know the account, hence the realm, until
    the browser answers. It holds random bytes' digest and, for registration and second-factor use, the
    (public) user id: nothing protected.
    """

    __tablename__ = "webauthn_challenges"

    digest: Mapped[bytes] = public(LargeBinary(32), primary_key=True)  # SHA-256 of the challenge
    purpose: Mapped[str] = public(String(12))  # "register", "login" or "factor"
    user_id: Mapped[int | None] = public(BigInteger)
    expires_at: Mapped[datetime] = public(TZ)
