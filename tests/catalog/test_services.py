from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import services
from catalog.models import Offer, PriceSnapshot, SyncRun

from .conftest import Reply
from .factories import MemoryKitFactory, OfferFactory, fresh_offer
from .helpers import (
    amazon_listing,
    amazon_retailer,
    feed_item,
    feed_reply,
    feed_retailer,
    get_items_handler,
    token_reply,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(loopback):
    """A feed retailer with two offers already priced at 500.00."""
    retailer = feed_retailer(loopback)
    a = fresh_offer(retailer=retailer, item_id="A1", price=Decimal("500.00"))
    b = fresh_offer(retailer=retailer, item_id="B2", price=Decimal("600.00"))
    return retailer, a, b


def sync(retailer):
    return services.price_sync_run(retailer_id=retailer.pk).run


def test_feed_sync_updates_prices_and_records_the_run(loopback, shop):
    retailer, a, b = shop
    loopback.routes["/feed.json"] = [
        feed_reply(feed_item("A1", "450.00 USD"), feed_item("B2", "600.00 USD"))
    ]
    run = sync(retailer)
    a.refresh_from_db()
    assert (a.price, run.status, run.offers_checked, run.offers_changed) == (
        Decimal("450.00"),
        SyncRun.Status.SUCCEEDED,
        2,
        1,
    )


def test_rerunning_the_same_feed_changes_nothing(loopback, shop):
    retailer, a, _ = shop
    loopback.routes["/feed.json"] = [feed_reply(feed_item("A1", "450.00 USD"))]
    sync(retailer)
    snapshots = PriceSnapshot.objects.count()
    run = sync(retailer)
    assert (run.offers_changed, PriceSnapshot.objects.count()) == (0, snapshots)


def test_snapshot_written_only_when_price_changes(loopback, shop):
    retailer, a, _ = shop
    loopback.routes["/feed.json"] = [
        feed_reply(feed_item("A1", "450.00 USD")),
        feed_reply(feed_item("A1", "450.00 USD")),
        feed_reply(feed_item("A1", "430.00 USD")),
    ]
    for _ in range(3):
        sync(retailer)
    assert list(a.snapshots.values_list("price", flat=True)) == [
        Decimal("450.00"),
        Decimal("430.00"),
    ]


def test_snapshot_written_when_availability_changes(loopback, shop):
    retailer, a, _ = shop
    loopback.routes["/feed.json"] = [
        feed_reply(feed_item("A1", "450.00 USD")),
        feed_reply(feed_item("A1", "450.00 USD", "out_of_stock")),
    ]
    sync(retailer)
    sync(retailer)
    assert a.snapshots.count() == 2


def test_unchanged_price_gets_a_snapshot_once_a_day(shop):
    _, a, _ = shop
    now = timezone.now()
    services.offer_record_observation(
        offer=a,
        price=Decimal("500.00"),
        availability="in_stock",
        now=now - timedelta(days=1, minutes=1),
    )
    services.offer_record_observation(
        offer=a, price=Decimal("500.00"), availability="in_stock", now=now
    )
    assert a.snapshots.count() == 2


def test_unknown_feed_item_is_attached_to_the_kit_with_that_part_number(loopback):
    retailer = feed_retailer(loopback)
    kit = MemoryKitFactory(mpn="CP2K48G56C46U5")
    loopback.routes["/feed.json"] = [feed_reply(feed_item("NEW1", mpn="cp2k48g56c46u5"))]
    sync(retailer)
    offer = Offer.objects.get(retailer=retailer, item_id="NEW1")
    assert (offer.kit, offer.title) == (kit, "Kit NEW1")


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (feed_item("A1", "-5.00 USD"), "not positive"),
        (feed_item("A1", "999999999.00 USD"), "implausible"),
        (feed_item("A1", "450.00 EUR"), "not the retailer's USD"),
        ({"id": "A1", "title": "Kit", "price": "450.00 USD"}, "missing fields: link, availability"),
        (feed_item("A1", "cheap"), "not like '123.45 USD'"),
        (feed_item("A1", link="https://elsewhere.test/p/A1"), "is not an https URL on shop.test"),
    ],
    ids=["negative", "absurd", "wrong-currency", "missing-fields", "unparseable", "foreign-link"],
)
def test_bad_item_is_rejected_and_recorded_while_the_batch_continues(loopback, shop, item, reason):
    retailer, a, b = shop
    loopback.routes["/feed.json"] = [feed_reply(item, feed_item("B2", "550.00 USD"))]
    run = sync(retailer)
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.price == Decimal("500.00")
    assert b.price == Decimal("550.00")
    assert run.status == SyncRun.Status.PARTIAL
    assert run.offers_failed == 1
    assert reason in run.errors[0]["error"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(200, b"<html><body>Sign in</body></html>", "text/html"), "expected a JSON feed"),
        (Reply(200, b"{not json", "application/json"), "not valid JSON"),
        (Reply(200, b"x" * 10_000_000, "application/json"), "too large"),
        (Reply(404, {"error": "gone"}), "HTTP 404"),
    ],
    ids=["html", "broken-json", "10MB", "404"],
)
def test_unusable_response_changes_nothing_and_fails_the_run(loopback, shop, reply, reason):
    retailer, a, _ = shop
    loopback.routes["/feed.json"] = [reply]
    run = sync(retailer)
    a.refresh_from_db()
    assert (a.price, run.status) == (Decimal("500.00"), SyncRun.Status.FAILED)
    assert reason in run.errors[0]["error"]
    assert PriceSnapshot.objects.count() == 0


def test_timeout_changes_nothing_and_is_recorded_as_transient(loopback, shop):
    retailer, a, _ = shop
    retailer.source_settings["timeout_seconds"] = 0.3
    retailer.save()
    loopback.routes["/feed.json"] = [Reply(200, {"items": []}, delay=1.5)]
    outcome = services.price_sync_run(retailer_id=retailer.pk)
    a.refresh_from_db()
    assert outcome.retry
    assert (a.price, outcome.run.status) == (Decimal("500.00"), SyncRun.Status.FAILED)
    assert "timeout" in outcome.run.reason


def test_csv_feed_is_read_like_json(loopback, shop):
    retailer, a, _ = shop
    csv = "id,title,link,price,availability\nA1,Kit,https://shop.test/p/A1,470.50 USD,in_stock\n"
    loopback.routes["/feed.json"] = [Reply(200, csv.encode(), "text/csv")]
    retailer.source_settings["format"] = "csv"
    retailer.save()
    sync(retailer)
    a.refresh_from_db()
    assert a.price == Decimal("470.50")


# ── Amazon Creators API ─────────────────────────────────────────────────────────


def amazon_offers(retailer, count):
    return [
        OfferFactory(
            retailer=retailer,
            item_id=f"B0TEST{n:04d}",
            url=f"https://www.amazon.com/dp/B0TEST{n:04d}",
        )
        for n in range(count)
    ]


def test_amazon_get_items_asks_for_at_most_ten_asins_per_call(loopback, monkeypatch):
    retailer = amazon_retailer(loopback, monkeypatch)
    offers = amazon_offers(retailer, 12)
    loopback.routes["/auth/o2/token"] = [token_reply()]
    loopback.routes["/catalog/v1/getItems"] = get_items_handler(
        {o.item_id: amazon_listing(123.45) for o in offers}
    )
    run = sync(retailer)
    calls = [r for r in loopback.requests if r["path"] == "/catalog/v1/getItems"]
    assert [len(c["body"]["itemIds"]) for c in calls] == [10, 2]
    assert run.offers_checked == 12


def test_amazon_requests_carry_the_bearer_token_marketplace_and_partner_tag(loopback, monkeypatch):
    retailer = amazon_retailer(loopback, monkeypatch)
    amazon_offers(retailer, 1)
    loopback.routes["/auth/o2/token"] = [token_reply()]
    loopback.routes["/catalog/v1/getItems"] = get_items_handler({"B0TEST0000": amazon_listing(99)})
    sync(retailer)
    token_call, items_call = loopback.requests
    assert token_call["body"]["client_secret"] == "client-secret"
    assert token_call["body"]["scope"] == "creatorsapi::default"
    assert items_call["headers"]["Authorization"] == "Bearer tok-123"
    assert items_call["headers"]["x-marketplace"] == "www.amazon.com"
    assert items_call["body"]["partnerTag"] == "llmram-20"


def test_amazon_listing_without_buy_box_price_is_stored_as_no_price(loopback, monkeypatch):
    retailer = amazon_retailer(loopback, monkeypatch)
    [offer] = amazon_offers(retailer, 1)
    loopback.routes["/auth/o2/token"] = [token_reply()]
    loopback.routes["/catalog/v1/getItems"] = get_items_handler(
        {offer.item_id: amazon_listing(None, buy_box=False)}
    )
    run = sync(retailer)
    offer.refresh_from_db()
    assert (offer.price, offer.availability, run.offers_failed) == (None, "in_stock", 0)


def test_amazon_asin_missing_from_the_response_is_recorded(loopback, monkeypatch):
    retailer = amazon_retailer(loopback, monkeypatch)
    offers = amazon_offers(retailer, 2)
    loopback.routes["/auth/o2/token"] = [token_reply()]
    loopback.routes["/catalog/v1/getItems"] = get_items_handler(
        {offers[0].item_id: amazon_listing(50)}
    )
    run = sync(retailer)
    assert run.errors == [{"item": offers[1].item_id, "error": "not returned by GetItems"}]


def test_amazon_keeps_no_price_history_older_than_24_hours(loopback, monkeypatch):
    retailer = amazon_retailer(loopback, monkeypatch)
    [offer] = amazon_offers(retailer, 1)
    old = timezone.now() - timedelta(hours=30)
    PriceSnapshot.objects.create(
        offer=offer, price=80, currency="USD", availability="in_stock", observed_at=old
    )
    loopback.routes["/auth/o2/token"] = [token_reply()]
    loopback.routes["/catalog/v1/getItems"] = get_items_handler({offer.item_id: amazon_listing(75)})
    sync(retailer)
    assert list(offer.snapshots.values_list("price", flat=True)) == [Decimal("75.00")]


def test_feed_history_is_kept_in_full(shop):
    _, a, _ = shop
    PriceSnapshot.objects.create(
        offer=a,
        price=80,
        currency="USD",
        availability="in_stock",
        observed_at=timezone.now() - timedelta(days=90),
    )
    services.cached_prices_prune()
    assert a.snapshots.count() == 1


def test_amazon_price_older_than_24_hours_is_expired(loopback, monkeypatch):
    retailer = amazon_retailer(loopback, monkeypatch)
    offer = fresh_offer(
        retailer=retailer,
        item_id="B0OLD00001",
        url="https://www.amazon.com/dp/B0OLD00001",
        last_checked=timezone.now() - timedelta(hours=25),
    )
    services.cached_prices_prune()
    offer.refresh_from_db()
    assert offer.price is None


def test_amazon_without_credentials_fails_the_run_without_touching_prices(loopback, monkeypatch):
    retailer = amazon_retailer(loopback, monkeypatch)
    monkeypatch.delenv("TEST_AMAZON_SECRET")
    offer = fresh_offer(
        retailer=retailer, item_id="B0KEEP0001", url="https://www.amazon.com/dp/B0KEEP0001"
    )
    run = sync(retailer)
    offer.refresh_from_db()
    assert (run.status, offer.price) == (SyncRun.Status.FAILED, Decimal("500.00"))
    assert "TEST_AMAZON_SECRET is not set" in run.errors[0]["error"]
