"""Per-video permissions: who may comment, duet, stitch, use the sound, download and embed; a creator's
defaults for new videos; and the checks every flow that acts on a video calls.

A video's permissions are public columns of `videos`, projected with it (reelm.crossrealm), so a realm
checks another realm's video against its own copy. The creator may always do everything with their own video.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, RowMapping
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.errors import Problem
from reelm.videos.models import ALLOW_DOWNLOAD_DEFAULT, CommentPolicy, RemixKind, Video, VideoDefaults
from reelm.videos.schemas import PermissionChoices, VideoPermissions

# The permissions a video has unless its creator chose otherwise (the columns' defaults).
PLATFORM_DEFAULTS = VideoPermissions(
    comment_policy=CommentPolicy.EVERYONE,
    allow_duet=True,
    allow_stitch=True,
    allow_sound_reuse=True,
    allow_download=ALLOW_DOWNLOAD_DEFAULT,
    allow_embed=True,
)
FIELDS = tuple(VideoPermissions.model_fields)


_REMIX_FLAG = {
    RemixKind.DUET: "allow_duet",
    RemixKind.STITCH: "allow_stitch",
    RemixKind.SOUND: "allow_sound_reuse",
}
_REMIX_REFUSAL = {
    RemixKind.DUET: "The creator doesn't allow duets with this video.",
    RemixKind.STITCH: "The creator doesn't allow stitches with this video.",
    RemixKind.SOUND: "The creator doesn't allow others to use this video's sound.",
}


def permissions_of(video: Video | Row[Any] | VideoDefaults) -> VideoPermissions:
    """The permissions of a video (its row in its realm, or its projection `public_videos` in another) or a
    creator's defaults (their `video_defaults` row)."""
    return permissions_from({name: getattr(video, name) for name in FIELDS})


def permissions_from(values: Mapping[str, Any] | RowMapping) -> VideoPermissions:
    """Permissions from columns of our own (built without validation: they come typed from the database)."""
    chosen = {name: values[name] for name in FIELDS}
    chosen["comment_policy"] = CommentPolicy(chosen["comment_policy"])
    return VideoPermissions.model_construct(**chosen)


def remix_refusal(kind: RemixKind, video: Video | Row[Any], *, remixer_id: int | None = None) -> str | None:
    """Why `remixer_id` may not make a `kind` of this video, in a sentence for them; None when they may.

    `video` is its row (the video's own realm) or its projection row (another realm's copy: a duet from eu
    of a us video is checked there). Only the permission is checked: whether the remixer may see the video
    at all is the caller's `access_*`. The creator may always remix their own video.
    """
    if remixer_id is not None and remixer_id == video.owner_id:
        return None
    return None if getattr(video, _REMIX_FLAG[kind]) else _REMIX_REFUSAL[kind]


def check_remix_allowed(kind: RemixKind, video: Video | Row[Any], *, remixer_id: int | None = None) -> None:
    """`remix_refusal` as a 403 problem (type `remix-not-allowed`), for flows that raise."""
    reason = remix_refusal(kind, video, remixer_id=remixer_id)
    if reason is not None:
        raise Problem(403, "remix-not-allowed", "Not allowed by the creator", reason, remix=kind.value)


def comment_refusal(
    policy: str, *, is_creator: bool, followed_by_creator: bool | None, follows_creator: bool = False
) -> str | None:
    """Why someone may not comment on a video with this policy, in a sentence for them; None when they may.

    `followed_by_creator` is whether the creator follows them; None when it cannot be known here: a follow is
    stored in the follower's realm and is protected, so the realm of a commenter from elsewhere does not hold
    the creator's follows. Such a comment on a followed_back video is refused (never accepted against the
    creator's choice), and the reason says why. `follows_creator` is whether they follow the creator: their
    own follow, which their realm always holds (for a followers-only video).
    """
    if is_creator or policy == CommentPolicy.EVERYONE:
        return None
    if policy == CommentPolicy.NO_ONE:
        return "Comments are turned off for this video."
    if policy == CommentPolicy.FOLLOWERS:
        return None if follows_creator else "Only the creator's followers can comment on this video."
    if followed_by_creator:
        return None
    if followed_by_creator is None:
        return (
            "Only accounts the creator follows can comment on this video, and that can't be checked for "
            "accounts of another region yet."
        )
    return "Only accounts the creator follows can comment on this video."


def check_comment_allowed(
    policy: str, *, is_creator: bool, followed_by_creator: bool | None, follows_creator: bool = False
) -> None:
    """`comment_refusal` as a 403 problem (type `comments-restricted`)."""
    reason = comment_refusal(
        policy,
        is_creator=is_creator,
        followed_by_creator=followed_by_creator,
        follows_creator=follows_creator,
    )
    if reason is not None:
        raise Problem(
            403, "comments-restricted", "You can't comment on this video", reason, comment_policy=policy
        )


async def account_defaults(session: AsyncSession, user_id: int) -> VideoPermissions:
    """A creator's permissions for new videos (the platform's until they chose)."""
    row = await session.get(VideoDefaults, user_id)
    return PLATFORM_DEFAULTS if row is None else permissions_of(row)


async def do_set_account_defaults(session: AsyncSession, user_id: int, chosen: VideoPermissions) -> None:
    values: dict[str, Any] = {name: getattr(chosen, name) for name in FIELDS}
    values["comment_policy"] = CommentPolicy(values["comment_policy"]).value
    now = datetime.now(UTC)
    await session.execute(
        insert(VideoDefaults)
        .values(user_id=user_id, updated_at=now, **values)
        .on_conflict_do_update(index_elements=[VideoDefaults.user_id], set_={**values, "updated_at": now})
    )


def chosen_over(defaults: VideoPermissions, changes: PermissionChoices) -> VideoPermissions:
    """`defaults` with what `changes` sets (a permission left out, None, keeps the default's)."""
    given = {name: getattr(changes, name) for name in FIELDS if getattr(changes, name) is not None}
    return defaults.model_copy(update=given)


def apply_permissions(video: Video, chosen: VideoPermissions) -> None:
    for name in FIELDS:
        setattr(video, name, getattr(chosen, name))
    video.comment_policy = CommentPolicy(chosen.comment_policy).value
