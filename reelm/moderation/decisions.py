"""Decisions and what they do: label, age-restrict, demote, restrict in some realms, remove, suspend, hold.

Every decision is one row (its statement of reasons is derived from it, reelm.moderation.statements),
applied to the content in the same transaction, closes the case it decides, tells each report its outcome
and is recorded in the transparency log under the content owner's pseudonym.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids, jobs
from reelm.accounts.models import Suspension, User
from reelm.audit.service import MODERATION_DECISION, pseudonym, record_event
from reelm.errors import Problem, not_found
from reelm.messages.models import Conversation, Message
from reelm.messages.sending import take_back
from reelm.moderation.models import (
    REVIEWER_ACTIONS,
    Action,
    Automation,
    Case,
    CaseState,
    Category,
    ContentType,
    Decision,
    Ground,
    Report,
    Source,
)
from reelm.moderation.schemas import DecisionIn, DecisionOut
from reelm.moderation.service import ContentRef, check_category, content_info
from reelm.notifications.models import NotificationKind
from reelm.notifications.service import do_notify
from reelm.runtime import Runtime
from reelm.settings import RealmConfig
from reelm.social.models import Comment
from reelm.sounds.takedown import restore, take_down
from reelm.text import clean_text, invalid
from reelm.videos.models import Video, VideoStatus
from reelm.videos.service import TRANSCODE_TASK, transcode_job_options

MAX_FACTS = 5000  # the Transparency Database's limit for decision_facts
MAX_GROUND = 500
MAX_LABEL = 200
REMOVED_CODE = "removed"
BLOCKED_CODE = "hash_match_blocked"
HELD_CODE = "held_for_review"


@dataclass(frozen=True)
class DecisionSpec:
    """A checked decision, whoever or whatever made it."""

    action: Action
    category: Category
    ground: Ground
    facts: str
    legal_ground: str | None = None
    terms_ground: str | None = None
    label: str | None = None
    restricted_realms: list[str] = field(default_factory=list)
    ends_at: datetime | None = None


def check_ground(value: str) -> Ground:
    try:
        return Ground(value)
    except ValueError:
        raise invalid("ground", f"must be one of {', '.join(g.value for g in Ground)}") from None


def check_realms(runtime: Runtime, realms: list[str], field_name: str = "restricted_realms") -> list[str]:
    unknown = sorted(set(realms) - set(runtime.settings.realm_names))
    if unknown:
        raise invalid(field_name, f"unknown realm(s): {', '.join(unknown)}")
    return sorted(set(realms))


def check_decision(runtime: Runtime, content_type: ContentType, body: DecisionIn) -> DecisionSpec:
    """Validate a reviewer's decision for this kind of content; 422 saying what is wrong."""
    try:
        action = Action(body.action)
    except ValueError:
        action = None
    if action is None or action not in REVIEWER_ACTIONS:
        raise invalid("action", f"must be one of {', '.join(a.value for a in REVIEWER_ACTIONS)}")
    if content_type not in REVIEWER_ACTIONS[action]:
        raise invalid("action", f"{action.value} does not apply to a {content_type.value}")
    ground = check_ground(body.ground)
    legal = clean_text("legal_ground", body.legal_ground or "", max_len=MAX_GROUND) or None
    terms = clean_text("terms_ground", body.terms_ground or "", max_len=MAX_GROUND) or None
    if action is not Action.NO_ACTION:
        if ground is Ground.ILLEGAL and legal is None:
            raise invalid("legal_ground", "name the law the content breaks")
        if ground is Ground.INCOMPATIBLE and terms is None:
            raise invalid("terms_ground", "name the rule of the terms the content breaks")
    label = clean_text("label", body.label or "", max_len=MAX_LABEL, multiline=False) or None
    if action is Action.LABEL and label is None:
        raise invalid("label", "a label decision needs the label's text")
    realms = check_realms(runtime, body.restricted_realms)
    if action is Action.GEO_RESTRICT and not realms:
        raise invalid("restricted_realms", "name the realm(s) where the video must not be shown")
    ends_at = None
    if body.suspend_days is not None:
        if action is not Action.SUSPEND:
            raise invalid("suspend_days", "only a suspension has a duration")
        ends_at = datetime.now(UTC) + timedelta(days=body.suspend_days)
    return DecisionSpec(
        action=action,
        category=check_category(body.category),
        ground=ground,
        facts=clean_text("facts", body.facts, max_len=MAX_FACTS, allow_empty=False),
        legal_ground=legal,
        terms_ground=terms,
        label=label if action is Action.LABEL else None,
        restricted_realms=realms if action is Action.GEO_RESTRICT else [],
        ends_at=ends_at,
    )


# --- effects on the content ---------------------------------------------------------------------------------


async def _publish_held(session: AsyncSession, video: Video) -> None:
    # `video_count` counts ready videos: a held one was never counted, or was uncounted when held
    # (an edited caption, reelm.moderation.screening.do_rescreen_caption).
    if video.status != VideoStatus.HELD:
        return
    video.status = VideoStatus.READY
    video.reject_code = video.reject_reason = None
    if video.published_at is None:
        video.published_at = datetime.now(UTC)
    await session.execute(
        update(User).where(User.id == video.owner_id).values(video_count=User.video_count + 1)
    )


async def _remove_video(session: AsyncSession, video: Video, reason: str) -> None:
    if video.status == VideoStatus.READY:
        await session.execute(
            update(User).where(User.id == video.owner_id).values(video_count=User.video_count - 1)
        )
    video.status = VideoStatus.REMOVED
    video.reject_code = REMOVED_CODE
    video.reject_reason = reason


async def _restore_video(session: AsyncSession, video: Video) -> None:
    if video.status not in (VideoStatus.REMOVED, VideoStatus.HELD):
        return
    video.status = VideoStatus.READY
    video.reject_code = video.reject_reason = None
    if video.published_at is None:
        video.published_at = datetime.now(UTC)
    await session.execute(
        update(User).where(User.id == video.owner_id).values(video_count=User.video_count + 1)
    )


async def _suspend(session: AsyncSession, decision: Decision) -> None:
    values = {
        "user_id": decision.content_owner_id,
        "decision_id": decision.id,
        "starts_at": decision.created_at,
        "ends_at": decision.ends_at,
    }
    statement = insert(Suspension).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Suspension.user_id],
            set_={"decision_id": decision.id, "ends_at": decision.ends_at},
        )
    )


def removal_notice(*, tell_user: bool) -> str:
    if not tell_user:
        return "This video is not available."
    return "This video was removed after review. The statement of reasons explains why and how to appeal."


async def apply_decision(
    session: AsyncSession, realm: RealmConfig, decision: Decision, *, tell_user: bool = True
) -> None:
    """Make the content reflect the decision (the session is the content's realm)."""
    action = Action(decision.action)
    if action is Action.SUSPEND:
        await _suspend(session, decision)
    if decision.content_type == ContentType.VIDEO:
        await _apply_to_video(session, decision, action, tell_user=tell_user)
    elif decision.content_type == ContentType.COMMENT:
        await _apply_to_comment(session, decision, action)
    elif decision.content_type == ContentType.MESSAGE and action is Action.REMOVE:
        await _remove_message(session, realm, decision)
    elif decision.content_type == ContentType.SOUND and action is Action.REMOVE:
        await take_down(session, decision.content_id, removal_notice(tell_user=tell_user))


async def _remove_message(session: AsyncSession, realm: RealmConfig, decision: Decision) -> None:
    message = await session.get(Message, decision.content_id, with_for_update=True)
    if message is None:
        raise not_found("Message")
    if message.unsent_at is not None:
        return  # its sender took it back already
    conversation = await session.get(Conversation, message.conversation_id, with_for_update=True)
    assert conversation is not None  # the foreign key cascades
    await take_back(session, realm.name, realm.code, conversation, message, datetime.now(UTC))


async def _apply_to_video(
    session: AsyncSession, decision: Decision, action: Action, *, tell_user: bool
) -> None:
    video = await session.get(Video, decision.content_id, with_for_update=True)
    if video is None:
        raise not_found("Video")
    if action is Action.REMOVE:
        await _remove_video(session, video, removal_notice(tell_user=tell_user))
        return
    if action in (Action.HOLD, Action.BLOCK, Action.SUSPEND):
        return  # a hold or block is set by the screening itself (reelm.moderation.screening)
    await _publish_held(session, video)
    if action is Action.LABEL:
        video.mod_label = decision.label
    elif action is Action.AGE_RESTRICT:
        video.age_restricted = True
    elif action is Action.DEMOTE:
        video.demoted = True
    elif action is Action.GEO_RESTRICT:
        video.restricted_realms = sorted({*video.restricted_realms, *decision.restricted_realms})


async def _apply_to_comment(session: AsyncSession, decision: Decision, action: Action) -> None:
    comment = await session.get(Comment, decision.content_id, with_for_update=True)
    if comment is None:
        raise not_found("Comment")
    if action is Action.REMOVE:
        comment.mod_state = "removed"
    elif action is Action.LABEL:
        comment.mod_state = "visible"
        comment.mod_label = decision.label
    elif action is Action.NO_ACTION:
        comment.mod_state = "visible"


async def undo_decision(session: AsyncSession, decision: Decision) -> None:
    """Reverse what a decision did (an appeal succeeded)."""
    action = Action(decision.action)
    if action is Action.SUSPEND:
        await session.execute(
            delete(Suspension).where(
                Suspension.user_id == decision.content_owner_id, Suspension.decision_id == decision.id
            )
        )
    elif decision.content_type == ContentType.VIDEO:
        await _undo_on_video(session, decision, action)
    elif decision.content_type == ContentType.SOUND and action is Action.REMOVE:
        await restore(session, decision.content_id)
    elif decision.content_type == ContentType.COMMENT:
        comment = await session.get(Comment, decision.content_id, with_for_update=True)
        if comment is None:
            raise not_found("Comment")
        if action in (Action.REMOVE, Action.HOLD):
            comment.mod_state = "visible"
        elif action is Action.LABEL:
            comment.mod_label = None


async def _undo_on_video(session: AsyncSession, decision: Decision, action: Action) -> None:
    video = await session.get(Video, decision.content_id, with_for_update=True)
    if video is None:
        raise not_found("Video")
    if action in (Action.REMOVE, Action.HOLD):
        await _restore_video(session, video)
    elif action is Action.BLOCK:
        # The upload was rejected before it was transcoded: process it again, without the screening
        # (which skips content that already has a decision).
        video.status = VideoStatus.PROCESSING
        video.reject_code = video.reject_reason = None
        video.status_detail = "queued"
        await session.flush()  # the row is updated before the job that reads it is queued
        options = await transcode_job_options(session, video.owner_id)  # the uploader's turn, as at upload
        await jobs.defer(session, TRANSCODE_TASK, options=options, video_id=video.id)
    elif action is Action.LABEL:
        video.mod_label = None
    elif action is Action.AGE_RESTRICT:
        video.age_restricted = False
    elif action is Action.DEMOTE:
        video.demoted = False
    elif action is Action.GEO_RESTRICT:
        video.restricted_realms = [r for r in video.restricted_realms if r not in decision.restricted_realms]


# --- recording ----------------------------------------------------------------------------------------


async def do_record_decision(
    session: AsyncSession,
    runtime: Runtime,
    ref: ContentRef,
    spec: DecisionSpec,
    *,
    actor: dict[str, Any],
    reviewer_id: int | None,
    source_type: Source,
    automated_detection: bool,
    case: Case | None,
    close_case: bool,
    legal_order_id: int | None = None,
    reverses_id: int | None = None,
    log_details: dict[str, Any] | None = None,
    tell_user: bool = True,
) -> Decision:
    """Store a decision, apply it, settle its case and reports and log it, in the caller's transaction."""
    info = await content_info(session, ref)
    if info is None:
        raise not_found(ref.type.value.capitalize())
    now = datetime.now(UTC)
    first_notice = None
    if case is not None:
        first_notice = await session.scalar(
            select(Report.created_at)
            .where(Report.case_id == case.id, Report.reporter_id.is_not(None))
            .order_by(Report.created_at)
            .limit(1)
        )
    automation = Automation.FULLY if reviewer_id is None else Automation.NOT_AUTOMATED
    if reviewer_id is not None and automated_detection:
        automation = Automation.PARTIALLY  # a machine found it, a person decided
    decision = Decision(
        id=ids.new_id(runtime.settings.realm(ref.realm).code),
        case_id=case.id if case is not None else None,
        content_type=ref.type.value,
        content_id=ref.id,
        content_owner_id=info.owner_id,
        content_date=info.created_at,
        action=spec.action.value,
        label=spec.label,
        restricted_realms=spec.restricted_realms,
        category=spec.category.value,
        ground=spec.ground.value,
        legal_ground=spec.legal_ground,
        terms_ground=spec.terms_ground,
        facts=spec.facts,
        source_type=source_type.value,
        automated_detection=automated_detection,
        automated_decision=automation.value,
        reviewer_id=reviewer_id,
        ends_at=spec.ends_at,
        reverses_id=reverses_id,
        legal_order_id=legal_order_id,
        created_at=now,
        first_notice_at=first_notice,
    )
    session.add(decision)
    await session.flush()  # the suspension row refers to the decision
    was_held = ref.type is ContentType.VIDEO and await _is_held(session, ref.id)
    await apply_decision(session, runtime.settings.realm(ref.realm), decision, tell_user=tell_user)
    if tell_user and (spec.action is not Action.NO_ACTION or reverses_id is not None or was_held):
        await notify_owner(session, decision)
    if case is not None and close_case:
        case.state = CaseState.CLOSED.value
        case.closed_at = now
        await session.execute(
            update(Report)
            .where(Report.case_id == case.id, Report.decision_id.is_(None))
            .values(decision_id=decision.id, decided_at=now, outcome=decision.action)
        )
    await record_event(
        session,
        realm=ref.realm,
        event_type=MODERATION_DECISION,
        actor=actor,
        subject=pseudonym(runtime.settings.secret_key, ref.realm, info.owner_id),
        details={
            "decision": str(decision.id),
            "action": decision.action,
            "content_type": decision.content_type,
            "category": decision.category,
            "ground": decision.ground,
            "source_type": decision.source_type,
            "automated_detection": decision.automated_detection,
            "automated_decision": decision.automated_decision,
            "restricted_realms": decision.restricted_realms,
            "reverses": str(reverses_id) if reverses_id is not None else None,
            "legal_order": str(legal_order_id) if legal_order_id is not None else None,
            **(log_details or {}),
        },
    )
    return decision


async def _is_held(session: AsyncSession, video_id: int) -> bool:
    video = await session.get(Video, video_id)
    return video is not None and video.status == VideoStatus.HELD


async def notify_owner(session: AsyncSession, decision: Decision) -> None:
    """Tell the creator that a decision changed what happens to their video (a notification linking it;
    the statement of reasons is on the video's status and at /statements/{id}).

    Only videos: the notification kind says "about your video", and there is no kind yet for a comment
    or an account (a suspended account cannot read its notifications anyway).
    """
    if decision.content_type != ContentType.VIDEO.value:
        return
    await do_notify(
        session,
        recipient_id=decision.content_owner_id,
        kind=NotificationKind.REVIEW_OUTCOME,
        actor_id=None,
        object_id=decision.content_id,
    )


def decision_out(decision: Decision, realm: str) -> DecisionOut:
    return DecisionOut(
        id=str(decision.id),
        realm=realm,
        case_id=str(decision.case_id) if decision.case_id is not None else None,
        content_type=decision.content_type,
        content_id=str(decision.content_id),
        action=decision.action,
        label=decision.label,
        restricted_realms=list(decision.restricted_realms),
        category=decision.category,
        ground=decision.ground,
        legal_ground=decision.legal_ground,
        terms_ground=decision.terms_ground,
        facts=decision.facts,
        source_type=decision.source_type,
        automated_detection=decision.automated_detection,
        automated_decision=decision.automated_decision,
        by_reviewer=decision.reviewer_id is not None,
        ends_at=decision.ends_at,
        reverses_id=str(decision.reverses_id) if decision.reverses_id is not None else None,
        legal_order_id=str(decision.legal_order_id) if decision.legal_order_id is not None else None,
        created_at=decision.created_at,
        statement_url=f"/statements/{decision.id}",
    )


async def access_case(session: AsyncSession, case_id: str) -> Case:
    an_id = ids.parse_id(case_id)
    case = await session.get(Case, an_id, with_for_update=True) if an_id is not None else None
    if case is None:
        raise not_found("Case")
    return case


def check_case_open(case: Case) -> None:
    if case.state != CaseState.OPEN.value:
        raise Problem(409, "case-closed", "Case closed", "This case has been decided already.")


async def prior_decisions(session: AsyncSession, content_type: str, content_id: int) -> list[Decision]:
    return list(
        await session.scalars(
            select(Decision)
            .where(Decision.content_type == content_type, Decision.content_id == content_id)
            .order_by(Decision.created_at.desc())
        )
    )
