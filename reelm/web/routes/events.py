"""`POST /api/v1/events`: the web client's batched watch events (sendBeacon or fetch keepalive)."""

from __future__ import annotations

from fastapi import APIRouter

from reelm.events.schemas import EventBatchIn, EventBatchOut
from reelm.realms.models import Capability
from reelm.recommend.ingest import do_ingest_events
from reelm.web.capabilities import require_capability
from reelm.web.deps import Limiter, RuntimeDep, UserViewer

router = APIRouter(tags=["events"])

BATCHES_PER_MINUTE = 120  # a client flushes every few seconds; this leaves room for retries


@router.post("/events", response_model=EventBatchOut, dependencies=[require_capability(Capability.WATCH)])
async def post_events(
    batch: EventBatchIn, runtime: RuntimeDep, viewer: UserViewer, limiter: Limiter
) -> EventBatchOut:
    """Store a batch of events in the viewer's home realm: all of it, or (on any bad event) none of it.

    Resending a batch is harmless: events are counted once per client event id.
    """
    limiter.hit("events", str(viewer.user.id), limit=BATCHES_PER_MINUTE, per_seconds=60)
    async with runtime.databases.transaction(viewer.realm) as session:
        result = await do_ingest_events(session, viewer.user.id, batch)
    return EventBatchOut(accepted=result.accepted, duplicates=result.duplicates)
