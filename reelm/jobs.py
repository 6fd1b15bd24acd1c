"""Background jobs with procrastinate: the registry of tasks and how to defer one.

Domains register their tasks with `@job_app.task` in their `tasks` modules (listed in `import_paths`, so a
process that defers a task it has not imported yet finds it). What a worker runs besides jobs (sweeps,
deliveries from other realms) and the worker itself are wired in one place, `reelm.worker`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from procrastinate import App, PsycopgConnector, RetryStrategy
from procrastinate.schema import SchemaManager
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from reelm.runtime import Runtime

log = logging.getLogger(__name__)

# The registry of tasks. Its connector is replaced by the realm's own when a worker starts; the web
# process never uses it, because it defers through the connection of the request's transaction.
job_app = App(
    connector=PsycopgConnector(),
    import_paths=["reelm.publishing.tasks", "reelm.exports.tasks", "reelm.recommend.tasks"],
)

MEDIA_QUEUE = "media"
MODELS_QUEUE = "models"  # recommender retraining (reelm.recommend.tasks)
HEARTBEAT_S = 5.0
# A worker silent for this long is dead (killed, OOM, power loss); its running jobs are requeued.
STALLED_AFTER_S = 20.0
# Transient failures (storage hiccup, worker killed) are retried: waits of 2, 4, 8, 16 s ...
MEDIA_RETRY = RetryStrategy(max_attempts=6, exponential_wait=2)


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
