"""Requesting a data export, reading its state, and gathering what goes into the archive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids, jobs
from reelm.accounts.models import AuthSession, User
from reelm.audit.service import entries_about
from reelm.crypto.service import user_cipher
from reelm.exports.models import IN_PROGRESS, DataExport, ExportStatus
from reelm.runtime import Runtime
from reelm.social.models import Comment, CommentLike, Follow, VideoLike
from reelm.videos.models import Video
from reelm.web.problems import Problem, not_found

BUILD_TASK = "build_data_export"


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
    }


async def gather(runtime: Runtime, realm: str, user_id: int) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Everything held about the user as JSON, and the (object key, archive path) of their media.

    Runs in the home realm, the only place the protected fields can be decrypted.
    """
    async with runtime.databases.sessionmaker(realm)() as session:
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
        followee_ids = [f.followee_id for f in following]
        # Handles of followees in this realm; one in another realm is listed by id only.
        rows = await session.execute(select(User.id, User.handle).where(User.id.in_(followee_ids)))
        handles: dict[int, str] = {row.id: row.handle for row in rows}
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
