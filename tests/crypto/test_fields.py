"""Field encryption and the realm key files, without a database."""

from __future__ import annotations

import secrets
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from reelm.crypto.fields import UserCipher
from reelm.crypto.keys import KeyDestroyedError, Keys, MissingKeyError
from tests.conftest import make_settings


def test_round_trip_with_a_fresh_nonce_each_time() -> None:
    cipher = UserCipher(secrets.token_bytes(32), user_id=7)
    first = cipher.seal("users.email", "ana@example.org")
    second = cipher.seal("users.email", "ana@example.org")
    assert first != second  # random nonce: equal values do not give equal ciphertexts
    assert first[:1] == b"\x01"  # the format version
    assert b"ana@example.org" not in first
    assert cipher.open("users.email", first) == cipher.open("users.email", second) == "ana@example.org"
    assert cipher.seal_optional("sessions.ip", None) is None
    assert cipher.open_optional("sessions.ip", None) is None


def test_associated_data_binds_a_ciphertext_to_its_column_and_user() -> None:
    key = secrets.token_bytes(32)
    sealed = UserCipher(key, user_id=7).seal("sessions.ip", "192.0.2.1")
    with pytest.raises(InvalidTag):
        UserCipher(key, user_id=7).open("sessions.user_agent", sealed)  # moved to another column
    with pytest.raises(InvalidTag):
        UserCipher(key, user_id=8).open("sessions.ip", sealed)  # moved onto another user
    with pytest.raises(InvalidTag):
        UserCipher(secrets.token_bytes(32), user_id=7).open("sessions.ip", sealed)  # another key
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(InvalidTag):
        UserCipher(key, user_id=7).open("sessions.ip", tampered)
    with pytest.raises(ValueError, match="format"):
        UserCipher(key, user_id=7).open("sessions.ip", b"\x02" + sealed[1:])


def test_key_files_are_private_and_never_made_outside_demo_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(MissingKeyError, match="keys init"):
        Keys(tmp_path, create=False).realm("us")
    assert not (tmp_path / "us").exists()

    us = Keys(tmp_path, create=True).realm("us")
    for name in ("v1.key", "index.key"):
        mode = (tmp_path / "us" / name).stat().st_mode
        assert stat.S_IMODE(mode) == 0o600
    assert us.kek.current_version() == 1
    # Once made, a process that may not create keys starts fine and uses the same ones.
    assert Keys(tmp_path, create=False).realm("us").email_index("a@b.org") == us.email_index("a@b.org")

    assert make_settings(tmp_path, create_missing_keys=False).may_create_keys is False
    assert make_settings(tmp_path, create_missing_keys=False, demo=True).may_create_keys is True
    assert make_settings(tmp_path).realm_key_root == tmp_path / "keys" / "realms"


def test_a_wrapped_key_unwraps_only_for_its_user_and_only_while_the_shred_secret_exists(
    tmp_path: Path,
) -> None:
    keys = Keys(tmp_path, create=True).realm("us")
    version, wrapped = keys.new_user_key(41)
    field_key = keys.field_key(41, version, wrapped)
    with pytest.raises(InvalidTag):
        keys.field_key(42, version, wrapped)  # the wrap's associated data names the user
    assert keys.kek.rotate() == 2
    new_version, rewrapped = keys.rewrap(41, version, wrapped)
    assert new_version == 2
    assert keys.field_key(41, new_version, rewrapped) == field_key
    assert keys.field_key(41, version, wrapped) == field_key  # the old version still reads
    keys.shreds.destroy(41)
    with pytest.raises(KeyDestroyedError):
        keys.field_key(41, version, wrapped)
