"""The one declared crossing: each realm publishes its `outbound_<realm>` schema, the others subscribe.

Realm R has one publication for everyone, `outbound_R` (its projection tables, listed by name), and one
per other realm X, `outbound_R_to_X` (its deliveries addressed to X: a row filter, inserts only). X's
subscription to R takes both, so X receives R's public projections and only what is addressed to X.

Run after the migrations by whoever migrates with every realm's credentials (`reelm migrate`, `reelm
demo`, `reelm serve` in embedded mode). Everything here is idempotent: an existing publication, slot or
subscription is kept, functions and views are replaced, so a new release or a new realm is picked up by
running it again.

Same-cluster subscriptions (the embedded server holds every realm's database) hang if PostgreSQL is
asked to create the replication slot itself, and so do its initial table copies (each creates a slot
and waits for the others' transactions). So the slot is always created first on the publisher, the
subscription attaches to it without copying, and a publisher that already had rows re-sends them
(`republish`). That works between separate clusters as well.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg

from reelm.crossrealm import schema
from reelm.db import libpq_url
from reelm.settings import Settings


@dataclass(frozen=True)
class RealmDatabase:
    name: str
    code: int
    url: str  # how this process connects
    # How the *other* realms' database servers reach this one for replication (defaults to `url`).
    replication_url: str | None = None

    @property
    def conninfo(self) -> str:
        return libpq_url(self.url)

    @property
    def publisher_conninfo(self) -> str:
        return libpq_url(self.replication_url or self.url)


def realm_databases(settings: Settings, urls: Mapping[str, str]) -> dict[str, RealmDatabase]:
    """Every configured realm with its URL (`urls` keyed by realm name, as the runtime resolved them)."""
    return {
        realm.name: RealmDatabase(realm.name, realm.code, urls[realm.name], realm.replication_url)
        for realm in settings.realms
    }


def publication_of(realm: str) -> str:
    return schema.schema_of(realm)


def subscription_name(source: str, target: str) -> str:
    """Also the slot's name on the source: unique per cluster, as slots must be."""
    return f"reelm_{source}_to_{target}"


def _execute_all(conn: psycopg.Connection, statements: list[str]) -> None:
    for statement in statements:
        conn.execute(statement.encode())


def _statements(database: RealmDatabase, realms: list[str]) -> list[str]:
    statements = schema.helpers_sql(database.name, database.code)
    for realm in realms:
        statements += schema.projection_tables_sql(realm)
        statements += schema.search_triggers_sql(realm)
    statements += schema.views_sql(realms)
    statements += schema.projection_functions_sql(database.name)
    statements += schema.source_triggers_sql()
    statements += schema.received_functions_sql()
    for realm in realms:
        if realm != database.name:
            statements += schema.received_triggers_sql(realm)
    return statements


def prepare_realm(database: RealmDatabase, realms: list[str]) -> bool:
    """Schemas, views, triggers and the publication inside one realm's database, in one transaction;
    False when the database already had exactly these (the usual case at start-up).

    Replacing triggers and views locks the tables that every request writes, in another order than
    requests take them, so doing it on each start deadlocked with live traffic: the SQL's digest is
    kept in the database, and the work is done only when the SQL or the realm list changed.
    """
    statements = _statements(database, realms)
    digest = hashlib.sha256("\n;\n".join(statements).encode()).hexdigest()
    with psycopg.connect(database.conninfo) as conn, conn.transaction():
        # One migrator at a time: a second concurrent run waits here instead of racing the DDL.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('reelm.crossrealm'))")
        conn.execute("CREATE TABLE IF NOT EXISTS crossrealm_prepared (digest text NOT NULL)")
        if conn.execute("SELECT 1 FROM crossrealm_prepared WHERE digest = %s", (digest,)).fetchone():
            return False
        # Waiting behind long transactions would stall every request queued behind this DDL.
        conn.execute("SET LOCAL lock_timeout = '10s'")
        _execute_all(conn, statements)
        _publish(conn, database.name, realms)
        _execute_all(conn, schema.backfill_sql())
        conn.execute("DELETE FROM crossrealm_prepared")
        conn.execute("INSERT INTO crossrealm_prepared (digest) VALUES (%s)", (digest,))
    return True


def _publish(conn: psycopg.Connection, realm: str, realms: list[str]) -> None:
    """(Re)declare what `realm` publishes: its projections to all, its deliveries to their realm only."""
    own = schema.schema_of(realm)
    projections = ", ".join(f"{own}.{table}" for table in schema.PROJECTION_TABLES)
    wanted = {publication_of(realm): f"TABLE {projections}"}
    for other in realms:
        if other != realm:
            # Realm names are validated identifiers ([a-z][a-z0-9]*): safe inside the literal.
            wanted[schema.directed_publication(realm, other)] = (
                f"TABLE {own}.deliveries WHERE (to_realm = '{other}')"
            )
    for name, tables in wanted.items():
        if conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (name,)).fetchone():
            # SET replaces whatever the publication held before (also a whole schema, as releases
            # before directed deliveries published).
            conn.execute(f"ALTER PUBLICATION {name} SET {tables}".encode())
        else:
            options = "" if name == own else " WITH (publish = 'insert')"
            conn.execute(f"CREATE PUBLICATION {name} FOR {tables}{options}".encode())


def _publications_for(source: str, target: str) -> list[str]:
    return [publication_of(source), schema.directed_publication(source, target)]


def subscribe(source: RealmDatabase, target: RealmDatabase) -> bool:
    """Make `target` receive `source`'s projections and its deliveries to `target`; False when it
    already did. A subscription from an older release is brought up to date (True: its new tables
    start empty, and the caller re-sends them)."""
    name = subscription_name(source.name, target.name)
    publications = _publications_for(source.name, target.name)
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        found = conn.execute(
            "SELECT subpublications FROM pg_subscription WHERE subname = %s", (name,)
        ).fetchone()
        if found is not None:
            tables = conn.execute(
                "SELECT count(*) FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid "
                "WHERE s.subname = %s",
                (name,),
            ).fetchone()
            expected = len(schema.PROJECTION_TABLES) + len(schema.DIRECTED_TABLES)
            if sorted(found[0]) != sorted(publications) or tables is None or tables[0] != expected:
                # New publications or tables: picked up without a copy (same-cluster copies hang).
                conn.execute(
                    f"ALTER SUBSCRIPTION {name} SET PUBLICATION {', '.join(publications)} "
                    "WITH (copy_data = false)".encode()
                )
                return True
            return False
    with psycopg.connect(source.conninfo, autocommit=True) as conn:
        slot = conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (name,)).fetchone()
        if slot is None:
            conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (name,))
    with psycopg.connect(target.conninfo, autocommit=True) as conn:
        # CREATE SUBSCRIPTION takes no bind parameters; the conninfo is quoted as a literal.
        conninfo = source.publisher_conninfo.replace("'", "''")
        conn.execute(
            f"CREATE SUBSCRIPTION {name} CONNECTION '{conninfo}' PUBLICATION "
            f"{', '.join(publications)} WITH (create_slot = false, slot_name = '{name}', "
            "copy_data = false)".encode()
        )
    return True


def republish(source: RealmDatabase) -> None:
    """Send every projection row again, so a new subscriber starts complete.

    Rows are deleted and re-inserted in one transaction: a subscriber that has them sees no net change
    (a tally is taken back and added again), one that lacks them skips the deletes and gets the inserts.
    """
    own = schema.schema_of(source.name)
    with psycopg.connect(source.conninfo) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('reelm.crossrealm'))")
        for table in schema.PROJECTION_TABLES:
            # Generated columns (search's) are computed on insert, never written.
            row = conn.execute(
                "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''",
                (f"{own}.{table}",),
            ).fetchone()
            assert row is not None
            columns = row[0]
            conn.execute(
                f"CREATE TEMP TABLE resend ON COMMIT DROP AS SELECT {columns} FROM {own}.{table}".encode()
            )
            conn.execute(f"DELETE FROM {own}.{table}".encode())
            conn.execute(f"INSERT INTO {own}.{table} ({columns}) SELECT {columns} FROM resend".encode())
            conn.execute(b"DROP TABLE resend")


def ensure_cross_realm(databases: Mapping[str, RealmDatabase]) -> int:
    """Prepare every realm database, then subscribe each to every other; returns subscriptions created
    or brought up to date."""
    realms = sorted(databases)
    for database in databases.values():
        prepare_realm(database, realms)
    created = 0
    for source in databases.values():
        new = [subscribe(source, target) for target in databases.values() if target.name != source.name]
        if any(new):
            republish(source)
        created += sum(new)
    return created
