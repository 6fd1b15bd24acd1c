"""Taking in a notice from another realm: someone there liked, commented on, replied to, mentioned or
followed one of this realm's users (sent by reelm.social.notify), or duetted, stitched or used the sound of
one of their videos (reelm.publishing.remix_notices).

Runs in the recipient's realm, where their blocks are: a notice from someone they blocked is dropped,
as a local one would be (reelm.notifications.service.do_notify).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import User
from reelm.crossrealm.deliveries import Inbound
from reelm.crossrealm.views import public_profiles
from reelm.notifications.models import NotificationKind
from reelm.notifications.service import do_notify

# What another realm may tell: its users' actions. Message requests and review outcomes are this realm's.
FROM_OTHER_REALMS = {
    NotificationKind.LIKE,
    NotificationKind.COMMENT,
    NotificationKind.REPLY,
    NotificationKind.MENTION,
    NotificationKind.FOLLOW,
    NotificationKind.DUET,
    NotificationKind.STITCH,
    NotificationKind.SOUND_USED,
}


async def take_notice(session: AsyncSession, inbound: Inbound) -> None:
    p = inbound.payload
    kind = NotificationKind(p["kind"])
    if kind not in FROM_OTHER_REALMS:
        raise ValueError(f"realm {inbound.source} may not send {kind} notices")
    recipient = await session.get(User, int(p["recipient_id"]))
    actor_id = int(p["actor_id"])
    actor_realm = await session.scalar(
        select(public_profiles.c.realm).where(public_profiles.c.id == actor_id)
    )
    if recipient is None or actor_realm != inbound.source:
        return  # the recipient is gone, or the actor is not (or no longer) a public user of that realm
    object_id = p.get("object_id")
    await do_notify(
        session,
        recipient_id=recipient.id,
        kind=kind,
        actor_id=actor_id,
        object_id=int(object_id) if object_id is not None else None,
    )
