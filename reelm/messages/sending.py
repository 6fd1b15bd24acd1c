"""Sending one message: the transaction shared by POST /conversations/{id}/messages and the live
connection's `send` frames (reelm.web.routes.live)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from reelm import ids
from reelm.accounts.models import User
from reelm.errors import Problem
from reelm.messages import service
from reelm.messages.messaging import Messaging
from reelm.messages.schemas import MessageIn, MessageOut
from reelm.ratelimit import RateLimiter
from reelm.runtime import Runtime
from reelm.text import invalid


def conflict() -> Problem:
    return Problem(409, "conflict", "Changed meanwhile", "Something changed at the same moment; try again.")


def video_id_of(text: str | None) -> int | None:
    if text is None:
        return None
    parsed = ids.parse_id(text)
    if parsed is None:
        raise invalid("video_id", "no such public video")
    return parsed


async def send_one(
    runtime: Runtime,
    messaging: Messaging,
    limiter: RateLimiter,
    realm: str,
    me: User,
    conversation_id: int,
    body: MessageIn,
) -> tuple[MessageOut, bool]:
    """One message in one transaction; (the message, whether it is new). Shared by the API and the live
    connection's `send` frames; the caller has checked the realm's `message` switch."""
    video_id = video_id_of(body.video_id)
    text = service.check_body(body.body, video_id)
    limiter.hit("message", str(me.id), limit=messaging.policy.messages_per_minute, per_seconds=60)
    try:
        async with runtime.databases.transaction(realm) as session:
            if video_id is not None:
                await service.check_shared_video(session, video_id)
            message = await service.do_send(
                session,
                realm=realm,
                realm_code=runtime.settings.realm(realm).code,
                ciphers=messaging.ciphers,
                policy=messaging.policy,
                conversation_id=conversation_id,
                sender=me,
                body=text,
                video_id=video_id,
                client_key=body.client_key,
                now=datetime.now(UTC),
            )
            (out,) = await service.messages_out(session, realm, messaging.ciphers, [message], known=[me])
            # Before the commit, whose notification may be heard at once: this process's hub then
            # delivers the message without reading it back (other processes read it).
            messaging.hub.remember(out)
    except IntegrityError as exc:  # its client key was used before: most likely a retry of a stored send
        retried = await _stored_before(runtime, messaging, realm, me, conversation_id, body.client_key)
        if retried is None:
            raise conflict() from exc
        return retried, False
    return out, True


async def _stored_before(
    runtime: Runtime, messaging: Messaging, realm: str, me: User, conversation_id: int, client_key: str | None
) -> MessageOut | None:
    """The message a retried send stored the first time (its answer was lost on the way)."""
    async with runtime.databases.sessionmaker(realm)() as session:
        stored = await service.find_retry(session, me.id, client_key)
        if stored is None:
            return None
        if stored.conversation_id != conversation_id:
            raise invalid("client_key", "already used for another conversation")
        (out,) = await service.messages_out(session, realm, messaging.ciphers, [stored], known=[me])
    return out
