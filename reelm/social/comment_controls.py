"""Creators' comment controls, per video and as the default of their videos: hold comments that contain the
creator's words, or every comment, for approval; refuse comments from accounts newer than N days; pin one
comment. (Who may comment at all, followers-only included, is the video's `comment_policy`:
reelm.videos.permissions.)

Controls are kept in the creator's realm, so they apply to comments written there. A held comment is stored
as any comment, with `mod_state` "pending": only its author sees it, nobody is notified, and it is not
projected to other realms until the creator approves it (the projection takes visible comments only). The
creator approves or deletes held comments from one list, many at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.viewer import SignedInViewer
from reelm.crossrealm.views import public_comments
from reelm.errors import Problem, not_found
from reelm.social import service
from reelm.social.models import KEYWORD_MAX, Comment, CommentControls, CommentHold
from reelm.social.schemas import CommentControlsIn, CommentControlsOut
from reelm.text import clean_text
from reelm.videos.models import Video

PENDING = "pending"  # a comment's mod_state while it waits for the creator
DEFAULT = 0  # the video_id of a creator's default controls
MAX_KEYWORDS = 50
MAX_ACCOUNT_DAYS = 365
MAX_DECIDED = 100  # comments approved or deleted in one request
OFF = CommentControlsOut(hold=CommentHold.OFF, keywords=[], min_account_days=0, pinned_comment_id=None)


def _out(row: CommentControls, *, pinned: int | None) -> CommentControlsOut:
    return CommentControlsOut(
        hold=CommentHold(row.hold),
        keywords=list(row.keywords),
        min_account_days=row.min_account_days,
        pinned_comment_id=str(pinned) if pinned is not None else None,
    )


async def controls_for(session: AsyncSession, owner_id: int, video_id: int) -> CommentControlsOut:
    """A video's controls: its own, else its creator's default (`video_id` 0: the default itself)."""
    rows = {
        row.video_id: row
        for row in await session.scalars(
            select(CommentControls).where(
                CommentControls.user_id == owner_id, CommentControls.video_id.in_({video_id, DEFAULT})
            )
        )
    }
    own, default = rows.get(video_id), rows.get(DEFAULT)
    pinned = own.pinned_comment_id if own is not None and video_id != DEFAULT else None
    chosen = own if own is not None else default
    if chosen is None:
        return OFF.model_copy(update={"pinned_comment_id": str(pinned) if pinned is not None else None})
    return _out(chosen, pinned=pinned)


def _keywords(words: list[str]) -> list[str]:
    if len(words) > MAX_KEYWORDS:
        raise Problem(
            422, "invalid-request", "The request is not valid", f"keywords: at most {MAX_KEYWORDS} words"
        )
    kept: dict[str, None] = {}
    for word in words:
        text = " ".join(clean_text("keywords", word, max_len=KEYWORD_MAX, allow_empty=True).split()).lower()
        if text:
            kept[text] = None
    return list(kept)


async def do_set_controls(
    session: AsyncSession, owner_id: int, video_id: int, chosen: CommentControlsIn
) -> CommentControlsOut:
    """Set a video's controls (or, `video_id` 0, the default); a video's pinned comment stays pinned."""
    keywords = _keywords(chosen.keywords)  # none with hold "keywords": nothing is held until some are given
    values = {
        "hold": chosen.hold.value,
        "keywords": keywords,
        "min_account_days": chosen.min_account_days,
        "updated_at": datetime.now(UTC),
    }
    await session.execute(
        insert(CommentControls)
        .values(user_id=owner_id, video_id=video_id, **values)
        .on_conflict_do_update(index_elements=["user_id", "video_id"], set_=values)
    )
    return await controls_for(session, owner_id, video_id)


def held_for_approval(controls: CommentControlsOut, body: str) -> bool:
    """Whether a new comment with this text waits for the creator (plain-text match, case aside)."""
    if controls.hold == CommentHold.ALL:
        return True
    if controls.hold == CommentHold.KEYWORDS:
        folded = body.lower()
        return any(word in folded for word in controls.keywords)
    return False


def check_account_age(controls: CommentControlsOut, created_at: datetime, now: datetime) -> None:
    days = controls.min_account_days
    if days and now - created_at < timedelta(days=days):
        raise Problem(
            403,
            "comments-restricted",
            "You can't comment on this video",
            f"The creator allows comments from accounts at least {days} days old.",
        )


async def held_comments(session: AsyncSession, owner_id: int, limit: int) -> list[Comment]:
    """Comments waiting for this creator's approval on their videos, the oldest first."""
    rows = await session.scalars(
        select(Comment)
        .join(Video, Video.id == Comment.video_id)
        .where(Video.owner_id == owner_id, Comment.mod_state == PENDING)
        .order_by(Comment.created_at, Comment.id)
        .limit(limit)
    )
    return list(rows)


async def do_decide(
    session: AsyncSession, owner: SignedInViewer, realm_code: int, comment_ids: list[int], *, approve: bool
) -> int:
    """Approve (show) or delete held comments on the owner's videos; others' ids are ignored. How many."""
    if len(comment_ids) > MAX_DECIDED:
        raise Problem(
            422, "invalid-request", "The request is not valid", f"ids: at most {MAX_DECIDED} at once"
        )
    found = list(
        await session.scalars(
            select(Comment)
            .join(Video, Video.id == Comment.video_id)
            .where(Comment.id.in_(comment_ids), Video.owner_id == owner.user_id, Comment.mod_state == PENDING)
            .with_for_update(of=Comment)
        )
    )
    for comment in found:
        if approve:
            comment.mod_state = "visible"  # the projection trigger shows it to every realm
        else:
            await service.do_delete_comment(session, owner, realm_code, owner.user_id, comment)
    await session.flush()
    return len(found)


async def do_pin_comment(
    session: AsyncSession, video: Video, comment_id: int | None, *, realm_code: int
) -> CommentControlsOut:
    """Pin one shown comment of the video on top of its comments (None: unpin). The caller checked that the
    viewer is the video's creator."""
    if comment_id is not None:
        if service.is_local(comment_id, realm_code):
            comment = await session.get(Comment, comment_id)
            shown = comment is not None and comment.video_id == video.id and comment.mod_state == "visible"
        else:
            shown = (
                await session.scalar(
                    select(public_comments.c.id).where(
                        public_comments.c.id == comment_id, public_comments.c.video_id == video.id
                    )
                )
                is not None
            )
        if not shown:
            raise not_found("Comment")
    current = await controls_for(session, video.owner_id, video.id)
    own = await session.get(CommentControls, (video.owner_id, video.id))
    if (
        own is None
    ):  # the video follows the default: pinning gives it a row of its own, with the same controls
        session.add(
            CommentControls(
                user_id=video.owner_id,
                video_id=video.id,
                hold=current.hold.value,
                keywords=current.keywords,
                min_account_days=current.min_account_days,
                pinned_comment_id=comment_id,
            )
        )
    else:
        own.pinned_comment_id = comment_id
    await session.flush()
    return await controls_for(session, video.owner_id, video.id)
