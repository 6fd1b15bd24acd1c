"""Encrypted fields in the database, account deletion with crypto-shredding, and KEK rotation."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select, text

from reelm.accounts.models import HandleEntry, User
from reelm.accounts.service import read_email
from reelm.audit.models import RealmAuditOutbox
from reelm.crypto.fields import UserCipher
from reelm.crypto.keys import KeyDestroyedError, RealmKeys
from reelm.crypto.models import UserKey
from reelm.crypto.service import rewrap_batch, rotate_realm_key
from reelm.departures.purge import ACCOUNT_DELETION, purge_due_accounts
from reelm.runtime import Runtime
from reelm.storage import ObjectMissingError
from tests.conftest import PASSWORD, make_account

LATER = timedelta(days=8)  # past the default grace period of 7 days


async def raw_rows(runtime: Runtime, realm: str, table: str, user_id: int) -> list[dict[str, Any]]:
    """Rows as a database dump holds them (column → stored value)."""
    key = "id" if table == "users" else "user_id"
    async with runtime.databases.sessionmaker(realm)() as session:
        result = await session.execute(text(f"SELECT * FROM {table} WHERE {key} = :id"), {"id": user_id})
        return [dict(row) for row in result.mappings()]


async def test_the_database_holds_only_ciphertext_and_the_owner_reads_plaintext(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ana = await make_account(client, "ana")
    uid = int(ana.id)
    rows = [
        row
        for table in ("users", "sessions", "user_keys")
        for row in await raw_rows(runtime, "us", table, uid)
    ]
    stored = b"".join(value for row in rows for value in row.values() if isinstance(value, bytes))
    for plaintext in (b"ana@example.org", b"python-httpx", b"127.0.0.1"):
        assert plaintext not in stored
    (user,) = await raw_rows(runtime, "us", "users", uid)
    assert isinstance(user["email"], bytes)
    assert len(user["email_index"]) == 32  # HMAC-SHA256, not the address

    me = await client.get("/api/v1/me", headers=ana.auth)
    assert me.json()["email"] == "ana@example.org"
    settings_page = await client.get("/settings", headers=ana.auth)
    assert "ana@example.org" in settings_page.text


async def test_a_ciphertext_copied_onto_another_user_does_not_decrypt(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ana, ben = await make_account(client, "ana"), await make_account(client, "ben")
    async with runtime.databases.transaction("us") as session:
        stolen = await session.scalar(select(User.email).where(User.id == int(ana.id)))
        await session.execute(
            text("UPDATE users SET email = :e WHERE id = :id"), {"e": stolen, "id": int(ben.id)}
        )
    async with runtime.databases.sessionmaker("us")() as session:
        ben_row = await session.get(User, int(ben.id))
    assert ben_row is not None
    with pytest.raises(InvalidTag):
        await read_email(runtime, "us", ben_row)


def restore_from_dump(
    runtime: Runtime, realm: str, kek_copy: Path, dump: dict[str, list[dict[str, Any]]]
) -> str:
    """Decrypt a dumped e-mail the way whoever holds the dump and the KEK files would have to."""
    keys = RealmKeys(realm, kek_copy, create=False)
    # The shred secrets are in the realm's key store, which database dumps never contain.
    keys.shreds = runtime.keys.realm(realm).shreds
    (user,), (key,) = dump["users"], dump["user_keys"]
    cipher = UserCipher(keys.field_key(user["id"], key["kek_version"], key["wrapped_key"]), user["id"])
    return cipher.open("users.email", user["email"])


async def test_a_dump_taken_before_deletion_cannot_be_decrypted_after_shredding(
    client: httpx.AsyncClient, runtime: Runtime, tmp_path: Path
) -> None:
    ana = await make_account(client, "ana")
    bob = await make_account(client, "bob")
    uid = int(ana.id)
    await runtime.storage.realm("us").put_bytes(f"avatars/{uid}/1.jpg", b"jpeg")

    # The dump: ana's rows as stored, plus a copy of the realm's KEK and index key files.
    dump = {t: await raw_rows(runtime, "us", t, uid) for t in ("users", "sessions", "user_keys")}
    kek_copy = tmp_path / "kek-backup"
    kek_copy.mkdir()
    realm_folder = runtime.keys.realm("us").folder
    for path in [*realm_folder.glob("v*.key"), realm_folder / "index.key"]:
        shutil.copy2(path, kek_copy / path.name)
    assert restore_from_dump(runtime, "us", kek_copy, dump) == "ana@example.org"

    # Deleting needs the password again, and logs the account out everywhere at once.
    wrong = await client.request("DELETE", "/api/v1/me", headers=ana.auth, json={"password": "not it at all"})
    assert wrong.status_code == 403
    deleted = await client.request("DELETE", "/api/v1/me", headers=ana.auth, json={"password": PASSWORD})
    assert deleted.status_code == 202, deleted.text
    due = datetime.fromisoformat(deleted.json()["deletion_due_at"])
    assert timedelta(days=6.9) < due - datetime.now(UTC) < timedelta(days=7.1)
    assert (await client.get("/api/v1/me", headers=ana.auth)).status_code == 401
    assert await raw_rows(runtime, "us", "sessions", uid) == []

    # Within the grace period the purge leaves the account alone; after it, the key goes.
    assert await purge_due_accounts(runtime, "us") == 0
    assert restore_from_dump(runtime, "us", kek_copy, dump) == "ana@example.org"
    assert await purge_due_accounts(runtime, "us", now=datetime.now(UTC) + LATER) == 1

    # The same dump, with the same KEK files, no longer yields the e-mail: the data key it would need is
    # derived from the shred secret that was destroyed, and guessing that secret only fails the GCM tag.
    with pytest.raises(KeyDestroyedError):
        restore_from_dump(runtime, "us", kek_copy, dump)
    (user,), (key,) = dump["users"], dump["user_keys"]
    guess = RealmKeys("us", kek_copy, create=False)
    # Any secret in place of the destroyed one (assigned on the instance, which mypy does not allow).
    guess.shreds.get = lambda user_id: bytes(32)  # type: ignore[method-assign]
    with pytest.raises(InvalidTag):
        UserCipher(guess.field_key(uid, key["kek_version"], key["wrapped_key"]), uid).open(
            "users.email", user["email"]
        )

    # The live data is gone too; only a tombstone says that the key was destroyed.
    assert await raw_rows(runtime, "us", "users", uid) == []
    assert await raw_rows(runtime, "us", "sessions", uid) == []
    (tombstone,) = await raw_rows(runtime, "us", "user_keys", uid)
    assert tombstone["wrapped_key"] is None
    assert tombstone["destroyed_at"] is not None
    async with runtime.databases.sessionmaker(None)() as directory:
        assert await directory.scalar(select(HandleEntry).where(HandleEntry.user_id == uid)) is None
    with pytest.raises(ObjectMissingError):
        await runtime.storage.realm("us").head(f"avatars/{uid}/1.jpg")
    async with runtime.databases.sessionmaker("us")() as session:
        entries = list(
            await session.scalars(
                select(RealmAuditOutbox.entry).where(RealmAuditOutbox.event_type == ACCOUNT_DELETION)
            )
        )
    (entry,) = entries
    assert b"ana" not in entry
    assert ana.id.encode() not in entry  # the subject is a pseudonym
    assert json.loads(entry)["details"]["data_key"] == "destroyed"
    # Everyone else is untouched.
    assert (await client.get("/api/v1/me", headers=bob.auth)).json()["email"] == "bob@example.org"


async def test_logging_in_during_the_grace_period_cancels_the_deletion(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    ana = await make_account(client, "ana")
    deleted = await client.request("DELETE", "/api/v1/me", headers=ana.auth, json={"password": PASSWORD})
    assert deleted.status_code == 202
    back = await client.post("/api/v1/sessions", json={"login": "ana@example.org", "password": PASSWORD})
    assert back.status_code == 201
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {back.json()['token']}"})
    assert me.json()["deletion_due_at"] is None
    assert await purge_due_accounts(runtime, "us", now=datetime.now(UTC) + LATER) == 0


async def kek_versions(runtime: Runtime) -> list[int]:
    async with runtime.databases.sessionmaker("us")() as session:
        return list(await session.scalars(select(UserKey.kek_version).order_by(UserKey.user_id)))


async def test_rotation_rewraps_in_batches_while_reads_and_log_ins_go_on(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    accounts = [await make_account(client, name) for name in ("ana", "ben", "cai")]

    async def everyone_reads() -> None:
        for account in accounts:
            me = await client.get("/api/v1/me", headers=account.auth)
            assert me.json()["email"] == f"{account.handle}@example.org"
        login = await client.post("/api/v1/sessions", json={"login": "ben@example.org", "password": PASSWORD})
        assert login.status_code == 201

    new = runtime.keys.realm("us").kek.rotate()
    assert new == 2
    await everyone_reads()  # nothing rewrapped yet
    assert await rewrap_batch(runtime.databases, runtime.keys.realm("us"), "us", to_version=new, limit=2) == 2
    assert sorted(await kek_versions(runtime)) == [1, 2, 2]
    await everyone_reads()  # mixed versions
    # A sign-up during the rotation is wrapped with the new version at once.
    await make_account(client, "dee")
    assert await rewrap_batch(runtime.databases, runtime.keys.realm("us"), "us", to_version=new, limit=2) == 1
    assert await rewrap_batch(runtime.databases, runtime.keys.realm("us"), "us", to_version=new, limit=2) == 0
    assert await kek_versions(runtime) == [2, 2, 2, 2]
    await everyone_reads()
    # Duplicate e-mails are still refused (the blind index does not depend on the KEK).
    taken = await client.post(
        "/api/v1/accounts",
        json={"handle": "ana2", "email": "ANA@example.org", "password": PASSWORD, "country": "DE"},
    )
    assert taken.status_code == 409

    # The whole command in one call: a third version, every key rewrapped.
    assert await rotate_realm_key(runtime.databases, runtime.keys.realm("us"), "us", batch=3) == (3, 4)
    assert await kek_versions(runtime) == [3, 3, 3, 3]
    await everyone_reads()
