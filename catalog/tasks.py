"""Celery tasks: thin wrappers that take primitive ids and call ``catalog.services``.

* ``sync_due_retailers`` (beat, every ``CATALOG_SYNC_INTERVAL``): prunes Amazon's
  24-hour cache, then fans out one ``sync_retailer`` per retailer that is due.
* ``sync_retailer``: holds a Redis lock per retailer (overlapping runs are refused
  and recorded), spends a Redis token bucket per request (rate limit across all
  workers), and retries transient network errors with exponential backoff + jitter.
"""

from __future__ import annotations

import httpx
from celery import shared_task
from celery.utils.log import get_task_logger
from redis.exceptions import LockError

from catalog import services
from catalog.models import Retailer
from catalog.ratelimit import RedisTokenBucket, get_redis, key
from catalog.sources import TransientSourceError

log = get_task_logger(__name__)

SOFT_TIME_LIMIT = 240
TIME_LIMIT = 300
# The lock outlives the hard time limit, so a killed worker cannot leave it held forever
# and a slow one cannot lose it mid-run.
LOCK_TIMEOUT = TIME_LIMIT + 60


@shared_task(ignore_result=True, soft_time_limit=60, time_limit=90)
def sync_due_retailers() -> list[int]:
    services.amazon_cache_prune()
    due = services.retailers_due_for_sync()
    for retailer_id in due:
        sync_retailer.delay(retailer_id)
    return due


@shared_task(
    bind=True,
    ignore_result=True,
    acks_late=True,  # safe: the sync is an idempotent upsert
    autoretry_for=(TransientSourceError, httpx.TransportError),
    retry_backoff=True,
    retry_backoff_max=600,  # well below Redis's 1 h visibility timeout
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=TIME_LIMIT,
)
def sync_retailer(self, retailer_id: int) -> str:
    lock = get_redis().lock(key("lock", "sync", retailer_id), timeout=LOCK_TIMEOUT, blocking=False)
    if not lock.acquire():
        services.sync_run_refused(retailer_id=retailer_id, task_id=self.request.id or "")
        log.info("sync for retailer %s refused: another run holds the lock", retailer_id)
        return "refused"
    try:
        rate = Retailer.objects.values_list("requests_per_second", flat=True).get(pk=retailer_id)
        bucket = RedisTokenBucket(f"retailer:{retailer_id}", rate)
        run = services.price_sync_run(
            retailer_id=retailer_id, throttle=bucket, task_id=self.request.id or ""
        )
        return run.status
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("sync lock for retailer %s expired before release", retailer_id)
