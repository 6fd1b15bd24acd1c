"""Users' field ciphers, kept for a few minutes: every message sent or delivered needs its sender's.

Deriving a cipher reads the wrapped data key, unwraps it and reads the shred secret (reelm.crypto.keys);
doing that for every message of a busy conversation would cost more than the message itself. A cached
cipher outlives a shredded key by at most `ttl_s`; a purge is days after the deletion request anyway.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from sqlalchemy.ext.asyncio import AsyncSession

from reelm.crypto.fields import UserCipher
from reelm.crypto.keys import KeyDestroyedError, Keys
from reelm.crypto.service import user_cipher

BODY_COLUMN = "messages.body"  # the associated data binds a ciphertext to this column and its sender


class CipherCache:
    def __init__(self, keys: Keys, *, ttl_s: float = 300.0, capacity: int = 4096) -> None:
        self._keys = keys
        self.ttl_s = ttl_s
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, int], tuple[float, UserCipher]] = OrderedDict()

    async def get(self, session: AsyncSession, realm: str, user_id: int) -> UserCipher | None:
        """The user's cipher, or None when their key was destroyed (their messages can no longer be read)."""
        key = (realm, user_id)
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            self._entries.move_to_end(key)
            return hit[1]
        try:
            cipher = await user_cipher(session, self._keys.realm(realm), user_id)
        except KeyDestroyedError:
            self._entries.pop(key, None)
            return None
        self._entries[key] = (now + self.ttl_s, cipher)
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return cipher

    def forget(self, realm: str, user_id: int) -> None:
        self._entries.pop((realm, user_id), None)
