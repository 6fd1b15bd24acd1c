"""Who hears of a like, comment, reply, mention or follow, in whichever realm they live.

Called in the action's own transaction. A recipient of the actor's realm is notified at once; one of
another realm through a `notice` delivered to their realm (reelm.crossrealm.deliveries), sealed to it
and taken in by its worker (reelm.notifications.inbound): who did what to whom is protected, so it
crosses only to the one realm whose user must be told.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.crossrealm.deliveries import deliver
from reelm.crossrealm.transit import NoTransitKeyError
from reelm.crossrealm.views import public_comments, public_profiles
from reelm.notifications.models import NotificationKind
from reelm.notifications.service import do_notify
from reelm.social.models import Comment
from reelm.text import mentions_of

log = logging.getLogger(__name__)

NOTICE = "notice"  # the delivery kind


async def notify(
    session: AsyncSession,
    realm: str,
    recipient_id: int,
    kind: NotificationKind,
    actor_id: int,
    object_id: int | None,
) -> None:
    """Notify `recipient_id` of what `actor_id` (a user of `realm`, where this session writes) did."""
    if ids.realm_code_of(recipient_id) == ids.realm_code_of(actor_id):
        await do_notify(session, recipient_id=recipient_id, kind=kind, actor_id=actor_id, object_id=object_id)
        return
    target = await session.scalar(select(public_profiles.c.realm).where(public_profiles.c.id == recipient_id))
    if target is None:
        return  # not public (deleted, suspended): nobody to tell
    payload = {"recipient_id": recipient_id, "kind": kind.value, "actor_id": actor_id, "object_id": object_id}
    try:
        await deliver(session, source=realm, target=target, kind=NOTICE, payload=payload)
    except NoTransitKeyError:  # a realm whose worker never started: the action must not fail for it
        log.warning("no transit key for realm %s yet: a %s notice was not sent", target, kind)


async def notify_comment(session: AsyncSession, realm: str, comment: Comment, video_owner_id: int) -> None:
    """The video's creator, the author of the comment replied to, and everyone @mentioned."""
    await notify(
        session, realm, video_owner_id, NotificationKind.COMMENT, comment.author_id, comment.video_id
    )
    if comment.parent_id is not None:
        parent_author = await session.scalar(
            select(public_comments.c.author_id).where(public_comments.c.id == comment.parent_id)
        )
        if parent_author is not None:
            await notify(
                session, realm, parent_author, NotificationKind.REPLY, comment.author_id, comment.video_id
            )
    handles = mentions_of(comment.body)
    if handles:
        mentioned = await session.scalars(
            select(public_profiles.c.id).where(public_profiles.c.handle.in_(handles))
        )
        for user_id in mentioned:
            await notify(
                session, realm, user_id, NotificationKind.MENTION, comment.author_id, comment.video_id
            )
