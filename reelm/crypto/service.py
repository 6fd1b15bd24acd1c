"""Creating, reading, rotating and destroying users' keys inside a realm transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.crypto.fields import UserCipher
from reelm.crypto.keys import KeyDestroyedError, RealmKeys
from reelm.crypto.models import UserKey
from reelm.db import Databases


async def do_create_user_key(session: AsyncSession, keys: RealmKeys, user_id: int) -> UserCipher:
    """Add the user's key row to the session (the sign-up transaction) and return their cipher.

    The shred secret is written (and synced) before the row commits; a sign-up that then fails leaves a
    secret that protects nothing, which the caller removes.
    """
    version, wrapped = await asyncio.to_thread(keys.new_user_key, user_id)
    session.add(UserKey(user_id=user_id, wrapped_key=wrapped, kek_version=version))
    return await asyncio.to_thread(_cipher, keys, user_id, version, wrapped)


def _cipher(keys: RealmKeys, user_id: int, version: int, wrapped: bytes) -> UserCipher:
    return UserCipher(keys.field_key(user_id, version, wrapped), user_id)


async def user_cipher(session: AsyncSession, keys: RealmKeys, user_id: int) -> UserCipher:
    row = await session.get(UserKey, user_id)
    if row is None or row.wrapped_key is None:
        raise KeyDestroyedError(f"user {user_id}: no data key")
    return await asyncio.to_thread(_cipher, keys, user_id, row.kek_version, row.wrapped_key)


async def do_destroy_user_key(session: AsyncSession, keys: RealmKeys, user_id: int) -> None:
    """Shred: the secret outside the database goes first, so a crash after it can only leave less."""
    await asyncio.to_thread(keys.shreds.destroy, user_id)
    row = await session.get(UserKey, user_id, with_for_update=True)
    if row is not None:
        row.wrapped_key = None
        row.destroyed_at = datetime.now(UTC)


async def rewrap_batch(
    databases: Databases, keys: RealmKeys, realm: str, *, to_version: int, limit: int = 500
) -> int:
    """Rewrap up to `limit` data keys still under an older KEK version; one short transaction per batch.

    Reads go on meanwhile: every row names the KEK version that wrapped it, and old versions stay.
    """
    async with databases.transaction(realm) as session:
        rows = (
            await session.scalars(
                select(UserKey)
                .where(UserKey.kek_version < to_version, UserKey.wrapped_key.is_not(None))
                .order_by(UserKey.user_id)
                .limit(limit)
                .with_for_update()
            )
        ).all()
        for row in rows:
            assert row.wrapped_key is not None  # selected for it
            row.kek_version, row.wrapped_key = keys.rewrap(row.user_id, row.kek_version, row.wrapped_key)
    return len(rows)


async def rotate_realm_key(
    databases: Databases, keys: RealmKeys, realm: str, *, batch: int = 500
) -> tuple[int, int]:
    """Create a new KEK version (new keys use it at once) and rewrap every data key; (version, count)."""
    version = await asyncio.to_thread(keys.kek.rotate)
    total = 0
    while done := await rewrap_batch(databases, keys, realm, to_version=version, limit=batch):
        total += done
    return version, total
