"""Background jobs with procrastinate: one registry of tasks, run by workers pinned to one realm each."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from procrastinate import App, PsycopgConnector, RetryStrategy
from procrastinate.schema import SchemaManager
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from reelm.crossrealm.deliveries import Handler
    from reelm.runtime import Runtime

log = logging.getLogger(__name__)

# The registry of tasks. Its connector is replaced by the realm's own when a worker starts; the web
# process never uses it, because it defers through the connection of the request's transaction.
job_app = App(
    connector=PsycopgConnector(),
    import_paths=["reelm.videos.tasks", "reelm.exports.tasks", "reelm.recommend.tasks"],
)

MEDIA_QUEUE = "media"
MODELS_QUEUE = "models"  # recommender retraining (reelm.recommend.tasks)
HEARTBEAT_S = 5.0
# A worker silent for this long is dead (killed, OOM, power loss); its running jobs are requeued.
STALLED_AFTER_S = 20.0
# Transient failures (storage hiccup, worker killed) are retried: waits of 2, 4, 8, 16 s ...
MEDIA_RETRY = RetryStrategy(max_attempts=6, exponential_wait=2)
# How often a worker purges the deleted accounts whose grace period is over (reelm.accounts.deletion).
PURGE_EVERY_S = 600.0


def procrastinate_schema_sql() -> str:
    return str(SchemaManager.get_schema())


async def defer(session: AsyncSession, task_name: str, **kwargs: Any) -> None:
    """Defer a job in the session's own transaction: it exists if and only if the transaction commits."""
    if task_name not in job_app.tasks:
        # Task modules import this one, so they register on first use; procrastinate leaves this untyped.
        job_app.perform_import_paths()  # type: ignore[no-untyped-call]
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    await job_app.tasks[task_name].configure(connection=raw).defer_async(**kwargs)


def runtime_of(context: Any) -> Runtime:
    runtime: Runtime = context.additional_context["runtime"]
    return runtime


def realm_of(context: Any) -> str:
    realm: str = context.additional_context["realm"]
    return realm


async def recover_stalled_jobs(app: App, *, seconds_since_heartbeat: float | None = None) -> int:
    """Requeue jobs whose worker died (SIGKILL, OOM, power loss) without finishing them."""
    stalled = list(
        await app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=STALLED_AFTER_S
            if seconds_since_heartbeat is None
            else seconds_since_heartbeat
        )
    )
    for job in stalled:
        log.warning("retrying stalled job %s (%s)", job.id, job.task_name)
        await app.job_manager.retry_job(job)
    return len(stalled)


async def _keep_recovering(app: App, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await recover_stalled_jobs(app)
        except Exception:  # a failed sweep is retried at the next tick; the worker itself goes on
            log.exception("stalled-job recovery failed")


async def _keep_housekeeping(runtime: Runtime, realm: str, every_s: float) -> None:
    # A loop rather than procrastinate periodic tasks: the sweeps are idempotent and row-locked, so any
    # number of workers may run them, and short-lived test workers never queue a stray job. A suspension
    # is thus lifted at most `every_s` after its end (log-in works at its end already).
    from reelm.accounts.deletion import purge_due_accounts  # noqa: PLC0415 - keeps this module's imports light
    from reelm.exports.service import expire_exports  # noqa: PLC0415
    from reelm.messages.tasks import expire_messages  # noqa: PLC0415
    from reelm.moderation.suspensions import lift_expired_suspensions  # noqa: PLC0415

    while True:
        for what, sweep in (
            ("deleted accounts purged", purge_due_accounts),
            ("exports expired", expire_exports),
            ("suspensions lifted", lift_expired_suspensions),
            ("messages past retention removed", expire_messages),
        ):
            try:
                done = await sweep(runtime, realm)
                if done:
                    log.info("%s: %d", what, done)
            except Exception:  # retried at the next tick; the worker itself goes on
                log.exception("housekeeping failed: %s", what)
        await asyncio.sleep(every_s)


def delivery_handlers(runtime: Runtime) -> dict[str, Handler]:
    """What a realm does with each kind of delivery from another realm (reelm.crossrealm.deliveries)."""
    from reelm.messages.inbound import handlers  # noqa: PLC0415 - keeps this module's imports light
    from reelm.notifications.inbound import take_notice  # noqa: PLC0415
    from reelm.social.notify import NOTICE  # noqa: PLC0415

    return {**handlers(runtime), NOTICE: take_notice}


async def run_worker(runtime: Runtime, realm: str, *, wait: bool = True, concurrency: int = 2) -> None:
    """Process the jobs of one realm, with that realm's database credentials only; a long-running worker
    also takes in what other realms deliver to this one."""
    from reelm.crossrealm.deliveries import keep_receiving  # noqa: PLC0415
    from reelm.crossrealm.transit import ensure_transit_key  # noqa: PLC0415

    await ensure_transit_key(runtime, realm)
    connector = PsycopgConnector(conninfo=runtime.realm_url(realm), min_size=1, max_size=concurrency + 2)
    queues = [MEDIA_QUEUE]
    if wait:
        from reelm.recommend.tasks import schedule_retraining  # noqa: PLC0415 - the task module imports this one

        schedule_retraining()
        queues.append(MODELS_QUEUE)
    with job_app.replace_connector(connector) as app:
        async with app.open_async():
            await recover_stalled_jobs(app)
            sweeper = asyncio.create_task(_keep_recovering(app, STALLED_AFTER_S)) if wait else None
            purger = asyncio.create_task(_keep_housekeeping(runtime, realm, PURGE_EVERY_S)) if wait else None
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
                )
            finally:
                for side_task in (sweeper, purger, receiver):
                    if side_task is not None:
                        side_task.cancel()
