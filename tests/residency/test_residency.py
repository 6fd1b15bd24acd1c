"""`reelm residency check`: a clean multi-realm world passes; planted copies of protected data are caught.

The world is built through the API; violations are planted with plain SQL and object copies, as a
faulty replication job or a mis-pointed export would make them. No output may carry a planted value.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from sqlalchemy import Column, Integer, MetaData, String, Table, UniqueConstraint, func, select
from typer.testing import CliRunner, Result

from reelm import ids
from reelm.cli.main import app as cli_app
from reelm.db import libpq_url
from reelm.models import RealmBase
from reelm.residency import scan
from reelm.runtime import Runtime
from tests import live
from tests.conftest import Account, make_account
from tests.factories import make_tiny_clip, publish


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_clip(tmp_path_factory.mktemp("residency"))


@dataclass
class World:
    us: Account
    us_fan: Account
    eu: Account
    eu_fan: Account
    elsewhere: Account
    us_video: str
    eu_video: str


async def _interact(client: httpx.AsyncClient, fan: Account, creator: Account, video_id: str) -> None:
    liked = await client.post(f"/api/v1/videos/{video_id}/like", headers=fan.auth)
    assert liked.status_code == 200, liked.text
    followed = await client.post(f"/api/v1/users/{creator.handle}/follow", headers=fan.auth)
    assert followed.status_code == 200, followed.text
    commented = await client.post(
        f"/api/v1/videos/{video_id}/comments", headers=fan.auth, json={"body": "nice", "parent_id": None}
    )
    assert commented.status_code == 201, commented.text
    comment_liked = await client.post(
        f"/api/v1/videos/{video_id}/comments/{commented.json()['id']}/like", headers=creator.auth
    )
    assert comment_liked.status_code == 200, comment_liked.text


@pytest.fixture
async def world(client: httpx.AsyncClient, runtime: Runtime, clip: Path) -> World:
    us, us_fan = await make_account(client, "ada"), await make_account(client, "bo")
    eu = await make_account(client, "chloe", country="DE")
    eu_fan = await make_account(client, "dirk", country="FR")
    elsewhere = await make_account(client, "emi", country="JP")
    assert (us.realm, eu.realm, elsewhere.realm) == ("us", "eu", "global")
    us_video = await publish(client, runtime, us, clip)
    eu_video = await publish(client, runtime, eu, clip)
    await _interact(client, us_fan, us, us_video)
    await _interact(client, eu_fan, eu, eu_video)
    return World(us, us_fan, eu, eu_fan, elsewhere, us_video, eu_video)


def plant(runtime: Runtime, realm: str, sql: str, params: tuple[Any, ...]) -> None:
    """Write straight into a realm's database, past foreign keys, as a replication stream would."""
    with psycopg.connect(libpq_url(runtime.databases.realm_urls[realm]), autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(sql, params)


def copy_rows(
    runtime: Runtime, source: str, target: str, table: str, column: str, value: Any, **changes: Any
) -> list[dict[str, Any]]:
    """Copy a realm's rows byte for byte into another realm (with `changes`); returns the copies.

    Copying whole rows keeps the planting independent of how the values are stored (encrypted or not).
    """
    with psycopg.connect(libpq_url(runtime.databases.realm_urls[source])) as conn:
        cursor = conn.cursor(row_factory=dict_row)
        rows = cursor.execute(f"SELECT * FROM {table} WHERE {column} = %s", (value,)).fetchall()
    assert rows, f"nothing to copy from {source}.{table}"
    copies = [row | changes for row in rows]
    for row in copies:
        names = ", ".join(row)
        slots = ", ".join(["%s"] * len(row))
        plant(runtime, target, f"INSERT INTO {table} ({names}) VALUES ({slots})", tuple(row.values()))
    return copies


def shown_values(rows: list[dict[str, Any]]) -> list[str]:
    """How a copied value could appear in output: text as is, bytes as hex."""
    shown = []
    for row in rows:
        for value in row.values():
            if isinstance(value, bytes) and len(value) >= 8:
                shown.append(value.hex())
            elif isinstance(value, str) and len(value) >= 8:
                shown.append(value)
    return shown


def invoke(runtime: Runtime, *args: str) -> Result:
    """`reelm residency check …` in this process, against the test databases and buckets."""
    return CliRunner().invoke(cli_app, ["residency", "check", *args], env=command_env(runtime))


def command_env(runtime: Runtime) -> dict[str, str]:
    return live.external_env(runtime) | {
        "COLUMNS": "250",  # Rich would wrap the tables at 80
        # Starting a runtime checks the realms' keys (reelm.crypto.keys): share the test runtime's folder.
        "REELM_KEY_DIR": str(key_root(runtime).resolve()),
        "REELM_CREATE_MISSING_KEYS": "true",
    }


def key_root(runtime: Runtime) -> Path:
    # Settings without realm keys ignore both variables; the default folder is then as good as any.
    root: Path = getattr(runtime.settings, "realm_key_root", runtime.settings.data_dir / "keys" / "realms")
    return root


async def run_check(runtime: Runtime, *args: str) -> Result:
    # The command runs its own event loop, so it cannot run on the test's.
    result = await asyncio.to_thread(invoke, runtime, *args)
    # An exit status of 1 must mean findings, not a crash that Click caught.
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def report_of(result: Result) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(result.output)
    return body


def where(report: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(f["realm"], f["location"], f["owner_realm"], f["kind"]) for f in report["findings"]}


async def protected_rows(runtime: Runtime, realm: str) -> int:
    total = 0
    async with runtime.databases.sessionmaker(realm)() as session:
        for table in RealmBase.metadata.sorted_tables:
            if scan.protected_columns(table):
                total += await session.scalar(select(func.count()).select_from(table)) or 0
    return total


def stored_objects(runtime: Runtime, realm: str) -> int:
    root = runtime.settings.data_dir / "objects" / realm
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


async def test_a_clean_world_passes_with_sensible_counts(runtime: Runtime, world: World) -> None:
    result = await run_check(runtime, "--json")
    assert result.exit_code == 0, result.output
    report = report_of(result)
    assert report["ok"] is True
    assert report["findings"] == []
    assert report["shared"] == []
    summaries = {s["realm"]: s for s in report["realms"]}
    assert list(summaries) == ["us", "eu", "global"]
    for realm, summary in summaries.items():
        assert summary["rows_scanned"] == await protected_rows(runtime, realm)
        assert summary["objects_checked"] == stored_objects(runtime, realm)
        assert summary["findings"] == 0
    # Two people each in us and eu, with a video, a like, a follow and a comment like; one in global.
    assert summaries["us"]["rows_scanned"] > summaries["global"]["rows_scanned"] > 0
    assert summaries["us"]["protected_values"] > summaries["us"]["rows_scanned"]
    assert summaries["us"]["objects_checked"] > 1  # the original and its renditions
    assert summaries["global"]["objects_checked"] == 0

    table = await run_check(runtime)
    assert table.exit_code == 0, table.output
    assert "No protected data outside its home realm" in table.output


async def test_a_session_of_a_us_user_in_eu_is_caught_without_showing_it(
    runtime: Runtime, world: World
) -> None:
    copies = copy_rows(runtime, "us", "eu", "sessions", "user_id", int(world.us.id))
    result = await run_check(runtime, "--json")
    assert result.exit_code == 1, result.output
    report = report_of(result)
    found = where(report)
    for column in ("token_hash", "user_id", "kind", "created_at", "expires_at"):
        assert ("eu", f"sessions.{column}", "us", "misplaced") in found
    assert {(realm, owner) for realm, _, owner, _ in found} == {("eu", "us")}
    assert {s["realm"]: bool(s["findings"]) for s in report["realms"]} == {
        "us": False,
        "eu": True,
        "global": False,
    }
    assert all(len(f["fingerprint"]) == scan.FINGERPRINT_SHOWN for f in report["findings"])

    shown = await run_check(runtime)
    assert shown.exit_code == 1
    assert "sessions.token_hash" in shown.output
    secrets = shown_values(copies)
    assert secrets  # the token hash at least
    for text in (result.output, shown.output):
        for secret in secrets:
            assert secret not in text


async def test_a_like_and_a_follow_made_by_a_us_user_in_eu_are_caught(runtime: Runtime, world: World) -> None:
    plant(
        runtime,
        "eu",
        "INSERT INTO video_likes (user_id, video_id, created_at) VALUES (%s, %s, now())",
        (int(world.us.id), int(world.eu_video)),
    )
    plant(
        runtime,
        "eu",
        "INSERT INTO follows (follower_id, followee_id, created_at) VALUES (%s, %s, now())",
        (int(world.us.id), int(world.eu.id)),
    )
    result = await run_check(runtime, "--json")
    assert result.exit_code == 1, result.output
    found = where(report_of(result))
    assert ("eu", "video_likes.video_id", "us", "misplaced") in found
    assert ("eu", "follows.followee_id", "us", "misplaced") in found
    # The eu creator's own rows are untouched: only the planted ones are reported.
    assert {owner for _, _, owner, _ in found} == {"us"}


async def test_a_us_original_copied_into_the_eu_bucket_is_caught(runtime: Runtime, world: World) -> None:
    us_store, eu_store = runtime.storage.realm("us"), runtime.storage.realm("eu")
    original = f"videos/{world.us_video}/original"
    await eu_store.put_bytes(original, await us_store.read(original))
    # A public rendition may be anywhere.
    await eu_store.put_bytes(f"videos/{world.us_video}/poster.jpg", b"public poster")
    result = await run_check(runtime, "--json")
    assert result.exit_code == 1, result.output
    assert where(report_of(result)) == {("eu", f"object:{original}", "us", "misplaced")}


async def test_an_object_of_no_known_shape_fails_closed(runtime: Runtime, world: World) -> None:
    await runtime.storage.realm("global").put_bytes("exports/dump.json", b"{}")
    result = await run_check(runtime, "--json")
    assert result.exit_code == 1, result.output
    assert where(report_of(result)) == {("global", "object:exports/dump.json", "?", "unattributed")}


async def test_a_copied_user_row_is_caught_and_never_shown(runtime: Runtime, world: World) -> None:
    us_code, eu_code = runtime.settings.realm("us").code, runtime.settings.realm("eu").code
    copies = copy_rows(
        runtime, "us", "eu", "users", "id", int(world.us.id), id=ids.new_id(us_code), handle="shadow1"
    )
    result = await run_check(runtime, "--json")
    assert result.exit_code == 1, result.output
    found = where(report_of(result))
    assert {("eu", f"users.{c}", "us", "misplaced") for c in ("email", "password_hash", "country")} <= found
    for secret in [*shown_values(copies), f"{world.us.handle}@example.org"]:
        assert secret not in result.output

    # The same bytes under an eu account are held "at home" in two realms: a warning, not a failure,
    # because the check cannot tell a copy from one person's two accounts.
    plant(runtime, "eu", "DELETE FROM users WHERE handle = %s", ("shadow1",))
    copy_rows(runtime, "us", "eu", "users", "id", int(world.us.id), id=ids.new_id(eu_code), handle="shadow2")
    warned = await run_check(runtime, "--json")
    assert warned.exit_code == 0, warned.output
    shared = {(f["realm"], f["owner_realm"]) for f in report_of(warned)["shared"]}
    assert shared == {("us", "eu"), ("eu", "us")}
    assert all(f["location"].startswith("users.") for f in report_of(warned)["shared"])


async def test_fingerprints_are_fresh_each_run(runtime: Runtime, world: World) -> None:
    copy_rows(runtime, "us", "global", "follows", "follower_id", int(world.us_fan.id))
    first = report_of(await run_check(runtime, "--json"))
    second = report_of(await run_check(runtime, "--json"))
    assert where(first) == where(second)
    assert {f["fingerprint"] for f in first["findings"]}.isdisjoint(
        f["fingerprint"] for f in second["findings"]
    )


async def test_the_command_runs_as_its_own_process(runtime: Runtime, world: World) -> None:
    plant(
        runtime,
        "global",
        "INSERT INTO video_likes (user_id, video_id, created_at) VALUES (%s, %s, now())",
        (int(world.eu_fan.id), int(world.eu_video)),
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "reelm", "residency", "check", "--json"],
        env=command_env(runtime),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr.decode()[-3000:]
    report = json.loads(done.stdout)
    assert where(report) == {
        ("global", f"video_likes.{c}", "eu", "misplaced") for c in ("user_id", "video_id", "created_at")
    }


def test_bad_arguments_exit_2(runtime: Runtime) -> None:
    result = invoke(runtime, "--realm", "mars")
    assert result.exit_code == 2
    assert "Unknown realm" in result.output


def test_every_protected_realm_table_has_an_owner() -> None:
    # A new table of protected data needs an owner the check can find, or every run fails (closed).
    unowned = [
        t.name
        for t in RealmBase.metadata.sorted_tables
        if scan.protected_columns(t) and scan.owner_column(t) is None
    ]
    assert unowned == []
    tables = RealmBase.metadata.tables
    assert scan.owner_column(tables["users"]) is tables["users"].c.id
    assert scan.owner_column(tables["follows"]) is tables["follows"].c.follower_id
    assert scan.owner_column(tables["access_justifications"]) is tables["access_justifications"].c.subject_id


def test_only_single_record_values_are_compared_across_realms() -> None:
    metadata = MetaData()
    table = Table(
        "throwaway",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("email", String, unique=True),
        Column("token", String),
        Column("country", String),
        Column("a", Integer),
        Column("b", Integer),
        UniqueConstraint("token"),
        UniqueConstraint("a", "b"),
    )
    assert [c.name for c in table.columns if scan.identifying(table, c)] == ["id", "email", "token"]
    sessions = RealmBase.metadata.tables["sessions"]
    assert scan.identifying(sessions, sessions.c.token_hash)
    assert not scan.identifying(sessions, sessions.c.user_id)


def test_a_fingerprint_depends_on_key_location_and_value() -> None:
    key = b"k" * 32
    base = scan.fingerprint(key, "users.email", "a@example.org")
    assert base == scan.fingerprint(key, "users.email", "a@example.org")
    assert base != scan.fingerprint(b"j" * 32, "users.email", "a@example.org")
    assert base != scan.fingerprint(key, "users.handle", "a@example.org")
    assert base != scan.fingerprint(key, "users.email", "b@example.org")
    assert "a@example.org" not in base
