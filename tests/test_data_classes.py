"""Every stored field declares whether it may leave its realm; the databases match the models' schema."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, text

from reelm.db import Databases, DataClass
from reelm.models import DirectoryBase, RealmBase
from reelm.runtime import Runtime

DECLARED = {DataClass.PUBLIC, DataClass.PROTECTED}


def undeclared_columns(metadata: MetaData) -> list[str]:
    """`table.column` for every column whose info lacks a valid data class."""
    return [
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if column.info.get("data_class") not in DECLARED
    ]


def columns_of_class(metadata: MetaData, data_class: DataClass) -> set[str]:
    return {
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if column.info.get("data_class") == data_class
    }


@pytest.mark.parametrize("base", [RealmBase, DirectoryBase], ids=["realm", "directory"])
def test_every_column_declares_its_data_class(base: type[RealmBase | DirectoryBase]) -> None:
    assert base.metadata.sorted_tables, "no tables: were the models imported?"
    assert undeclared_columns(base.metadata) == []


def test_the_check_reports_undeclared_and_invalid_columns() -> None:
    metadata = MetaData()
    Table(
        "throwaway",
        metadata,
        Column("id", Integer, primary_key=True, info={"data_class": DataClass.PUBLIC}),
        Column("secret", String),  # declares nothing
        Column("typo", String, info={"data_class": "publik"}),
        Column("plain_string", String, info={"data_class": "protected"}),  # the enum's value is accepted
    )
    assert undeclared_columns(metadata) == ["throwaway.secret", "throwaway.typo"]


def test_directory_holds_nothing_protected() -> None:
    assert columns_of_class(DirectoryBase.metadata, DataClass.PROTECTED) == set()
    assert set(DirectoryBase.metadata.tables) == {
        "handles",
        "name_skeletons",  # look-alike digests of handles and display names, both public
        "login_attempts",  # keyed digests of addresses and login names, for a few minutes (shared limits)
        "webauthn_challenges",  # digests of passkey challenges, for a few minutes (password-less log-in)
        "staff_roles",
        "audit_outbox",
        "log_entries",
        "log_checkpoints",
        "realm_capabilities",
    }


def test_sensitive_columns_are_protected() -> None:
    protected = columns_of_class(RealmBase.metadata, DataClass.PROTECTED)
    tables = RealmBase.metadata.tables
    expected = {
        "users.email",
        "users.email_index",
        "users.deletion_due_at",
        "users.password_hash",
        "users.country",
        "videos.original_key",
        "videos.original_size",
    }
    for whole in ("sessions", "video_likes", "follows", "comment_likes", "user_keys"):
        expected |= {f"{whole}.{c.name}" for c in tables[whole].columns}
    assert expected <= protected, sorted(expected - protected)
    # And public things stay public: what the feed and profiles show.
    public = columns_of_class(RealmBase.metadata, DataClass.PUBLIC)
    assert {
        "users.handle",
        "users.display_name",
        "videos.caption",
        "videos.like_count",
        "comments.body",
    } <= public


async def _schema(databases: Databases, realm: str | None) -> dict[str, set[str]]:
    async with databases.sessionmaker(realm)() as session:
        rows = await session.execute(
            text(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
            )
        )
    schema: dict[str, set[str]] = {}
    for table, column in rows:
        schema.setdefault(table, set()).add(column)
    return schema


def _model_schema(metadata: MetaData) -> dict[str, set[str]]:
    return {table.name: {c.name for c in table.columns} for table in metadata.sorted_tables}


async def test_live_schema_matches_the_models(runtime: Runtime) -> None:
    realm_models = _model_schema(RealmBase.metadata)
    for realm in runtime.databases.realm_urls:
        live = await _schema(runtime.databases, realm)
        for table, columns in realm_models.items():
            assert table in live, f"{realm}: table {table} missing"
            assert live[table] == columns, (
                f"{realm}.{table}: live {sorted(live[table])}, models {sorted(columns)}"
            )
        # Nothing of the directory's is kept in a realm, but for the audit outbox every database has.
        assert set(DirectoryBase.metadata.tables).intersection(live) == {"audit_outbox"}

    directory = await _schema(runtime.databases, None)
    for table, columns in _model_schema(DirectoryBase.metadata).items():
        assert directory.get(table) == columns
    assert set(realm_models).intersection(directory) == {"audit_outbox"}
    assert not any(t.startswith("procrastinate") for t in directory)
    assert set(directory) <= {*DirectoryBase.metadata.tables, "alembic_version"}
