"""`reelm keys rotate` and `reelm accounts purge` from the command line (their own event loop)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner, Result

from reelm.cli.main import app as cli_app
from reelm.crypto.keys import FileKeyEncryptionKey
from reelm.runtime import Runtime
from tests import live


@pytest.fixture
def reelm(runtime: Runtime) -> Callable[..., Result]:
    env = live.external_env(runtime) | {"COLUMNS": "250"}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli_app, list(args), env=env)

    return invoke


def file_kek(runtime: Runtime, realm: str) -> FileKeyEncryptionKey:
    kek = runtime.keys.realm(realm).kek
    assert isinstance(kek, FileKeyEncryptionKey)  # the test runtime keeps its keys in files
    return kek


def test_rotate_adds_a_key_version_and_purge_runs(reelm: Callable[..., Result], runtime: Runtime) -> None:
    rotated = reelm("keys", "rotate", "--realm", "us")
    assert rotated.exit_code == 0, rotated.output
    assert "KEK v2" in rotated.output
    assert file_kek(runtime, "us").versions() == [1, 2]  # the old version is kept
    assert file_kek(runtime, "eu").versions() == [1]

    purged = reelm("accounts", "purge", "--realm", "us")
    assert purged.exit_code == 0, purged.output
    assert "purged 0" in purged.output

    for command in (("keys", "rotate"), ("accounts", "purge")):
        unknown = reelm(*command, "--realm", "mars")
        assert unknown.exit_code == 2
        assert "Unknown realm" in unknown.output
