"""A realm's key-encryption key held by HashiCorp Vault (or OpenBao) Transit: it never leaves the KMS.

One `aes256-gcm96` Transit key per realm. Wrapping a data key is `POST /v1/<mount>/encrypt/<key>` with
the associated data in `associated_data`; Vault answers `vault:v<N>:<base64>`, whose N is the KEK
version kept with the wrapped key (`user_keys.kek_version`), so rotation works as with key files:
`POST /v1/<mount>/keys/<key>/rotate` adds a version, older ones keep decrypting, and
`reelm keys rotate` rewraps every data key under the newest. The realm's Vault token authorises only
that key (a policy per realm keeps one realm's workers from unwrapping another's keys).
"""

from __future__ import annotations

import base64

import httpx

from reelm.crypto.keys import KeyEncryptionKey, MissingKeyError
from reelm.settings import Settings

VAULT_PREFIX = "vault:v"


class VaultError(RuntimeError):
    """Vault refused or failed a request; nothing was wrapped or unwrapped."""


class VaultTransitKek:
    def __init__(self, address: str, token: str, key: str, *, mount: str = "transit", timeout_s: float = 5.0):
        self.key = key
        self._base = f"{address.rstrip('/')}/v1/{mount}"
        self._client = httpx.Client(headers={"X-Vault-Token": token}, timeout=timeout_s)

    def _call(self, method: str, path: str, body: dict[str, str] | None = None) -> dict[str, object]:
        try:
            response = self._client.request(method, f"{self._base}/{path}", json=body)
        except httpx.HTTPError as exc:
            raise VaultError(f"Vault at {self._base} did not answer: {exc}") from exc
        if response.status_code == 404 and path.startswith("keys/"):
            raise MissingKeyError(f"Vault has no transit key {self.key!r} (create it: aes256-gcm96)")
        if response.status_code >= 400:
            errors = response.json().get("errors", []) if response.content else []
            raise VaultError(f"Vault {method} {path}: {response.status_code} {'; '.join(errors)}")
        data: dict[str, object] = response.json().get("data", {}) if response.content else {}
        return data

    def current_version(self) -> int:
        return int(str(self._call("GET", f"keys/{self.key}")["latest_version"]))

    def wrap(self, plaintext: bytes, aad: bytes) -> tuple[int, bytes]:
        data = self._call(
            "POST",
            f"encrypt/{self.key}",
            {"plaintext": _b64(plaintext), "associated_data": _b64(aad)},
        )
        ciphertext = str(data["ciphertext"])
        if not ciphertext.startswith(VAULT_PREFIX):
            raise VaultError("Vault answered a ciphertext without its version prefix")
        version = int(ciphertext.removeprefix(VAULT_PREFIX).split(":", 1)[0])
        return version, ciphertext.encode()

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        ciphertext = wrapped.decode()
        if not ciphertext.startswith(f"{VAULT_PREFIX}{version}:"):
            raise VaultError(f"wrapped key is not of KEK version {version}")
        data = self._call(
            "POST", f"decrypt/{self.key}", {"ciphertext": ciphertext, "associated_data": _b64(aad)}
        )
        return base64.b64decode(str(data["plaintext"]))

    def rotate(self) -> int:
        self._call("POST", f"keys/{self.key}/rotate")
        return self.current_version()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def vault_keks(settings: Settings) -> dict[str, KeyEncryptionKey]:
    """The KEKs of the realms configured with a `vault_key` (validated by Settings)."""
    keks: dict[str, KeyEncryptionKey] = {}
    for realm in settings.realms:
        if realm.vault_key and settings.vault_address and settings.vault_token:
            token = settings.vault_token.get_secret_value()
            keks[realm.name] = VaultTransitKek(
                settings.vault_address, token, realm.vault_key, mount=settings.vault_mount
            )
    return keks
