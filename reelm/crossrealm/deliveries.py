"""Deliveries: protected data addressed to people of another realm (a message, a notification).

Sending. In the transaction that makes the data, the sender's realm seals a payload to the destination
realm's transit key (reelm.crossrealm.transit), writes it to `outbound_<own>.deliveries` and deletes it
again. The publication to the destination carries inserts only and filters on `to_realm`, so the row
reaches that realm's copy alone and never rests in the sender's database; the transaction's WAL holds
it until the destination confirms. That is the queue: a destination that is down loses nothing, and a
transaction that rolls back never delivered anything.

Receiving. The destination's copies (one table per source realm) fill as rows arrive; a trigger NOTIFYs
`reelm_deliveries` with the source realm's name, and the realm's worker takes them in
(`keep_receiving`): the handler for a delivery's kind and the row's removal commit together, so each
is acted on exactly once, in the order its realm sent them, even across crashes. Waiting deliveries are
taken in batches, one savepoint each: one whose handler fails stays for the next run.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.crossrealm.schema import ARRIVED
from reelm.crossrealm.transit import TRANSIT_KEYS, destination_key, open_sealed, seal, sealed_version
from reelm.crossrealm.views import deliveries
from reelm.runtime import Runtime

log = logging.getLogger(__name__)

POLL_S = 30.0  # a missed notification (a reconnect) delays a delivery by at most this much
BATCH = 50  # deliveries per transaction when several wait (a backlog after an outage)


@dataclass(frozen=True)
class Inbound:
    """One delivery, opened: where it came from, what kind it is, and what it says."""

    source: str  # the sending realm
    realm: str  # this realm, where it is taken in
    kind: str
    payload: dict[str, Any]


Handler = Callable[[AsyncSession, Inbound], Awaitable[None]]


def _aad(source: str, target: str, kind: str) -> bytes:
    return f"reelm/delivery/v1|{source}|{target}|{kind}".encode()


async def deliver(
    session: AsyncSession, *, source: str, target: str, kind: str, payload: dict[str, Any]
) -> None:
    """Send `payload` to realm `target` with the session's transaction (see the module docstring).

    Raises NoTransitKeyError when `target` has published no transit key yet.
    """
    version, public_key = await destination_key(session, target)
    sealed = seal(public_key, version, json.dumps(payload).encode(), _aad(source, target, kind))
    table = deliveries(source)
    delivery_id = (
        await session.execute(
            insert(table).values(to_realm=target, kind=kind, sealed=sealed).returning(table.c.id)
        )
    ).scalar_one()
    await session.execute(delete(table).where(table.c.id == delivery_id))


async def _take_batch(
    runtime: Runtime, realm: str, source: str, handlers: Mapping[str, Handler], skip: set[int], size: int
) -> int:
    """Take in up to `size` of the oldest deliveries waiting from `source`, in one transaction (a
    savepoint each, so one that fails is kept and the others go on); how many were looked at."""
    table = deliveries(source)
    async with runtime.databases.transaction(realm) as session:
        rows = (
            await session.execute(
                select(table.c.id, table.c.kind, table.c.sealed)
                .where(table.c.to_realm == realm, table.c.id.not_in(skip))
                .order_by(table.c.id)
                .limit(size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        taken = []
        for delivery_id, kind, sealed in rows:
            try:
                async with session.begin_nested():
                    handler = handlers[kind]  # a kind this release does not know waits for one that does
                    private = await TRANSIT_KEYS.private(
                        session, runtime.keys.realm(realm), sealed_version(bytes(sealed))
                    )
                    payload = json.loads(open_sealed(private, bytes(sealed), _aad(source, realm, kind)))
                    await handler(session, Inbound(source, realm, kind, payload))
            except Exception:
                log.exception(
                    "delivery %s (%s from %s) not taken in; kept for the next run", delivery_id, kind, source
                )
                skip.add(delivery_id)
                continue
            taken.append(delivery_id)
        if taken:
            await session.execute(delete(table).where(table.c.id.in_(taken)))
    return len(rows)


async def receive(
    runtime: Runtime,
    realm: str,
    handlers: Mapping[str, Handler],
    *,
    sources: Iterable[str] | None = None,
    limit: int = 1000,
    batch: int = BATCH,
) -> int:
    """Take in up to `limit` waiting deliveries from `sources` (every other realm by default); how many
    were looked at."""
    done = 0
    for source in sources if sources is not None else runtime.settings.realm_names:
        if source == realm:
            continue
        skip: set[int] = set()
        while done < limit:
            looked = await _take_batch(runtime, realm, source, handlers, skip, batch)
            done += looked
            if looked < batch:  # drained; what arrives meanwhile sends its own notification
                break
    return done


async def keep_receiving(runtime: Runtime, realm: str, handlers: Mapping[str, Handler]) -> None:
    """A worker's loop: take deliveries in as they arrive (LISTEN), and every POLL_S in any case."""
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                runtime.realm_url(realm), autocommit=True
            ) as conn:
                await conn.execute(f"LISTEN {ARRIVED}".encode())
                sources: set[str] | None = None  # None: every realm (at start, and after a quiet POLL_S)
                while True:
                    await receive(runtime, realm, handlers, sources=sources)
                    sources = None
                    # The notification names the realm whose delivery arrived: only its copy is read.
                    async for notify in conn.notifies(timeout=POLL_S, stop_after=1):
                        sources = {notify.payload}
        except asyncio.CancelledError:
            raise
        except Exception:  # the database went away: try again shortly, nothing is lost meanwhile
            log.exception("receiving deliveries failed; retrying")
            await asyncio.sleep(2.0)
