"""The key hierarchy of a realm, and why it makes crypto-shredding reach old backups.

Protected fields are encrypted with a per-user *field key* that is derived from two secrets, kept in
two different places:

- the user's **data key** (DEK, 256 random bits), stored in the realm database (`user_keys`) wrapped by
  the realm's **key-encryption key** (KEK). The KEK lives outside the database: a file per version in
  the realm's key folder, or a KMS (see `KeyEncryptionKey`). Rotating the KEK rewraps these rows.
- the user's **shred secret** (256 random bits), kept only in the realm's *key store* outside the
  database (`<key folder>/users/`), never in any table.

    field key = HKDF-SHA256(DEK || shred secret, info = "reelm/field-key/v1|<realm>|<user id>")

Why both: a database dump contains the wrapped DEK, and the KEK must outlive any one user (it is backed
up for disaster recovery), so wrapping alone could never make a dump unreadable for one person. The
shred secret is what deletion destroys; since it was never in the database, a dump taken before the
deletion, even together with the KEK files, no longer yields the field key. Conversely the key store
alone is useless without the database and the KEK. The key store's own backups must therefore be
short-lived (shorter than the grace period plus the backup retention you promise), while KEK files and
database dumps may be kept for long.

The e-mail blind index uses a separate per-realm HMAC key (`index.key` in the same folder): e-mail
look-ups must work across KEK rotations, and a dump without the key folder reveals no address.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
_VERSION_FILE = re.compile(r"^v(\d+)\.key$")


class MissingKeyError(RuntimeError):
    """A realm key file is absent where it may not be created (outside demo mode)."""


class KeyDestroyedError(LookupError):
    """The user's key material is gone: the account was deleted and its data shredded."""


class KeyEncryptionKey(Protocol):
    """A realm's KEK, versioned so that it can rotate while every older wrap stays readable.

    This is also the interface for a KMS, whose KEK never leaves it. For Vault Transit (an
    `aes256-gcm96` key per realm): `wrap` is `POST /transit/encrypt/:name` (its `vault:vN:` prefix gives
    the version; the associated data goes in `associated_data`), `unwrap` is `/transit/decrypt/:name`,
    `rotate` is `/transit/keys/:name/rotate`, and `/transit/rewrap/:name` may replace unwrap-then-wrap
    during rotation. For AWS KMS: `Encrypt`/`Decrypt` with the associated data as `EncryptionContext`,
    and one key alias per version (AWS rotation keeps the key id, so the version is tracked by the
    alias). Shredding never relies on deleting a KMS key (AWS waits 7-30 days; Vault derived keys cannot
    shred one user): it destroys the user's shred secret instead (see the module docstring).
    """

    def current_version(self) -> int: ...
    def wrap(self, plaintext: bytes, aad: bytes) -> tuple[int, bytes]: ...
    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes: ...
    def rotate(self) -> int: ...


def _write_new_key(path: Path) -> None:
    """Write 32 random bytes to a new file readable by its owner only; fails if the file exists."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_bytes(KEY_BYTES))
        # A key that vanished in a crash would make everything it protects unreadable.
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_key(path: Path) -> bytes:
    data = path.read_bytes()
    if len(data) != KEY_BYTES:
        raise MissingKeyError(f"{path} is not a {KEY_BYTES}-byte key")
    return data


class FileKeyEncryptionKey:
    """KEK versions as files `v1.key`, `v2.key` … in one folder; the highest version wraps new keys."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._cache: dict[int, bytes] = {}  # versions never change once written

    def versions(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        found = (_VERSION_FILE.match(p.name) for p in self.folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def current_version(self) -> int:
        # Listed on every call: another process may have rotated, and new wraps must use the new version.
        versions = self.versions()
        if not versions:
            raise MissingKeyError(f"no key-encryption key in {self.folder} (see `reelm keys init`)")
        return versions[-1]

    def _key(self, version: int) -> bytes:
        if version not in self._cache:
            path = self.folder / f"v{version}.key"
            if not path.exists():
                raise MissingKeyError(f"key-encryption key version {version} is missing from {self.folder}")
            self._cache[version] = _read_key(path)
        return self._cache[version]

    def wrap(self, plaintext: bytes, aad: bytes) -> tuple[int, bytes]:
        version = self.current_version()
        nonce = secrets.token_bytes(NONCE_BYTES)
        return version, nonce + AESGCM(self._key(version)).encrypt(nonce, plaintext, aad)

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        return AESGCM(self._key(version)).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)

    def rotate(self) -> int:
        versions = self.versions()
        new = (versions[-1] if versions else 0) + 1
        _write_new_key(self.folder / f"v{new}.key")  # O_EXCL: two rotations at once cannot both win
        return new


class FileShredStore:
    """Per-user shred secrets, one file each, outside the database; destroying one is the shredding."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, user_id: int) -> Path:
        # Spread over subfolders so that no folder holds millions of entries.
        return self.folder / f"{user_id % 997:03d}" / f"{user_id}.key"

    def create(self, user_id: int) -> None:
        _write_new_key(self._path(user_id))

    def get(self, user_id: int) -> bytes:
        try:
            return _read_key(self._path(user_id))
        except FileNotFoundError as exc:
            raise KeyDestroyedError(f"user {user_id}: key destroyed") from exc

    def destroy(self, user_id: int) -> None:
        self._path(user_id).unlink(missing_ok=True)


class RealmKeys:
    """Everything key-related of one realm."""

    def __init__(
        self, realm: str, folder: Path, *, create: bool, kek: KeyEncryptionKey | None = None
    ) -> None:
        self.realm = realm
        self.folder = folder
        files = FileKeyEncryptionKey(folder)
        self.kek: KeyEncryptionKey = kek or files
        self.shreds = FileShredStore(folder / "users")
        index_path = folder / "index.key"
        if create:
            if kek is None and not files.versions():  # a KMS key is made in the KMS, never here
                files.rotate()
            if not index_path.exists():
                _write_new_key(index_path)
        self.kek.current_version()  # raises MissingKeyError
        if not index_path.exists():
            raise MissingKeyError(f"no e-mail index key {index_path} (see `reelm keys init`)")
        self._index_key = _read_key(index_path)

    def _dek_aad(self, user_id: int) -> bytes:
        # Binds a wrapped key to its user and realm: a row copied onto another user does not unwrap.
        return f"reelm/dek|{self.realm}|{user_id}".encode()

    def new_user_key(self, user_id: int) -> tuple[int, bytes]:
        """Create the user's shred secret and a data key; returns (KEK version, wrapped data key)."""
        self.shreds.create(user_id)
        return self.kek.wrap(secrets.token_bytes(KEY_BYTES), self._dek_aad(user_id))

    def rewrap(self, user_id: int, version: int, wrapped: bytes) -> tuple[int, bytes]:
        dek = self.kek.unwrap(version, wrapped, self._dek_aad(user_id))
        return self.kek.wrap(dek, self._dek_aad(user_id))

    def field_key(self, user_id: int, version: int, wrapped: bytes) -> bytes:
        dek = self.kek.unwrap(version, wrapped, self._dek_aad(user_id))
        shred = self.shreds.get(user_id)
        return HKDF(
            algorithm=hashes.SHA256(),
            length=KEY_BYTES,
            salt=None,
            info=f"reelm/field-key/v1|{self.realm}|{user_id}".encode(),
        ).derive(dek + shred)

    def email_index(self, email: str) -> bytes:
        """Keyed blind index of a normalised address: equal addresses match, the value reveals none."""
        mac = hmac.HMAC(self._index_key, hashes.SHA256())
        mac.update(email.encode())
        return mac.finalize()


class Keys:
    """The realms' keys of one process, loaded on first use."""

    def __init__(
        self, root: Path, *, create: bool, keks: Mapping[str, KeyEncryptionKey] | None = None
    ) -> None:
        self.root = root
        self.create = create
        self._keks = dict(keks or {})  # realms whose KEK lives in a KMS; the others use key files
        self._realms: dict[str, RealmKeys] = {}

    def realm(self, name: str) -> RealmKeys:
        if name not in self._realms:
            kek = self._keks.get(name)
            self._realms[name] = RealmKeys(name, self.root / name, create=self.create, kek=kek)
        return self._realms[name]
