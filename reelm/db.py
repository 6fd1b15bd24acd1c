"""Databases: the directory and one per realm, with every column declaring its data class."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, MappedColumn, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class DataClass(enum.StrEnum):
    PUBLIC = "public"  # may leave its realm
    PROTECTED = "protected"  # never leaves the owner's home realm


def public(*args: Any, **kwargs: Any) -> MappedColumn[Any]:
    return mapped_column(*args, info={"data_class": DataClass.PUBLIC}, **kwargs)


def protected(*args: Any, **kwargs: Any) -> MappedColumn[Any]:
    return mapped_column(*args, info={"data_class": DataClass.PROTECTED}, **kwargs)


def utcnow() -> datetime:
    return datetime.now(UTC)


TZ = DateTime(timezone=True)


class DirectoryBase(DeclarativeBase):
    """Tables of the global directory: only what routing needs, nothing protected."""

    metadata = MetaData(naming_convention=NAMING)


class RealmBase(DeclarativeBase):
    """Tables that exist in every realm's database."""

    metadata = MetaData(naming_convention=NAMING)


def async_url(url: str) -> str:
    """SQLAlchemy URL with the psycopg 3 driver, whose raw connection procrastinate can join."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.rsplit('@', maxsplit=1)[-1]}")


def libpq_url(url: str) -> str:
    """Plain libpq form of a URL, for psycopg and procrastinate."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _run(dbapi_connection: Any, statement: str) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(statement)
    cursor.close()
    dbapi_connection.commit()  # a SET in a transaction that is rolled back would be undone with it


@dataclass
class Databases:
    """Engines of the directory and of each realm; built once per process."""

    directory_url: str
    realm_urls: dict[str, str]
    # Enough connections for a server's usual concurrency: connections opened beyond the pool are
    # closed again after use, and opening one costs PostgreSQL more than most queries do.
    pool_size: int = 10
    _engines: dict[str, AsyncEngine] = field(default_factory=dict)
    _makers: dict[str, async_sessionmaker[AsyncSession]] = field(default_factory=dict)

    # Read replicas that search reads from, per realm (RealmConfig.search_database_url); a realm without one
    # searches its own database.
    search_urls: dict[str, str] = field(default_factory=dict)

    def engine(self, realm: str | None) -> AsyncEngine:
        return self._engine(realm or "", self.directory_url if realm is None else self.realm_urls[realm])

    def _engine(self, key: str, url: str, *, setting: str | None = None) -> AsyncEngine:
        if key not in self._engines:
            engine = create_async_engine(
                async_url(url),
                pool_size=self.pool_size,
                max_overflow=20,
                # No ping on every checkout (a round trip per request); connections are recycled instead,
                # and a connection broken by a server restart fails one request and is then replaced.
                pool_recycle=1800,
            )
            if setting is not None:
                # Set once per new connection, after whatever options its URL gives.
                event.listen(engine.sync_engine, "connect", lambda conn, _: _run(conn, setting))
            self._engines[key] = engine
            self._makers[key] = async_sessionmaker(self._engines[key], expire_on_commit=False)
        return self._engines[key]

    def sessionmaker(self, realm: str | None) -> async_sessionmaker[AsyncSession]:
        self.engine(realm)
        return self._makers[realm or ""]

    @asynccontextmanager
    async def transaction(self, realm: str | None) -> AsyncIterator[AsyncSession]:
        """One transaction, committed when the block ends without an exception."""
        async with self.sessionmaker(realm)() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self, realm: str | None) -> AsyncIterator[AsyncSession]:
        """A session for reading: nothing done in it is committed (it rolls back when the block ends)."""
        async with self.sessionmaker(realm)() as session:
            yield session

    @asynccontextmanager
    async def search(self, realm: str) -> AsyncIterator[AsyncSession]:
        """A session for search's reads: on the realm's search replica when it has one (a replica of the
        realm's own database, so in the realm), else on the realm's database. A replica may lag its primary
        by moments. Nothing done in it is committed."""
        url = self.search_urls.get(realm) or self.realm_urls[realm]
        key = f"search:{url}"
        # Its own connections, which plan every statement for its values: how many documents a query's words
        # match decides how a search must read (a rare handle through the text index, a common word in
        # order of the prior), and a plan cached for a prepared statement would read every query one way.
        self._engine(key, url, setting="SET plan_cache_mode = force_custom_plan")
        async with self._makers[key]() as session:
            yield session

    async def dispose(self) -> None:
        for engine in self._engines.values():
            await engine.dispose()
        self._engines.clear()
        self._makers.clear()
