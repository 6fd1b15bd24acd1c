"""Encryption of protected fields with AES-256-GCM under a user's field key.

Stored form: one version byte, a random 96-bit nonce, then the ciphertext with its tag. The associated
data names the column and the user, so a ciphertext moved to another column or onto another user's row
fails to decrypt instead of showing someone else's value.
"""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from reelm.crypto.keys import NONCE_BYTES

FORMAT_V1 = b"\x01"


def associated_data(column: str, user_id: int) -> bytes:
    return f"reelm/field/v1|{column}|{user_id}".encode()


class UserCipher:
    """Seals and opens one user's protected fields; `column` is "table.column"."""

    def __init__(self, key: bytes, user_id: int) -> None:
        self._aead = AESGCM(key)
        self.user_id = user_id

    def seal(self, column: str, value: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return (
            FORMAT_V1
            + nonce
            + self._aead.encrypt(nonce, value.encode(), associated_data(column, self.user_id))
        )

    def seal_optional(self, column: str, value: str | None) -> bytes | None:
        return None if value is None else self.seal(column, value)

    def open(self, column: str, blob: bytes) -> str:
        """The plaintext; raises cryptography's InvalidTag for a wrong key, user, column or any tampering."""
        if blob[:1] != FORMAT_V1:
            raise ValueError(f"unknown ciphertext format {blob[:1]!r}")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        return self._aead.decrypt(nonce, sealed, associated_data(column, self.user_id)).decode()

    def open_optional(self, column: str, blob: bytes | None) -> str | None:
        return None if blob is None else self.open(column, blob)
