"""The migrations build exactly what the models describe: Alembic's autogenerate finds nothing to do.

Compared against the session's databases, which `reelm.migrate.upgrade_all` built from the one history
(directory and realm roles) and `ensure_cross_realm` then completed, as `reelm migrate` does.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine

from reelm.crossrealm.schema import schema_of
from reelm.db import async_url
from reelm.models import DirectoryBase, RealmBase

# What a realm database holds besides the models' tables, each made by something other than a model:
# - `outbound_<realm>` schemas (this realm's projections and the replicated copies of every other realm's):
#   plain SQL of reelm.crossrealm.schema, created after the migrations by reelm.crossrealm.replication;
OUTBOUND_PREFIX = schema_of("")
# - procrastinate's job queue, created in revision 0001 from procrastinate's own schema SQL;
PROCRASTINATE_PREFIX = "procrastinate_"
# - the cross-realm bookkeeping that `ensure_cross_realm` creates beside the projections: the digest of the
#   SQL it last applied, and the realm's wrapped transit key pairs (reelm.crossrealm.schema.helpers_sql).
CROSSREALM_TABLES = frozenset({"crossrealm_prepared", "crossrealm_transit_keys"})


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Reflect only what the models own (a name in the database; the models' side is always compared)."""
    if type_ == "schema":
        return name is None or not name.startswith(OUTBOUND_PREFIX)
    if type_ == "table" and name is not None:
        return not name.startswith(PROCRASTINATE_PREFIX) and name not in CROSSREALM_TABLES
    return True


def differences(url: str, metadata: MetaData) -> list[Any]:
    """What autogenerate would put in a new revision for this database, types and server defaults included."""
    engine = create_engine(async_url(url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "include_schemas": True,  # a model's table created in the wrong schema shows up too
                    "include_name": include_name,
                    "compare_type": True,
                    "compare_server_default": True,
                },
            )
            diff: list[Any] = compare_metadata(context, metadata)
            return diff
    finally:
        engine.dispose()


def describe(diff: list[Any]) -> list[str]:
    """One line per difference: the operation and what it names (a column change comes as a list of ops)."""
    lines = []
    for entry in diff:
        for op in entry if isinstance(entry, list) else [entry]:
            names = [
                getattr(part, "name", part)
                for part in op[1:4]
                if isinstance(part, str) or hasattr(part, "name")
            ]
            lines.append(" ".join([op[0], *map(str, names)]))
    return lines


def test_directory_matches_its_models(database_urls: dict[str, str]) -> None:
    assert describe(differences(database_urls[""], DirectoryBase.metadata)) == []


def test_every_realm_database_matches_the_realm_models(database_urls: dict[str, str]) -> None:
    realms = [realm for realm in database_urls if realm]
    assert realms
    for realm in realms:
        assert describe(differences(database_urls[realm], RealmBase.metadata)) == [], realm


def test_the_comparison_sees_the_realm_tables() -> None:
    """The filter keeps every model's table in view (it drops only what no model describes)."""
    for metadata in (DirectoryBase.metadata, RealmBase.metadata):
        for table in metadata.tables.values():
            assert include_name(table.schema, "schema", {})
            assert include_name(table.name, "table", {"schema_name": table.schema})
