"""What a realm tells the realm of a conversation's peer: the sending half of messages across realms.

A direct conversation with someone of another realm has a copy in each realm (reelm.messages.models).
Everything one side does that the other must see crosses as a delivery (reelm.crossrealm.deliveries),
written in the transaction of the action itself, so it is sent exactly when the action commits. Ids
cross unchanged (a message has the same id in both copies); sequence numbers do not, each copy has
its own. reelm.messages.inbound is the receiving half.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from reelm.crossrealm.deliveries import deliver
from reelm.crossrealm.transit import NoTransitKeyError
from reelm.errors import Problem

log = logging.getLogger(__name__)


class Kind(enum.StrEnum):
    MESSAGE = "message"  # a new message for the peer
    UNSEND = "unsend"  # the sender took a message back
    READ = "read"  # the peer read up to a message
    REFUSED = "refused"  # the recipient's realm did not take a message in, and why
    FORGET = "forget"  # an account was purged: its messages and notices go everywhere
    GROUP = "group"  # a group's people or title changed (reelm.messages.group_crossing)
    LEFT = "left"  # someone left a group


async def send(
    session: AsyncSession, *, source: str, target: str, kind: Kind, payload: dict[str, Any]
) -> None:
    try:
        await deliver(session, source=source, target=target, kind=kind.value, payload=payload)
    except NoTransitKeyError as exc:  # only while a new realm's worker has not started yet
        raise Problem(
            503,
            "realm-unreachable",
            "Can't reach that region yet",
            f"Messages to people in realm '{target}' cannot be delivered yet; try again in a minute.",
        ) from exc


def message_payload(
    *,
    message_id: int,
    sender_id: int,
    recipient_id: int | None,  # None in a group: its copies know who is in it
    body: str | None,
    video_id: int | None,
    created_at: datetime,
    read_through: int | None,
) -> dict[str, Any]:
    return {
        "read_through": read_through,
        "id": message_id,
        "sender_id": sender_id,
        "recipient_id": recipient_id,
        "body": body,
        "video_id": video_id,
        "created_at": created_at.isoformat(),
    }


async def forget_everywhere(session: AsyncSession, realm: str, user_id: int, realms: Sequence[str]) -> None:
    """A purged account's messages and notices in other realms' copies go too (reelm.messages.inbound)."""
    for target in realms:
        if target == realm:
            continue
        try:
            await deliver(
                session, source=realm, target=target, kind=Kind.FORGET, payload={"user_id": user_id}
            )
        except NoTransitKeyError:  # that realm has never run a worker, so it holds nothing of theirs
            log.warning("realm %s has no transit key: nothing to forget there", target)
