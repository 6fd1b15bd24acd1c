"""Notifications, grouped as they arrive: one row per (recipient, kind, object) while it is unread.

"alice and 3 others liked your video" is one `Notification` with four `NotificationActor` rows. Once the
recipient reads it, the next like starts a new group. Protected throughout: a notification says who
did what to whom (a like is private, a message request more so).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped

from reelm.db import TZ, RealmBase, protected, utcnow


class NotificationKind(enum.StrEnum):
    """Stable values: stored, and sent to clients."""

    LIKE = "like"  # object: the video
    COMMENT = "comment"  # object: the video
    REPLY = "reply"  # object: the video the comment is on
    FOLLOW = "follow"  # no object
    MENTION = "mention"  # object: the video
    MESSAGE_REQUEST = "message_request"  # object: the conversation
    REVIEW_OUTCOME = "review_outcome"  # object: the video; no actor (a decision of the platform)
    # Remixes of the recipient's video (reelm.publishing.remix_notices), told when the remix is published.
    DUET = "duet"  # object: the duet (each duet is its own notification, opening the duet itself)
    STITCH = "stitch"  # object: the stitch
    SOUND_USED = "sound_used"  # object: the sound (its uses group, and open the sound's page)
    NEW_LOGIN = "new_login"  # no object, no actor: the account was logged in to (reelm.accounts.sessions)
    # A scheduled post that the realm's upload switch held back went out once uploads were restored
    # (reelm.publishing.scheduled). Object: the video; no actor.
    POST_PUBLISHED = "post_published"


NO_OBJECT = 0  # the object of a follow: all new followers form one group


class Notification(RealmBase):
    __tablename__ = "notifications"
    __table_args__ = (
        # At most one unread group per (recipient, kind, object): new actors join it.
        Index(
            "ix_notifications_unread_group",
            "recipient_id",
            "kind",
            "object_id",
            unique=True,
            postgresql_where=text("read_at IS NULL"),
        ),
        Index("ix_notifications_recipient_updated", "recipient_id", "updated_at"),
        {"info": {"owner_column": "recipient_id"}},
    )

    id: Mapped[int] = protected(BigInteger, primary_key=True, autoincrement=False)
    recipient_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = protected(String(20))
    object_id: Mapped[int] = protected(BigInteger, default=NO_OBJECT)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
    updated_at: Mapped[datetime] = protected(TZ, default=utcnow)  # the latest actor's time: orders the list
    read_at: Mapped[datetime | None] = protected(TZ)


class NotificationActor(RealmBase):
    """Who is behind a notification; acting twice (like, unlike, like) counts once."""

    __tablename__ = "notification_actors"
    __table_args__ = (
        Index("ix_notification_actors_actor", "actor_id"),
        # What the recipient was told; the actor may live in another realm (reelm.notifications.inbound).
        {"info": {"owner_column": "recipient_id"}},
    )

    notification_id: Mapped[int] = protected(
        BigInteger, ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )
    # No foreign key: the actor may be someone of another realm; the purge removes its rows itself.
    actor_id: Mapped[int] = protected(BigInteger, primary_key=True)
    recipient_id: Mapped[int] = protected(BigInteger)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)


class NotificationMute(RealmBase):
    """A kind of notification its recipient turned off: none of that kind is recorded for them, nor counted.

    Only the kinds turned off have a row, so a kind added later is on for everyone until they say otherwise.
    """

    __tablename__ = "notification_mutes"

    user_id: Mapped[int] = protected(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = protected(String(20), primary_key=True)
    created_at: Mapped[datetime] = protected(TZ, default=utcnow)
