"""Accounts: the directory's routing entry and the realm's user and session rows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped

from reelm.db import TZ, DirectoryBase, RealmBase, protected, public, utcnow


class HandleEntry(DirectoryBase):
    """handle → user id and home realm; all the directory knows about a person."""

    __tablename__ = "handles"

    handle: Mapped[str] = public(String(24), primary_key=True)  # lower-cased
    user_id: Mapped[int] = public(BigInteger, unique=True)
    realm: Mapped[str] = public(String(16))
    # "reserved" while the realm row is being created; only "active" entries resolve.
    state: Mapped[str] = public(String(10), default="reserved")
    created_at: Mapped[datetime] = public(TZ, default=utcnow)


class LoginAttempt(DirectoryBase):
    """One log-in attempt, per client address or login name, only as a keyed digest
    (reelm.accounts.login_limits); rows live a few minutes."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_key", "bucket", "key_digest", "at"),)

    id: Mapped[int] = public(BigInteger, Identity(), primary_key=True)
    bucket: Mapped[str] = public(String(8))  # "address" or "account"
    # HMAC-SHA256 under the server's secret: neither the address nor the name can be read back.
    key_digest: Mapped[bytes] = public(LargeBinary(32))
    at: Mapped[datetime] = public(TZ)


class NameSkeleton(DirectoryBase):
    """The look-alike digest (reelm.text.lookalike_digest) of each account's handle and display name.

    Kept in the directory, beside the handles, so that a new name is compared with every realm's names in one
    indexed look-up. The rows hang on the account's handle entry: they go when it is deleted (purge, a
    sign-up that failed, a stale reservation reclaimed) and follow it to a new user id when the account
    moves. A name is public, and so is its digest.
    """

    __tablename__ = "name_skeletons"
    __table_args__ = (Index("ix_name_skeletons_digest", "digest"),)

    user_id: Mapped[int] = public(
        BigInteger,
        ForeignKey("handles.user_id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    )
    kind: Mapped[str] = public(String(12), primary_key=True)  # "handle" or "display_name"
    digest: Mapped[bytes] = public(LargeBinary)
    # reelm.text.spelling_digest: the same name spelled the same way is no imitation (two people may both be
    # called "Alex"); only a look-alike spelled otherwise is refused.
    spelling: Mapped[bytes] = public(LargeBinary)


class User(RealmBase):
    __tablename__ = "users"

    id: Mapped[int] = public(BigInteger, primary_key=True, autoincrement=False)
    handle: Mapped[str] = public(String(24), unique=True)
    display_name: Mapped[str] = public(String(50))
    bio: Mapped[str] = public(Text, default="")
    avatar_key: Mapped[str | None] = public(Text)
    created_at: Mapped[datetime] = public(TZ, default=utcnow)
    follower_count: Mapped[int] = public(Integer, default=0)
    following_count: Mapped[int] = public(Integer, default=0)
    video_count: Mapped[int] = public(Integer, default=0)
    likes_received: Mapped[int] = public(BigInteger, default=0)
    # The interface language the person picked (reelm.i18n.SUPPORTED); None follows the browser's.
    locale: Mapped[str | None] = public(String(8))

    # AES-256-GCM under the user's field key (reelm.crypto.fields); look-ups go through the blind index.
    email: Mapped[bytes] = protected(LargeBinary)
    email_index: Mapped[bytes] = protected(LargeBinary, unique=True)
    password_hash: Mapped[str] = protected(Text)
    country: Mapped[str] = protected(String(2))
    # Set when the user deleted the account; the purge shreds the key and removes the rows after it.
    deletion_due_at: Mapped[datetime | None] = protected(TZ)


class AuthSession(RealmBase):
    """A login; the token itself is never stored, only its SHA-256."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user", "user_id"),)

    token_hash: Mapped[bytes] = protected(LargeBinary, primary_key=True)
    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = protected(String(8))  # "web" (cookie + CSRF) or "api" (bearer)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
    expires_at: Mapped[datetime] = protected(TZ)
    # Both encrypted like users.email.
    ip: Mapped[bytes | None] = protected(LargeBinary)
    user_agent: Mapped[bytes | None] = protected(LargeBinary)
    # The second factor this log-in was confirmed with ("totp", "recovery", "passkey"), or None for a password
    # alone (reelm.accounts.two_factor); staff actions ask for one.
    second_factor: Mapped[str | None] = protected(String(8))
    # Refreshed at most every few minutes by use (reelm.accounts.sessions), for the list of sessions.
    last_seen_at: Mapped[datetime | None] = protected(TZ)


class Suspension(RealmBase):
    """A suspended account of this realm: its profile, videos and comments are not public meanwhile.

    Written by content review's decisions (reelm.moderation.decisions); kept with the account because log-in,
    sessions and every read of the account's content ask about it.
    """

    __tablename__ = "moderation_suspensions"

    user_id: Mapped[int] = public(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    decision_id: Mapped[int] = public(BigInteger)
    starts_at: Mapped[datetime] = public(TZ, default=utcnow)
    ends_at: Mapped[datetime | None] = public(TZ)


def is_active(ends_at: datetime | None, now: datetime | None = None) -> bool:
    """A suspension without an end lasts until reversed; one with an end is over once it has passed
    (even before the sweep has deleted its row: log-in works again at once, content follows the sweep)."""
    return ends_at is None or ends_at > (now or datetime.now(UTC))


class EmailChange(RealmBase):
    """A new e-mail address waiting for its confirmation link to be opened (one per account: a new request
    replaces the previous one). The link carries a signed token naming this row's nonce, never the address."""

    __tablename__ = "email_changes"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # Sealed like users.email; the blind index lets the confirmation check that the address is still free.
    email: Mapped[bytes] = protected(LargeBinary)
    email_index: Mapped[bytes] = protected(LargeBinary)
    nonce_digest: Mapped[bytes] = protected(LargeBinary(32))  # SHA-256 of the token's nonce
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
    expires_at: Mapped[datetime] = protected(TZ)
