"""Celery tasks: thin wrappers that take primitive ids and call ``catalog.services``.

* ``sync_due_retailers`` (beat, every ``CATALOG_SYNC_INTERVAL``): closes runs nobody
  will finish, prunes prices kept past a source's caching terms, then queues one
  ``sync_retailer`` per retailer that is due (each with a pending run).
* ``sync_retailer``: claims the pending run, takes the retailer's sync lease (a
  second run for the same retailer is refused and recorded), spends a Redis token
  bucket per request (rate limit and Retry-After shared by all workers), and retries
  transient failures with backoff + jitter, never sooner than the retailer's
  Retry-After.

``acks_late`` + ``reject_on_worker_lost``: a task whose pool process is killed
(SIGKILL, the OOM killer) is not lost but delivered again; the redo closes the dead
attempt's run and takes over its lease. Safe because a sync is an idempotent upsert.
"""

from __future__ import annotations

from celery import shared_task
from celery.utils.log import get_task_logger

from catalog import services
from catalog.models import Retailer
from catalog.ratelimit import RedisTokenBucket

log = get_task_logger(__name__)


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def sync_due_retailers() -> list[int]:
    services.sync_runs_expire()
    services.cached_prices_prune()
    due = services.retailers_due_for_sync()
    if due:
        services.price_sync_enqueue(retailer_ids=due)
    return due


@shared_task(
    bind=True,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
    soft_time_limit=services.SYNC_SOFT_TIME_LIMIT,
    time_limit=services.SYNC_TIME_LIMIT,
)
def sync_retailer(self, retailer_id: int, run_id: int | None = None) -> str:
    rate = Retailer.objects.values_list("requests_per_second", flat=True).get(pk=retailer_id)
    outcome = services.price_sync_run(
        retailer_id=retailer_id,
        run_id=run_id,
        throttle=RedisTokenBucket(f"retailer:{retailer_id}", rate),
        task_id=self.request.id or "",
    )
    if outcome.retry:
        countdown = services.retry_delay(
            attempt=self.request.retries, retry_after=outcome.retry_after
        )
        log.info("sync of retailer %s retries in %.0f s", retailer_id, countdown)
        raise self.retry(countdown=countdown)
    return outcome.run.status
