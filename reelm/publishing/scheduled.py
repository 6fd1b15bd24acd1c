"""Publishing a draft, now or at its scheduled time (reelm.videos.drafts), with the switches of that moment.

Here, above the domains, because publishing a remix tells the original's creator (reelm.publishing.
remix_notices) and a held post tells its own creator (notifications), as a transcode's first publish does.

The realm's worker sweeps due drafts every FREQUENT_EVERY_S (reelm.worker), so a post goes out within about
that of its time; the sweep reads the database, so a worker that was down publishes what fell due meanwhile
as soon as it is back. The realm's `upload` switch is asked at publish time, for the creator (a partial
rollout admits some): a post it does not admit is held (`publish_held_at`), looked at again at each sweep,
published once the switch admits its creator, and its creator is then told.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.notifications.models import NotificationKind
from reelm.notifications.service import do_notify
from reelm.publishing.remix_notices import notify_remixed
from reelm.realms.models import Capability
from reelm.realms.service import get_switch
from reelm.realms.switches import decide
from reelm.runtime import Runtime
from reelm.videos.drafts import publish_draft
from reelm.videos.models import Video, VideoStatus

# Due drafts published per sweep transaction; a larger backlog is taken in further batches of the same sweep.
BATCH = 200
HELD_DETAIL = "held while uploads are suspended"


async def do_publish(session: AsyncSession, realm: str, video: Video) -> None:
    """Publish a ready draft (the caller has checked that it is one, and that the switch admits its
    creator)."""
    was_held = video.publish_held_at is not None
    publish_draft(video, datetime.now(UTC))
    if video.status_detail == HELD_DETAIL:
        video.status_detail = ""
    await session.flush()  # the remix notice reads the published row
    await notify_remixed(session, realm, video.id)
    if was_held:
        await do_notify(
            session,
            recipient_id=video.owner_id,
            kind=NotificationKind.POST_PUBLISHED,
            actor_id=None,
            object_id=video.id,
        )


async def _publish_batch(runtime: Runtime, realm: str, after_id: int) -> tuple[int, int | None]:
    """One batch of due drafts, in id order after `after_id`: (how many were published, the last id seen,
    None when there are no more)."""
    now = datetime.now(UTC)
    switch = await get_switch(runtime, realm, Capability.UPLOAD)
    published = 0
    async with runtime.databases.transaction(realm) as session:
        due = list(
            await session.scalars(
                select(Video)
                .where(
                    Video.draft.is_(True),
                    Video.publish_at.is_not(None),
                    Video.publish_at <= now,
                    Video.status == VideoStatus.READY,
                    Video.id > after_id,
                )
                .order_by(Video.id)
                .limit(BATCH)
                # Another worker of the realm sweeping at the same time takes the others.
                .with_for_update(skip_locked=True)
            )
        )
        for video in due:
            if decide(switch, video.owner_id):
                await do_publish(session, realm, video)
                published += 1
            elif video.publish_held_at is None:
                video.publish_held_at = now
                video.status_detail = HELD_DETAIL
    return published, (due[-1].id if len(due) == BATCH else None)


async def publish_due(runtime: Runtime, realm: str) -> int:
    """The worker's sweep: publish every due, ready draft whose creator the upload switch admits now; hold
    the others. A draft still processing at its time is published by the first sweep after it is ready."""
    total, after = 0, 0
    while True:
        published, last = await _publish_batch(runtime, realm, after)
        total += published
        if last is None:
            return total
        after = last
