"""What messaging shares in a process: the operator's limits, the cipher cache, the live hub."""

from __future__ import annotations

from dataclasses import dataclass

from reelm.messages.ciphers import CipherCache
from reelm.messages.live import Hub
from reelm.messages.policy import MessagingSettings
from reelm.runtime import Runtime


@dataclass
class Messaging:
    policy: MessagingSettings
    ciphers: CipherCache
    hub: Hub


def build_messaging(runtime: Runtime, policy: MessagingSettings | None = None) -> Messaging:
    """Called once by the app factory; the hub opens its database connections only when first used."""
    ciphers = CipherCache(runtime.keys)
    return Messaging(policy=policy or MessagingSettings(), ciphers=ciphers, hub=Hub(runtime, ciphers))
