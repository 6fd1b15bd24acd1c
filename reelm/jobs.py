"""Background jobs with procrastinate: the registry of tasks and how to defer one.

Domains register their tasks with `@job_app.task` in their `tasks` modules (listed in `import_paths`, so a
process that defers a task it has not imported yet finds it). What a worker runs besides jobs (sweeps,
deliveries from other realms) and the worker itself are wired in one place, `reelm.worker`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from procrastinate import App, PsycopgConnector, RetryStrategy
from procrastinate.jobs import Job
from procrastinate.retry import RetryDecision
from procrastinate.schema import SchemaManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from reelm.runtime import Runtime

log = logging.getLogger(__name__)

# The registry of tasks. Its connector is replaced by the realm's own when a worker starts; the web
# process never uses it, because it defers through the connection of the request's transaction.
job_app = App(
    connector=PsycopgConnector(),
    import_paths=[
        "reelm.publishing.tasks",
        "reelm.exports.tasks",
        "reelm.recommend.tasks",
        "reelm.videos.tasks",
        "reelm.sounds.tasks",
    ],
)

MEDIA_QUEUE = "media"
MODELS_QUEUE = "models"  # recommender retraining (reelm.recommend.tasks)
HEARTBEAT_S = 5.0
# A worker silent for this long is dead (killed, OOM, power loss); its running jobs are requeued.
STALLED_AFTER_S = 20.0
# A worker asked to stop (SIGTERM, SIGINT) lets its running jobs finish for this long, then cancels them (a
# transcode's ffmpeg children are killed) and puts them back in the queue for another worker, or a restart.
STOP_GRACE_S = 2.0


class MediaRetry(RetryStrategy):
    """Transient failures (storage hiccup, ffmpeg crash) are retried with growing waits; a job cancelled
    because its worker is stopping is requeued at once, whatever its attempts: that was no failure of its own.

    procrastinate cancels the asyncio task of a job it aborts, so the job ends with CancelledError; reelm asks
    procrastinate to abort jobs only when a worker stops (it never requests aborts of single jobs).
    """

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, asyncio.CancelledError):
            return RetryDecision(retry_in={"seconds": 0})
        return super().get_retry_decision(exception=exception, job=job)


# Waits of 2, 4, 8, 16 s ...
MEDIA_RETRY = MediaRetry(max_attempts=6, exponential_wait=2)


@dataclass(frozen=True)
class JobOptions:
    """Where a job goes in its queue: `lock` runs the jobs sharing it one at a time (procrastinate's locks);
    a higher `priority` is fetched first; `schedule_in_s` holds it back that long."""

    lock: str | None = None
    priority: int = 0
    schedule_in_s: int | None = None


def procrastinate_schema_sql() -> str:
    return str(SchemaManager.get_schema())


async def defer(
    session: AsyncSession, task_name: str, *, options: JobOptions | None = None, **kwargs: Any
) -> None:
    """Defer a job in the session's own transaction: it exists if and only if the transaction commits."""
    if task_name not in job_app.tasks:
        # Task modules import this one, so they register on first use; procrastinate leaves this untyped.
        job_app.perform_import_paths()  # type: ignore[no-untyped-call]
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    options = options or JobOptions()
    configured = job_app.tasks[task_name].configure(
        connection=raw,
        lock=options.lock,
        priority=options.priority,
        schedule_in=None if options.schedule_in_s is None else {"seconds": options.schedule_in_s},
    )
    await configured.defer_async(**kwargs)


async def count_unfinished(session: AsyncSession, lock: str) -> int:
    """How many jobs holding `lock` are waiting or running."""
    statement = text(
        "SELECT count(*) FROM procrastinate_jobs WHERE lock = :lock AND status IN ('todo', 'doing')"
    )
    return int(await session.scalar(statement, {"lock": lock}) or 0)


# When a waiting job became due: a retried or scheduled one at its scheduled time, any other when deferred.
_OLDEST_WAITING = text("""
SELECT extract(epoch FROM now() - min(coalesce(jobs.scheduled_at, deferred.at)))
FROM procrastinate_jobs AS jobs
LEFT JOIN LATERAL (
    SELECT min(events.at) AS at FROM procrastinate_events AS events
    WHERE events.job_id = jobs.id AND events.type = 'deferred'
) AS deferred ON true
WHERE jobs.queue_name = :queue AND jobs.status = 'todo'
    AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
""")


async def oldest_waiting_s(session: AsyncSession, queue: str) -> float:
    """How long the longest-waiting due job of `queue` has waited, in seconds; 0 when none waits."""
    age = await session.scalar(_OLDEST_WAITING, {"queue": queue})
    return max(float(age), 0.0) if age is not None else 0.0


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
