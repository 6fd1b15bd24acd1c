"""Screening an upload inside the transcode job, before anything is published.

The keyframes' PDQ hashes are looked up in the realm's hash lists (distance <= 31, quality >= 50) and the
caption is checked against the realm's caption rules. A block list match rejects the upload with a stable
code; a hold list match or a holding rule holds it (status "held", with a sentence for its creator) and
queues a case; a labelling rule labels it. Each of these is an automated decision with a statement of
reasons, logged as automated. Screening runs once per video: content that already has a decision (a
retry, or a reviewer's release of a blocked upload) is not screened again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import User
from reelm.moderation.decisions import BLOCKED_CODE, HELD_CODE, DecisionSpec, do_record_decision
from reelm.moderation.hash_index import ListMatch, strictest_action
from reelm.moderation.hash_lists import ListAction
from reelm.moderation.keyframes import Keyframe, extract_keyframes
from reelm.moderation.lists import realm_matcher
from reelm.moderation.models import (
    Action,
    Case,
    Category,
    ContentRule,
    ContentType,
    Decision,
    Ground,
    RuleAction,
    RuleScope,
    Source,
)
from reelm.moderation.rules import matching, open_automated_case, rules_for, strongest
from reelm.moderation.service import ContentRef, automated_actor
from reelm.runtime import Runtime
from reelm.videos.models import Video, VideoStatus

log = logging.getLogger(__name__)

CLEAR = "clear"
HELD = "held"
BLOCKED = "blocked"
LABELLED = "labelled"
SKIPPED = "skipped"

HELD_REASON = (
    "Your video is held for review before it is published: an automated check flagged it. A reviewer will "
    "decide soon; the statement of reasons explains what happened and how to appeal."
)
BLOCKED_REASON = (
    "This video matches content that is not allowed here, so it was not published. The statement of "
    "reasons explains what happened and how to appeal."
)


@dataclass(frozen=True)
class Findings:
    hash_action: ListAction | None
    matches: list[ListMatch]
    keyframes: list[Keyframe]
    rule: ContentRule | None


def _match_facts(findings: Findings) -> str:
    parts = []
    for m in findings.matches[:10]:
        at = findings.keyframes[m.query].time_s if m.query < len(findings.keyframes) else 0.0
        parts.append(
            f"keyframe at {at:.1f} s is {m.distance} bits from line {m.line} of hash list “{m.list_name}” "
            f"({m.action.value})"
        )
    return "Automated perceptual-hash (PDQ) match: " + "; ".join(parts) + "."


async def _already_screened(session: AsyncSession, video_id: int) -> bool:
    found = await session.scalar(
        select(Decision.id)
        .where(Decision.content_type == ContentType.VIDEO.value, Decision.content_id == video_id)
        .limit(1)
    )
    return found is not None


async def screen_upload(
    runtime: Runtime, realm: str, video_id: int, source: Path, *, width: int, height: int, duration_s: float
) -> str:
    """Screen one upload; returns CLEAR, HELD, BLOCKED, LABELLED or SKIPPED. Raises KeyframeError to retry."""
    async with runtime.databases.read(realm) as session:
        video = await session.get(Video, video_id)
        if (
            video is None
            or video.status != VideoStatus.PROCESSING
            or await _already_screened(session, video_id)
        ):
            return SKIPPED
        matcher = await realm_matcher(session, realm)
        caption_rules = await rules_for(session, RuleScope.CAPTION)
        caption = video.caption
    keyframes: list[Keyframe] = []
    matches: list[ListMatch] = []
    if matcher is not None:
        keyframes = await extract_keyframes(source, width=width, height=height, duration_s=duration_s)
        matches = matcher.match([k.hash for k in keyframes])
    findings = Findings(
        strictest_action(matches), matches, keyframes, strongest(matching(caption_rules, caption))
    )
    if findings.hash_action is None and findings.rule is None:
        return CLEAR
    async with runtime.databases.transaction(realm) as session:
        video = await session.get(Video, video_id, with_for_update=True)
        if (
            video is None
            or video.status != VideoStatus.PROCESSING
            or await _already_screened(session, video_id)
        ):
            return SKIPPED
        return await _act(session, runtime, realm, video, findings)


async def _act(session: AsyncSession, runtime: Runtime, realm: str, video: Video, findings: Findings) -> str:
    ref = ContentRef(ContentType.VIDEO, video.id, realm)
    rule = findings.rule
    if findings.hash_action is ListAction.BLOCK:
        video.status, video.reject_code, video.reject_reason = (
            VideoStatus.REJECTED,
            BLOCKED_CODE,
            BLOCKED_REASON,
        )
        video.status_detail = ""
        spec = _hash_spec(Action.BLOCK, findings)
        await _record(session, runtime, ref, spec, "hash-lists", None, findings)
        log.info("video %s blocked by a hash list", video.id)
        return BLOCKED
    if findings.hash_action is ListAction.HOLD or (rule is not None and rule.action == RuleAction.HOLD):
        video.status, video.reject_code, video.reject_reason = VideoStatus.HELD, HELD_CODE, HELD_REASON
        if findings.hash_action is ListAction.HOLD:
            spec, system = _hash_spec(Action.HOLD, findings), "hash-lists"
            explanation = _match_facts(findings)
        else:
            assert rule is not None
            spec, system = _rule_spec(Action.HOLD, rule, realm), "rules"
            explanation = spec.facts
        case = await open_automated_case(
            session,
            runtime,
            ref,
            video.owner_id,
            video.created_at,
            rule,
            category=spec.category,
            explanation=explanation,
        )
        await _record(session, runtime, ref, spec, system, case, findings)
        return HELD
    assert rule is not None  # neither list matched, so a (labelling) rule did
    await _record(session, runtime, ref, _rule_spec(Action.LABEL, rule, realm), "rules", None, findings)
    return LABELLED


async def do_rescreen_caption(
    session: AsyncSession, runtime: Runtime, realm: str, video: Video, *, text: str | None = None
) -> str:
    """Check an edited caption against the realm's caption rules, in the edit's transaction. `text`, when
    given, is what is checked instead: the words of the video's captions in one language (subtitles).

    Returns HELD, LABELLED, CLEAR or SKIPPED. A published video whose new caption matches a holding rule
    is taken down and queued for review (like a held upload); a labelling rule labels it. A video still
    waiting for its upload screening is SKIPPED: that screening reads the caption as it is by then. Held,
    removed or rejected videos are SKIPPED too (nothing of theirs is public).
    """
    if video.status == VideoStatus.PROCESSING and not await _already_screened(session, video.id):
        return SKIPPED
    if video.status not in (VideoStatus.READY, VideoStatus.PROCESSING):
        return SKIPPED
    checked = video.caption if text is None else text
    rule = strongest(matching(await rules_for(session, RuleScope.CAPTION), checked))
    if rule is None:
        return CLEAR
    findings = Findings(None, [], [], rule)
    if rule.action == RuleAction.LABEL:
        if video.mod_label == rule.label:
            return LABELLED  # labelled so already: one decision is enough
        await _act(session, runtime, realm, video, findings)
        return LABELLED
    if video.status == VideoStatus.READY:
        await session.execute(
            update(User).where(User.id == video.owner_id).values(video_count=User.video_count - 1)
        )
    await _act(session, runtime, realm, video, findings)
    return HELD


def _hash_spec(action: Action, findings: Findings) -> DecisionSpec:
    lists = sorted({m.list_name for m in findings.matches})
    return DecisionSpec(
        action=action,
        category=Category.OTHER_VIOLATION_TC,
        ground=Ground.INCOMPATIBLE,
        facts=_match_facts(findings),
        terms_ground="Known prohibited content, listed in the realm's hash list(s): " + ", ".join(lists),
    )


def _rule_spec(action: Action, rule: ContentRule, realm: str) -> DecisionSpec:
    return DecisionSpec(
        action=action,
        category=Category(rule.category),
        ground=Ground.INCOMPATIBLE,
        facts=f"The caption matched the realm's rule “{rule.name}”.",
        terms_ground=f"Caption rule “{rule.name}” of realm {realm}",
        label=rule.label if action is Action.LABEL else None,
    )


async def _record(
    session: AsyncSession,
    runtime: Runtime,
    ref: ContentRef,
    spec: DecisionSpec,
    system: str,
    case: Case | None,
    findings: Findings,
) -> None:
    details: dict[str, object] = {"system": system}
    if findings.matches:
        details["lists"] = sorted({m.list_name for m in findings.matches})
        details["min_distance"] = min(m.distance for m in findings.matches)
    if findings.rule is not None and system == "rules":
        details["rule"] = str(findings.rule.id)
    await do_record_decision(
        session,
        runtime,
        ref,
        spec,
        actor=automated_actor(system),
        reviewer_id=None,
        source_type=Source.VOLUNTARY,
        automated_detection=True,
        case=case,
        close_case=False,
        log_details=details,
    )
