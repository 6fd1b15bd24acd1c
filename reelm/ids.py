"""Ids that say where they live.

An id is a positive 63-bit integer: 41 bits of milliseconds since 2025-01-01, 6 bits of realm code and
16 random bits. Any process can mint one without coordination, ids sort by creation time, and the realm
holding a row can be read off its id, so routing needs no directory look-up. JSON carries ids as strings
because JavaScript numbers lose precision above 2**53.
"""

from __future__ import annotations

import re
import secrets
import time

EPOCH_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
_REALM_BITS = 6
_RANDOM_BITS = 16
MAX_ID = (1 << 63) - 1  # ids are PostgreSQL bigints
# An id as text: ASCII digits only. `str.isdigit` also takes "²" (U+00B2), which int() refuses, and
# Arabic-Indic digits, which int() reads; the web layer's path, query and body types use this pattern.
ID_PATTERN = r"^[0-9]{1,19}$"
_ID_TEXT = re.compile(r"[0-9]{1,19}")


def new_id(realm_code: int, *, now_ms: int | None = None) -> int:
    if not 1 <= realm_code < (1 << _REALM_BITS):
        raise ValueError(f"realm code out of range: {realm_code}")
    millis = (now_ms if now_ms is not None else time.time_ns() // 1_000_000) - EPOCH_MS
    return (millis << (_REALM_BITS + _RANDOM_BITS)) | (realm_code << _RANDOM_BITS) | secrets.randbits(16)


def realm_code_of(an_id: int) -> int:
    return (an_id >> _RANDOM_BITS) & ((1 << _REALM_BITS) - 1)


def parse_id(text: str) -> int | None:
    """An id from a URL or JSON string, or None when it cannot be one."""
    if _ID_TEXT.fullmatch(text) is None:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None
