"""`reelm realm …`: suspend, restore and status, their bad-input errors, and a running server following them.

These tests are synchronous: the commands run their own event loop, as they do from a shell.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import TupleRow
from typer.testing import CliRunner, Result

from reelm.audit.service import CAPABILITY_CHANGE
from reelm.cli.main import app as cli_app
from reelm.db import libpq_url
from reelm.realms.models import Capability
from reelm.runtime import Runtime
from tests import live
from tests.realms.common import DEADLINE_S, NOTICE

Directory = psycopg.Connection[TupleRow]  # the directory database, in autocommit


@pytest.fixture
def reelm(runtime: Runtime) -> Callable[..., Result]:
    """Run `reelm …` in this process against the test databases; returns the result."""
    env = live.external_env(runtime) | {"COLUMNS": "250"}  # Rich would wrap the table at 80

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli_app, list(args), env=env)

    return invoke


@pytest.fixture
def directory(runtime: Runtime) -> Iterator[Directory]:
    with psycopg.connect(libpq_url(runtime.databases.directory_url), autocommit=True) as conn:
        yield conn


def switches(directory: Directory) -> dict[tuple[str, str], tuple[str, int, str]]:
    rows = directory.execute("SELECT realm, capability, state, percent, notice FROM realm_capabilities")
    return {(r, c): (s, p, n) for r, c, s, p, n in rows}


def log_entries(directory: Directory) -> list[dict[str, Any]]:
    rows = directory.execute(
        "SELECT entry FROM audit_outbox WHERE event_type = %s ORDER BY id", (CAPABILITY_CHANGE,)
    )
    return [json.loads(bytes(entry)) for (entry,) in rows]


def test_suspend_restore_and_status(reelm: Callable[..., Result], directory: Directory) -> None:
    suspended = reelm(
        "realm", "suspend", "us", "--capability", "all", "--notice", NOTICE, "--reason", "Order 7"
    )
    assert suspended.exit_code == 0, suspended.output
    assert switches(directory) == {("us", c.value): ("off", 0, NOTICE) for c in Capability}
    entries = log_entries(directory)
    assert len(entries) == len(Capability)
    assert {e["actor"]["kind"] for e in entries} == {"operator-cli"}
    assert entries[0]["details"] | {"capability": None} == {
        "realm": "us",
        "capability": None,
        "state": "off",
        "percent": 0,
        "notice": NOTICE,
        "reason": "Order 7",
    }

    restored = reelm("realm", "restore", "us", "--capability", "message,comment,profile_edit")
    assert restored.exit_code == 0, restored.output
    partial = reelm("realm", "restore", "us", "--capability", "watch", "--percent", "10")
    assert partial.exit_code == 0, partial.output
    now = switches(directory)
    assert now[("us", "comment")] == ("on", 100, "")
    assert now[("us", "watch")] == ("percent", 10, NOTICE)  # the notice stays for those left out
    assert now[("us", "upload")] == ("off", 0, NOTICE)

    status = reelm("realm", "status", "us")
    assert status.exit_code == 0, status.output
    assert "10 %" in status.output
    assert "operator-cli" in status.output
    everything = reelm("realm", "status")
    assert all(realm in everything.output for realm in ("us", "eu", "global"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["suspend", "mars", "--capability", "all", "--notice", NOTICE], "Unknown realm 'mars'"),
        (["suspend", "us", "--capability", "upload,teleport", "--notice", NOTICE], "unknown 'teleport'"),
        (["suspend", "us", "--capability", ",", "--notice", NOTICE], "Invalid --capability"),
        (["suspend", "us", "--capability", "upload", "--notice", "  "], "--notice must say something"),
        (["suspend", "us", "--capability", "upload", "--notice", "x" * 501], "notice"),
        (["restore", "us", "--capability", "watch", "--percent", "0"], "--percent must be between 1 and 100"),
        (
            ["restore", "us", "--capability", "watch", "--percent", "101"],
            "--percent must be between 1 and 100",
        ),
        (["status", "mars"], "Unknown realm 'mars'"),
    ],
)
def test_bad_input_is_a_clear_error_that_changes_nothing(
    reelm: Callable[..., Result], directory: Directory, args: list[str], message: str
) -> None:
    result = reelm("realm", *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())  # Rich wraps long lines
    assert switches(directory) == {}
    assert log_entries(directory) == []


def test_the_realm_commands_are_registered() -> None:
    result = CliRunner().invoke(cli_app, ["realm", "--help"])
    assert result.exit_code == 0, result.output
    assert all(command in result.output for command in ("suspend", "restore", "status"))


def wait_for_status(url: str, status: int) -> httpx.Response:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        response = httpx.get(url, timeout=5)
        if response.status_code == status:
            return response
        assert time.monotonic() < deadline, f"{url} still answers {response.status_code}"
        time.sleep(0.05)


def test_a_running_server_follows_the_command_line(
    reelm: Callable[..., Result], runtime: Runtime, tmp_path: Path
) -> None:
    server, base = live.start_server(runtime, tmp_path / "server.log")
    try:
        url = f"{base}/api/v1/hashtags/sunset/videos"  # anonymous visitors search the global realm
        assert httpx.get(url, timeout=5).status_code == 200
        assert (
            reelm("realm", "suspend", "global", "--capability", "search", "--notice", NOTICE).exit_code == 0
        )
        refused = wait_for_status(url, 451)
        assert refused.json()["notice"] == NOTICE
        assert refused.headers["link"] == f'<{base}/api/v1/realms/global/capabilities>; rel="blocked-by"'
        assert reelm("realm", "restore", "global", "--capability", "search").exit_code == 0
        wait_for_status(url, 200)
    finally:
        live.stop(server)
