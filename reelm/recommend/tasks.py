"""Periodic retraining: each realm's worker retrains that realm's model from that realm's events."""

from __future__ import annotations

import logging
from typing import Any

from procrastinate import RetryStrategy

from reelm.jobs import MODELS_QUEUE, job_app, realm_of, runtime_of
from reelm.recommend.training import do_train

log = logging.getLogger(__name__)

RETRAIN_CRON = "*/5 * * * *"  # every five minutes
RETRAIN_TASK = "recommend.retrain"


@job_app.task(
    name=RETRAIN_TASK,
    queue=MODELS_QUEUE,
    pass_context=True,
    queueing_lock="recommend.retrain",  # at most one waiting retrain per realm
    retry=RetryStrategy(max_attempts=2, wait=30),
)
async def retrain(context: Any, timestamp: int | None = None) -> None:
    """Train a new model version of the worker's realm (the periodic deferrer passes `timestamp`)."""
    runtime, realm = runtime_of(context), realm_of(context)
    async with runtime.databases.transaction(realm) as session:
        result = await do_train(session)
    log.info("realm %s: recommender model v%d trained (timestamp %s)", realm, result.version, timestamp)


def schedule_retraining() -> None:
    """Register the periodic deferral; only long-running workers call it, so that short-lived ones (tests,
    `run_jobs`) never queue a retrain of their own."""
    if (RETRAIN_TASK, "") not in job_app.periodic_registry.periodic_tasks:
        job_app.periodic_registry.register_task(
            task=retrain, cron=RETRAIN_CRON, periodic_id="", configure_kwargs={}
        )
