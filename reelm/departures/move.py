"""Moving an account to another home realm: copy, then shred, and record it.

Ids say where they live (reelm.ids), so the account, its videos and its comments get new ids in the
new realm. The order keeps a crash harmless:
1. media objects are copied into the new realm's bucket (a crash leaves unreferenced copies);
2. one transaction in the new realm creates the account with a new data key (protected fields are
   re-encrypted under it), its videos, and the likes, comments and follows it made;
3. the directory entry is pointed at the new account (from here on the handle resolves there);
4. one transaction in the old realm publishes the old → new ids (`outbound_<realm>.moved_ids`, so every
   realm re-points its users' follows, likes and comments, and old links redirect), re-points the old
   realm's own rows, records the move in the transparency log and shreds the old account exactly as
   the purge does: data key destroyed, rows removed, counters of others recounted;
5. the old realm's objects are removed.
A failure before step 3 leaves the account where it was (the half-made copy is removed). Step 4 is one
transaction; a crash between 3 and 4 would leave the old rows unreachable (the handle already resolves to
the new account) until they are shredded by hand — the one window this order cannot close without a
transaction spanning two databases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.models import AuthSession, HandleEntry, User
from reelm.audit.service import pseudonym, record_event
from reelm.crossrealm.views import moved_ids
from reelm.crypto.service import do_create_user_key, do_destroy_user_key, user_cipher
from reelm.departures.purge import Touched, forget_references, recount
from reelm.runtime import Runtime
from reelm.social.models import Comment, CommentLike, Follow, VideoLike
from reelm.social.service import forget_activity_on_videos
from reelm.videos.models import Rendition, Video, VideoStatus

ACCOUNT_MOVE = "account.move"
ENCRYPTED_USER_FIELDS = ("email",)  # sealed with the user's field key (reelm.crypto.fields)


class MoveRefusedError(ValueError):
    """The move cannot start; nothing was changed."""


@dataclass(frozen=True)
class MovePlan:
    handle: str
    source: str
    target: str
    old_user: int
    new_user: int
    videos: dict[int, int]  # old video id → new
    comments: dict[int, int]  # old comment id (written by the account) → new


@dataclass(frozen=True)
class MoveReport:
    plan: MovePlan
    objects_copied: int


def _columns(row: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {c.name: getattr(row, c.key) for c in row.__table__.columns if c.name not in skip}


async def _plan(runtime: Runtime, handle: str, target: str) -> MovePlan:
    if target not in runtime.settings.realm_names:
        raise MoveRefusedError(f"unknown realm {target!r}")
    async with runtime.databases.read(None) as directory:
        entry = await directory.scalar(select(HandleEntry).where(HandleEntry.handle == handle.lower()))
    if entry is None or entry.state != "active":
        raise MoveRefusedError(f"no account @{handle}")
    if entry.realm == target:
        raise MoveRefusedError(f"@{handle} already lives in {target}")
    code = runtime.settings.realm(target).code
    async with runtime.databases.read(entry.realm) as session:
        user = await session.get(User, entry.user_id)
        if user is None or user.deletion_due_at is not None:
            raise MoveRefusedError(f"@{handle} is being deleted and cannot move")
        videos = (
            await session.execute(select(Video.id, Video.status).where(Video.owner_id == user.id))
        ).all()
        if any(status == VideoStatus.PROCESSING for _, status in videos):
            raise MoveRefusedError(f"@{handle} has videos still processing; move once they are done")
        comments = list(await session.scalars(select(Comment.id).where(Comment.author_id == user.id)))
    return MovePlan(
        handle=entry.handle,
        source=entry.realm,
        target=target,
        old_user=entry.user_id,
        new_user=ids.new_id(code),
        videos={old: ids.new_id(code) for old, _ in videos},
        comments={old: ids.new_id(code) for old in comments},
    )


async def _copy_objects(runtime: Runtime, plan: MovePlan) -> int:
    source, target = runtime.storage.realm(plan.source), runtime.storage.realm(plan.target)
    prefixes = [(f"videos/{old}/", f"videos/{new}/") for old, new in plan.videos.items()]
    prefixes.append((f"avatars/{plan.old_user}/", f"avatars/{plan.new_user}/"))
    copied = 0
    for old_prefix, new_prefix in prefixes:
        for key in await source.keys(old_prefix):
            await target.put_bytes(new_prefix + key.removeprefix(old_prefix), await source.read(key))
            copied += 1
    return copied


def _rekey(key: str | None, plan: MovePlan) -> str | None:
    """An object key under the old ids, under the new ones."""
    if key is None:
        return None
    for old, new in [*plan.videos.items(), (plan.old_user, plan.new_user)]:
        key = key.replace(f"/{old}/", f"/{new}/")
    return key


async def _create_copy(runtime: Runtime, plan: MovePlan) -> None:
    """The account, its videos and its own activity in the new realm, with a new data key."""
    source_keys, target_keys = runtime.keys.realm(plan.source), runtime.keys.realm(plan.target)
    mapped = {**plan.videos, **plan.comments, plan.old_user: plan.new_user}
    async with runtime.databases.read(plan.source) as old:
        user = await old.get(User, plan.old_user)
        assert user is not None  # checked by _plan
        cipher = await user_cipher(old, source_keys, user.id)
        email = cipher.open("users.email", user.email)
        videos = list(await old.scalars(select(Video).where(Video.owner_id == user.id)))
        renditions = list(await old.scalars(select(Rendition).where(Rendition.video_id.in_(plan.videos))))
        comments = list(await old.scalars(select(Comment).where(Comment.author_id == user.id)))
        likes = list(await old.scalars(select(VideoLike).where(VideoLike.user_id == user.id)))
        comment_likes = list(await old.scalars(select(CommentLike).where(CommentLike.user_id == user.id)))
        follows = list(await old.scalars(select(Follow).where(Follow.follower_id == user.id)))
    async with runtime.databases.transaction(plan.target) as new:
        new_cipher = await do_create_user_key(new, target_keys, plan.new_user)
        values = _columns(user, skip=("email", "email_index"))
        new.add(
            User(
                **values
                | {
                    "id": plan.new_user,
                    "avatar_key": _rekey(user.avatar_key, plan),
                    "follower_count": 0,  # recounted when the move notice arrives (reelm_apply_move)
                    "likes_received": 0,
                },
                email=new_cipher.seal("users.email", email),
                email_index=target_keys.email_index(email),
            )
        )
        await new.flush()  # the account row first: everything below refers to it
        for video in videos:
            new.add(
                Video(
                    **_columns(video)
                    | {
                        "id": plan.videos[video.id],
                        "owner_id": plan.new_user,
                        "poster_key": _rekey(video.poster_key, plan),
                        "original_key": _rekey(video.original_key, plan),
                    }
                )
            )
        # The videos must exist before the renditions that refer to them.
        await new.flush()
        for rendition in renditions:
            values = _columns(rendition) | {"video_id": plan.videos[rendition.video_id]}
            values |= {"mp4_key": _rekey(rendition.mp4_key, plan), "hls_key": _rekey(rendition.hls_key, plan)}
            new.add(Rendition(**values))
        # Top-level comments before replies: a reply's projection checks its parent.
        for comment in sorted(comments, key=lambda c: c.parent_id is not None):
            values = _columns(comment) | {"id": plan.comments[comment.id], "author_id": plan.new_user}
            values |= {"video_id": mapped.get(comment.video_id, comment.video_id)}
            if comment.parent_id is not None:
                values["parent_id"] = mapped.get(comment.parent_id, comment.parent_id)
            await new.execute(insert(Comment).values(**values))
        # What the account did: re-made by the new account, on the new ids where it targeted its own.
        for model, rows, actor, target in (
            (VideoLike, likes, "user_id", "video_id"),
            (CommentLike, comment_likes, "user_id", "comment_id"),
            (Follow, follows, "follower_id", "followee_id"),
        ):
            for row in rows:
                aimed = getattr(row, target)
                values = {actor: plan.new_user, target: mapped.get(aimed, aimed)}
                await new.execute(insert(model).values(**values, created_at=row.created_at))


async def _publish_and_shred(runtime: Runtime, plan: MovePlan, *, reason: str) -> None:
    """In the old realm: announce the new ids, re-point local rows, record, and shred the old account."""
    moves = {plan.old_user: plan.new_user, **plan.videos, **plan.comments}
    async with runtime.databases.transaction(plan.source) as session:
        await session.execute(
            insert(moved_ids(plan.source)),
            [{"old_id": old, "new_id": new} for old, new in moves.items()],
        )
        for old, new in moves.items():
            await session.execute(text("SELECT reelm_apply_move(:old, :new)"), {"old": old, "new": new})
        await _shred(runtime, session, plan)
        await record_event(
            session,
            realm=plan.source,
            event_type=ACCOUNT_MOVE,
            actor={"kind": "operator-cli"},
            subject=pseudonym(runtime.settings.secret_key, plan.source, plan.old_user),
            details={
                "from": plan.source,
                "to": plan.target,
                "new_subject": pseudonym(runtime.settings.secret_key, plan.target, plan.new_user),
                "videos": len(plan.videos),
                "comments": len(plan.comments),
                "reason": reason,
                "data_key": "destroyed",
            },
        )


async def _shred(runtime: Runtime, session: AsyncSession, plan: MovePlan) -> None:
    user = await session.get(User, plan.old_user, with_for_update=True)
    if user is None:
        return
    await do_destroy_user_key(session, runtime.keys.realm(plan.source), plan.old_user)
    touched = await Touched.read(session, plan.old_user)
    await forget_activity_on_videos(session, list(plan.videos))
    await session.execute(delete(Follow).where(Follow.followee_id == plan.old_user))
    await session.execute(delete(AuthSession).where(AuthSession.user_id == plan.old_user))
    await forget_references(session, plan.old_user)
    await session.delete(user)
    await session.flush()  # the cascade must have run before the counts are recomputed
    await recount(session, touched)


async def move_account(runtime: Runtime, handle: str, target: str, *, reason: str) -> MoveReport:
    """Move an account's home realm; see the module docstring for the order and what a crash leaves."""
    plan = await _plan(runtime, handle, target)
    copied = await _copy_objects(runtime, plan)
    try:
        await _create_copy(runtime, plan)
    except BaseException:
        await runtime.storage.realm(plan.target).delete_prefix(f"avatars/{plan.new_user}")
        for new in plan.videos.values():
            await runtime.storage.realm(plan.target).delete_prefix(f"videos/{new}")
        runtime.keys.realm(plan.target).shreds.destroy(plan.new_user)
        raise
    async with runtime.databases.transaction(None) as directory:
        # The account's look-alike digests (name_skeletons) follow the new user id by cascade.
        await directory.execute(
            update(HandleEntry)
            .where(HandleEntry.handle == plan.handle)
            .values(user_id=plan.new_user, realm=plan.target)
        )
    await _publish_and_shred(runtime, plan, reason=reason)
    source = runtime.storage.realm(plan.source)
    await source.delete_prefix(f"avatars/{plan.old_user}")
    await source.delete_prefix(f"exports/{plan.old_user}")
    for old in plan.videos:
        await source.delete_prefix(f"videos/{old}")
    return MoveReport(plan, copied)
