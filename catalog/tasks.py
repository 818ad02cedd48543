"""Celery tasks: thin wrappers that take primitive ids and call ``catalog.services``.

* ``sync_due_retailers`` (beat, every ``CATALOG_SYNC_INTERVAL``): closes runs nobody
  will finish, prunes prices kept past a source's caching terms, then queues one
  ``sync_retailer`` per retailer that is due (each with a pending run).
* ``sync_retailer``: claims the pending run, takes the retailer's sync lease (a
  second run for the same retailer is refused and recorded), spends a Redis token
  bucket per request (rate limit and Retry-After shared by all workers), and retries
  transient failures with backoff + jitter, never sooner than the retailer's
  Retry-After.

* ``sync_due_gguf_repositories`` (beat, every ``GGUF_SYNC_INTERVAL_HOURS``) and
  ``sync_gguf_repository``: the same pattern for GGUF repository listings on the Hugging
  Face Hub (``catalog.gguf_services``), with the Hub's Retry-After shared by all workers.

``acks_late`` + ``reject_on_worker_lost``: a task whose pool process is killed
(SIGKILL, the OOM killer) is not lost but delivered again; the redo closes the dead
attempt's run and takes over its lease. Safe because a sync is an idempotent upsert.
"""

from __future__ import annotations

from celery import shared_task
from celery.utils.log import get_task_logger

from catalog import gguf_services, services
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


# ── GGUF repositories (catalog.gguf_services) ───────────────────────────────────


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def sync_due_gguf_repositories() -> list[int]:
    """Beat: close runs whose worker died, then queue one sync per due repository."""
    gguf_services.gguf_runs_expire()
    due = gguf_services.gguf_repositories_due()
    for repository_id in due:
        sync_gguf_repository.delay(repository_id)
    return due


@shared_task(
    bind=True,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
    soft_time_limit=gguf_services.GGUF_SOFT_TIME_LIMIT,
    time_limit=gguf_services.GGUF_TIME_LIMIT,
)
def sync_gguf_repository(self, repository_id: int) -> str:
    """List one repository's files through the Hub API; transient failures (429, 5xx,
    timeouts) retry with backoff + jitter, never sooner than the Hub's Retry-After (which
    every worker's shared bucket also waits out)."""
    outcome = gguf_services.gguf_sync_run(
        repository_id=repository_id,
        task_id=self.request.id or "",
        throttle=RedisTokenBucket(
            gguf_services.HUB_THROTTLE, gguf_services.HUB_REQUESTS_PER_SECOND
        ),
    )
    if outcome.retry:
        countdown = services.retry_delay(
            attempt=self.request.retries, retry_after=outcome.retry_after
        )
        log.info("GGUF sync of repository %s retries in %.0f s", repository_id, countdown)
        raise self.retry(countdown=countdown)
    return outcome.run.status
