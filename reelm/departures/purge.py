"""The purge: deleted accounts whose grace period is over lose their key, their rows and their files.

Each step is idempotent and the account stays "due" until its row is gone, so a purge that crashes
half-way is finished by the next one. The order puts the irreversible, privacy-relevant step first:
destroying the user's shred secret (reelm.crypto.keys) makes every copy of their encrypted fields
unreadable, including database dumps taken earlier, before anything else is touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import HandleEntry, User
from reelm.audit.service import pseudonym, record_event
from reelm.crypto.service import do_destroy_user_key
from reelm.messages.crossing import forget_everywhere
from reelm.notifications.models import NotificationActor
from reelm.runtime import Runtime
from reelm.safety.models import UserBlock
from reelm.social.models import Comment, Follow, VideoLike, VideoRepost
from reelm.social.service import forget_activity_on_videos
from reelm.videos.models import Video

ACCOUNT_DELETION = "account.deletion"


async def due_accounts(runtime: Runtime, realm: str, now: datetime, limit: int) -> list[int]:
    async with runtime.databases.read(realm) as session:
        rows = await session.scalars(
            select(User.id).where(User.deletion_due_at <= now).order_by(User.deletion_due_at).limit(limit)
        )
        return list(rows)


async def forget_references(session: AsyncSession, user_id: int) -> None:
    """Rows that name the account by an id with no foreign key (it might have been someone of another
    realm): who it blocked is its own row and goes with it, but who blocked it, and the notifications it
    caused, are other people's rows."""
    await session.execute(delete(NotificationActor).where(NotificationActor.actor_id == user_id))
    await session.execute(delete(UserBlock).where(UserBlock.blocked_id == user_id))


async def purge_account(runtime: Runtime, realm: str, user_id: int, now: datetime) -> bool:
    """Shred and remove one account if it is (still) due; False if it was not."""
    keys = runtime.keys.realm(realm)
    async with runtime.databases.transaction(realm) as session:
        user = await session.get(User, user_id, with_for_update=True)
        # Re-checked under the lock: a log-in may have cancelled the deletion since it was listed.
        if user is None or user.deletion_due_at is None or user.deletion_due_at > now:
            return False
        await do_destroy_user_key(session, keys, user_id)
        video_ids = list(await session.scalars(select(Video.id).where(Video.owner_id == user_id)))
        store = runtime.storage.realm(realm)
        for video_id in video_ids:
            await store.delete_prefix(f"videos/{video_id}/")
        await store.delete_prefix(f"avatars/{user_id}/")
        await store.delete_prefix(f"exports/{user_id}/")  # archives hold the same data
        # The handle goes before the row, so no moment exists where it resolves to a removed account. Its
        # look-alike digests (name_skeletons) go with it by cascade: the names are free again.
        async with runtime.databases.transaction(None) as directory:
            await directory.execute(delete(HandleEntry).where(HandleEntry.user_id == user_id))
        touched = await Touched.read(session, user_id)
        # Activity aimed at the account has no foreign key (it may come from any realm): removed here.
        await forget_activity_on_videos(session, video_ids)
        await session.execute(delete(Follow).where(Follow.followee_id == user_id))
        await forget_references(session, user_id)
        await forget_everywhere(session, realm, user_id, runtime.settings.realm_names)
        # Videos, renditions, the account's own comments, likes, follows, messages (and the copies of
        # other realms' messages sealed for it) and sessions go with the row.
        await session.delete(user)
        await session.flush()  # the cascade must have run before the counts below are recomputed
        await recount(session, touched)
        await record_event(
            session,
            realm=realm,
            event_type=ACCOUNT_DELETION,
            actor={"kind": "system", "id": "accounts.purge"},
            subject=pseudonym(runtime.settings.secret_key, realm, user_id),
            details={"data_key": "destroyed", "videos": len(video_ids)},
        )
    return True


async def recount(session: AsyncSession, touched: Touched) -> None:
    """Other people's counters that counted the removed account: what is left here plus what other
    realms' users contribute (their tallies, `reelm_received` in reelm.crossrealm.schema), so a recount
    never drops another realm's activity."""
    if touched.followed:
        here = select(func.count()).where(Follow.followee_id == User.id).scalar_subquery()
        followers = here + func.reelm_received(User.id, "user_followers")
        await session.execute(
            update(User).where(User.id.in_(touched.followed)).values(follower_count=followers)
        )
    if touched.followers:
        count = select(func.count()).where(Follow.follower_id == User.id).scalar_subquery()
        await session.execute(
            update(User).where(User.id.in_(touched.followers)).values(following_count=count)
        )
    if touched.videos:
        likes = select(func.count()).where(VideoLike.video_id == Video.id).scalar_subquery()
        comments = select(func.count()).where(Comment.video_id == Video.id).scalar_subquery()
        reposts = select(func.count()).where(VideoRepost.video_id == Video.id).scalar_subquery()
        await session.execute(
            update(Video)
            .where(Video.id.in_(touched.videos))
            .values(
                like_count=likes + func.reelm_received(Video.id, "video_likes"),
                comment_count=comments + func.reelm_received(Video.id, "video_comments"),
                repost_count=reposts + func.reelm_received(Video.id, "video_reposts"),
            )
        )
        owners = select(Video.owner_id).where(Video.id.in_(touched.videos)).scalar_subquery()
        total = select(func.coalesce(func.sum(Video.like_count), 0)).where(Video.owner_id == User.id)
        await session.execute(
            update(User).where(User.id.in_(owners)).values(likes_received=total.scalar_subquery())
        )


@dataclass(frozen=True)
class Touched:
    """Whose counters an account's removal changes: read before its rows go."""

    followed: list[int]  # accounts it followed
    followers: list[int]  # accounts that followed it
    videos: list[int]  # videos it liked, commented on or reposted

    @classmethod
    async def read(cls, session: AsyncSession, user_id: int) -> Touched:
        followed = await session.scalars(select(Follow.followee_id).where(Follow.follower_id == user_id))
        followers = await session.scalars(select(Follow.follower_id).where(Follow.followee_id == user_id))
        liked = select(VideoLike.video_id).where(VideoLike.user_id == user_id)
        commented = select(Comment.video_id).where(Comment.author_id == user_id)
        reposted = select(VideoRepost.video_id).where(VideoRepost.user_id == user_id)
        videos = await session.scalars(liked.union(commented, reposted))
        return cls(list(followed), list(followers), list(videos))


async def purge_due_accounts(
    runtime: Runtime, realm: str, *, now: datetime | None = None, batch: int = 100
) -> int:
    """Purge every account of the realm whose deletion is due; returns how many were purged."""
    now = now or datetime.now(UTC)
    purged = 0
    while due := await due_accounts(runtime, realm, now, batch):
        results = [await purge_account(runtime, realm, user_id, now) for user_id in due]
        purged += sum(results)
        if not any(results):
            break  # all cancelled meanwhile; nothing more to do in this run
    return purged
