"""`reelm demo`'s seed: every page has something to show, made through the domain services."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.accounts.models import HandleEntry
from reelm.audit.service import CAPABILITY_CHANGE, MODERATION_DECISION, STAFF_ROLE_CHANGE
from reelm.demo.seed import CREATORS, DEMO_PASSWORD, SHOWCASE_STEPS, accounts_table, is_seeded, seed
from reelm.demo.showcase import FAN, PEOPLE, REVIEWER
from reelm.messages.models import ConversationMember, MemberState
from reelm.moderation.models import Decision
from reelm.notifications.models import Notification
from reelm.realms.service import list_switches
from reelm.runtime import Runtime
from reelm.social.models import Comment
from reelm.staff.models import StaffRole
from tests.staff.common import outbox


async def _user_id(runtime: Runtime, handle: str) -> int:
    async with runtime.databases.read(None) as directory:
        user_id = await directory.scalar(select(HandleEntry.user_id).where(HandleEntry.handle == handle))
    assert user_id is not None, handle
    return int(user_id)


async def test_the_demo_fills_every_page(runtime: Runtime) -> None:
    steps: list[str] = []
    shown = await seed(runtime, steps.append, videos=1)  # Maya's one video: enough to comment under
    assert len(steps) == len(CREATORS) + 1 + SHOWCASE_STEPS
    assert await is_seeded(runtime)

    maya = await _user_id(runtime, CREATORS[0][0])
    fan = await _user_id(runtime, FAN[0])
    reviewer = await _user_id(runtime, REVIEWER[0])
    async with runtime.databases.read("us") as session:
        kinds = Counter(
            await session.scalars(select(Notification.kind).where(Notification.recipient_id == maya))
        )
        request = await session.get(ConversationMember, (await _request_of(session, maya), maya))
        decisions = list(await session.scalars(select(Decision)))
        spam = await session.scalar(select(Comment).where(Comment.author_id == fan))
    # Followers, a like and comments of the realm's creators, and the fan's message request.
    assert {"follow", "like", "comment", "message_request"} <= set(kinds), kinds
    assert request is not None
    assert request.state == MemberState.REQUEST
    # The fan's comment was reported by Maya and removed by the reviewer, with a statement of reasons.
    assert [(d.action, d.content_owner_id, d.reviewer_id) for d in decisions] == [("remove", fan, reviewer)]
    assert decisions[0].facts
    assert spam is not None
    assert spam.mod_state == "removed"
    assert shown.statement_path == f"/statements/{decisions[0].id}"

    # Staff actions and a capability change, each through the service that logs it.
    async with runtime.databases.read(None) as directory:
        roles = list(await directory.scalars(select(StaffRole).where(StaffRole.user_id == reviewer)))
    assert [(r.role, r.staff_realm) for r in roles] == [("reviewer", "us")]
    logged = Counter(entry["type"] for entry in await outbox(runtime, None))
    assert logged[STAFF_ROLE_CHANGE] == 1, logged
    assert logged[CAPABILITY_CHANGE] == 2, logged  # off for maintenance, then on again
    assert [e["details"]["action"] for e in await outbox(runtime, "us", MODERATION_DECISION)] == ["remove"]
    switches = {(s.realm, s.capability.value): s.state.value for s in await list_switches(runtime)}
    assert switches[(shown.switched_realm, "comment")] == "on"

    # The closing summary names every account once, and the one password.
    table = accounts_table(runtime, shown)
    handles = [str(cell).lstrip("@") for cell in table.columns[0].cells]
    assert handles == [handle for handle, *_ in [*CREATORS, *PEOPLE]]
    assert DEMO_PASSWORD in str(table.caption)


async def _request_of(session: AsyncSession, user_id: int) -> int:
    conversation_id = await session.scalar(
        select(ConversationMember.conversation_id).where(
            ConversationMember.user_id == user_id, ConversationMember.state == MemberState.REQUEST
        )
    )
    assert conversation_id is not None, "no message request is waiting"
    return int(conversation_id)
