"""The Vault Transit KEK against a Transit-compatible server on 127.0.0.1.

Vault and OpenBao cannot be installed on this machine (not in the package registries it reaches), so
the server below implements the few Transit endpoints the KEK uses, with their documented request and
response shapes and real AES-256-GCM, and the tests exercise the real client over real HTTP.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from reelm.crypto.keys import Keys, MissingKeyError, RealmKeys
from reelm.crypto.vault import VaultError, VaultTransitKek, vault_keks
from tests.conftest import make_settings

TOKEN = "s.test-token"


class Transit:
    """Versioned aes256-gcm96 keys, as Vault's Transit engine keeps them."""

    def __init__(self) -> None:
        self.keys: dict[str, list[bytes]] = {"realm-eu": [secrets.token_bytes(32)]}

    def handle(self, method: str, path: str, body: dict[str, str]) -> tuple[int, dict[str, object]]:
        parts = path.removeprefix("/v1/transit/").split("/")
        name = parts[1] if len(parts) > 1 else ""
        if name not in self.keys:
            return 404, {"errors": []}
        versions = self.keys[name]
        if method == "GET" and parts[0] == "keys" and len(parts) == 2:
            return 200, {"data": {"latest_version": len(versions), "type": "aes256-gcm96"}}
        if parts[0] == "keys" and parts[2:] == ["rotate"]:
            versions.append(secrets.token_bytes(32))
            return 204, {}
        aad = base64.b64decode(body.get("associated_data", ""))
        if parts[0] == "encrypt":
            nonce = secrets.token_bytes(12)
            sealed = AESGCM(versions[-1]).encrypt(nonce, base64.b64decode(body["plaintext"]), aad)
            text = base64.b64encode(nonce + sealed).decode()
            return 200, {
                "data": {"ciphertext": f"vault:v{len(versions)}:{text}", "key_version": len(versions)}
            }
        if parts[0] == "decrypt":
            _, version, text = body["ciphertext"].split(":", 2)
            raw = base64.b64decode(text)
            try:
                plain = AESGCM(versions[int(version[1:]) - 1]).decrypt(raw[:12], raw[12:], aad)
            except InvalidTag:
                return 400, {"errors": ["cipher: message authentication failed"]}
            return 200, {"data": {"plaintext": base64.b64encode(plain).decode()}}
        return 405, {"errors": ["unsupported"]}


@pytest.fixture
def vault() -> Iterator[tuple[str, Transit]]:
    transit = Transit()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            payload: dict[str, object]
            if self.headers.get("X-Vault-Token") != TOKEN:
                status, payload = 403, {"errors": ["permission denied"]}
            else:
                status, payload = transit.handle(method, self.path, body)
            data = json.dumps(payload).encode() if status != 204 else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", transit
    server.shutdown()
    server.server_close()


def test_data_keys_wrap_in_vault_and_survive_rotation(vault: tuple[str, Transit], tmp_path: Path) -> None:
    address, transit = vault
    kek = VaultTransitKek(address, TOKEN, "realm-eu")
    keys = RealmKeys("eu", tmp_path / "eu", create=True, kek=kek)
    assert not (tmp_path / "eu" / "v1.key").exists()  # no KEK file: the KEK stays in Vault
    version, wrapped = keys.new_user_key(42)
    assert version == 1
    assert wrapped.startswith(b"vault:v1:")
    field_key = keys.field_key(42, version, wrapped)

    assert kek.rotate() == 2
    new_version, rewrapped = keys.rewrap(42, version, wrapped)
    assert new_version == 2
    assert rewrapped.startswith(b"vault:v2:")
    assert keys.field_key(42, new_version, rewrapped) == field_key  # same data key, new wrap
    assert keys.field_key(42, version, wrapped) == field_key  # older versions still decrypt
    # The wrap is bound to its user: a wrapped key copied onto another user does not unwrap.
    with pytest.raises(VaultError, match="authentication failed"):
        keys.field_key(43, version, wrapped)
    assert len(transit.keys["realm-eu"]) == 2


def test_vault_refusals_are_clear_errors(vault: tuple[str, Transit], tmp_path: Path) -> None:
    address, _ = vault
    with pytest.raises(VaultError, match="403"):
        VaultTransitKek(address, "s.wrong", "realm-eu").current_version()
    with pytest.raises(MissingKeyError, match="no transit key 'realm-us'"):
        RealmKeys("us", tmp_path / "us", create=True, kek=VaultTransitKek(address, TOKEN, "realm-us"))
    with pytest.raises(VaultError, match="did not answer"):
        VaultTransitKek("http://127.0.0.1:9", TOKEN, "realm-eu", timeout_s=1).current_version()


def test_settings_choose_vault_per_realm(vault: tuple[str, Transit], tmp_path: Path) -> None:
    address, _ = vault
    realms = [
        {"name": "us", "code": 1, "title": "US", "countries": ["US"]},
        {"name": "eu", "code": 2, "title": "EU", "countries": [], "vault_key": "realm-eu"},
    ]
    with pytest.raises(ValueError, match="REELM_VAULT_ADDRESS"):
        make_settings(tmp_path, realms=realms, default_realm="eu")
    settings = make_settings(
        tmp_path, realms=realms, default_realm="eu", vault_address=address, vault_token=TOKEN
    )
    keys = Keys(settings.realm_key_root, create=True, keks=vault_keks(settings))
    assert isinstance(keys.realm("eu").kek, VaultTransitKek)
    assert (keys.realm("us").folder / "v1.key").exists()  # us keeps its key files
