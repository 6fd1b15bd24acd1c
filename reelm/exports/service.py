"""Requesting a data export, reading its state, and gathering what goes into the archive."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids, jobs
from reelm.accounts.models import AuthSession, User
from reelm.crypto.service import user_cipher
from reelm.errors import Problem, not_found
from reelm.events.models import WatchEvent
from reelm.exports.models import IN_PROGRESS, DataExport, ExportStatus
from reelm.messages.ciphers import CipherCache
from reelm.messages.models import (
    AllowFrom,
    Conversation,
    ConversationMember,
    ConversationPeer,
    MemberState,
    MessageSettings,
)
from reelm.messages.reading import messages_before, messages_out
from reelm.messages.schemas import MessageOut
from reelm.notifications.models import NO_OBJECT, Notification, NotificationActor
from reelm.notifications.service import people_out
from reelm.recommend.models import ViewerProfile
from reelm.runtime import Runtime
from reelm.safety.models import UserBlock
from reelm.search import history as search_history
from reelm.search.hashtag_follows import followed_hashtags
from reelm.social.kept_data import kept_by
from reelm.social.models import Comment, CommentLike, Follow, VideoLike
from reelm.transparency.queries import entries_about
from reelm.videos.models import Video
from reelm.videos.permissions import account_defaults, permissions_of

BUILD_TASK = "build_data_export"
# Rows read per query for the sections that can grow without bound: a conversation of years, or a
# heavy viewer's events, is read in pages rather than in one result.
MESSAGE_BATCH = 500
EVENT_BATCH = 5000


def export_key(user_id: int, export_id: int) -> str:
    return f"exports/{user_id}/{export_id}.zip"


async def do_request_export(session: AsyncSession, runtime: Runtime, realm: str, user_id: int) -> DataExport:
    """Record the request and queue its build in the same transaction: both exist or neither does."""
    # The user row is locked so that two simultaneous requests cannot both see no export in progress.
    await session.get(User, user_id, with_for_update=True)
    busy = await session.scalar(
        select(DataExport.id).where(DataExport.user_id == user_id, DataExport.status.in_(IN_PROGRESS))
    )
    if busy is not None:
        raise Problem(
            409, "export-in-progress", "Export in progress", "Your previous export is still being built."
        )
    export = DataExport(
        id=ids.new_id(runtime.settings.realm(realm).code),
        user_id=user_id,
        status=ExportStatus.REQUESTED,
        progress=0,
        created_at=datetime.now(UTC),
    )
    session.add(export)
    await session.flush()  # the row must exist before the job that refers to it
    await jobs.defer(session, BUILD_TASK, export_id=export.id)
    return export


async def access_export(session: AsyncSession, user_id: int, export_id: str) -> DataExport:
    """The export, only for its owner: anyone else learns nothing, not even that it exists."""
    parsed = ids.parse_id(export_id)
    export = await session.get(DataExport, parsed) if parsed is not None else None
    if export is None or export.user_id != user_id:
        raise not_found("Export")
    return export


def is_expired(export: DataExport, now: datetime) -> bool:
    return export.status == ExportStatus.EXPIRED or (
        export.expires_at is not None and export.expires_at <= now
    )


async def latest_export(session: AsyncSession, user_id: int) -> DataExport | None:
    return await session.scalar(
        select(DataExport)
        .where(DataExport.user_id == user_id)
        .order_by(DataExport.created_at.desc())
        .limit(1)
    )


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _video_json(video: Video) -> dict[str, Any]:
    return {
        "id": str(video.id),
        "caption": video.caption,
        "hashtags": video.hashtags,
        "mentions": video.mentions,
        "visibility": video.visibility,
        "status": video.status,
        "width": video.width,
        "height": video.height,
        "duration_s": video.duration_s,
        "created_at": _when(video.created_at),
        "published_at": _when(video.published_at),
        "like_count": video.like_count,
        "comment_count": video.comment_count,
        "share_count": video.share_count,
        "view_count": video.view_count,
        "original_size": video.original_size,
        "permissions": permissions_of(video).model_dump(mode="json"),
    }


async def _handles(session: AsyncSession, realm: str, user_ids: Collection[int]) -> dict[int, str]:
    """Handles of `user_ids`, of any realm (one no longer public is listed by id only)."""
    people = await people_out(session, realm, set(user_ids))
    return {user_id: person.handle for user_id, person in people.items()}


def _message_json(message: MessageOut) -> dict[str, Any]:
    return {
        "id": message.id,
        "seq": message.seq,
        "sender_id": message.sender.id,
        "body": message.body,
        "video_id": message.video_id,
        "created_at": _when(message.created_at),
        "unsent": message.unsent,
        # Set when the recipient's realm did not take the message in, so the archive says it never arrived.
        "refusal": message.refusal,
    }


async def _history(
    session: AsyncSession, realm: str, ciphers: CipherCache, member: ConversationMember
) -> list[dict[str, Any]]:
    """The messages the member can still see, oldest first, bodies decrypted.

    Read back from the latest a page at a time, the way the inbox pages, so a conversation of years never
    loads whole; the same rule as the inbox decides what is visible (nothing they cleared or hid).
    Decryption goes through `messages_out` alone: it is the one place that knows whose key sealed a body.
    """
    if member.state == MemberState.LEFT:
        # Leaving cleared everything up to then; whatever a group said afterwards was never theirs to see.
        return []
    pages: list[list[dict[str, Any]]] = []
    before: int | None = None
    while True:
        page = await messages_before(session, member, before, MESSAGE_BATCH)
        pages.append([_message_json(m) for m in await messages_out(session, realm, ciphers, page)])
        if len(page) < MESSAGE_BATCH:
            break
        before = page[0].seq
    return [item for chunk in reversed(pages) for item in chunk]


async def _conversations(
    session: AsyncSession, realm: str, ciphers: CipherCache, user_id: int
) -> list[dict[str, Any]]:
    """Every conversation the user is a member of, whatever their state in it, with what they can read."""
    rows = (
        await session.execute(
            select(Conversation, ConversationMember)
            .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
            .where(ConversationMember.user_id == user_id)
            .order_by(Conversation.created_at, Conversation.id)
        )
    ).all()
    others: dict[int, list[int]] = defaultdict(list)
    member_rows = await session.execute(
        select(ConversationMember.conversation_id, ConversationMember.user_id)
        .where(
            ConversationMember.conversation_id.in_([c.id for c, _ in rows]),
            ConversationMember.user_id != user_id,
        )
        .order_by(ConversationMember.joined_at, ConversationMember.user_id)
    )
    for conversation_id, member_id in member_rows:
        others[conversation_id].append(member_id)
    for conversation, _ in rows:
        # Someone of another realm has no member row here: the conversation's copy names them instead.
        if conversation.peer_id is not None:
            others[conversation.id].append(conversation.peer_id)
    peer_rows = await session.execute(
        select(ConversationPeer.conversation_id, ConversationPeer.user_id).where(
            ConversationPeer.conversation_id.in_([c.id for c, _ in rows])
        )
    )
    for conversation_id, peer_id in peer_rows:
        others[conversation_id].append(peer_id)
    handles = await _handles(session, realm, {i for members in others.values() for i in members})
    out = []
    for conversation, member in rows:
        out.append(
            {
                "id": str(conversation.id),
                "kind": conversation.kind,
                "created_at": _when(conversation.created_at),
                "state": member.state,
                "muted": member.muted,
                "joined_at": _when(member.joined_at),
                "members": [{"user_id": str(i), "handle": handles.get(i)} for i in others[conversation.id]],
                "messages": await _history(session, realm, ciphers, member),
            }
        )
    return out


async def _notifications(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    notifications = list(
        await session.scalars(
            select(Notification)
            .where(Notification.recipient_id == user_id)
            .order_by(Notification.created_at, Notification.id)
        )
    )
    actors: dict[int, list[str]] = defaultdict(list)
    actor_rows = await session.execute(
        select(NotificationActor.notification_id, NotificationActor.actor_id)
        .join(Notification, Notification.id == NotificationActor.notification_id)
        .where(Notification.recipient_id == user_id)
        .order_by(NotificationActor.created_at, NotificationActor.actor_id)
    )
    for notification_id, actor_id in actor_rows:
        actors[notification_id].append(str(actor_id))
    return [
        {
            "kind": n.kind,
            # A follow has no object: all new followers form one group (stored as NO_OBJECT).
            "object_id": str(n.object_id) if n.object_id != NO_OBJECT else None,
            "created_at": _when(n.created_at),
            "updated_at": _when(n.updated_at),
            "read_at": _when(n.read_at),
            "actor_ids": actors[n.id],
        }
        for n in notifications
    ]


def _watch_event_json(event: WatchEvent) -> dict[str, Any]:
    return {
        "client_id": event.client_id,
        "video_id": str(event.video_id),
        "creator_id": str(event.creator_id),
        "kind": event.kind,
        "watched_s": event.watched_s,
        "loops": event.loops,
        "source": event.source,  # where the viewer found the video, if the app said
        "occurred_at": _when(event.occurred_at),
        "received_at": _when(event.received_at),
    }


async def _watch_events(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """Every event the user's apps reported, in the order received, read a page at a time."""
    out: list[dict[str, Any]] = []
    after = 0
    while True:
        page = list(
            await session.scalars(
                select(WatchEvent)
                .where(WatchEvent.user_id == user_id, WatchEvent.id > after)
                .order_by(WatchEvent.id)
                .limit(EVENT_BATCH)
            )
        )
        out.extend(_watch_event_json(e) for e in page)
        if len(page) < EVENT_BATCH:
            return out
        after = page[-1].id


async def _interest_profile(session: AsyncSession, user_id: int) -> dict[str, Any] | None:
    """What the recommender keeps about the user, whole: more than the settings page summarises."""
    profile = await session.get(ViewerProfile, user_id)
    if profile is None:
        return None
    return {
        "picked_interests": list(profile.picked_interests),
        "tag_weights": dict(profile.tag_weights),
        "creator_weights": dict(profile.creator_weights),
        "recent_positive_video_ids": [str(v) for v in profile.recent_positive],
        "recent_seen_video_ids": [str(v) for v in profile.recent_seen],
        "not_interested_video_ids": [str(v) for v in profile.not_interested],
        "hidden_creator_ids": [str(c) for c in profile.hidden_creators],
        "events": profile.events,
        "updated_at": _when(profile.updated_at),
        "reset_at": _when(profile.reset_at),
    }


async def _blocks(session: AsyncSession, realm: str, user_id: int) -> list[dict[str, Any]]:
    blocks = list(
        await session.scalars(
            select(UserBlock).where(UserBlock.blocker_id == user_id).order_by(UserBlock.created_at)
        )
    )
    handles = await _handles(session, realm, {b.blocked_id for b in blocks})
    return [
        {
            "user_id": str(b.blocked_id),
            "handle": handles.get(b.blocked_id),
            "created_at": _when(b.created_at),
        }
        for b in blocks
    ]


async def _message_settings(session: AsyncSession, user_id: int) -> dict[str, Any]:
    settings = await session.get(MessageSettings, user_id)
    if settings is None:  # never changed: the default applies
        return {"allow_from": AllowFrom.EVERYONE.value, "updated_at": None}
    return {"allow_from": settings.allow_from, "updated_at": _when(settings.updated_at)}


async def gather(runtime: Runtime, realm: str, user_id: int) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Everything held about the user as JSON, and the (object key, archive path) of their media.

    Runs in the home realm, the only place the protected fields can be decrypted.
    """
    async with runtime.databases.read(realm) as session:
        user = await session.get(User, user_id)
        if user is None:
            raise LookupError(f"user {user_id} is gone")
        cipher = await user_cipher(session, runtime.keys.realm(realm), user_id)
        sessions = list(await session.scalars(select(AuthSession).where(AuthSession.user_id == user_id)))
        videos = list(
            await session.scalars(select(Video).where(Video.owner_id == user_id).order_by(Video.created_at))
        )
        comments = list(
            await session.scalars(
                select(Comment).where(Comment.author_id == user_id).order_by(Comment.created_at)
            )
        )
        likes = list(await session.scalars(select(VideoLike).where(VideoLike.user_id == user_id)))
        comment_likes = list(await session.scalars(select(CommentLike).where(CommentLike.user_id == user_id)))
        following = list(await session.scalars(select(Follow).where(Follow.follower_id == user_id)))
        handles = await _handles(session, realm, [f.followee_id for f in following])
        sections = {
            "conversations": await _conversations(session, realm, CipherCache(runtime.keys), user_id),
            "notifications": await _notifications(session, user_id),
            "watch_events": await _watch_events(session, user_id),
            "interest_profile": await _interest_profile(session, user_id),
            "blocks": await _blocks(session, realm, user_id),
            "message_settings": await _message_settings(session, user_id),
            "video_defaults": (await account_defaults(session, user_id)).model_dump(mode="json"),
            "search_history": (await search_history.history(session, user_id)).model_dump(mode="json"),
            "followed_hashtags": [
                tag.model_dump(mode="json", exclude={"video_count"})
                for tag in await followed_hashtags(session, user_id)
            ],
            # Favourites, reposts, mutes, keyword filters, comment controls (reelm.social.kept_data).
            "keep_and_filter": await kept_by(session, user_id),
        }
    media: list[tuple[str, str]] = []
    video_items = []
    for video in videos:
        item = _video_json(video)
        original = f"media/videos/{video.id}/original{_suffix(video.original_key)}"
        media.append((video.original_key, original))
        item["original_file"] = original
        if video.poster_key:
            poster = f"media/videos/{video.id}/poster.jpg"
            media.append((video.poster_key, poster))
            item["poster_file"] = poster
        video_items.append(item)
    profile: dict[str, Any] = {
        "id": str(user.id),
        "handle": user.handle,
        "display_name": user.display_name,
        "bio": user.bio,
        "email": cipher.open("users.email", user.email),
        "country": user.country,
        "home_realm": realm,
        "created_at": _when(user.created_at),
        "deletion_due_at": _when(user.deletion_due_at),
        "follower_count": user.follower_count,
        "following_count": user.following_count,
        "video_count": user.video_count,
        "likes_received": user.likes_received,
    }
    if user.avatar_key:
        media.append((user.avatar_key, "media/avatar.jpg"))
        profile["avatar_file"] = "media/avatar.jpg"
    data = {
        "format": "reelm-export/1",
        "generated_at": datetime.now(UTC).isoformat(),
        "profile": profile,
        "sessions": [
            {
                "kind": s.kind,
                "created_at": _when(s.created_at),
                "expires_at": _when(s.expires_at),
                "ip": cipher.open_optional("sessions.ip", s.ip),
                "user_agent": cipher.open_optional("sessions.user_agent", s.user_agent),
            }
            for s in sessions
        ],
        "videos": video_items,
        "comments": [
            {
                "id": str(c.id),
                "video_id": str(c.video_id),
                "parent_id": str(c.parent_id) if c.parent_id is not None else None,
                "body": c.body,
                "created_at": _when(c.created_at),
            }
            for c in comments
        ],
        "likes": [{"video_id": str(like.video_id), "created_at": _when(like.created_at)} for like in likes],
        "comment_likes": [
            {"comment_id": str(like.comment_id), "created_at": _when(like.created_at)}
            for like in comment_likes
        ],
        "following": [
            {
                "user_id": str(f.followee_id),
                "handle": handles.get(f.followee_id),
                "created_at": _when(f.created_at),
            }
            for f in following
        ],
        **sections,
        "transparency_log": [
            {"log_index": index, "entry": entry}
            for index, entry in await entries_about(runtime, realm, user_id)
        ],
    }
    return data, media


def _suffix(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    return name[name.rfind(".") :] if "." in name else ""


async def expire_exports(runtime: Runtime, realm: str, *, limit: int = 100) -> int:
    """Delete the archives whose download window has closed; they hold personal data for no purpose."""
    now = datetime.now(UTC)
    store = runtime.storage.realm(realm)
    async with runtime.databases.transaction(realm) as session:
        due = list(
            await session.scalars(
                select(DataExport)
                .where(DataExport.status == ExportStatus.READY, DataExport.expires_at <= now)
                .with_for_update(skip_locked=True)  # several workers may sweep at once
                .limit(limit)
            )
        )
        for export in due:
            if export.object_key is not None:
                await store.delete(export.object_key)
            export.status = ExportStatus.EXPIRED
            export.object_key = None
    return len(due)
