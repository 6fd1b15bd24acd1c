"""The demo's lived-in state: what a visitor should find working on every page, made through the same
services that the pages and the command line use (so each step is checked, notified and logged as it
would be for real).

- a fan who is new to the realm comments with a scam link under Maya's first video and writes Maya a
  message: Maya follows nobody new, so it waits as a message request, with its notification;
- Maya reports the comment; a reviewer of the realm (granted the role as `reelm staff grant` would)
  removes it, with a statement of reasons that the fan and the reviewer can read;
- the operator turns comments off in the catch-all realm for a maintenance window and back on, as
  `reelm realm suspend` and `restore` would: both changes land in the transparency log, with the role grant
  and the decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from reelm.accounts.models import User
from reelm.demo.accounts import demo_account
from reelm.messages import conversations, sending
from reelm.messages.ciphers import CipherCache
from reelm.messages.policy import MessagingSettings
from reelm.moderation.models import Category, ContentType, Ground
from reelm.moderation.reports import do_file_report
from reelm.moderation.review import decide_case
from reelm.moderation.schemas import DecisionIn
from reelm.moderation.service import ContentRef
from reelm.realms.models import Capability
from reelm.realms.service import do_restore, do_suspend
from reelm.runtime import Runtime
from reelm.social.notify import notify_comment
from reelm.social.service import do_comment
from reelm.staff.policy import default_engine
from reelm.staff.service import access_staff, do_grant_role
from reelm.videos.models import Video

# Who changed the switches and granted the role: the seeding itself, named as such in the log.
DEMO_ACTOR: dict[str, Any] = {"kind": "demo-seed"}

# handle, display name, country, bio: accounts that are not creators
FAN = ("nora.fan", "Nora", "US", "New here, watching everything 👀")
REVIEWER = ("ravi.reviews", "Ravi (Trust & Safety)", "US", "Reviews reports for the US realm")
PEOPLE = [FAN, REVIEWER]

SPAM = "Get 10k followers free at follow-boost.example 💸 DM me!"
REQUEST = "Hi Maya! Loved your warm-up routine 💃 Could you do a beginner version?"
MAINTENANCE = "Comments are paused for a few minutes of database maintenance."
STEPS = len(PEOPLE) + 4  # the accounts, then: comment, message, report and decision, switches


@dataclass(frozen=True)
class Showcase:
    """What was made, for the closing summary of `reelm demo`."""

    reviewer: str
    reviewer_realm: str  # the realm whose reports they review
    fan: str
    statement_path: str | None  # None when Maya has no video to comment under (a demo without videos)
    switched_realm: str


async def showcase(
    runtime: Runtime, people: dict[str, tuple[str, User]], password: str, advance: Callable[[str], None]
) -> Showcase:
    """Make the showcase; `people` maps the creators' handles to (realm, user) and gains the new accounts."""
    for handle, name, country, bio in PEOPLE:
        people[handle] = await demo_account(
            runtime, handle=handle, name=name, country=country, bio=bio, password=password
        )
        advance(f"account @{handle}")

    realm, fan = people[FAN[0]]
    maya_realm, maya = people["maya.moves"]
    assert realm == maya_realm, "the fan lives in Maya's realm, so that her report and review stay there"
    code = runtime.settings.realm(realm).code

    async with runtime.databases.transaction(realm) as session:
        video_id = await session.scalar(
            select(Video.id).where(Video.owner_id == maya.id).order_by(Video.created_at).limit(1)
        )
        comment = None
        if video_id is not None:
            comment = await do_comment(
                session, realm_code=code, author=fan, video_id=video_id, body=SPAM, parent_id=None
            )
            await notify_comment(session, realm, comment, maya.id)
    advance("a comment to review")

    await _request(runtime, realm, fan, maya)
    advance("a message request")

    _, reviewer = people[REVIEWER[0]]
    await do_grant_role(runtime, handle=REVIEWER[0], role="reviewer", staff_realm=realm, actor=DEMO_ACTOR)
    statement = None
    if comment is not None:
        statement = await _review(runtime, realm, comment.id, reporter=maya, reviewer=reviewer)
    advance("a report and its decision")

    switched = runtime.settings.realm_names[-1]
    await do_suspend(
        runtime,
        realm=switched,
        capabilities=[Capability.COMMENT],
        notice=MAINTENANCE,
        reason="Demo: a maintenance window, opened and closed",
        actor=DEMO_ACTOR,
    )
    await do_restore(
        runtime,
        realm=switched,
        capabilities=[Capability.COMMENT],
        reason="Demo: maintenance done",
        actor=DEMO_ACTOR,
    )
    advance("a service switch, off and on")
    return Showcase(
        reviewer=REVIEWER[0],
        reviewer_realm=realm,
        fan=FAN[0],
        statement_path=statement,
        switched_realm=switched,
    )


async def _review(runtime: Runtime, realm: str, comment_id: int, *, reporter: User, reviewer: User) -> str:
    """The reporter's report, then the reviewer's decision; the path of its statement of reasons."""
    async with runtime.databases.transaction(realm) as session:
        report = await do_file_report(
            session,
            runtime,
            ContentRef(ContentType.COMMENT, comment_id, realm),
            reporter_id=reporter.id,
            reporter_realm=realm,
            category=Category.SCAMS_AND_FRAUD,
            explanation="A scam link for fake followers, posted under my video.",
            legal_ground=None,
        )
        case_id = report.case_id
    decision = await decide_case(
        runtime,
        default_engine(),
        await access_staff(runtime, reviewer.id),
        str(case_id),
        DecisionIn(
            action="remove",
            category=Category.SCAMS_AND_FRAUD.value,
            ground=Ground.INCOMPATIBLE.value,
            facts="The comment advertises a paid follower service through an outside link.",
            terms_ground="Terms 3.4: no spam, scams or fake engagement",
        ),
    )
    return f"/statements/{decision.id}"


async def _request(runtime: Runtime, realm: str, sender: User, recipient: User) -> None:
    """A first message from someone the recipient does not follow: it waits as a request."""
    code = runtime.settings.realm(realm).code
    now = datetime.now(UTC)
    policy = MessagingSettings(min_account_age_hours=0)  # the demo's accounts are minutes old
    async with runtime.databases.transaction(realm) as session:
        started = await conversations.do_start(
            session,
            realm=realm,
            realm_code=code,
            policy=policy,
            sender=sender,
            recipients=[(recipient.id, realm)],
            now=now,
        )
        await sending.do_send(
            session,
            realm=realm,
            realm_code=code,
            ciphers=CipherCache(runtime.keys),
            policy=policy,
            conversation_id=started.conversation.id,
            sender=sender,
            body=REQUEST,
            video_id=None,
            client_key=None,
            now=now,
        )
