"""Realm transit keys: what one realm delivers to another is sealed to the receiving realm's key.

Each realm holds X25519 key pairs, versioned: the private half wrapped by the realm's KEK in its own
database (`crossrealm_transit_keys`, never published), the public half in `outbound_<realm>.transit_keys`,
so every realm has it. A sender seals each delivery to the destination's newest key (ECIES: an
ephemeral X25519 key, HKDF-SHA256, AES-256-GCM) with the route and kind bound as associated data. So
neither the replication stream nor the copy waiting in the destination's database shows what it
carries (who writes to whom, or what), and a sealed delivery replayed on another route does not open.

A key that no longer unwraps (its KEK is gone) is replaced by a new version at the next start; a
delivery sealed to it cannot be opened and is set aside (reelm.crossrealm.deliveries).
"""

from __future__ import annotations

import asyncio
import secrets
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.crossrealm.views import transit_keys
from reelm.crypto.keys import RealmKeys
from reelm.runtime import Runtime

MAGIC = b"RT1"
_HEADER = struct.Struct(">3sI32s12s")  # magic, key version, ephemeral public key, nonce
_RAW = serialization.Encoding.Raw


class SealError(ValueError):
    """A sealed delivery that cannot be opened: unknown key version, wrong route, or tampered."""


class NoTransitKeyError(LookupError):
    """The destination realm has published no transit key (yet): nothing can be sealed to it."""


def _public_bytes(key: X25519PublicKey) -> bytes:
    return key.public_bytes(_RAW, serialization.PublicFormat.Raw)


def _wrap_aad(realm: str, version: int) -> bytes:
    return f"reelm/transit-key/v1|{realm}|{version}".encode()


def _content_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"reelm/transit/v1" + ephemeral + recipient).derive(
        shared
    )


def seal(public_key: bytes, version: int, plaintext: bytes, aad: bytes) -> bytes:
    recipient = X25519PublicKey.from_public_bytes(public_key)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _public_bytes(ephemeral.public_key())
    key = _content_key(ephemeral.exchange(recipient), ephemeral_public, public_key)
    nonce = secrets.token_bytes(12)
    header = _HEADER.pack(MAGIC, version, ephemeral_public, nonce)
    return header + AESGCM(key).encrypt(nonce, plaintext, header + aad)


def sealed_version(sealed: bytes) -> int:
    if len(sealed) < _HEADER.size or not sealed.startswith(MAGIC):
        raise SealError("not a sealed delivery")
    version: int = _HEADER.unpack_from(sealed)[1]
    return version


def open_sealed(private_key: X25519PrivateKey, sealed: bytes, aad: bytes) -> bytes:
    sealed_version(sealed)  # checks the framing
    _, _, ephemeral_public, nonce = _HEADER.unpack_from(sealed)
    recipient = _public_bytes(private_key.public_key())
    shared = private_key.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    key = _content_key(shared, ephemeral_public, recipient)
    header = sealed[: _HEADER.size]
    try:
        return AESGCM(key).decrypt(nonce, sealed[_HEADER.size :], header + aad)
    except Exception as exc:  # InvalidTag: wrong key, wrong route or altered bytes
        raise SealError("the delivery does not open with this realm's key") from exc


# --- this realm's keys ----------------------------------------------------------------------------


class TransitKeys:
    """This process's unwrapped private keys, per realm and version (they never change once made)."""

    def __init__(self) -> None:
        self._private: dict[tuple[str, int], X25519PrivateKey] = {}

    async def private(self, session: AsyncSession, keys: RealmKeys, version: int) -> X25519PrivateKey:
        cached = self._private.get((keys.realm, version))
        if cached is not None:
            return cached
        row = (
            await session.execute(
                text("SELECT wrapped_private, kek_version FROM crossrealm_transit_keys WHERE version = :v"),
                {"v": version},
            )
        ).first()
        if row is None:
            raise SealError(f"no transit key version {version} in realm {keys.realm}")
        try:
            raw = await asyncio.to_thread(keys.kek.unwrap, row[1], row[0], _wrap_aad(keys.realm, version))
        except Exception as exc:  # the KEK that wrapped it is gone
            raise SealError(f"transit key version {version} of realm {keys.realm} does not unwrap") from exc
        key = X25519PrivateKey.from_private_bytes(raw)
        self._private[(keys.realm, version)] = key
        return key


TRANSIT_KEYS = TransitKeys()


async def ensure_transit_key(runtime: Runtime, realm: str) -> int:
    """Make sure the realm has a usable transit key and that it is published; returns its version.

    Run when a realm's worker starts (and by tests): idempotent, and serialised between processes.
    """
    keys = runtime.keys.realm(realm)
    async with runtime.databases.transaction(realm) as session:
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('reelm.transit'))"))
        latest = (
            await session.execute(
                text("SELECT version, public_key FROM crossrealm_transit_keys ORDER BY version DESC LIMIT 1")
            )
        ).first()
        version, public = (latest[0], bytes(latest[1])) if latest is not None else (0, b"")
        try:
            usable = latest is not None and bool(await TRANSIT_KEYS.private(session, keys, version))
        except SealError:
            usable = False
        if not usable:
            version += 1
            private = X25519PrivateKey.generate()
            public = _public_bytes(private.public_key())
            raw = private.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
            kek_version, wrapped = await asyncio.to_thread(keys.kek.wrap, raw, _wrap_aad(realm, version))
            await session.execute(
                text(
                    "INSERT INTO crossrealm_transit_keys (version, public_key, wrapped_private, kek_version) "
                    "VALUES (:v, :p, :w, :k)"
                ),
                {"v": version, "p": public, "w": wrapped, "k": kek_version},
            )
        await session.execute(
            pg_insert(transit_keys(realm)).values(version=version, public_key=public).on_conflict_do_nothing()
        )
    return int(version)


async def destination_key(session: AsyncSession, realm: str) -> tuple[int, bytes]:
    """The newest public transit key of `realm`, as this realm's copy has it."""
    table = transit_keys(realm)
    row = (
        await session.execute(
            select(table.c.version, table.c.public_key).order_by(table.c.version.desc()).limit(1)
        )
    ).first()
    if row is None:
        raise NoTransitKeyError(f"realm {realm} has published no transit key")
    return int(row[0]), bytes(row[1])
