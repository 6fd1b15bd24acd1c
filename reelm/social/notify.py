"""Who hears of a like, comment, reply, mention or follow: notifications for people of the actor's realm.

Called in the action's own transaction. A recipient in another realm is not notified: a notification
names its actor, and who liked or followed is protected data of the actor's realm that does not cross
(the public result does: the count, the public comment).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.models import User
from reelm.notifications.models import NotificationKind
from reelm.notifications.service import do_notify
from reelm.social.models import Comment
from reelm.text import mentions_of


async def notify_local(
    session: AsyncSession, recipient_id: int, kind: NotificationKind, actor_id: int, object_id: int | None
) -> None:
    """Notify `recipient_id` if they live in the actor's realm (where this session writes)."""
    if ids.realm_code_of(recipient_id) == ids.realm_code_of(actor_id):
        await do_notify(session, recipient_id=recipient_id, kind=kind, actor_id=actor_id, object_id=object_id)


async def notify_comment(session: AsyncSession, comment: Comment, video_owner_id: int) -> None:
    """The video's creator, the author of the comment replied to, and everyone @mentioned."""
    await notify_local(session, video_owner_id, NotificationKind.COMMENT, comment.author_id, comment.video_id)
    if comment.parent_id is not None:
        parent_author = await session.scalar(select(Comment.author_id).where(Comment.id == comment.parent_id))
        if parent_author is not None:
            await notify_local(
                session, parent_author, NotificationKind.REPLY, comment.author_id, comment.video_id
            )
    handles = mentions_of(comment.body)
    if handles:
        mentioned = await session.scalars(select(User.id).where(User.handle.in_(handles)))
        for user_id in mentioned:
            await notify_local(
                session, user_id, NotificationKind.MENTION, comment.author_id, comment.video_id
            )
