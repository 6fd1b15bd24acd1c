"""Sign-up, log-in, sessions and profiles.

A sign-up touches two databases, the directory and the home realm, which share no transaction. The
handle is first *reserved* in the directory (committed), then the user row is committed in the realm,
then the handle is activated. A crash in between leaves at most a stale reservation, which resolves to
nothing and is reclaimed by the next sign-up for that handle.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids, security
from reelm.accounts import names
from reelm.accounts.factor_models import Passkey, PendingLogin, TotpFactor
from reelm.accounts.models import AuthSession, HandleEntry, Suspension, User, is_active
from reelm.crypto.fields import UserCipher
from reelm.crypto.service import do_create_user_key, user_cipher
from reelm.errors import Problem
from reelm.runtime import Runtime
from reelm.text import (
    check_handle,
    check_visible,
    clean_name,
    clean_text,
    invalid,
    lookalike_digest,
    spelling_digest,
)

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{2,}$")
STALE_RESERVATION = timedelta(minutes=10)


class AccountSuspendedError(Exception):
    """The account is suspended: raised at log-in after the password check, so only its holder learns it.

    Content review (reelm.moderation.suspensions) turns it into the 403 problem that links the decision's
    statement of reasons; accounts knows only that there is a decision.
    """

    def __init__(
        self, realm: str, decision_id: int, ends_at: datetime | None, *, token: str | None = None
    ) -> None:
        super().__init__(f"account suspended by decision {decision_id}")
        self.realm = realm
        self.decision_id = decision_id
        self.ends_at = ends_at
        # A web log-in of a suspended account still opens a session, which reaches only the account's
        # statements of reasons and appeals (reelm.web.deps.AppellantViewer): its token, to set as a cookie.
        self.token = token


class SecondFactorRequired(Exception):
    """The password was right and the account has a second factor: the log-in waits for it.

    `token` names the pending log-in (reelm.accounts.factor_models.PendingLogin), which opens nothing but the
    second step (reelm.accounts.two_factor.do_finish_log_in); `methods` are "totp" and/or "passkey".
    """

    def __init__(self, realm: str, user_id: int, token: str, methods: list[str]) -> None:
        super().__init__("a second factor is required")
        self.realm = realm
        self.user_id = user_id
        self.token = token
        self.methods = methods


def check_email(value: str) -> str:
    email = value.strip().lower()
    # An address is a log-in name: one with a hidden character would look like another's, or like no one's.
    check_visible("email", email)
    if not EMAIL_RE.match(email):
        raise invalid("email", "is not an e-mail address")
    return email


def check_password(password: str, handle: str) -> None:
    if len(password) < 10:
        raise invalid("password", "must be at least 10 characters")
    if password.lower() in {handle, "password12", "1234567890", "qwertyuiop"}:
        raise invalid("password", "is too easy to guess")


def check_country(value: str) -> str:
    country = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise invalid("country", "must be a two-letter ISO 3166 code")
    return country


async def _reserve_handle(runtime: Runtime, handle: str, name: str, user_id: int, realm: str) -> None:
    """Reserve the handle and claim it and the display name against look-alikes, in one transaction."""
    stale_before = datetime.now(UTC) - STALE_RESERVATION
    async with runtime.databases.transaction(None) as directory:
        existing = await directory.get(HandleEntry, handle, with_for_update=True)
        if existing is not None:
            stale = existing.state == "reserved" and existing.created_at < stale_before
            if not stale:
                raise Problem(409, "handle-taken", "Handle taken", f"@{handle} is already taken.")
            await directory.delete(existing)
            await directory.flush()  # the stale row must be gone before the new one is inserted
        directory.add(HandleEntry(handle=handle, user_id=user_id, realm=realm, state="reserved"))
        await directory.flush()  # the names' rows refer to the handle entry
        await names.claim_names(
            directory, user_id, {names.HANDLE: handle, names.DISPLAY_NAME: name}, stale_before=stale_before
        )


EMAIL_TAKEN = ("E-mail in use", "An account with this e-mail already exists.")


async def check_email_free(runtime: Runtime, email: str) -> None:
    """E-mail addresses identify one account across all realms, since log-in accepts them.

    Each realm answers from its own database whether the address is in use: one bit, and no protected
    value leaves its realm. Each realm compares its own keyed blind index, never the address itself.
    Within a realm a unique index on it closes the race between two sign-ups; across
    realms, two simultaneous sign-ups with one address in different countries could both pass.
    """
    for realm in runtime.settings.realm_names:
        async with runtime.databases.read(realm) as session:
            index = runtime.keys.realm(realm).email_index(email)
            if await session.scalar(select(User.id).where(User.email_index == index)) is not None:
                raise Problem(409, "email-taken", *EMAIL_TAKEN)


async def do_sign_up(
    runtime: Runtime, *, handle: str, email: str, password: str, country: str, display_name: str | None
) -> User:
    handle = check_handle(handle)
    email = check_email(email)
    country = check_country(country)
    check_password(password, handle)
    # No name given (or only spaces): the handle stands for it.
    name = (
        clean_name("display_name", display_name, max_len=50)
        if display_name and display_name.strip()
        else handle
    )
    realm = runtime.settings.realm_for_country(country)
    user_id = ids.new_id(runtime.settings.realm(realm).code)

    await check_email_free(runtime, email)
    await _reserve_handle(runtime, handle, name, user_id, realm)
    keys = runtime.keys.realm(realm)
    try:
        async with runtime.databases.transaction(realm) as session:
            # The data key commits with the user row, so no user ever exists without one.
            cipher = await do_create_user_key(session, keys, user_id)
            user = User(
                id=user_id,
                handle=handle,
                display_name=name,
                email=cipher.seal("users.email", email),
                email_index=keys.email_index(email),
                password_hash=security.hash_password(password),
                country=country,
            )
            session.add(user)
    except IntegrityError as exc:
        keys.shreds.destroy(user_id)  # the secret of a user that was never created
        await _release_handle(runtime, handle, user_id)
        raise Problem(409, "email-taken", *EMAIL_TAKEN) from exc
    except BaseException:
        keys.shreds.destroy(user_id)
        await _release_handle(runtime, handle, user_id)
        raise
    async with runtime.databases.transaction(None) as directory:
        await directory.execute(
            update(HandleEntry).where(HandleEntry.handle == handle).values(state="active")
        )
    return user


async def _release_handle(runtime: Runtime, handle: str, user_id: int) -> None:
    async with runtime.databases.transaction(None) as directory:
        await directory.execute(
            delete(HandleEntry).where(HandleEntry.handle == handle, HandleEntry.user_id == user_id)
        )


async def resolve_handle(runtime: Runtime, handle: str) -> HandleEntry | None:
    async with runtime.databases.read(None) as directory:
        entry = await directory.get(HandleEntry, handle.lower().lstrip("@"))
    return entry if entry is not None and entry.state == "active" else None


async def _find_login(runtime: Runtime, login: str) -> tuple[str, User] | None:
    login = login.strip().lower()
    check_visible("login", login)  # no handle or address holds such characters: say so rather than "wrong"
    if "@" in login.lstrip("@"):
        # E-mail addresses are protected and live only in their home realm; each realm checks its own.
        for realm in runtime.settings.realm_names:
            index = runtime.keys.realm(realm).email_index(login)
            async with runtime.databases.read(realm) as session:
                user = await session.scalar(select(User).where(User.email_index == index))
            if user is not None:
                return realm, user
        return None
    entry = await resolve_handle(runtime, login)
    if entry is None:
        return None
    async with runtime.databases.read(entry.realm) as session:
        user = await session.get(User, entry.user_id)
    return (entry.realm, user) if user is not None else None


async def do_log_in(
    runtime: Runtime, *, login: str, password: str, kind: str, ip: str | None, user_agent: str | None
) -> tuple[str, AuthSession, User]:
    """Check the password and open a session, unless the account has a second factor (SecondFactorRequired,
    with a pending log-in) or is suspended (AccountSuspendedError, with a restricted session for the web)."""
    found = await _find_login(runtime, login)
    if not security.verify_password(found[1].password_hash if found else None, password) or found is None:
        raise Problem(
            401, "bad-credentials", "Wrong login or password", "The handle, e-mail or password is wrong."
        )
    realm, user = found
    async with runtime.databases.transaction(realm) as session:
        cipher = await user_cipher(session, runtime.keys.realm(realm), user.id)
        ip_blob = cipher.seal_optional("sessions.ip", ip)
        agent_blob = cipher.seal_optional("sessions.user_agent", (user_agent or "")[:300] or None)
        methods = await second_factor_methods(session, user.id)
        if methods:
            pending = security.new_session_token(realm)
            session.add(
                PendingLogin(
                    token_hash=security.token_digest(pending),
                    user_id=user.id,
                    kind=kind,
                    # Sealed as the session's columns: the session it becomes takes them as they are.
                    ip=ip_blob,
                    user_agent=agent_blob,
                    expires_at=datetime.now(UTC) + timedelta(minutes=runtime.settings.pending_login_minutes),
                )
            )
        else:
            token, auth, suspended = await open_session(
                session,
                runtime,
                realm,
                user,
                kind=kind,
                ip=ip_blob,
                user_agent=agent_blob,
                second_factor=None,
            )
    if methods:
        raise SecondFactorRequired(realm, user.id, pending, methods)
    if suspended is not None:
        raise suspended
    return token, auth, user


async def second_factor_methods(session: AsyncSession, user_id: int) -> list[str]:
    """The second factors the account can log in with: "totp" once confirmed, "passkey" once one is added."""
    totp = select(TotpFactor.user_id).where(
        TotpFactor.user_id == user_id, TotpFactor.confirmed_at.is_not(None)
    )
    passkey = select(Passkey.id).where(Passkey.user_id == user_id).limit(1)
    row = (await session.execute(select(totp.exists(), passkey.exists()))).one()
    return [name for name, present in zip(("totp", "passkey"), row, strict=True) if present]


async def open_session(
    session: AsyncSession,
    runtime: Runtime,
    realm: str,
    user: User,
    *,
    kind: str,
    ip: bytes | None,
    user_agent: bytes | None,
    second_factor: str | None,
) -> tuple[str, AuthSession, AccountSuspendedError | None]:
    """Add a session for a user whose password (and second factor, if any) was checked.

    A suspended account gets a web session all the same (it reaches only its statements and appeals: the
    session resolves nowhere else while the suspension lasts) and no API session; the suspension is returned
    for the caller to raise after commit. `ip` and `user_agent` come sealed as sessions.ip/user_agent.
    """
    token = security.new_session_token(realm)
    now = datetime.now(UTC)
    auth = AuthSession(
        token_hash=security.token_digest(token),
        user_id=user.id,
        kind=kind,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=runtime.settings.session_days),
        ip=ip,
        user_agent=user_agent,
        second_factor=second_factor,
    )
    suspension = await session.get(Suspension, user.id)
    if suspension is not None and is_active(suspension.ends_at):
        restricted = token if kind == "web" else None
        if restricted is not None:
            session.add(auth)
        return (
            token,
            auth,
            AccountSuspendedError(realm, suspension.decision_id, suspension.ends_at, token=restricted),
        )
    session.add(auth)
    if user.deletion_due_at is not None:
        # Logging in during the grace period is the way back: the deletion is called off.
        await session.execute(update(User).where(User.id == user.id).values(deletion_due_at=None))
        user.deletion_due_at = None
    return token, auth, None


async def cipher_of(runtime: Runtime, realm: str, user_id: int) -> UserCipher:
    """The user's cipher, read in its own short transaction (for pages and API answers)."""
    async with runtime.databases.read(realm) as session:
        return await user_cipher(session, runtime.keys.realm(realm), user_id)


async def read_email(runtime: Runtime, realm: str, user: User) -> str:
    return (await cipher_of(runtime, realm, user.id)).open("users.email", user.email)


async def do_request_deletion(runtime: Runtime, realm: str, user: User, password: str) -> datetime:
    """Schedule the account's deletion after the grace period and end every session of it.

    The password is asked again: a stolen session alone must not be able to erase an account. The purge
    (reelm.departures.purge) does the irreversible part once the grace period is over.
    """
    async with runtime.databases.transaction(realm) as session:
        current = await session.get(User, user.id, with_for_update=True)
        if current is None or not security.verify_password(current.password_hash, password):
            raise Problem(403, "bad-password", "Wrong password", "The password is wrong.")
        due = datetime.now(UTC) + timedelta(days=runtime.settings.deletion_grace_days)
        current.deletion_due_at = due
        await session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    return due


async def resolve_session(
    runtime: Runtime, token: str, *, allow_suspended: bool = False
) -> tuple[str, User, AuthSession] | None:
    """The realm, user and session a token names; None when unknown or expired.

    A session of a suspended account resolves to None too (it is kept, and works again once the
    suspension ends), unless `allow_suspended`: its holder may still read the statement of reasons and
    appeal (reelm.web.deps.AppellantViewer). The suspension rides on the same query (an outer join on
    its primary key), so resolving a session still costs one round trip.
    """
    row = await _session_row(runtime, token)
    if row is None:
        return None
    realm, auth, user, suspended = row
    if suspended is not None and not allow_suspended:
        return None
    return realm, user, auth


async def session_suspension(runtime: Runtime, token: str) -> AccountSuspendedError | None:
    """The suspension when the token is a live session of a suspended account; None otherwise. Asked only
    for a token that did not resolve."""
    row = await _session_row(runtime, token)
    if row is None or row[3] is None:
        return None
    decision_id, ends_at = row[3]
    return AccountSuspendedError(row[0], decision_id, ends_at)


async def _session_row(
    runtime: Runtime, token: str
) -> tuple[str, AuthSession, User, tuple[int, datetime | None] | None] | None:
    """(realm, session, user, (decision id, end) of an active suspension or None), for a live session."""
    realm = security.token_realm(token)
    if realm not in runtime.databases.realm_urls:
        return None
    async with runtime.databases.read(realm) as session:
        row = (
            await session.execute(
                select(AuthSession, User, Suspension.decision_id, Suspension.ends_at)
                .join(User, User.id == AuthSession.user_id)
                .outerjoin(Suspension, Suspension.user_id == User.id)
                .where(AuthSession.token_hash == security.token_digest(token))
            )
        ).first()
    if row is None or row[0].expires_at <= datetime.now(UTC):
        return None
    suspended = (row[2], row[3]) if row[2] is not None and is_active(row[3]) else None
    return realm, row[0], row[1], suspended


async def do_log_out(runtime: Runtime, token: str) -> None:
    realm = security.token_realm(token)
    if realm not in runtime.databases.realm_urls:
        return
    async with runtime.databases.transaction(realm) as session:
        await session.execute(
            delete(AuthSession).where(AuthSession.token_hash == security.token_digest(token))
        )


async def do_update_profile(
    runtime: Runtime,
    realm: str,
    user: User,
    *,
    display_name: str | None,
    bio: str | None,
    avatar_key: str | None,
) -> User:
    """Change the profile; a new display name is first claimed against look-alikes in the directory.

    Owns its transactions, as sign-up does (two databases): the claim commits in the directory, then the
    realm's row changes; if that fails, the claim of the previous name is put back. A name whose spelling is
    unchanged (the same name, or another case of it) is not checked again: keeping one's own name is never
    refused, even where it predates the check and resembles someone else's. Any other spelling is checked, a
    respelling of one's own name included (else "alex" could become "alex" with a Cyrillic "a").
    """
    values: dict[str, object] = {}
    renamed: str | None = None
    if display_name is not None:
        values["display_name"] = name = clean_name("display_name", display_name, max_len=50)
        if spelling_digest(name) != spelling_digest(user.display_name):
            renamed = name
    if bio is not None:
        values["bio"] = clean_text("bio", bio, max_len=300)
    if avatar_key is not None:
        values["avatar_key"] = avatar_key
    if renamed is not None:
        async with runtime.databases.transaction(None) as directory:
            stale_before = datetime.now(UTC) - STALE_RESERVATION
            await names.claim_names(
                directory, user.id, {names.DISPLAY_NAME: renamed}, stale_before=stale_before
            )
    try:
        async with runtime.databases.transaction(realm) as session:
            if values:
                await session.execute(update(User).where(User.id == user.id).values(**values))
            refreshed = await session.get(User, user.id, populate_existing=True)
    except BaseException:
        if renamed is not None:
            async with runtime.databases.transaction(None) as directory:
                old = user.display_name
                previous = {names.DISPLAY_NAME: (lookalike_digest(old), spelling_digest(old))}
                await names.record_names(directory, user.id, previous)
        raise
    assert refreshed is not None
    return refreshed
