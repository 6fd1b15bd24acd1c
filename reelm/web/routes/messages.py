"""JSON API of conversations and messages, and the inbox pages (the live WebSocket: reelm.web.routes.live).

Every conversation the viewer sees is their home realm's copy, so each route works in the viewer's
realm: a conversation id minted elsewhere is simply not found. Sending is gated by the realm's `message`
switch (451 when off); reading what one already has stays possible, as with comments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, NamedTuple
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.accounts.models import User
from reelm.accounts.service import resolve_handle
from reelm.accounts.viewer import SignedInViewer, Viewer
from reelm.errors import Problem, not_found
from reelm.messages import conversations, inbox, permissions, reading, sending
from reelm.messages.inbox import Folder
from reelm.messages.models import AllowFrom, Conversation, ConversationMember, MemberState
from reelm.messages.schemas import (
    MAX_SEQ,
    BlockedPage,
    BlockState,
    ConversationIn,
    ConversationOut,
    ConversationPage,
    GroupIn,
    MembersIn,
    MessageIn,
    MessageOut,
    MessagePage,
    MessageSettingsIO,
    MuteIn,
    ReadIn,
)
from reelm.notifications.service import people_out
from reelm.realms.models import Capability
from reelm.runtime import Runtime
from reelm.safety.blocks import blocked_by, do_block, is_blocking
from reelm.web.capabilities import require_capability
from reelm.web.deps import Limiter, MessagingDep, RuntimeDep, UserViewer, ViewerDep
from reelm.web.pagination import decode_cursor, encode_cursor
from reelm.web.params import Cursor, HandlePath, IdPath
from reelm.web.rendering import render
from reelm.web.routes import live

router = APIRouter(tags=["messages"])
router.include_router(live.router)  # the live connection, /live
pages = APIRouter(include_in_schema=False)

SEND = [require_capability(Capability.MESSAGE)]  # the sender's realm: every member's
HELLO_TIMEOUT_S = 10.0
REVALIDATE_S = 300.0  # how often a long-lived connection checks that its session still stands
MAX_CLIENT_FRAME = 4096


def _conversation_id(viewer: Viewer, runtime: Runtime, text: str) -> int:
    """The id, if it can name a conversation of the viewer's realm; 404 otherwise."""
    parsed = ids.parse_id(text)
    if parsed is None or runtime.settings.realm_of_id(parsed) != viewer.realm:
        raise not_found("Conversation")
    return parsed


class Access(NamedTuple):
    session: AsyncSession
    conversation: Conversation
    member: ConversationMember


@dataclass(frozen=True)
class ConversationAccess:
    """The conversation named in the path, as the signed-in viewer may act on it (404 for anyone else).

    Every conversation route goes through it: `read()` in a plain session, `change()` in the request's one
    transaction, both resolving the conversation and the viewer's membership with
    `conversations.access_conversation`.
    """

    runtime: Runtime
    viewer: SignedInViewer
    conversation_id: int

    @property
    def realm(self) -> str:
        return self.viewer.realm

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Access]:
        async with self.runtime.databases.read(self.realm) as session:
            yield await self._access(session, lock=False)

    @asynccontextmanager
    async def change(self, *, lock: bool = False) -> AsyncIterator[Access]:
        """`lock` holds the conversation's row until commit, as taking an event number or leaving needs."""
        async with self.runtime.databases.transaction(self.realm) as session:
            yield await self._access(session, lock=lock)

    async def _access(self, session: AsyncSession, *, lock: bool) -> Access:
        conversation, member = await conversations.access_conversation(
            session, self.viewer.user_id, self.conversation_id, for_update=lock
        )
        return Access(session, conversation, member)


async def conversation_access(
    runtime: RuntimeDep, viewer: UserViewer, conversation_id: IdPath
) -> ConversationAccess:
    return ConversationAccess(runtime, viewer, _conversation_id(viewer, runtime, conversation_id))


ConversationDep = Annotated[ConversationAccess, Depends(conversation_access)]


def _message_id(text: str) -> int:
    parsed = ids.parse_id(text)
    if parsed is None:
        raise not_found("Message")
    return parsed


async def _recipients(runtime: Runtime, handles: list[str]) -> list[tuple[int, str]]:
    """(user id, home realm) of each handle; 404 for one that names nobody."""
    wanted = list(dict.fromkeys(h.strip().lower().lstrip("@") for h in handles))
    found = []
    for handle in wanted:
        entry = await resolve_handle(runtime, handle)
        if entry is None:
            raise Problem(404, "not-found", "User not found", f"No such user: @{handle}.")
        found.append((entry.user_id, entry.realm))
    return found


# --- conversations ------------------------------------------------------------------------------------


@router.post("/conversations", status_code=201, response_model=ConversationOut, dependencies=SEND)
async def start_conversation(
    runtime: RuntimeDep,
    viewer: UserViewer,
    limiter: Limiter,
    messaging: MessagingDep,
    body: ConversationIn,
    response: Response,
) -> ConversationOut:
    """Open a conversation with one person (reused if it exists: 200) or a group, maybe with a message."""
    me = viewer.user
    first = body.message
    video_id = sending.video_id_of(first.video_id) if first is not None else None
    text = permissions.check_body(first.body, video_id) if first is not None else None
    recipients = await _recipients(runtime, body.handles)
    policy = messaging.policy
    limiter.hit("conversation", str(me.id), limit=policy.new_conversations_per_hour, per_seconds=3600)
    if first is not None:
        limiter.hit("message", str(me.id), limit=policy.messages_per_minute, per_seconds=60)
    realm_code = runtime.settings.realm(viewer.realm).code
    now = datetime.now(UTC)
    try:
        async with runtime.databases.transaction(viewer.realm) as session:
            # Read afresh: the viewer's row comes from a short-lived cache, and its age decides here.
            me = await session.get(User, me.id) or me
            started = await conversations.do_start(
                session,
                realm=viewer.realm,
                realm_code=realm_code,
                policy=policy,
                sender=me,
                recipients=recipients,
                now=now,
            )
            conversation = started.conversation
            member = await session.get(ConversationMember, (conversation.id, me.id))
            assert member is not None  # the start made or rejoined it
            if first is not None:
                if video_id is not None:
                    await permissions.check_shared_video(session, video_id)
                await sending.do_send(
                    session,
                    realm=viewer.realm,
                    realm_code=realm_code,
                    ciphers=messaging.ciphers,
                    policy=policy,
                    conversation_id=conversation.id,
                    sender=me,
                    body=text,
                    video_id=video_id,
                    client_key=first.client_key,
                    now=now,
                )
                # The send wrote with SQL statements of its own: read what it changed.
                await session.refresh(conversation)
                await session.refresh(member)
            (out,) = await inbox.conversations_out(
                session, viewer.realm, messaging.ciphers, me.id, [(conversation, member)]
            )
    except IntegrityError as exc:  # the same pair started twice at once, or a client key reused
        raise sending.conflict() from exc
    if not started.created:
        response.status_code = 200
    return out


@router.get("/conversations", response_model=ConversationPage)
async def list_conversations(
    runtime: RuntimeDep,
    viewer: UserViewer,
    messaging: MessagingDep,
    folder: Folder = Folder.INBOX,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> ConversationPage:
    """The inbox (or the requests folder), latest activity first."""
    me = viewer.user
    kind = f"conversations:{me.id}:{folder.value}"
    before = None
    if cursor:
        state = decode_cursor(runtime.settings.secret_key, cursor, kind)
        before = (datetime.fromisoformat(state["at"]), int(state["id"]))
    async with runtime.databases.read(viewer.realm) as session:
        rows = await inbox.list_conversations(session, me.id, folder=folder, before=before, limit=limit + 1)
        items = await inbox.conversations_out(session, viewer.realm, messaging.ciphers, me.id, rows[:limit])
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        next_cursor = encode_cursor(
            runtime.settings.secret_key, kind, {"at": last.last_message_at.isoformat(), "id": str(last.id)}
        )
    return ConversationPage(items=items, next_cursor=next_cursor)


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
async def get_conversation(access: ConversationDep, messaging: MessagingDep) -> ConversationOut:
    async with access.read() as (session, conversation, member):
        (out,) = await inbox.conversations_out(
            session, access.realm, messaging.ciphers, access.viewer.user_id, [(conversation, member)]
        )
    return out


@router.get("/conversations/{conversation_id}/messages", response_model=MessagePage)
async def get_messages(
    access: ConversationDep,
    messaging: MessagingDep,
    before_seq: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
    after_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 30,
) -> MessagePage:
    """History (the latest messages, or those `before_seq`), or with `after_seq` every event since then.

    `through_seq` is the conversation's latest number when this was read: a client that loaded the
    latest page, or read `after_seq` to the end, has everything up to it and waits for what follows.
    """
    if before_seq is not None and after_seq is not None:
        raise Problem(
            422, "invalid-request", "The request is not valid", "Give before_seq or after_seq, not both."
        )
    async with access.read() as (session, conversation, member):
        if after_seq is not None:
            rows = await reading.events_after(session, member, after_seq, limit + 1)
            has_more = len(rows) > limit
            rows = rows[:limit]
            through = rows[-1].seq if has_more else conversation.last_seq
        else:
            rows = await reading.messages_before(session, member, before_seq, limit + 1)
            has_more = len(rows) > limit
            rows = rows[-limit:]
            through = conversation.last_seq
        items = await reading.messages_out(session, access.realm, messaging.ciphers, rows)
    return MessagePage(items=items, through_seq=through, has_more=has_more)


@router.post(
    "/conversations/{conversation_id}/messages", status_code=201, response_model=MessageOut, dependencies=SEND
)
async def send_message(
    access: ConversationDep, limiter: Limiter, messaging: MessagingDep, body: MessageIn, response: Response
) -> MessageOut:
    """Send text (emoji welcome) and/or share a video. 201 once stored; a retry with the same
    `client_key` gets the same message back with 200. A live connection can send too (`send` frames)."""
    viewer = access.viewer
    out, created = await sending.send_one(
        access.runtime, messaging, limiter, viewer.realm, viewer.user, access.conversation_id, body
    )
    if not created:
        response.status_code = 200
    return out


@router.post("/conversations/{conversation_id}/messages/{message_id}/unsend", response_model=MessageOut)
async def unsend_message(access: ConversationDep, messaging: MessagingDep, message_id: IdPath) -> MessageOut:
    """Take a message back for everyone; answers with the unsend event (which names it in `target_seq`)."""
    async with access.change(lock=True) as (session, conversation, _):
        message = await sending.access_message(session, conversation, _message_id(message_id))
        event = await sending.do_unsend(
            session,
            realm=access.realm,
            realm_code=access.runtime.settings.realm(access.realm).code,
            conversation=conversation,
            sender=access.viewer.user,
            message=message,
            now=datetime.now(UTC),
        )
        (out,) = await reading.messages_out(session, access.realm, messaging.ciphers, [event])
    return out


@router.delete("/conversations/{conversation_id}/messages/{message_id}", status_code=204)
async def delete_message_for_me(access: ConversationDep, message_id: IdPath) -> None:
    async with access.change() as (session, conversation, member):
        message = await sending.access_message(session, conversation, _message_id(message_id))
        if message.seq <= member.cleared_seq:
            raise not_found("Message")
        await reading.do_hide(session, access.viewer.user_id, message)


@router.post("/conversations/{conversation_id}/read", status_code=204)
async def mark_read(access: ConversationDep, body: ReadIn) -> None:
    async with access.change() as (session, conversation, member):
        await reading.do_mark_read(session, access.realm, conversation, member, body.seq)


@router.post("/conversations/{conversation_id}/accept", response_model=ConversationOut)
async def accept_request(access: ConversationDep, messaging: MessagingDep) -> ConversationOut:
    """Move a message request into the inbox; its sender then sees when it is read."""
    async with access.change() as (session, conversation, member):
        await conversations.do_accept(session, conversation, member)
        (out,) = await inbox.conversations_out(
            session, access.realm, messaging.ciphers, access.viewer.user_id, [(conversation, member)]
        )
    return out


@router.delete("/conversations/{conversation_id}", status_code=204)
async def leave_conversation(access: ConversationDep) -> None:
    """Delete the conversation for yourself (decline a request, leave a group)."""
    async with access.change(lock=True) as (session, conversation, member):
        await conversations.do_leave(session, access.realm, conversation, member)


@router.patch("/conversations/{conversation_id}", response_model=ConversationOut, dependencies=SEND)
async def rename_group(access: ConversationDep, messaging: MessagingDep, body: GroupIn) -> ConversationOut:
    """Name a group (any member); an empty title removes the name."""
    me = access.viewer.user_id
    async with access.change(lock=True) as (session, conversation, member):
        await conversations.do_rename(session, access.realm, conversation, me, body.title)
        (out,) = await inbox.conversations_out(
            session, access.realm, messaging.ciphers, me, [(conversation, member)]
        )
    return out


@router.post("/conversations/{conversation_id}/members", response_model=ConversationOut, dependencies=SEND)
async def add_members(
    access: ConversationDep, limiter: Limiter, messaging: MessagingDep, body: MembersIn
) -> ConversationOut:
    """Add people to a group: each lands in their inbox or requests as a new conversation would, and sees
    what is said from now on (not the earlier history)."""
    me = access.viewer.user
    recipients = await _recipients(access.runtime, body.handles)
    policy = messaging.policy
    limiter.hit("conversation", str(me.id), limit=policy.new_conversations_per_hour, per_seconds=3600)
    async with access.change(lock=True) as (session, conversation, member):
        if member.state != MemberState.ACCEPTED:
            raise Problem(403, "forbidden", "Not allowed", "Accept the request before adding people.")
        local, foreign = await conversations.people_named(session, access.realm, recipients)
        me = await session.get(User, me.id) or me  # its age decides, as when starting a conversation
        await conversations.do_add_members(
            session,
            realm=access.realm,
            policy=policy,
            conversation=conversation,
            adder=me,
            people=local,
            foreign=foreign,
            now=datetime.now(UTC),
        )
        (out,) = await inbox.conversations_out(
            session, access.realm, messaging.ciphers, me.id, [(conversation, member)]
        )
    return out


@router.put("/conversations/{conversation_id}/mute", response_model=MuteIn)
async def mute_conversation(access: ConversationDep, body: MuteIn) -> MuteIn:
    """A muted conversation still receives messages but no longer counts in the unread badge."""
    async with access.change() as (_, _, member):
        conversations.do_mute(member, muted=body.muted)
    return body


# --- blocks and settings ------------------------------------------------------------------------------


async def _user_id(runtime: Runtime, handle: str) -> int:
    entry = await resolve_handle(runtime, handle)
    if entry is None:
        raise not_found("User")
    return entry.user_id


async def _set_block(runtime: Runtime, viewer: SignedInViewer, handle: str, *, block: bool) -> BlockState:
    """Blocks are the blocker's data, kept in their realm whoever is blocked: a message from someone of
    another realm whom they blocked is refused when it arrives (reelm.messages.inbound)."""
    me = viewer.user
    user_id = await _user_id(runtime, handle)
    async with runtime.databases.transaction(viewer.realm) as session:
        await do_block(session, me.id, user_id, block=block)
    return BlockState(blocked=block)


@router.get("/users/{handle}/block", response_model=BlockState)
async def get_block(runtime: RuntimeDep, viewer: UserViewer, handle: HandlePath) -> BlockState:
    user_id = await _user_id(runtime, handle)
    async with runtime.databases.read(viewer.realm) as session:
        return BlockState(blocked=await is_blocking(session, viewer.user.id, user_id))


@router.post("/users/{handle}/block", response_model=BlockState)
async def block_user(runtime: RuntimeDep, viewer: UserViewer, handle: HandlePath) -> BlockState:
    """They can no longer message you or start a conversation with you, and you hear nothing from them."""
    return await _set_block(runtime, viewer, handle, block=True)


@router.delete("/users/{handle}/block", response_model=BlockState)
async def unblock_user(runtime: RuntimeDep, viewer: UserViewer, handle: HandlePath) -> BlockState:
    return await _set_block(runtime, viewer, handle, block=False)


@router.get("/me/blocks", response_model=BlockedPage)
async def get_blocked(runtime: RuntimeDep, viewer: UserViewer) -> BlockedPage:
    """Everyone you blocked, the latest first (an account no longer public is left out)."""
    async with runtime.databases.read(viewer.realm) as session:
        blocked = await blocked_by(session, viewer.user.id)
        people = await people_out(session, viewer.realm, set(blocked))
    return BlockedPage(items=[people[b] for b in blocked if b in people])


@router.get("/me/message-settings", response_model=MessageSettingsIO)
async def get_message_settings(runtime: RuntimeDep, viewer: UserViewer) -> MessageSettingsIO:
    async with runtime.databases.read(viewer.realm) as session:
        return MessageSettingsIO(allow_from=await permissions.allow_from(session, viewer.user.id))


@router.put("/me/message-settings", response_model=MessageSettingsIO)
async def put_message_settings(
    runtime: RuntimeDep, viewer: UserViewer, body: MessageSettingsIO
) -> MessageSettingsIO:
    """Who may start a conversation with you: everyone (strangers land in requests), people you follow,
    or nobody."""
    async with runtime.databases.transaction(viewer.realm) as session:
        await permissions.do_set_allow_from(
            session, viewer.user.id, AllowFrom(body.allow_from), datetime.now(UTC)
        )
    return body


# --- pages ------------------------------------------------------------------------------------------------


def _login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


@pages.get("/inbox")
async def inbox_page(request: Request, viewer: ViewerDep) -> Response:
    if viewer.user is None:
        return _login_redirect(request)
    return render(request, viewer, "inbox.html", conversation_id=None)


@pages.get("/inbox/{conversation_id}")
async def conversation_page(request: Request, viewer: ViewerDep, conversation_id: IdPath) -> Response:
    """The inbox with one conversation open; the script checks it exists (and is the viewer's)."""
    if viewer.user is None:
        return _login_redirect(request)
    parsed = ids.parse_id(conversation_id)
    return render(request, viewer, "inbox.html", conversation_id=str(parsed) if parsed is not None else None)
