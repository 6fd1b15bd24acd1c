"""Opaque, signed cursors: clients cannot forge a position or smuggle ids into a cursor."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib
from typing import Any

from reelm.errors import Problem

_MAC_BYTES = 12


def _mac(secret: str, kind: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), kind.encode() + b"\0" + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_cursor(secret: str, kind: str, state: dict[str, Any]) -> str:
    payload = zlib.compress(json.dumps(state, separators=(",", ":")).encode(), 9)
    return base64.urlsafe_b64encode(_mac(secret, kind, payload) + payload).decode().rstrip("=")


def decode_cursor(secret: str, cursor: str, kind: str) -> dict[str, Any]:
    bad = Problem(400, "bad-cursor", "Invalid cursor", "The cursor is malformed or expired.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError as exc:
        raise bad from exc
    mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(secret, kind, payload)):
        raise bad
    state = json.loads(zlib.decompress(payload))  # signed by us, so well-formed
    if not isinstance(state, dict):
        raise bad
    return state
