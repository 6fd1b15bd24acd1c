"""The worker of one realm, wired in one place: its job queues, its housekeeping sweeps, and what it does
with each kind of delivery from another realm.

Jobs register themselves in their domains' `tasks` modules (reelm.jobs); sweeps and delivery handlers are
listed here rather than registered at import time, so what a worker does can be read in one file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from procrastinate import App, PsycopgConnector

from reelm.analytics.release import ANALYTICS, roll_up, take_cells
from reelm.crossrealm.deliveries import Handler, keep_receiving
from reelm.crossrealm.transit import ensure_transit_key
from reelm.departures.purge import purge_due_accounts
from reelm.exports.service import expire_exports
from reelm.jobs import (
    HEARTBEAT_S,
    MEDIA_QUEUE,
    MODELS_QUEUE,
    STALLED_AFTER_S,
    STOP_GRACE_S,
    job_app,
    recover_stalled_jobs,
)
from reelm.messages.inbound import handlers as message_handlers
from reelm.messages.tasks import expire_messages
from reelm.moderation.suspensions import lift_expired_suspensions
from reelm.notifications.inbound import take_notice
from reelm.publishing.scheduled import publish_due
from reelm.recommend.tasks import schedule_retraining
from reelm.runtime import Runtime
from reelm.scratch import sweep_scratch
from reelm.social.notify import NOTICE
from reelm.sounds.takedown import sync_muted

log = logging.getLogger(__name__)

# How often a worker runs its housekeeping sweeps (purging deleted accounts whose grace period is over...).
HOUSEKEEPING_EVERY_S = 600.0

Sweep = Callable[[Runtime, str], Awaitable[int]]
# Idempotent and row-locked, so any number of workers of a realm may run them at once.
SWEEPS: tuple[tuple[str, Sweep], ...] = (
    ("deleted accounts purged", purge_due_accounts),
    ("exports expired", expire_exports),
    ("suspensions lifted", lift_expired_suspensions),
    ("messages past retention removed", expire_messages),
)
# Sweeps that carry another realm's decision into this one, run more often: a sound taken down in one realm is
# muted in this realm's videos within about this long (reelm.sounds.takedown); and scheduled posts, which go
# out within about this long of their time (reelm.publishing.scheduled).
FREQUENT_EVERY_S = 30.0
FREQUENT_SWEEPS: tuple[tuple[str, Sweep], ...] = (
    ("videos muted or unmuted with their sound", sync_muted),
    ("scheduled posts published", publish_due),
    ("watch events rolled up for creators' analytics", roll_up),  # fresh within two sweeps (reelm.analytics)
)


def delivery_handlers(runtime: Runtime) -> dict[str, Handler]:
    """What a realm does with each kind of delivery from another realm (reelm.crossrealm.deliveries)."""
    return {**message_handlers(runtime), NOTICE: take_notice, ANALYTICS: take_cells}


async def _keep_recovering(app: App, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await recover_stalled_jobs(app)
        except Exception:  # a failed sweep is retried at the next tick; the worker itself goes on
            log.exception("stalled-job recovery failed")


async def _keep_housekeeping(
    runtime: Runtime, realm: str, every_s: float, sweeps: tuple[tuple[str, Sweep], ...]
) -> None:
    # A loop rather than procrastinate periodic tasks: the sweeps are idempotent and row-locked, so any
    # number of workers may run them, and short-lived test workers never queue a stray job. A suspension
    # is thus lifted at most `every_s` after its end (log-in works at its end already).
    while True:
        for what, sweep in sweeps:
            try:
                done = await sweep(runtime, realm)
                if done:
                    log.info("%s: %d", what, done)
            except Exception:  # retried at the next tick; the worker itself goes on
                log.exception("housekeeping failed: %s", what)
        await asyncio.sleep(every_s)


async def run_worker(runtime: Runtime, realm: str, *, wait: bool = True, concurrency: int = 2) -> None:
    """Process the jobs of one realm, with that realm's database credentials only; a long-running worker
    also takes in what other realms deliver to this one."""
    await ensure_transit_key(runtime, realm)
    if left := sweep_scratch(runtime.settings.data_dir):
        log.info("removed %d scratch folders of processes that died", left)
    connector = PsycopgConnector(conninfo=runtime.realm_url(realm), min_size=1, max_size=concurrency + 2)
    queues = [MEDIA_QUEUE]
    if wait:
        schedule_retraining()
        queues.append(MODELS_QUEUE)
    with job_app.replace_connector(connector) as app:
        async with app.open_async():
            await recover_stalled_jobs(app)
            sweeper = asyncio.create_task(_keep_recovering(app, STALLED_AFTER_S)) if wait else None
            purger = (
                asyncio.create_task(_keep_housekeeping(runtime, realm, HOUSEKEEPING_EVERY_S, SWEEPS))
                if wait
                else None
            )
            syncer = (
                asyncio.create_task(_keep_housekeeping(runtime, realm, FREQUENT_EVERY_S, FREQUENT_SWEEPS))
                if wait
                else None
            )
            receiver = (
                asyncio.create_task(keep_receiving(runtime, realm, delivery_handlers(runtime)))
                if wait
                else None
            )
            try:
                await app.run_worker_async(
                    queues=queues,
                    concurrency=concurrency,
                    wait=wait,
                    install_signal_handlers=wait,
                    additional_context={"runtime": runtime, "realm": realm},
                    update_heartbeat_interval=HEARTBEAT_S,
                    stalled_worker_timeout=STALLED_AFTER_S,
                    # Then running jobs are cancelled (their ffmpeg children killed) and requeued.
                    shutdown_graceful_timeout=STOP_GRACE_S,
                )
            finally:
                for side_task in (sweeper, purger, syncer, receiver):
                    if side_task is not None:
                        side_task.cancel()
