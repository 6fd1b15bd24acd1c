"""What every part of content review shares: the Cedar gate for staff, content look-ups, cases and the log.

Staff act on a realm's content review only as the policies in `reelm/policies/moderation.cedar` allow:
reviewers review and decide (and decide appeals against others' decisions), operators keep lists, rules
and trusted flaggers and record legal orders, auditors never act. A reviewer opening a case reads
protected data (the reports), so that read is decided and logged first, like any staff access.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.models import User
from reelm.audit.service import STAFF_ACCESS, pseudonym, record_event
from reelm.errors import not_found
from reelm.messages.models import Conversation, ConversationMember, ConversationPeer, Message
from reelm.moderation.models import URGENT_CATEGORIES, Case, CaseState, Category, ContentType
from reelm.runtime import Runtime
from reelm.social.models import Comment
from reelm.sounds.models import Sound
from reelm.staff import policy
from reelm.staff.policy import PolicyEngine, Uid
from reelm.staff.service import StaffDecision, StaffMember, decide_as_staff, decision_details, denied
from reelm.text import invalid
from reelm.videos.models import Video, VideoStatus, Visibility

# Stable event types of the transparency log (beside audit.service's MODERATION_DECISION and LEGAL_ORDER).
APPEAL_DECISION = "moderation.appeal"
MODERATION_CONFIG = "moderation.config"  # hash lists, rules, trusted flaggers

REVIEW_CONTENT = "ReviewContent"
MANAGE_MODERATION = "ManageModeration"
RECORD_LEGAL_ORDER = "RecordLegalOrder"
DECIDE_APPEAL = "DecideAppeal"

# Queue order: priority first (highest first), then age. Trusted flaggers' cases come before any other.
PRIORITY_TRUSTED = 1000
PRIORITY_AUTOMATED = 500
PRIORITY_URGENT = 100
PRIORITY_REPORTS_CAP = 50


def automated_actor(system: str) -> dict[str, Any]:
    """The actor of an automated action: every automated entry says so."""
    return {"kind": "automated", "system": system}


# --- the Cedar gate -------------------------------------------------------------------------------------


def queue_uid(realm: str) -> Uid:
    return Uid("ModerationQueue", realm)


def check_realm(runtime: Runtime, realm: str) -> str:
    if realm not in runtime.settings.realm_names:
        raise not_found("Realm")
    return realm


def decide_on_queue(engine: PolicyEngine, member: StaffMember, action: str, realm: str) -> StaffDecision:
    return decide_as_staff(
        engine,
        member,
        action=action,
        resource=queue_uid(realm),
        context={},
        entities=[policy.entity(queue_uid(realm), {"realm": realm})],
        subject_realm=realm,
    )


def access_queue(engine: PolicyEngine, member: StaffMember, action: str, realm: str) -> StaffDecision:
    """Allowed to `action` on the realm's content review, or 403 (reads of no one's data: not logged)."""
    verdict = decide_on_queue(engine, member, action, realm)
    if not verdict.decision.allowed:
        raise denied("this moderation action in this realm", verdict.decision)
    return verdict


async def log_review_read(
    runtime: Runtime,
    engine: PolicyEngine,
    member: StaffMember,
    session: AsyncSession,
    realm: str,
    content_owner_id: int,
    **what: str,
) -> StaffDecision:
    """Decide whether the member may read a case or an appeal (protected: reports about a person, a
    complaint about a decision on their content) and log the decision, naming `what` (case=..., appeal=...).

    The entry goes to the outbox in the caller's transaction, which must commit before anything is shown
    (the page and the API render after their transaction ends); a denial is committed by the caller too.
    """
    verdict = decide_on_queue(engine, member, REVIEW_CONTENT, realm)
    await record_event(
        session,
        realm=realm,
        event_type=STAFF_ACCESS,
        actor=verdict.actor(member.user_id),
        subject=pseudonym(runtime.settings.secret_key, realm, content_owner_id),
        details=decision_details(engine, verdict.decision, action=REVIEW_CONTENT, **what),
    )
    return verdict


# --- content ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContentRef:
    type: ContentType
    id: int
    realm: str


@dataclass(frozen=True)
class ContentInfo:
    owner_id: int
    created_at: datetime


def check_content_type(value: str) -> ContentType:
    try:
        return ContentType(value)
    except ValueError:
        raise invalid("content_type", f"must be one of {', '.join(t.value for t in ContentType)}") from None


def check_category(value: str) -> Category:
    try:
        return Category(value)
    except ValueError:
        raise invalid(
            "category", "must be one of the DSA statement categories (STATEMENT_CATEGORY_…)"
        ) from None


def content_ref(runtime: Runtime, content_type: str, content_id: str) -> ContentRef:
    """Where the content lives, from its id (ids carry their realm); 404 for an id no realm minted."""
    kind = check_content_type(content_type)
    parsed = ids.parse_id(content_id)
    realm = runtime.settings.realm_of_id(parsed) if parsed is not None else None
    if parsed is None or realm is None or realm not in runtime.databases.realm_urls:
        raise not_found(kind.value.capitalize())
    return ContentRef(kind, parsed, realm)


async def content_info(session: AsyncSession, ref: ContentRef) -> ContentInfo | None:
    """The owner and date of the content, whatever its state; None when it does not exist (here)."""
    if ref.type is ContentType.VIDEO:
        video = await session.get(Video, ref.id)
        return ContentInfo(video.owner_id, video.created_at) if video else None
    if ref.type is ContentType.COMMENT:
        comment = await session.get(Comment, ref.id)
        return ContentInfo(comment.author_id, comment.created_at) if comment else None
    if ref.type is ContentType.ACCOUNT:
        user = await session.get(User, ref.id)
        return ContentInfo(user.id, user.created_at) if user else None
    if ref.type is ContentType.SOUND:
        sound = await session.get(Sound, ref.id)
        return ContentInfo(sound.owner_id, sound.created_at) if sound else None
    message = await session.get(Message, ref.id)
    return ContentInfo(message.sender_id, message.created_at) if message else None


async def access_reportable(session: AsyncSession, ref: ContentRef, reporter_id: int) -> ContentInfo:
    """The content if the reporter can see it (what cannot be seen cannot be reported); 404 otherwise.

    A message can be reported only by someone it was sent to; the report goes to the sender's realm,
    whose copy is the original (reelm.moderation.models).
    """
    info: ContentInfo | None = None
    if ref.type is ContentType.VIDEO:
        video = await session.get(Video, ref.id)
        if video is not None and (
            video.owner_id == reporter_id
            or (video.status == VideoStatus.READY and video.visibility == Visibility.PUBLIC)
        ):
            info = ContentInfo(video.owner_id, video.created_at)
    elif ref.type is ContentType.COMMENT:
        comment = await session.get(Comment, ref.id)
        if comment is not None and (comment.mod_state == "visible" or comment.author_id == reporter_id):
            info = ContentInfo(comment.author_id, comment.created_at)
    elif ref.type is ContentType.ACCOUNT:
        user = await session.get(User, ref.id)
        if user is not None and user.deletion_due_at is None:
            info = ContentInfo(user.id, user.created_at)
    elif ref.type is ContentType.SOUND:
        sound = await session.get(Sound, ref.id)
        video = await session.get(Video, sound.video_id) if sound is not None else None
        if (
            sound is not None
            and video is not None
            and (
                sound.owner_id == reporter_id
                or (video.status == VideoStatus.READY and video.visibility == Visibility.PUBLIC)
            )
        ):
            info = ContentInfo(sound.owner_id, sound.created_at)
    else:
        message = await session.get(Message, ref.id)
        if message is not None and message.sender_id != reporter_id:
            member = await session.get(ConversationMember, (message.conversation_id, reporter_id))
            conversation = await session.get(Conversation, message.conversation_id)
            # Someone of another realm has no member row here: the conversation (or the group) names them.
            peer = await session.get(ConversationPeer, (message.conversation_id, reporter_id))
            if (
                member is not None
                or peer is not None
                or (conversation is not None and conversation.peer_id == reporter_id)
            ):
                info = ContentInfo(message.sender_id, message.created_at)
    if info is None:
        raise not_found(ref.type.value.capitalize())
    return info


# --- cases --------------------------------------------------------------------------------------------


def priority_of(case: Case) -> int:
    score = min(case.report_count, PRIORITY_REPORTS_CAP)
    if case.trusted:
        score += PRIORITY_TRUSTED
    if case.automated:
        score += PRIORITY_AUTOMATED
    if case.category in URGENT_CATEGORIES:
        score += PRIORITY_URGENT
    return score


async def do_open_case(
    session: AsyncSession,
    runtime: Runtime,
    ref: ContentRef,
    info: ContentInfo,
    *,
    category: Category,
    now: datetime,
) -> Case:
    """The open case of the content, locked; opened now when there is none (duplicates join one case)."""
    statement = (
        insert(Case)
        .values(
            id=ids.new_id(runtime.settings.realm(ref.realm).code),
            content_type=ref.type.value,
            content_id=ref.id,
            content_owner_id=info.owner_id,
            state=CaseState.OPEN.value,
            priority=0,
            trusted=False,
            automated=False,
            category=category.value,
            report_count=0,
            opened_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=[Case.content_type, Case.content_id],
            index_where=Case.state == CaseState.OPEN.value,
        )
    )
    await session.execute(statement)
    case = await session.scalar(
        select(Case)
        .where(
            Case.content_type == ref.type.value,
            Case.content_id == ref.id,
            Case.state == CaseState.OPEN.value,
        )
        .with_for_update()
    )
    assert case is not None  # inserted or already there, and locked by this transaction
    return case


async def open_case_of(session: AsyncSession, content_type: str, content_id: int) -> Case | None:
    return await session.scalar(
        select(Case)
        .where(
            Case.content_type == content_type,
            Case.content_id == content_id,
            Case.state == CaseState.OPEN.value,
        )
        .with_for_update()
    )
