"""Shared fixtures: one embedded PostgreSQL per test session, emptied between tests; real storage per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from reelm import embedded, migrate
from reelm.crossrealm.replication import ensure_cross_realm, realm_databases
from reelm.crossrealm.schema import DIRECTED_TABLES, PROJECTION_TABLES, schema_of
from reelm.crossrealm.transit import ensure_transit_key
from reelm.db import Databases, RealmBase
from reelm.models import DirectoryBase
from reelm.runtime import Runtime
from reelm.settings import Settings
from reelm.storage import Storage
from reelm.web.app import create_app
from reelm.worker import run_worker

TEST_SECRET = "test-secret-key-0123456789abcdef0123456789"
# A throwaway note key for the test log (the name is the test log's origin).
TEST_LOG_KEY = "PRIVATE+KEY+test.reelm/log+1aba6339+AWTsKBObCTiRr4tMb7O6JWYbh3BVB8JT9r4xo7wKEWy5"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("pg")
    server = embedded.start_server(root)
    urls = embedded.ensure_databases(server, ["us", "eu", "global"])
    migrate.upgrade_all(urls)
    ensure_cross_realm(realm_databases(make_settings(root), urls))
    yield urls
    server.cleanup()


@pytest.fixture(scope="session")
async def databases(database_urls: dict[str, str]) -> AsyncIterator[Databases]:
    dbs = Databases(directory_url=database_urls[""], realm_urls={k: v for k, v in database_urls.items() if k})
    yield dbs
    await dbs.dispose()


async def _empty_databases(dbs: Databases) -> None:
    # Projections too, here and in their copies (a truncation also replicates, harmlessly, later).
    projections = [
        f"{schema_of(r)}.{t}" for r in dbs.realm_urls for t in (*PROJECTION_TABLES, *DIRECTED_TABLES)
    ]
    realm_tables = ", ".join([t.name for t in RealmBase.metadata.sorted_tables] + projections)
    for realm in dbs.realm_urls:
        async with dbs.transaction(realm) as session:
            await session.execute(text(f"TRUNCATE {realm_tables}, procrastinate_jobs CASCADE"))
    directory_tables = ", ".join(t.name for t in DirectoryBase.metadata.sorted_tables)
    async with dbs.transaction(None) as session:
        await session.execute(text(f"TRUNCATE {directory_tables}"))


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "secret_key": TEST_SECRET,
        "base_url": "http://test",
        "log_signing_key": TEST_LOG_KEY,
        "log_origin": "test.reelm/log",
        # Realm keys are made in the test's own data folder on first use.
        "create_missing_keys": True,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def runtime(databases: Databases, tmp_path: Path) -> Runtime:
    await _empty_databases(databases)
    settings = make_settings(tmp_path / "data")
    runtime = Runtime(settings=settings, databases=databases, storage=Storage(settings))
    for realm in databases.realm_urls:  # as each realm's worker does when it starts
        await ensure_transit_key(runtime, realm)
    return runtime


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        c.app = app  # type: ignore[attr-defined]
        yield c


async def run_jobs(runtime: Runtime, realm: str) -> None:
    """Run every queued job of a realm to completion, as a worker of that realm would."""
    await run_worker(runtime, realm, wait=False, concurrency=1)


@dataclass
class Account:
    handle: str
    token: str
    id: str
    realm: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_account(client: httpx.AsyncClient, handle: str, *, country: str = "US") -> Account:
    created = await client.post(
        "/api/v1/accounts",
        json={"handle": handle, "email": f"{handle}@example.org", "password": PASSWORD, "country": country},
    )
    assert created.status_code == 201, created.text
    session = await client.post("/api/v1/sessions", json={"login": handle, "password": PASSWORD})
    assert session.status_code == 201, session.text
    body = session.json()
    return Account(handle=handle, token=body["token"], id=body["user"]["id"], realm=body["user"]["realm"])


@pytest.fixture(scope="session")
def shared_dir() -> Path | None:
    """The team's shared material beside the project; CI must have it."""
    path = Path(__file__).resolve().parent.parent.parent / "shared"
    if not path.is_dir() and os.environ.get("CI"):
        pytest.fail("../shared is missing in CI")
    return path if path.is_dir() else None
