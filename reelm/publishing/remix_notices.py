"""Telling a creator that their video was duetted or stitched, or their sound used, once the remix is
published: in the transaction that publishes it (transcode's on_publish step), so the notification exists
exactly when the remix can be watched.

Here, above the domains, because it joins two that must not know each other: sounds (what a remix is of,
from the public projections) and social's notices, which reach a creator of another realm through a sealed
`notice` delivery (reelm.social.notify; taken in by reelm.notifications.inbound under that realm's rules).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.crossrealm.views import public_sounds, public_videos
from reelm.notifications.models import NotificationKind
from reelm.social.notify import notify
from reelm.videos.models import RemixKind, Video, Visibility

_KINDS = {
    RemixKind.DUET: NotificationKind.DUET,
    RemixKind.STITCH: NotificationKind.STITCH,
    RemixKind.SOUND: NotificationKind.SOUND_USED,
}


async def notify_remixed(session: AsyncSession, realm: str, video_id: int) -> None:
    """Notify the creator of what the just-published `video_id` remixes, if it is a public remix.

    A private remix tells nobody: the notification would lead to a video its recipient may not watch. The
    original's creator is found in its public projection; an original (or sound) that is no longer public
    has nobody to tell. People remixing their own videos are not told (reelm.notifications.service).
    """
    video = await session.get(Video, video_id)
    if video is None or video.remix_kind is None or video.visibility != Visibility.PUBLIC:
        return
    kind = RemixKind(video.remix_kind)
    if kind is RemixKind.SOUND:
        source_id = video.sound_id
        query = select(public_sounds.c.owner_id).where(public_sounds.c.id == source_id)
    else:
        source_id = video.remix_of_id
        query = select(public_videos.c.owner_id).where(public_videos.c.id == source_id)
    owner_id = await session.scalar(query) if source_id is not None else None
    if owner_id is None:
        return
    # A duet or stitch is its own notification, opening it; uses of a sound group under the sound.
    object_id = source_id if kind is RemixKind.SOUND else video.id
    await notify(session, realm, owner_id, _KINDS[kind], video.owner_id, object_id)
