"""Demo conversations: one across realms (us and eu, so the crossing can be watched) and one group.

Written through the messaging service as a sender's request would; the copy in the other realm is
taken in as that realm's worker would, before the answer is written.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from reelm.accounts.models import User
from reelm.crossrealm.deliveries import receive
from reelm.crossrealm.transit import ensure_transit_key
from reelm.crossrealm.views import transit_keys
from reelm.messages import conversations, sending
from reelm.messages.ciphers import CipherCache
from reelm.messages.policy import MessagingSettings
from reelm.runtime import Runtime
from reelm.worker import delivery_handlers

# (sender, recipient(s), text); a handle of another realm makes a conversation across realms.
SCRIPT = [
    ("maya.moves", ("lena.berlin",), "Your Kreuzberg night shots are unreal 📸 Collab when I'm in Berlin?"),
    ("lena.berlin", ("maya.moves",), "Ja, gern! Bring your dance crew, I'll bring the lights ✨"),
    ("chef_tom", ("maya.moves", "skate.sam"), "Rooftop cook-off Saturday? I bring pasta, you bring moves"),
    ("skate.sam", ("chef_tom", "maya.moves"), "In. I'll film the sunset part 🛹"),
]
GROUP_TITLE = "NYC creators 🗽"
KEY_WAIT_S = 30.0


async def _keys_everywhere(runtime: Runtime) -> None:
    """Every realm's transit key published and replicated to every other (seconds at most)."""
    for realm in runtime.settings.realm_names:
        await ensure_transit_key(runtime, realm)
    deadline = asyncio.get_running_loop().time() + KEY_WAIT_S
    for reader in runtime.settings.realm_names:
        for source in runtime.settings.realm_names:
            table = transit_keys(source)
            while True:
                async with runtime.databases.read(reader) as session:
                    if await session.scalar(select(func.count()).select_from(table)):
                        break
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"realm {reader} has not received {source}'s transit key")
                await asyncio.sleep(0.1)


async def converse(runtime: Runtime, people: dict[str, tuple[str, User]]) -> None:
    """Play SCRIPT; `people` maps handles to (realm, user)."""
    await _keys_everywhere(runtime)
    ciphers = CipherCache(runtime.keys)
    policy = MessagingSettings(min_account_age_hours=0)  # the demo's accounts are minutes old
    groups: dict[frozenset[str], int] = {}  # everyone in it → the group's id
    for sender_handle, to, text in SCRIPT:
        realm, sender = people[sender_handle]
        code = runtime.settings.realm(realm).code
        now = datetime.now(UTC)
        everyone = frozenset({sender_handle, *to})
        async with runtime.databases.transaction(realm) as session:
            if everyone in groups:
                conversation_id = groups[everyone]
            else:
                started = await conversations.do_start(
                    session,
                    realm=realm,
                    realm_code=code,
                    policy=policy,
                    sender=sender,
                    recipients=[(people[h][1].id, people[h][0]) for h in to],
                    now=now,
                )
                conversation_id = started.conversation.id
                if len(to) > 1:
                    started.conversation.title = GROUP_TITLE
                    groups[everyone] = conversation_id
            await sending.do_send(
                session,
                realm=realm,
                realm_code=code,
                ciphers=ciphers,
                policy=policy,
                conversation_id=conversation_id,
                sender=sender,
                body=text,
                video_id=None,
                client_key=None,
                now=now,
            )
        for other_realm in {people[h][0] for h in to} - {realm}:  # taken in before the answer, so
            await _take_in(runtime, other_realm)  # every copy reads in the same order


async def _take_in(runtime: Runtime, realm: str) -> None:
    """What the realm's worker would do on arrival, done here once the delivery has crossed."""
    deadline = asyncio.get_running_loop().time() + KEY_WAIT_S
    while not await receive(runtime, realm, delivery_handlers(runtime)):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"nothing reached realm {realm}")
        await asyncio.sleep(0.05)
