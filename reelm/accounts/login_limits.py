"""Log-in attempts limited per client address and per account, counted in the directory so that every
server process sees the same counts (an in-process limit multiplies by the number of processes).

Neither the address nor the login name is stored: each attempt is recorded under a keyed digest
(HMAC-SHA256 with the server's secret) and counted in a sliding minute; rows are swept a few minutes later.
The directory, which otherwise holds only routing data, holds these digests that long because a limit that
stops a brute force must see every realm's attempts, and an address has no home realm.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import LoginAttempt
from reelm.ratelimit import rate_limited
from reelm.runtime import Runtime

WINDOW = timedelta(minutes=1)
KEEP = timedelta(minutes=5)
SWEEP_SHARE = 0.02  # about one attempt in fifty also removes old rows


def _digest(secret: str, bucket: str, key: str) -> bytes:
    return hmac.new(secret.encode(), f"{bucket}\0{key}".encode(), hashlib.sha256).digest()


async def _retry_after(directory: AsyncSession, bucket: str, digest: bytes, limit: int, now: datetime) -> int:
    """0 when one more attempt fits the window (and is recorded), else the seconds until one does."""
    # Serialise the attempts of one key across processes, so a burst cannot slip past the count.
    await directory.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"{bucket}:{digest.hex()}"}
    )
    recent = LoginAttempt.at > now - WINDOW
    mine = (LoginAttempt.bucket == bucket) & (LoginAttempt.key_digest == digest)
    count, oldest = (
        await directory.execute(select(func.count(), func.min(LoginAttempt.at)).where(mine, recent))
    ).one()
    if count >= limit:
        return max(1, math.ceil((oldest + WINDOW - now).total_seconds()))
    directory.add(LoginAttempt(bucket=bucket, key_digest=digest, at=now))
    return 0


async def check_login_rate(
    runtime: Runtime, *, address: str, login: str, now: datetime | None = None
) -> None:
    """Count one attempt for the address and for the login name; 429 when either window is full (a refused
    attempt is not counted, so a patient user gets in once the window has moved on)."""
    now = now or datetime.now(UTC)
    settings = runtime.settings
    limits = {
        "address": (address, settings.login_attempts_per_minute),
        "account": (login.strip().lower().lstrip("@"), settings.login_attempts_per_account_per_minute),
    }
    async with runtime.databases.transaction(None) as directory:
        for bucket, (key, limit) in limits.items():
            wait = await _retry_after(
                directory, bucket, _digest(settings.secret_key, bucket, key), limit, now
            )
            if wait:
                what = "for this account" if bucket == "account" else "from this address"
                raise rate_limited(f"Too many log-in attempts {what}", wait)
        if random.random() < SWEEP_SHARE:  # noqa: S311 - spreading housekeeping, not security
            await directory.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP))


async def check_second_factor_rate(runtime: Runtime, *, user_id: int, now: datetime | None = None) -> None:
    """Count one second-factor code tried for the account, whichever pending log-in or session tries it;
    429 once the minute's attempts are spent (a six-digit code must not be guessable by volume)."""
    now = now or datetime.now(UTC)
    settings = runtime.settings
    digest = _digest(settings.secret_key, "factor", str(user_id))
    async with runtime.databases.transaction(None) as directory:
        limit = settings.second_factor_attempts_per_minute
        wait = await _retry_after(directory, "factor", digest, limit, now)
        if wait:
            raise rate_limited("Too many codes tried for this account", wait)
