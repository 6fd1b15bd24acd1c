"""A realm's caption and comment rules: terms or patterns that hold content for review or label it.

A term matches case-insensitively on word boundaries; a pattern is a regular expression (checked when
the rule is made, with a bound on its length). Rules are the realm's published policy, so they are shown
to reviewers beside each case.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.audit.service import record_event
from reelm.errors import Problem, not_found
from reelm.moderation.decisions import DecisionSpec, do_record_decision
from reelm.moderation.models import (
    Action,
    Case,
    Category,
    ContentRule,
    ContentType,
    Ground,
    Report,
    RuleAction,
    RuleScope,
    Source,
)
from reelm.moderation.schemas import RuleIn, RuleOut
from reelm.moderation.service import (
    MODERATION_CONFIG,
    ContentInfo,
    ContentRef,
    automated_actor,
    check_category,
    do_open_case,
    priority_of,
)
from reelm.runtime import Runtime
from reelm.social.models import Comment
from reelm.text import clean_text, invalid

MAX_PATTERN = 300


@lru_cache(maxsize=1024)
def compiled(kind: str, value: str) -> re.Pattern[str]:
    if kind == "term":
        return re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE)
    return re.compile(value, re.IGNORECASE)


def check_rule(body: RuleIn) -> dict[str, Any]:
    name = clean_text("name", body.name, max_len=64, allow_empty=False, multiline=False)
    value = clean_text("value", body.value, max_len=MAX_PATTERN, allow_empty=False, multiline=False)
    if body.kind == "pattern":
        try:
            compiled("pattern", value)
        except re.error as exc:
            raise invalid("value", f"not a valid regular expression: {exc}") from None
    label = clean_text("label", body.label or "", max_len=200, multiline=False) or None
    if body.action == RuleAction.LABEL and label is None:
        raise invalid("label", "a labelling rule needs the label's text")
    return {
        "name": name,
        "scope": RuleScope(body.scope).value,
        "kind": body.kind,
        "value": value,
        "action": RuleAction(body.action).value,
        "label": label,
        "category": check_category(body.category).value,
    }


def rule_out(rule: ContentRule) -> RuleOut:
    return RuleOut(
        id=str(rule.id),
        name=rule.name,
        scope=rule.scope,
        kind=rule.kind,
        value=rule.value,
        action=rule.action,
        label=rule.label,
        category=rule.category,
        created_at=rule.created_at,
    )


async def do_create_rule(
    session: AsyncSession, runtime: Runtime, realm: str, body: RuleIn, actor: dict[str, Any]
) -> ContentRule:
    values = check_rule(body)
    rule = ContentRule(
        id=ids.new_id(runtime.settings.realm(realm).code),
        created_at=datetime.now(UTC),
        created_by=f"staff:{actor['id']}" if actor.get("kind") == "staff" else str(actor.get("kind")),
        **values,
    )
    session.add(rule)
    try:
        await session.flush()  # the unique name speaks before the change is logged
    except IntegrityError as exc:
        raise Problem(409, "rule-exists", "Rule exists", f"A rule named {values['name']!r} exists.") from exc
    await record_event(
        session,
        realm=realm,
        event_type=MODERATION_CONFIG,
        actor=actor,
        details={"change": "rule-created", "rule": str(rule.id), **values},
    )
    return rule


async def do_delete_rule(session: AsyncSession, realm: str, rule_id: str, actor: dict[str, Any]) -> None:
    an_id = ids.parse_id(rule_id)
    removed = (
        await session.execute(delete(ContentRule).where(ContentRule.id == an_id).returning(ContentRule.name))
        if an_id is not None
        else None
    )
    name = removed.scalar() if removed is not None else None
    if name is None:
        raise not_found("Rule")
    await record_event(
        session,
        realm=realm,
        event_type=MODERATION_CONFIG,
        actor=actor,
        details={"change": "rule-deleted", "rule": rule_id, "name": name},
    )


async def rules_for(session: AsyncSession, scope: RuleScope) -> list[ContentRule]:
    return list(
        await session.scalars(
            select(ContentRule)
            .where(ContentRule.scope.in_([scope.value, RuleScope.BOTH.value]))
            .order_by(ContentRule.created_at)
        )
    )


def matching(rules: Sequence[ContentRule], text: str) -> list[ContentRule]:
    return [r for r in rules if compiled(r.kind, r.value).search(text)]


async def check_name(session: AsyncSession, name: str) -> None:
    """A name that others see beside content (a sound's title) meets the realm's caption rules: one that a
    holding rule matches is refused (422), since a name has no review queue of its own to wait in, and its
    creator can choose another at once. A labelling rule lets it through (labels belong to videos)."""
    rule = strongest(matching(await rules_for(session, RuleScope.CAPTION), name))
    if rule is not None and rule.action == RuleAction.HOLD:
        raise Problem(
            422,
            "name-refused",
            "Name not allowed",
            "This name contains words that this realm's content rules do not allow. Choose another.",
        )


def strongest(matched: Sequence[ContentRule]) -> ContentRule | None:
    """The rule that decides: a hold beats a label; otherwise the first made."""
    holds = [r for r in matched if r.action == RuleAction.HOLD]
    ordered = holds or list(matched)
    return ordered[0] if ordered else None


async def do_screen_comment(session: AsyncSession, runtime: Runtime, realm: str, comment: Comment) -> str:
    """Apply the realm's comment rules to a new comment in its author's realm, in the comment's transaction.

    Returns the comment's moderation state. A hold keeps the comment from being public until a reviewer
    decides (the case is queued); a label is applied at once. Both are automated decisions, logged as such.
    """
    rule = strongest(matching(await rules_for(session, RuleScope.COMMENT), comment.body))
    if rule is None:
        return comment.mod_state
    await session.flush()  # the comment row exists before a decision refers to it
    ref = ContentRef(ContentType.COMMENT, comment.id, realm)
    action = Action.HOLD if rule.action == RuleAction.HOLD else Action.LABEL
    case = None
    if action is Action.HOLD:
        comment.mod_state = "held"
        case = await open_automated_case(session, runtime, ref, comment.author_id, comment.created_at, rule)
    await do_record_decision(
        session,
        runtime,
        ref,
        DecisionSpec(
            action=action,
            category=Category(rule.category),
            ground=Ground.INCOMPATIBLE,
            facts=f"The comment matched the realm's rule “{rule.name}”.",
            terms_ground=f"Comment rule “{rule.name}” of realm {realm}",
            label=rule.label if action is Action.LABEL else None,
        ),
        actor=automated_actor("rules"),
        reviewer_id=None,
        source_type=Source.VOLUNTARY,
        automated_detection=True,
        case=case,
        close_case=False,
        log_details={"rule": str(rule.id)},
    )
    return comment.mod_state


async def open_automated_case(
    session: AsyncSession,
    runtime: Runtime,
    ref: ContentRef,
    owner_id: int,
    created_at: datetime,
    rule: ContentRule | None,
    *,
    category: Category | None = None,
    explanation: str | None = None,
) -> Case:
    """Queue content an automated check held, with a report saying which check it was."""
    chosen = category or Category(rule.category if rule else Category.OTHER_VIOLATION_TC)
    now = datetime.now(UTC)
    case = await do_open_case(
        session, runtime, ref, ContentInfo(owner_id, created_at), category=chosen, now=now
    )
    session.add(
        Report(
            id=ids.new_id(runtime.settings.realm(ref.realm).code),
            case_id=case.id,
            content_type=ref.type.value,
            content_id=ref.id,
            content_owner_id=owner_id,
            reporter_id=None,
            reporter_ref=None,
            reporter_realm=None,
            source=Source.VOLUNTARY.value,
            category=chosen.value,
            explanation=explanation or f"Automated: matched the realm's rule “{rule.name if rule else '?'}”.",
            legal_ground=None,
            created_at=now,
        )
    )
    case.report_count += 1
    case.automated = True
    case.priority = priority_of(case)
    return case
