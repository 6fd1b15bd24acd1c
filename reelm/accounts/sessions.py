"""The account's own list of its sessions: what device, from which network, when last used; log out one
of them or every other one.

The place is the network the log-in came from, cut to a coarse prefix (an IPv4 /24, an IPv6 /48): no
geolocation database is consulted and nothing leaves the realm. Device and place are shown only to the
account holder (the stored address and browser are sealed like the e-mail address).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from reelm import security
from reelm.accounts.models import AuthSession
from reelm.crypto.service import user_cipher
from reelm.errors import not_found
from reelm.runtime import Runtime

# A session's last use is written at most this often (a write on every request would cost more than it says).
LAST_SEEN_EVERY = timedelta(minutes=5)

_BROWSERS = (  # the first that matches: Edge and Opera also say "Chrome", Chrome also says "Safari"
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_of(user_agent: str | None) -> str:
    """ "Firefox on Windows", "Chrome on Android", or what the client called itself (cut short)."""
    if not user_agent:
        return "Unknown device"
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system or ""
    # An API client: its product token ("python-httpx/0.28"), without anything that could pass for markup.
    return re.sub(r"[^\w./ -]", "", user_agent.split(" ", 1)[0])[:40] or "Unknown device"


def place_of(ip: str | None) -> str | None:
    """The network of the address, coarsely: 203.0.113.0/24, 2001:db8:1::/48, or None when unknown."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


@dataclass(frozen=True)
class SessionItem:
    id: str
    current: bool
    kind: str
    device: str
    place: str | None
    second_factor: str | None
    created_at: datetime
    last_seen_at: datetime | None


async def list_sessions(
    runtime: Runtime, realm: str, user_id: int, current_token: str | None
) -> list[SessionItem]:
    """The account's live sessions, most recently used first."""
    now = datetime.now(UTC)
    current = security.token_digest(current_token) if current_token else None
    async with runtime.databases.read(realm) as session:
        rows = (
            await session.scalars(
                select(AuthSession)
                .where(AuthSession.user_id == user_id, AuthSession.expires_at > now)
                .order_by(AuthSession.last_seen_at.desc().nulls_last(), AuthSession.created_at.desc())
                .limit(runtime.settings.sessions_listed)
            )
        ).all()
        cipher = await user_cipher(session, runtime.keys.realm(realm), user_id)
    return [
        SessionItem(
            id=session_id_of(row.token_hash),
            current=row.token_hash == current,
            kind=row.kind,
            device=device_of(cipher.open_optional("sessions.user_agent", row.user_agent)),
            place=place_of(cipher.open_optional("sessions.ip", row.ip)),
            second_factor=row.second_factor,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
        )
        for row in rows
    ]


def session_id_of(token_hash: bytes) -> str:
    """The id a session is listed and named by: 63 bits of its token's digest, as digits (the API's id
    type). It names the session among its account's own, and reveals nothing of the token."""
    return str(int.from_bytes(token_hash[:8], "big") >> 1)


async def do_end_session(runtime: Runtime, realm: str, user_id: int, session_id: str) -> None:
    """Log one of the account's sessions out; 404 for an id none of its sessions has."""
    async with runtime.databases.transaction(realm) as session:
        mine = (
            await session.scalars(select(AuthSession.token_hash).where(AuthSession.user_id == user_id))
        ).all()
        named = [token_hash for token_hash in mine if session_id_of(token_hash) == session_id]
        if not named:
            raise not_found("Session")
        await session.execute(
            delete(AuthSession).where(AuthSession.user_id == user_id, AuthSession.token_hash.in_(named))
        )


async def do_end_other_sessions(runtime: Runtime, realm: str, user_id: int, keep_token: str) -> int:
    """Log every session of the account out but the one asking; how many ended."""
    async with runtime.databases.transaction(realm) as session:
        ended = await session.execute(
            delete(AuthSession)
            .where(
                AuthSession.user_id == user_id, AuthSession.token_hash != security.token_digest(keep_token)
            )
            .returning(AuthSession.user_id)
        )
        return len(ended.all())


async def note_seen(
    runtime: Runtime, realm: str, token: str, last_seen_at: datetime | None
) -> datetime | None:
    """Record that the session was used now, if its last recorded use is older than LAST_SEEN_EVERY; the
    new time when written, else None."""
    now = datetime.now(UTC)
    if last_seen_at is not None and now - last_seen_at < LAST_SEEN_EVERY:
        return None
    async with runtime.databases.transaction(realm) as session:
        await session.execute(
            update(AuthSession)
            .where(AuthSession.token_hash == security.token_digest(token))
            .values(last_seen_at=now)
        )
    return now


async def is_new_place(runtime: Runtime, realm: str, user_id: int, token: str) -> bool:
    """Whether the session just opened comes from a network (the coarse prefix of place_of) that none of the
    account's other live sessions came from: the log-ins worth telling the account holder about. A new
    browser at home is not news, nor is the first log-in after sign-up, which has nothing to compare with."""
    now = datetime.now(UTC)
    digest = security.token_digest(token)
    async with runtime.databases.read(realm) as session:
        rows = (
            await session.execute(
                select(AuthSession.token_hash, AuthSession.ip).where(
                    AuthSession.user_id == user_id, AuthSession.expires_at > now
                )
            )
        ).all()
        cipher = await user_cipher(session, runtime.keys.realm(realm), user_id)
    new = [
        place_of(cipher.open_optional("sessions.ip", ip)) for token_hash, ip in rows if token_hash == digest
    ]
    others = {
        place_of(cipher.open_optional("sessions.ip", ip)) for token_hash, ip in rows if token_hash != digest
    }
    return bool(new and others) and new[0] not in others
