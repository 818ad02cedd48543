"""Celery tasks through a real worker on the real Redis (DB 15), prices from loopback.

Every sync ends: each bad reply, slow reply, throttled reply or killed worker below
leaves a finished run with a reason, and the earlier price in place.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import kombu.pools
import pytest
from django.conf import settings as django_settings
from django.db import connection

from catalog.models import Offer, SyncRun
from catalog.ratelimit import RedisTokenBucket
from catalog.sources import Deadline, TransientSourceError
from catalog.tasks import sync_due_retailers, sync_retailer

from .conftest import TEST_REDIS_URL, Reply, wait_for
from .factories import OfferFactory, fresh_offer
from .helpers import (
    amazon_retailer,
    feed_item,
    feed_reply,
    feed_retailer,
    runs,
    token_reply,
)

pytestmark = pytest.mark.django_db(transaction=True)


def finished(retailer):
    """Runs once none is pending or running any more."""
    statuses = runs(retailer)
    return statuses and not {"pending", "running"} & set(statuses)


def test_transient_errors_are_retried_until_the_sync_succeeds(celery_worker, loopback):
    retailer = feed_retailer(loopback)
    offer = fresh_offer(retailer=retailer, item_id="A1")
    loopback.routes["/feed.json"] = [
        Reply(503, {"error": "busy"}),
        Reply(503, {"error": "busy"}),
        feed_reply(feed_item("A1", "420.00 USD")),
    ]
    sync_retailer.delay(retailer.pk)
    wait_for(lambda: SyncRun.Status.SUCCEEDED in runs(retailer))
    offer.refresh_from_db()
    assert runs(retailer) == ["failed", "failed", "succeeded"]
    assert offer.price == Decimal("420.00")


def test_permanent_failure_is_recorded_once_and_the_old_price_kept(celery_worker, loopback):
    retailer = feed_retailer(loopback)
    offer = fresh_offer(retailer=retailer, item_id="A1", price=Decimal("500.00"))
    loopback.routes["/feed.json"] = [Reply(200, b"<html>Login</html>", "text/html")]
    sync_retailer.delay(retailer.pk)
    wait_for(lambda: runs(retailer) == ["failed"])
    offer.refresh_from_db()
    assert offer.price == Decimal("500.00")
    assert loopback.hits["/feed.json"] == 1


def test_overlapping_runs_for_one_retailer_are_refused_by_the_lease(celery_worker, loopback):
    retailer = feed_retailer(loopback)
    fresh_offer(retailer=retailer, item_id="A1")
    loopback.routes["/feed.json"] = [feed_reply(feed_item("A1", "420.00 USD"))]
    loopback.routes["/feed.json"][0].delay = 1.5
    sync_retailer.delay(retailer.pk)
    wait_for(lambda: loopback.hits["/feed.json"] == 1)  # first run now holds the lease
    sync_retailer.delay(retailer.pk)
    wait_for(lambda: sorted(runs(retailer)) == ["refused", "succeeded"])
    assert loopback.hits["/feed.json"] == 1


def test_dispatcher_fans_out_one_sync_per_due_retailer(celery_worker, loopback):
    first = feed_retailer(loopback, path="/one.json")
    second = feed_retailer(loopback, path="/two.json")
    loopback.routes["/one.json"] = [feed_reply(feed_item("X1"))]
    loopback.routes["/two.json"] = [feed_reply(feed_item("X2"))]
    sync_due_retailers.delay()
    wait_for(lambda: runs(first) == ["succeeded"] and runs(second) == ["succeeded"])


def test_token_bucket_limits_requests_across_clients(test_redis):
    one = RedisTokenBucket("shared", rate=2.0)
    other = RedisTokenBucket("shared", rate=2.0)
    assert one.try_acquire() == 0
    assert one.try_acquire() == 0
    assert other.try_acquire() > 0


def test_a_retry_after_pause_is_seen_by_every_bucket_of_the_retailer(test_redis):
    RedisTokenBucket("paused", rate=5.0).defer(600)
    assert RedisTokenBucket("paused", rate=5.0).try_acquire() > 590


# ── Replies that used to leave a run "running" forever ─────────────────────────


def deeply_nested() -> Reply:
    return Reply(200, b"[" * 200_000 + b"]" * 200_000)


def csv_field_over_the_limit() -> Reply:
    body = b"id,title,link,price,availability\nA1," + b"x" * 200_000 + b",l,1.00 USD,in_stock\n"
    return Reply(200, body, "text/csv")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (deeply_nested, "feed is JSON nested too deeply to read"),
        (csv_field_over_the_limit, "CSV feed is malformed: field larger than field limit"),
    ],
    ids=["json-nested-200000-deep", "csv-field-over-limit"],
)
def test_a_malformed_feed_fails_the_run_and_keeps_prices(celery_worker, loopback, reply, reason):
    retailer = feed_retailer(loopback)
    offer = fresh_offer(retailer=retailer, item_id="A1", price=Decimal("500.00"))
    loopback.routes["/feed.json"] = [reply()]
    sync_retailer.delay(retailer.pk)
    wait_for(lambda: finished(retailer))
    run = SyncRun.objects.get(retailer=retailer)
    offer.refresh_from_db()
    assert (run.status, offer.price) == ("failed", Decimal("500.00"))
    assert reason in run.reason


@pytest.mark.parametrize(
    ("reply", "status", "reason"),
    [
        ({"itemsResult": [1, 2]}, "failed", "itemsResult: Input should be a valid dictionary"),
        ({"errors": 5}, "failed", "errors: Input should be a valid list"),
        (
            {"itemsResult": {"items": [{"asin": "B0TEST0000", "offersV2": "nope"}]}},
            "partial",
            "offersV2: Input should be a valid dictionary",
        ),
        (
            {
                "itemsResult": {
                    "items": [
                        {"asin": "B0TEST0000", "offersV2": {"listings": [{"price": "12.00"}]}}
                    ]
                }
            },
            "partial",
            "price: Input should be a valid dictionary",
        ),
    ],
    ids=["itemsResult-list", "errors-number", "offersV2-text", "price-text"],
)
def test_amazon_replies_with_wrong_types_end_the_run(
    celery_worker, loopback, monkeypatch, reply, status, reason
):
    retailer = amazon_retailer(loopback, monkeypatch)
    offer = fresh_offer(
        retailer=retailer, item_id="B0TEST0000", url="https://www.amazon.com/dp/B0TEST0000"
    )
    loopback.routes["/auth/o2/token"] = [token_reply()]
    loopback.routes["/catalog/v1/getItems"] = [Reply(200, reply)]
    sync_retailer.delay(retailer.pk)
    wait_for(lambda: finished(retailer))
    run = SyncRun.objects.get(retailer=retailer)
    offer.refresh_from_db()
    assert (run.status, offer.price) == (status, Decimal("500.00"))
    assert reason in json.dumps(run.errors)


def test_a_trickling_feed_fails_by_its_deadline_not_the_time_limit(celery_worker, loopback):
    retailer = feed_retailer(loopback, source_settings={"deadline_seconds": 2})
    offer = fresh_offer(retailer=retailer, item_id="A1", price=Decimal("500.00"))
    body = json.dumps({"items": [feed_item("A1", "420.00 USD")]}).encode()
    loopback.routes["/feed.json"] = [Reply(200, body, trickle=0.5)]  # 1 byte every 0.5 s
    started = time.monotonic()
    sync_retailer.delay(retailer.pk)
    wait_for(lambda: "failed" in runs(retailer))
    first = SyncRun.objects.filter(retailer=retailer).order_by("pk").first()
    offer.refresh_from_db()
    assert "took longer than its 2 s deadline" in first.reason
    assert offer.price == Decimal("500.00")
    assert time.monotonic() - started < 60  # far from the 240 s soft limit


def test_a_429_with_retry_after_600_is_not_called_again(celery_worker, loopback):
    retailer = feed_retailer(loopback)
    fresh_offer(retailer=retailer, item_id="A1")
    loopback.routes["/feed.json"] = [Reply(429, {"error": "slow"}, headers={"Retry-After": "600"})]
    sync_retailer.delay(retailer.pk)
    wait_for(lambda: runs(retailer) == ["failed"])
    sync_retailer.delay(retailer.pk)  # another worker, or the next beat tick
    wait_for(lambda: runs(retailer) == ["failed", "failed"])
    time.sleep(2)  # the old backoff would have called again at ~1 s
    assert loopback.hits["/feed.json"] == 1
    second = SyncRun.objects.filter(retailer=retailer).order_by("pk").last()
    assert "no request to this retailer allowed for another" in second.reason


def test_an_empty_feed_ends_with_a_warning(celery_worker, loopback):
    retailer = feed_retailer(loopback)
    offer = fresh_offer(retailer=retailer, item_id="A1", price=Decimal("500.00"))
    loopback.routes["/feed.json"] = [feed_reply()]
    sync_retailer.delay(retailer.pk)
    wait_for(lambda: finished(retailer))
    offer.refresh_from_db()
    assert runs(retailer) == ["warning"] and offer.price == Decimal("500.00")


def test_a_shrunken_feed_ends_with_a_warning(celery_worker, loopback):
    retailer = feed_retailer(loopback)
    for n in range(6):
        OfferFactory(retailer=retailer, item_id=f"I{n}")
    items = [feed_item(f"I{n}", "300.00 USD") for n in range(6)]
    loopback.routes["/feed.json"] = [feed_reply(*items), feed_reply(*items[:2])]
    sync_retailer.delay(retailer.pk)
    wait_for(lambda: runs(retailer) == ["succeeded"])
    sync_retailer.delay(retailer.pk)
    wait_for(lambda: runs(retailer) == ["succeeded", "warning"])
    assert Offer.objects.filter(retailer=retailer, delisted_at__isnull=True).count() == 6


# ── A pool process killed mid-sync (what the OOM killer does) ──────────────────


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class WorkerDatabase:
    """The database a worker in another process can open: the PostgreSQL test database
    itself, or for SQLite (in memory in tests) a file copy read back afterwards."""

    def __init__(self, tmp_path: Path) -> None:
        self.sqlite_path: Path | None = None
        db = connection.settings_dict
        if connection.vendor == "sqlite":
            self.sqlite_path = tmp_path / "worker.sqlite3"
            connection.ensure_connection()
            target = sqlite3.connect(self.sqlite_path)
            connection.connection.backup(target)
            target.close()
            self.url = f"sqlite:///{self.sqlite_path}"
        else:
            auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
            self.url = f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"

    def rows(self, sql: str, *params: object) -> list[tuple]:
        if self.sqlite_path is None:
            with connection.cursor() as cursor:
                cursor.execute(sql.replace("?", "%s"), params)
                return cursor.fetchall()
        with sqlite3.connect(self.sqlite_path) as db:
            return db.execute(sql, params).fetchall()


@pytest.fixture
def prefork_worker(test_redis, transactional_db, tmp_path, settings):
    """Start a prefork worker (one pool process) in a subprocess, on a queue of its own."""
    queue = f"test-catalog-prefork-{uuid.uuid4().hex[:8]}"
    started: dict[str, object] = {}

    def start() -> tuple[subprocess.Popen, WorkerDatabase]:
        database = WorkerDatabase(tmp_path)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": database.url,
            "CELERY_BROKER_URL": TEST_REDIS_URL,
            "CELERY_RESULT_BACKEND": TEST_REDIS_URL,
            "CATALOG_REDIS_URL": TEST_REDIS_URL,
            "CATALOG_REDIS_PREFIX": settings.CATALOG_REDIS_PREFIX,
        }
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
                   "--concurrency=1", "-Q", queue, "--without-heartbeat", "--without-mingle",
                   "--without-gossip", "--loglevel=WARNING", "-n", f"{queue}@%h"]  # fmt: skip
        process = subprocess.Popen(
            command, cwd=django_settings.BASE_DIR, env=env, start_new_session=True
        )
        started["process"] = process
        return process, database

    from config.celery import app

    saved = app.conf.broker_url
    app.conf.broker_url = TEST_REDIS_URL
    kombu.pools.reset()
    app._pool = None
    try:
        yield start, queue
    finally:
        process = started.get("process")
        if isinstance(process, subprocess.Popen):
            # The test is over: the worker and its pool process go at once (a warm or
            # cold shutdown takes the worker about 2 s).
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        app.conf.broker_url = saved
        kombu.pools.reset()
        app._pool = None
        test_redis.delete(queue, f"_kombu.binding.{queue}")


def test_a_sync_whose_pool_process_is_killed_is_redone(prefork_worker, loopback):
    start, queue = prefork_worker
    retailer = feed_retailer(loopback)
    fresh_offer(retailer=retailer, item_id="A1", price=Decimal("500.00"))
    # First request: hang (the pool process is killed meanwhile); then a normal reply.
    loopback.routes["/feed.json"] = [
        Reply(200, b"{}", delay=30),
        feed_reply(feed_item("A1", "420.00 USD")),
    ]
    process, database = start()
    sync_retailer.apply_async(args=[retailer.pk], queue=queue)
    wait_for(lambda: loopback.hits["/feed.json"] == 1, timeout=60)
    [child] = _children(process.pid)
    os.kill(child, signal.SIGKILL)
    wait_for(lambda: loopback.hits["/feed.json"] == 2, timeout=60)

    def statuses() -> list[str]:
        rows = database.rows(
            "SELECT status FROM catalog_syncrun WHERE retailer_id = ? ORDER BY id", retailer.pk
        )
        return [status for (status,) in rows]

    wait_for(lambda: statuses() == ["failed", "succeeded"], timeout=30)
    [(reason,)] = database.rows("SELECT reason FROM catalog_syncrun WHERE status = 'failed'")
    [(price,)] = database.rows("SELECT price FROM catalog_offer WHERE item_id = 'A1'")
    [(holder,)] = database.rows("SELECT sync_lease_holder FROM catalog_retailer")
    assert "lost (killed); the task was redone" in reason
    assert Decimal(str(price)) == Decimal("420.00") and holder == ""


def test_an_unreachable_rate_limiter_is_a_transient_failure(settings, test_redis):
    settings.CATALOG_REDIS_URL = "redis://127.0.0.1:1/0"
    bucket = RedisTokenBucket("down", rate=1.0)
    with pytest.raises(TransientSourceError, match="rate limiter is unreachable"):
        bucket.wait(Deadline(5))
