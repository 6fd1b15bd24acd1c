"""`reelm keys rotate` and `reelm accounts purge` from the command line (their own event loop)."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from reelm.cli.main import app as cli_app
from tests import live


@pytest.fixture
def reelm(runtime):
    env = live.external_env(runtime) | {"COLUMNS": "250"}

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(cli_app, list(args), env=env)

    return invoke


def test_rotate_adds_a_key_version_and_purge_runs(reelm, runtime):
    rotated = reelm("keys", "rotate", "--realm", "us")
    assert rotated.exit_code == 0, rotated.output
    assert "KEK v2" in rotated.output
    assert runtime.keys.realm("us").kek.versions() == [1, 2]  # the old version is kept
    assert runtime.keys.realm("eu").kek.versions() == [1]

    purged = reelm("accounts", "purge", "--realm", "us")
    assert purged.exit_code == 0, purged.output
    assert "purged 0" in purged.output

    for command in (("keys", "rotate"), ("accounts", "purge")):
        unknown = reelm(*command, "--realm", "mars")
        assert unknown.exit_code == 2
        assert "Unknown realm" in unknown.output
