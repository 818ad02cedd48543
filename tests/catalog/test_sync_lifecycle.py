"""Every sync ends: runs are recorded from request to finish, whatever happens, and the
prices published before are kept. Services called directly, prices from loopback."""

from datetime import timedelta
from decimal import Decimal

import kombu.pools
import pytest
from billiard.exceptions import SoftTimeLimitExceeded
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog import sanity, services
from catalog.models import Offer, Retailer, SyncRun
from config.celery import app

from .conftest import Reply
from .factories import ComponentFactory, OfferFactory, RetailerFactory, fresh_offer
from .helpers import feed_item, feed_reply, feed_retailer, runs

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(loopback):
    retailer = feed_retailer(loopback)
    offer = fresh_offer(retailer=retailer, item_id="A1", price=Decimal("500.00"))
    return retailer, offer


def sync(retailer, **kwargs):
    return services.price_sync_run(retailer_id=retailer.pk, **kwargs)


def test_an_unexpected_exception_fails_the_run_and_keeps_the_old_price(loopback, shop,
                                                                       monkeypatch):  # fmt: skip
    retailer, offer = shop
    loopback.routes["/feed.json"] = [feed_reply(feed_item("A1", "450.00 USD"))]

    def boom(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sanity, "price_problem", boom)
    outcome = sync(retailer)
    offer.refresh_from_db()
    assert (outcome.run.status, outcome.run.reason) == ("failed", "RuntimeError: boom")
    assert offer.price == Decimal("500.00") and not outcome.retry


def test_the_soft_time_limit_fails_the_run_instead_of_leaving_it_running(loopback, shop,
                                                                         monkeypatch):  # fmt: skip
    retailer, offer = shop

    def too_slow(self, item_ids):
        raise SoftTimeLimitExceeded()
        yield

    monkeypatch.setattr(retailer.source, "fetch", too_slow)
    run = sync(retailer).run
    assert run.status == "failed" and "SoftTimeLimitExceeded" in run.reason


def test_a_feed_trickling_one_byte_every_half_second_fails_by_its_deadline(loopback, shop):
    retailer, offer = shop
    retailer.source_settings["deadline_seconds"] = 1
    retailer.save()
    body = b'{"items": [' + b" " * 400 + b"]}"
    loopback.routes["/feed.json"] = [Reply(200, body, trickle=0.5)]
    outcome = sync(retailer)
    offer.refresh_from_db()
    assert outcome.retry and "took longer than its 1 s deadline" in outcome.run.reason
    assert offer.price == Decimal("500.00")


def test_a_429_pauses_the_retailer_for_its_retry_after(loopback, shop):
    retailer, offer = shop
    loopback.routes["/feed.json"] = [
        Reply(429, {"error": "slow down"}, headers={"Retry-After": "600"})
    ]
    first = sync(retailer)
    second = sync(retailer)
    assert (first.retry, first.retry_after) == (True, 600)
    assert "Retry-After: 600 s" in first.run.reason
    assert second.retry and second.retry_after > 590
    assert loopback.hits["/feed.json"] == 1  # the paused retailer was not called again


def test_retry_delay_is_never_sooner_than_retry_after_nor_past_the_visibility_timeout():
    assert services.retry_delay(attempt=0, retry_after=600) == 600
    assert services.retry_delay(attempt=0, retry_after=86400) == services.MAX_RETRY_DELAY
    assert 0 <= services.retry_delay(attempt=3, retry_after=None) <= 8


# ── Leases: one run per retailer, and a dead holder cannot keep it ─────────────


def test_a_run_is_refused_while_another_holds_the_retailers_lease(loopback, shop):
    retailer, _ = shop
    now = timezone.now()
    assert Retailer.objects.acquire_sync_lease(retailer_id=retailer.pk, holder="other-task",
                                               seconds=300, now=now)  # fmt: skip
    run = sync(retailer).run
    assert (run.status, run.reason) == (
        "refused",
        "another sync for this retailer is still running",
    )
    assert loopback.hits["/feed.json"] == 0


def test_a_dead_holders_lease_expires_with_the_tasks_time_limit(loopback, shop):
    retailer, _ = shop
    loopback.routes["/feed.json"] = [feed_reply(feed_item("A1", "450.00 USD"))]
    long_ago = timezone.now() - timedelta(seconds=services.LEASE_SECONDS + 1)
    Retailer.objects.acquire_sync_lease(retailer_id=retailer.pk, holder="dead-task",
                                        seconds=services.LEASE_SECONDS, now=long_ago)  # fmt: skip
    assert sync(retailer).run.status == "succeeded"


def test_a_redelivered_task_takes_over_its_lease_and_closes_the_lost_attempt(loopback, shop):
    retailer, _ = shop
    loopback.routes["/feed.json"] = [feed_reply(feed_item("A1", "450.00 USD"))]
    now = timezone.now()
    lost = SyncRun.objects.create(retailer=retailer, task_id="task-1", status="running")
    Retailer.objects.acquire_sync_lease(retailer_id=retailer.pk, holder="task-1", seconds=300,
                                        now=now)  # fmt: skip
    run = sync(retailer, task_id="task-1").run
    lost.refresh_from_db()
    assert run.status == "succeeded"
    assert lost.status == "failed" and "lost (killed); the task was redone" in lost.reason
    retailer.refresh_from_db()
    assert retailer.sync_lease_holder == ""  # released at the end


# ── Empty and shrunken feeds, items that disappear ─────────────────────────────


def test_an_empty_feed_is_a_warning_not_a_success(loopback, shop):
    retailer, offer = shop
    loopback.routes["/feed.json"] = [feed_reply()]
    run = sync(retailer).run
    offer.refresh_from_db()
    assert run.status == SyncRun.Status.WARNING and "listed no items" in run.reason
    assert offer.price == Decimal("500.00")


def test_a_feed_under_half_of_the_last_run_is_a_warning(loopback):
    retailer = feed_retailer(loopback)
    items = [feed_item(f"I{n}", "300.00 USD") for n in range(10)]
    for n in range(10):
        fresh_offer(retailer=retailer, item_id=f"I{n}")
    loopback.routes["/feed.json"] = [feed_reply(*items), feed_reply(*items[:4]),
                                     feed_reply(*items[:4])]  # fmt: skip
    assert sync(retailer).run.status == "succeeded"
    shrunk = sync(retailer).run
    assert shrunk.status == "warning"
    assert "listed 4 items, under 50% of the 10 in the last run" in shrunk.reason
    assert sync(retailer).run.status == "succeeded"  # 4 of 4: the new normal


def test_an_item_missing_from_one_run_is_not_gone_until_three_runs_agree(loopback):
    retailer = feed_retailer(loopback)
    kept = fresh_offer(retailer=retailer, item_id="KEEP")
    going = fresh_offer(retailer=retailer, item_id="GONE")
    loopback.routes["/feed.json"] = [feed_reply(feed_item("KEEP", "300.00 USD"))]
    for expected_missed in (1, 2):
        sync(retailer)
        going.refresh_from_db()
        assert (going.missed_runs, going.delisted_at) == (expected_missed, None)
    sync(retailer)
    going.refresh_from_db()
    kept.refresh_from_db()
    assert going.delisted_at is not None and kept.delisted_at is None
    assert going not in Offer.objects.fresh()


def test_an_item_that_comes_back_is_listed_again(loopback):
    retailer = feed_retailer(loopback)
    offer = fresh_offer(retailer=retailer, item_id="BACK", missed_runs=3,
                        delisted_at=timezone.now())  # fmt: skip
    loopback.routes["/feed.json"] = [feed_reply(feed_item("BACK", "300.00 USD"))]
    sync(retailer)
    offer.refresh_from_db()
    assert (offer.missed_runs, offer.delisted_at) == (0, None)


def test_a_failed_run_counts_no_misses(loopback, shop):
    retailer, offer = shop
    loopback.routes["/feed.json"] = [Reply(200, b"{broken", "application/json")]
    sync(retailer)
    offer.refresh_from_db()
    assert offer.missed_runs == 0


def test_a_feed_item_can_price_a_component_by_part_number(loopback):
    retailer = feed_retailer(loopback)
    gpu = ComponentFactory(mpn="VCNRTX6000ADA-PB")
    loopback.routes["/feed.json"] = [feed_reply(feed_item("G1", "6974.00 USD",
                                                          mpn="vcnrtx6000ada-pb"))]  # fmt: skip
    sync(retailer)
    offer = Offer.objects.get(retailer=retailer, item_id="G1")
    assert (offer.component, offer.price) == (gpu, Decimal("6974.00"))


# ── Runs nobody will finish ────────────────────────────────────────────────────


def test_a_pending_run_no_worker_took_is_marked_stale_with_a_clear_message(settings):
    settings.CATALOG_PENDING_STALE_MINUTES = 10
    retailer = RetailerFactory()
    old = SyncRun.objects.create(retailer=retailer, status="pending",
                                 requested_at=timezone.now() - timedelta(minutes=11))  # fmt: skip
    recent = SyncRun.objects.create(retailer=retailer, status="pending")
    assert services.sync_runs_expire() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == "stale" and "No worker started this run within 10 minutes" in old.reason
    assert recent.status == "pending"


def test_a_run_still_running_past_the_hard_time_limit_is_closed_as_failed():
    retailer = RetailerFactory()
    run = SyncRun.objects.create(
        retailer=retailer, status="running",
        started_at=timezone.now() - timedelta(seconds=services.SYNC_TIME_LIMIT + 61),
    )  # fmt: skip
    services.sync_runs_expire()
    run.refresh_from_db()
    assert run.status == "failed" and "stopped without finishing" in run.reason


def test_retailers_due_skip_manual_prices_and_retailers_with_a_run_in_flight(loopback):
    due = feed_retailer(loopback)
    busy = feed_retailer(loopback)
    RetailerFactory(source_kind=Retailer.SourceKind.MANUAL, domain="")
    SyncRun.objects.create(retailer=busy, status="pending")
    assert services.retailers_due_for_sync() == [due.pk]


# ── "Sync prices now" without a broker: runs here, bounded ─────────────────────


@pytest.fixture
def broker_down(settings, monkeypatch):
    monkeypatch.setitem(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    kombu.pools.reset()
    app._pool = None
    yield
    kombu.pools.reset()
    app._pool = None


def test_without_a_broker_the_sync_runs_in_process(loopback, shop, broker_down):
    retailer, offer = shop
    loopback.routes["/feed.json"] = [feed_reply(feed_item("A1", "450.00 USD"))]
    editor = get_user_model().objects.create_user("editor")
    result = services.price_sync_request(retailer_ids=[retailer.pk], requested_by=editor)
    [run] = result.ran_here
    offer.refresh_from_db()
    assert result.queued == [] and result.broker_error
    assert (run.status, run.runner, run.requested_by) == ("succeeded", "in_process", editor)
    assert offer.price == Decimal("450.00")


def test_in_process_syncs_stop_at_their_time_budget(loopback, broker_down, settings):
    settings.CATALOG_INPROCESS_BUDGET = 1.5
    slow = feed_retailer(loopback, path="/slow.json", name="A slow shop")
    later = feed_retailer(loopback, path="/later.json", name="B later shop")
    loopback.routes["/slow.json"] = [Reply(200, {"items": [feed_item("S1")]}, delay=1.2)]
    loopback.routes["/later.json"] = [feed_reply(feed_item("L1"))]
    result = services.price_sync_request(retailer_ids=[slow.pk, later.pk])
    assert runs(later) == ["failed"]
    assert "was used up" in SyncRun.objects.get(retailer=later).reason
    assert loopback.hits["/later.json"] == 0
    assert len(result.ran_here) == 2


def test_manual_price_retailers_are_not_synced_on_request():
    manual = RetailerFactory(source_kind=Retailer.SourceKind.MANUAL, domain="", name="Editors")
    result = services.price_sync_request(retailer_ids=[manual.pk])
    assert result.not_syncing == ["Editors"] and not SyncRun.objects.exists()


# ── Manual prices ──────────────────────────────────────────────────────────────


def test_an_editors_price_is_recorded_with_who_and_when():
    manual = RetailerFactory(source_kind=Retailer.SourceKind.MANUAL, domain="")
    offer = OfferFactory(retailer=manual, kit=None, component=ComponentFactory(),
                         url="https://www.apple.com/mac-studio/")  # fmt: skip
    editor = get_user_model().objects.create_user("editor")
    seen = timezone.now() - timedelta(days=3)
    services.offer_record_manual_price(offer=offer, price=Decimal("3999"), recorded_by=editor,
                                       observed_at=seen, source_url="https://www.apple.com/",
                                       note="Apple Store list price")  # fmt: skip
    snapshot = offer.snapshots.get()
    assert (offer.price, offer.last_checked) == (Decimal("3999.00"), seen)
    assert (snapshot.recorded_by, snapshot.observed_at, snapshot.note) == (
        editor,
        seen,
        "Apple Store list price",
    )
    assert offer.is_fresh() and offer.price_label == "editor's price"


def test_an_editors_price_is_refused_on_a_synced_retailer():
    offer = fresh_offer()
    with pytest.raises(ValidationError, match="come from its sync"):
        services.offer_record_manual_price(offer=offer, price=Decimal("1"), recorded_by=None)
