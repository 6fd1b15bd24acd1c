"""Shared fixtures: one embedded PostgreSQL per test process (each pytest-xdist worker has its own), emptied
between tests; real storage per test."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import text

from reelm import embedded, migrate, security
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


def pytest_configure(config: pytest.Config) -> None:
    # The controller's readline exports COLUMNS=80 (and LINES) to the environment, and pytest-xdist workers
    # inherit it: Rich consoles made when a CLI module is imported would then keep 80 columns for good and
    # ignore the width CLI tests give CliRunner. A test process starts with the terminal's size unset.
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """Argon2id at the least work it allows (argon2's own profile for tests) instead of the production cost.

    The same code still hashes and verifies every password. At the production cost a hash takes ~0.2 s of
    CPU on two threads, and `make_account` makes two: hashing was half of the API tests' time (70 s of 134 s
    for tests/social and the messages API), and parallel workers only competed for it. Server processes
    that tests start keep the production cost.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(security, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
        yield


@pytest.fixture(scope="session")
def database_urls() -> Iterator[dict[str, str]]:
    # One server per test process, so per pytest-xdist worker: the database names and the replication slots
    # and subscriptions (`reelm_us_to_eu`) are fixed names, unique per cluster, so workers cannot share one.
    # Its folder is made here rather than under pytest's temporary root: run as root, the server runs as
    # another user, and every pytest session that starts on the machine makes /tmp/pytest-of-<user> private
    # again (0700), which cut a running server off from its own files.
    root = Path(tempfile.mkdtemp(prefix="reelm-test-pg-"))
    server = embedded.start_server(root)
    # A throwaway cluster: a commit need not wait for the disk (nothing here must survive a power cut), which
    # also keeps the shutdown checkpoint of a busy session from taking many seconds. Visibility and
    # replication work as before (synchronous_commit stays on, so WAL is sent as soon as it is committed).
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET fsync = off")
        conn.execute("SELECT pg_reload_conf()")
    urls = embedded.ensure_databases(server, ["us", "eu", "global"])
    migrate.upgrade_all(urls)
    ensure_cross_realm(realm_databases(make_settings(root), urls))
    yield urls
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
async def databases(database_urls: dict[str, str]) -> AsyncIterator[Databases]:
    dbs = Databases(directory_url=database_urls[""], realm_urls={k: v for k, v in database_urls.items() if k})
    yield dbs
    await dbs.dispose()


# Every table that `TRUNCATE <seed> CASCADE` empties: the seed and, transitively, whatever references it
# by a foreign key (procrastinate's events and periodic defers reference its jobs).
_REACHED_BY_TRUNCATE = """
WITH RECURSIVE reached(oid) AS (
    SELECT CAST(CAST(unnest(CAST(:seed AS text[])) AS regclass) AS oid)
    UNION
    SELECT c.conrelid FROM pg_constraint c JOIN reached ON c.confrelid = reached.oid WHERE c.contype = 'f'
)
SELECT CAST(CAST(oid AS regclass) AS text) FROM reached ORDER BY 1
"""


@pytest.fixture(scope="session")
async def emptiness_checks(databases: Databases) -> dict[str | None, str]:
    """Per database (None: the directory), one query that names its tables holding any row.

    Emptying only those keeps the reset between tests proportional to what the test wrote: truncating all
    ~64 tables of each database cost more than most tests themselves.
    """
    # Projections too, here and in their copies (a truncation also replicates, harmlessly, later: a copy
    # that is still empty when checked gets the source's rows and then its truncation, in that order).
    projections = [
        f"{schema_of(r)}.{t}" for r in databases.realm_urls for t in (*PROJECTION_TABLES, *DIRECTED_TABLES)
    ]
    realm_tables = [t.name for t in RealmBase.metadata.sorted_tables] + projections + ["procrastinate_jobs"]
    seeds: dict[str | None, list[str]] = {None: [t.name for t in DirectoryBase.metadata.sorted_tables]}
    seeds |= dict.fromkeys(databases.realm_urls, realm_tables)
    checks: dict[str | None, str] = {}
    for key, seed in seeds.items():
        async with databases.transaction(key) as session:
            tables = (await session.execute(text(_REACHED_BY_TRUNCATE), {"seed": seed})).scalars().all()
        # Names as the catalog prints them (quoted where needed), so they go into the SQL as they are.
        checks[key] = " UNION ALL ".join(
            f"SELECT {_literal(table)} WHERE EXISTS (SELECT FROM {table})" for table in tables
        )
    return checks


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def _empty_databases(dbs: Databases, checks: dict[str | None, str]) -> None:
    """Truncate the tables that hold rows, in each database, in one transaction per database."""

    async def empty(key: str | None) -> None:
        async with dbs.transaction(key) as session:
            filled = (await session.execute(text(checks[key]))).scalars().all()
            if filled:
                # CASCADE: a filled table's referencing tables go with it, whatever the order.
                await session.execute(text(f"TRUNCATE {', '.join(filled)} CASCADE"))

    await asyncio.gather(*(empty(key) for key in checks))


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "secret_key": TEST_SECRET,
        "base_url": "http://test",
        "log_signing_key": TEST_LOG_KEY,
        "log_origin": "test.reelm/log",
        # Realm keys are made in the test's own data folder on first use.
        "create_missing_keys": True,
        # Staff log in with a password alone in the tests of what staff do; the requirement of a second
        # factor has its own tests (tests/accounts/test_staff_second_factor.py), which turn it on.
        "staff_second_factor": False,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def runtime(databases: Databases, emptiness_checks: dict[str | None, str], tmp_path: Path) -> Runtime:
    await _empty_databases(databases, emptiness_checks)
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
