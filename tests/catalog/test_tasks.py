"""Celery tasks through a real worker on the real Redis (DB 15), prices from loopback."""

from decimal import Decimal

import pytest

from catalog.models import SyncRun
from catalog.ratelimit import RedisTokenBucket
from catalog.tasks import sync_due_retailers, sync_retailer

from .conftest import Reply, wait_for
from .factories import fresh_offer
from .helpers import feed_item, feed_reply, feed_retailer

pytestmark = pytest.mark.django_db(transaction=True)


def runs(retailer):
    return list(
        SyncRun.objects.filter(retailer=retailer)
        .order_by("started_at")
        .values_list("status", flat=True)
    )


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


def test_overlapping_runs_for_one_retailer_are_refused_by_the_lock(celery_worker, loopback):
    retailer = feed_retailer(loopback)
    fresh_offer(retailer=retailer, item_id="A1")
    loopback.routes["/feed.json"] = [feed_reply(feed_item("A1", "420.00 USD"))]
    loopback.routes["/feed.json"][0].delay = 1.5
    sync_retailer.delay(retailer.pk)
    wait_for(lambda: loopback.hits["/feed.json"] == 1)  # first run now holds the lock
    sync_retailer.delay(retailer.pk)
    wait_for(lambda: sorted(runs(retailer)) == ["refused", "succeeded"])
    assert loopback.hits["/feed.json"] == 1


def test_dispatcher_fans_out_one_sync_per_due_retailer(celery_worker, loopback):
    first = feed_retailer(loopback, path="/one.json")
    second = feed_retailer(loopback, path="/two.json")
    loopback.routes["/one.json"] = [feed_reply()]
    loopback.routes["/two.json"] = [feed_reply()]
    sync_due_retailers.delay()
    wait_for(lambda: runs(first) == ["succeeded"] and runs(second) == ["succeeded"])


def test_token_bucket_limits_requests_across_clients(test_redis):
    one = RedisTokenBucket("shared", rate=2.0)
    other = RedisTokenBucket("shared", rate=2.0)
    assert one.try_acquire() == 0
    assert one.try_acquire() == 0
    assert other.try_acquire() > 0
