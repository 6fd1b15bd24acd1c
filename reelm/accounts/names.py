"""Look-alike names: a new handle or display name may not imitate another account's handle or display name.

Two names are confusable, as UTS #39 defines it, when their skeletons (case-folded) are equal but they are
spelled differently (reelm.text.lookalike_key, spelling_digest): "maya.moves" with a Cyrillic letter, an
invisible character, fullwidth letters or "rn" for "m". The same name spelled the same way is not an
imitation: display names are not unique (two people may both be called "Alex"), and the @handle beside them
tells the accounts apart. The directory keeps both digests of every account's handle and display name
(`name_skeletons`), so a new name is compared with the names of every realm in one indexed look-up, never by
reading profiles.

Claiming a name locks its digest (a transaction-scoped advisory lock), so two sign-ups with look-alike names
cannot both pass, then looks for another account holding it, then writes the account's own row. The rows hang
on the account's handle entry by a foreign key: a purge or a failed sign-up deletes them with it, a move
carries them to the new user id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Exists,
    LargeBinary,
    String,
    bindparam,
    create_engine,
    exists,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import HandleEntry, NameSkeleton, User
from reelm.db import async_url
from reelm.errors import Problem
from reelm.text import lookalike_digest, spelling_digest

HANDLE = "handle"
DISPLAY_NAME = "display_name"
# First key of the two-key advisory locks on digests; PostgreSQL keeps two-key locks apart from the one-key
# locks used elsewhere (reelm.transparency.log, reelm.crossrealm).
_LOCK_SPACE = 0x6E616D65  # "name"


def looks_alike(field: str, handle: str) -> Problem:
    message = f"looks like @{handle}"
    return Problem(
        409,
        "name-looks-alike",
        "Looks like another account",
        f"{field}: {message}; choose a name that cannot be mistaken for theirs.",
        errors=[{"field": field, "message": message}],
    )


async def claim_names(
    directory: AsyncSession, user_id: int, names: Mapping[str, str], *, stale_before: datetime
) -> None:
    """Refuse a name (kind → name) that looks like another account's, else record it as the account's.

    The other account's handle is named in the refusal: handles are public, and it says what to avoid.
    A reservation older than `stale_before` (a sign-up that crashed half-way) holds no name.
    """
    digests = {kind: lookalike_digest(name) for kind, name in names.items()}
    spellings = {kind: spelling_digest(name) for kind, name in names.items()}
    for digest in sorted(set(digests.values())):  # one order in every transaction: no deadlock
        key = int.from_bytes(digest[:4], "big", signed=True)
        await directory.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"), {"space": _LOCK_SPACE, "key": key}
        )
    taken = (
        await directory.execute(
            select(NameSkeleton.digest, NameSkeleton.spelling, HandleEntry.handle)
            .join(HandleEntry, HandleEntry.user_id == NameSkeleton.user_id)
            .where(
                NameSkeleton.digest.in_(set(digests.values())),
                NameSkeleton.user_id != user_id,
                or_(HandleEntry.state == "active", HandleEntry.created_at >= stale_before),
            )
        )
    ).all()
    for kind, digest in digests.items():
        for other_digest, other_spelling, handle in taken:
            if other_digest == digest and other_spelling != spellings[kind]:
                raise looks_alike(kind, handle)
    await record_names(directory, user_id, {kind: (digests[kind], spellings[kind]) for kind in names})


async def record_names(
    directory: AsyncSession, user_id: int, digests: Mapping[str, tuple[bytes, bytes]]
) -> None:
    """Write the account's digests (kind → look-alike and spelling digests) unchecked: after `claim_names`
    checked them, or to put back the name an edit that failed had replaced. Nothing is written for an account
    without a handle entry (the rows hang on it)."""
    rows = [
        {"user_id": user_id, "kind": kind, "digest": digest, "spelling": spelling}
        for kind, (digest, spelling) in digests.items()
    ]
    statement = _insert_if_handle()
    await directory.execute(
        statement.on_conflict_do_update(
            index_elements=[NameSkeleton.user_id, NameSkeleton.kind],
            set_={"digest": statement.excluded.digest, "spelling": statement.excluded.spelling},
        ),
        rows,
    )


def _insert_if_handle() -> Insert:
    """INSERT of one (user_id, kind, digest) row, bound per row, that inserts nothing when the account has no
    handle entry (gone meanwhile, or never made through sign-up) instead of breaking the foreign key."""
    user_id = bindparam("user_id", type_=BigInteger)
    row = select(
        user_id,
        bindparam("kind", type_=String),
        bindparam("digest", type_=LargeBinary),
        bindparam("spelling", type_=LargeBinary),
    ).where(exists().where(HandleEntry.user_id == user_id))
    # Core, not ORM: the ORM takes a list of rows for a bulk INSERT of values, which has no FROM SELECT.
    return insert(NameSkeleton.metadata.tables[NameSkeleton.__tablename__]).from_select(
        ["user_id", "kind", "digest", "spelling"], row
    )


def backfill(urls: Mapping[str, str], *, batch: int = 1000) -> int:
    """Give the accounts made before look-alike names were recorded their rows; returns how many accounts.

    Run by `reelm migrate` (reelm.startup) with every database's URL, since display names live in the
    realms. Idempotent, and one anti-join of the directory when nothing is missing. Names that already look
    alike are recorded as they are: the check applies to names chosen from now on.
    """
    directory = create_engine(async_url(urls[""]))
    try:
        with directory.connect() as connection:
            missing = connection.execute(
                select(HandleEntry.user_id, HandleEntry.handle, HandleEntry.realm).where(
                    HandleEntry.state == "active",
                    or_(*(~_has(kind) for kind in (HANDLE, DISPLAY_NAME))),
                )
            ).all()
        handles: dict[str, dict[int, str]] = {}
        for user_id, handle, realm in missing:
            handles.setdefault(realm, {})[user_id] = handle
        rows = []
        for realm, of_realm in handles.items():
            if realm not in urls:
                continue  # a realm no longer configured: its accounts cannot be read here
            for user_id, display_name in _display_names(urls[realm], list(of_realm), batch):
                for kind, name in ((HANDLE, of_realm[user_id]), (DISPLAY_NAME, display_name)):
                    digest, spelling = lookalike_digest(name), spelling_digest(name)
                    rows.append({"user_id": user_id, "kind": kind, "digest": digest, "spelling": spelling})
        with directory.begin() as connection:
            for start in range(0, len(rows), batch):
                connection.execute(_insert_if_handle().on_conflict_do_nothing(), rows[start : start + batch])
        return len(rows) // 2
    finally:
        directory.dispose()


def _has(kind: str) -> Exists:
    return exists().where(NameSkeleton.user_id == HandleEntry.user_id, NameSkeleton.kind == kind)


def _display_names(url: str, user_ids: list[int], batch: int) -> list[tuple[int, str]]:
    engine = create_engine(async_url(url))
    try:
        with engine.connect() as connection:
            found: list[tuple[int, str]] = []
            for start in range(0, len(user_ids), batch):
                chunk = user_ids[start : start + batch]
                rows = connection.execute(select(User.id, User.display_name).where(User.id.in_(chunk)))
                found.extend((user_id, name) for user_id, name in rows)
            return found
    finally:
        engine.dispose()
