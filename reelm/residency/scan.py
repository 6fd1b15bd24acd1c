"""The residency check: is every protected value stored only in its owner's home realm?

What is scanned comes from the models, never from a hand list: every realm table with at least one
column whose `info["data_class"]` is protected (see reelm.db), and every object in each realm's
bucket.

Ownership
    Each row of such a table has an owner: the table's `info["owner_column"]` when a model declares
    one, else the first column present of OWNER_COLUMNS (`users` is owned by its own `id`). The
    owner's home realm is the directory's entry for that user id when there is one (a home realm can
    move), else the realm whose code the id carries (reelm.ids). A protected value held in realm R
    whose owner's home realm is not R is a finding ("misplaced"); so is one whose owner is unknown
    (NULL owner, an id no configured realm minted: "?"), and a protected table whose owner cannot be
    determined at all ("unattributed"): the check fails closed, because it cannot vouch for data it
    cannot attribute. The fix for the last one is an `owner_column` in the model's `__table_args__`.

Objects
    `videos/<video id>/...` is owned by the realm that minted the video id, `avatars/<user id>/...`
    by the user's home realm. Originals (`videos/<id>/original`) are protected: one in a foreign
    bucket is a finding. Renditions, posters, playlists and avatars are public and may be anywhere.
    A key of no known shape is a finding ("unattributed"), for the same fail-closed reason as tables.
    Limitation: renditions of a private video are not told apart from public ones, and an original
    copied under another video's key is not recognised (that would need reading every original).

Keyed fingerprints
    A run draws a fresh random key; each realm's scan turns every protected value into
    HMAC-SHA256(key, "table.column" NUL value) and hands on only (fingerprint, owner realm, location),
    never a value. The key is never stored or shown, so fingerprints cannot be correlated across runs
    nor brute-forced from the output. Values of protected columns that identify one record on their
    own (single-column primary keys and unique columns, e.g. `users.email`, `sessions.token_hash`)
    are compared across realms: one held at home in two realms is reported as "shared". That is a
    warning and does not fail the check, because the same person may legitimately hold two accounts
    with one e-mail address in two realms; it is worth a look all the same.

What leaves a realm
    The realm's database may publish (logical replication) only its `outbound_<realm>` schema, whose
    tables hold only the declared public projection columns (reelm.crossrealm.schema), and its
    deliveries, which are protected and sealed: only in a publication named for one destination realm
    (`outbound_<realm>_to_<dest>`), filtered on `to_realm = '<dest>'` and carrying inserts only. A
    publication of anything else, a FOR ALL TABLES publication, deliveries published otherwise, or an
    undeclared column in the outbound schema is a finding ("published").

Exit status (see reelm.cli.residency): 1 on any finding, 0 otherwise, 2 on bad arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import obstore
from obstore.store import ObjectStore
from sqlalchemy import Column, Table, UniqueConstraint, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from reelm import ids
from reelm.crossrealm.schema import directed_columns, directed_publication, projection_columns, schema_of
from reelm.db import DataClass
from reelm.models import HandleEntry, RealmBase
from reelm.runtime import Runtime
from reelm.settings import Settings
from reelm.storage import open_store

# Names of the column holding a row's owner, most specific first. A model may override this with
# `__table_args__ = (..., {"info": {"owner_column": "..."}})`. `subject_id` precedes `requester_id`
# because a break-glass justification belongs to the person it names, not to the staff member.
OWNER_COLUMNS = ("user_id", "owner_id", "author_id", "follower_id", "subject_id", "requester_id")
UNKNOWN = "?"
FINGERPRINT_SHOWN = 16  # hex digits: enough to tell findings apart, too short to matter alone

MISPLACED = "misplaced"
UNATTRIBUTED = "unattributed"
SHARED = "shared"
PUBLISHED = "published"


@dataclass(frozen=True)
class Finding:
    realm: str  # where it was found
    location: str  # "table.column" or "object:<key>"
    owner_realm: str  # the owner's home realm(s), or "?" when unknown
    kind: str  # misplaced, unattributed or shared
    fingerprint: str  # a prefix of the keyed fingerprint; "" when no value is involved


@dataclass
class RealmSummary:
    realm: str
    rows_scanned: int = 0
    protected_values: int = 0
    objects_checked: int = 0
    findings: int = 0
    shared: int = 0


@dataclass
class Report:
    summaries: list[RealmSummary]
    findings: list[Finding]  # fail the check
    shared: list[Finding]  # warnings

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "realms": [asdict(s) for s in self.summaries],
            "findings": [asdict(f) for f in self.findings],
            "shared": [asdict(f) for f in self.shared],
        }


@dataclass
class _Sighting:
    """What a realm's scan hands on about one protected value: never the value itself."""

    fingerprint: str
    owner_realm: str
    location: str


@dataclass
class _RealmScan:
    summary: RealmSummary
    findings: list[Finding] = field(default_factory=list)
    identifying: list[_Sighting] = field(default_factory=list)


def protected_columns(table: Table) -> list[Column[Any]]:
    return [c for c in table.columns if c.info.get("data_class") == DataClass.PROTECTED]


def owner_column(table: Table) -> Column[Any] | None:
    declared = table.info.get("owner_column")
    if declared is not None:
        return table.columns[declared]
    if table.name == "users":
        return table.columns["id"]
    return next((table.columns[n] for n in OWNER_COLUMNS if n in table.columns), None)


def identifying(table: Table, column: Column[Any]) -> bool:
    """Whether a value of the column names one record on its own (so a copy elsewhere means something)."""
    if column.unique:
        return True
    if [c.name for c in table.primary_key.columns] == [column.name]:
        return True
    return any(
        isinstance(constraint, UniqueConstraint) and [c.name for c in constraint.columns] == [column.name]
        for constraint in table.constraints
    )


def _canonical(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, datetime | date):
        return value.isoformat().encode()
    return str(value).encode()


def fingerprint(key: bytes, location: str, value: object) -> str:
    return hmac.new(key, location.encode() + b"\0" + _canonical(value), hashlib.sha256).hexdigest()


def _store_url(settings: Settings, realm: str) -> str:
    # The same default as reelm.storage.Storage, whose stores offer no listing.
    config = settings.realm(realm)
    return config.storage_url or (settings.data_dir.resolve() / "objects" / realm).as_uri()


def _object_owner(key: str, home_of: Callable[[int], str]) -> tuple[str, bool] | None:
    """(owner's home realm, protected?) of an object key, or None for a key of no known shape."""
    parts = key.split("/")
    if len(parts) < 3:
        return None
    owner_id = ids.parse_id(parts[1])
    if owner_id is None:
        return None
    if parts[0] == "videos":
        # A video id is minted in its owner's home realm.
        return home_of(owner_id), parts[2] == "original"
    if parts[0] == "avatars":
        return home_of(owner_id), False
    return None


async def _scan_objects(store: ObjectStore, scan: _RealmScan, home_of: Callable[[int], str]) -> None:
    realm = scan.summary.realm
    async for batch in obstore.list(store):
        for meta in batch:
            key = meta["path"]
            scan.summary.objects_checked += 1
            owner = _object_owner(key, home_of)
            if owner is None:
                scan.findings.append(Finding(realm, f"object:{key}", UNKNOWN, UNATTRIBUTED, ""))
            elif owner[1] and owner[0] != realm:
                scan.findings.append(Finding(realm, f"object:{key}", owner[0], MISPLACED, ""))


async def _scan_realm(runtime: Runtime, realm: str, key: bytes, home_of: Callable[[int], str]) -> _RealmScan:
    scan = _RealmScan(RealmSummary(realm))
    async with runtime.databases.engine(realm).connect() as conn:
        for table in RealmBase.metadata.sorted_tables:
            columns = protected_columns(table)
            if not columns:
                continue
            owner = owner_column(table)
            if owner is None:
                rows = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
                scan.summary.rows_scanned += rows
                if rows:
                    scan.findings.append(Finding(realm, f"{table.name}.*", UNKNOWN, UNATTRIBUTED, ""))
                continue
            ident = {c.name for c in columns if identifying(table, c)}
            result = await conn.stream(select(owner.label("_owner"), *columns))
            async for row in result:
                scan.summary.rows_scanned += 1
                owner_id = row[0]
                owner_realm = home_of(owner_id) if isinstance(owner_id, int) else UNKNOWN
                for column, value in zip(columns, row[1:], strict=True):
                    if value is None:
                        continue
                    scan.summary.protected_values += 1
                    location = f"{table.name}.{column.name}"
                    if owner_realm != realm:
                        shown = fingerprint(key, location, value)[:FINGERPRINT_SHOWN]
                        scan.findings.append(Finding(realm, location, owner_realm, MISPLACED, shown))
                    elif column.name in ident:
                        scan.identifying.append(
                            _Sighting(fingerprint(key, location, value), owner_realm, location)
                        )
        await _check_publications(conn, realm, scan)
    await _scan_objects(open_store(_store_url(runtime.settings, realm)), scan, home_of)
    return scan


async def _check_publications(conn: AsyncConnection, realm: str, scan: _RealmScan) -> None:
    """Only the realm's outbound schema, with only its declared columns, may be published; a directed
    table (deliveries) only to one realm at a time: filtered on that realm, inserts only."""
    outbound = schema_of(realm)
    for (name,) in await conn.execute(text("SELECT pubname FROM pg_publication WHERE puballtables")):
        scan.findings.append(Finding(realm, f"publication:{name}:ALL TABLES", "", PUBLISHED, ""))
    published = await conn.execute(
        text(
            "SELECT t.pubname, t.schemaname, t.tablename, t.attnames, t.rowfilter, "
            "p.pubupdate OR p.pubdelete OR p.pubtruncate FROM pg_publication_tables t "
            "JOIN pg_publication p ON p.pubname = t.pubname"
        )
    )
    declared, directed = projection_columns(), directed_columns()
    for name, schema, table, columns, row_filter, not_only_inserts in published:
        allowed = declared.get(table, set()) if schema == outbound else set()
        if schema == outbound and table in directed:
            destination = _destination(realm, name)
            # PostgreSQL shows the filter as it parsed it: ((to_realm = 'eu'::text)).
            if (
                destination is not None
                and row_filter == f"(to_realm = '{destination}'::text)"
                and not not_only_inserts
            ):
                allowed = directed[table]
        for column in sorted(set(columns) - allowed):
            scan.findings.append(
                Finding(realm, f"publication:{name}:{schema}.{table}.{column}", "", PUBLISHED, "")
            )


def _destination(realm: str, publication: str) -> str | None:
    """The realm a directed publication of `realm` is named for, if it follows the naming."""
    prefix = directed_publication(realm, "")
    return (
        publication[len(prefix) :]
        if publication.startswith(prefix) and len(publication) > len(prefix)
        else None
    )


async def _directory_homes(runtime: Runtime) -> dict[int, str]:
    async with runtime.databases.engine(None).connect() as conn:
        rows = await conn.execute(select(HandleEntry.user_id, HandleEntry.realm))
        return {row.user_id: row.realm for row in rows}


async def check(runtime: Runtime, realms: list[str] | None = None) -> Report:
    """Scan the realms' databases and buckets (all configured realms by default)."""
    settings = runtime.settings
    names = realms if realms is not None else settings.realm_names
    homes = await _directory_homes(runtime)

    def home_of(an_id: int) -> str:
        return homes.get(an_id) or settings.realm_of_id(an_id) or UNKNOWN

    key = secrets.token_bytes(32)  # fresh per run, never kept: see the module docstring
    scans = [await _scan_realm(runtime, name, key, home_of) for name in names]

    # Only fingerprints cross from here on.
    at_home: dict[str, set[str]] = defaultdict(set)
    for scan in scans:
        for sighting in scan.identifying:
            at_home[sighting.fingerprint].add(sighting.owner_realm)
    shared: list[Finding] = []
    for scan in scans:
        for sighting in scan.identifying:
            others = at_home[sighting.fingerprint] - {scan.summary.realm}
            if others:
                shared.append(
                    Finding(
                        scan.summary.realm,
                        sighting.location,
                        ",".join(sorted(others)),
                        SHARED,
                        sighting.fingerprint[:FINGERPRINT_SHOWN],
                    )
                )
                scan.summary.shared += 1
        scan.summary.findings = len(scan.findings)
    return Report(
        summaries=[s.summary for s in scans],
        findings=[f for s in scans for f in s.findings],
        shared=shared,
    )
