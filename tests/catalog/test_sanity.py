"""Price sanity: implausible prices are held for an editor, not published; tested with
a loopback feed."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog import sanity, services
from catalog.models import HeldPrice, Offer, PriceSnapshot, SyncRun

from .factories import MemoryKitFactory, fresh_offer
from .helpers import ddr5_udimm_band, feed_item, feed_reply, feed_retailer

pytestmark = pytest.mark.django_db


@pytest.fixture
def kit_offer(loopback):
    """A 64 GB DDR5 UDIMM kit priced at 300.00 by a feed retailer, and the DDR5 band."""
    ddr5_udimm_band()
    retailer = feed_retailer(loopback)
    kit = MemoryKitFactory(module_count=2, module_size_gb=32)
    offer = fresh_offer(retailer=retailer, kit=kit, item_id="K64", price=Decimal("300.00"))
    return retailer, offer


def sync_price(loopback, retailer, price):
    loopback.routes["/feed.json"] = [feed_reply(feed_item("K64", price))]
    return services.price_sync_run(retailer_id=retailer.pk).run


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        ("0.01 USD", "outside the plausible band 0.50–60.00/GB"),
        ("249999.99 USD", "outside the plausible band 0.50–60.00/GB"),
    ],
    ids=["one-cent", "quarter-million"],
)
def test_an_implausible_price_per_gb_is_held_not_published(loopback, kit_offer, price, reason):
    retailer, offer = kit_offer
    run = sync_price(loopback, retailer, price)
    offer.refresh_from_db()
    held = HeldPrice.objects.get()
    assert offer.price == Decimal("300.00")  # the published price did not move
    assert (held.status, held.price) == (HeldPrice.Status.PENDING, Decimal(price.split()[0]))
    assert reason in held.reason
    assert (run.status, run.offers_held) == (SyncRun.Status.PARTIAL, 1)
    assert "held for an editor" in run.errors[0]["error"]
    assert not PriceSnapshot.objects.filter(offer=offer).exists()


def test_a_jump_of_more_than_three_times_the_accepted_price_is_held(loopback, kit_offer):
    retailer, offer = kit_offer
    sync_price(loopback, retailer, "999.00 USD")  # 15.6/GB: inside the band, but 3.33×
    held = HeldPrice.objects.get()
    assert "3.33× the last accepted price 300.00 (limit 3×)" in held.reason


def test_the_jump_limit_is_an_editor_setting(loopback, kit_offer, settings):
    retailer, offer = kit_offer
    settings.CATALOG_PRICE_JUMP_FACTOR = 4
    sync_price(loopback, retailer, "999.00 USD")
    offer.refresh_from_db()
    assert offer.price == Decimal("999.00") and not HeldPrice.objects.exists()


def test_an_ordinary_price_move_is_published(loopback, kit_offer):
    retailer, offer = kit_offer
    run = sync_price(loopback, retailer, "420.00 USD")
    offer.refresh_from_db()
    assert (offer.price, run.status, run.offers_held) == (Decimal("420.00"), "succeeded", 0)


def test_the_same_bad_price_seen_again_keeps_one_pending_hold(loopback, kit_offer):
    retailer, offer = kit_offer
    sync_price(loopback, retailer, "0.01 USD")
    sync_price(loopback, retailer, "0.02 USD")
    held = HeldPrice.objects.get()
    assert held.price == Decimal("0.02")


def test_an_approved_held_price_is_published_with_the_editor_recorded(loopback, kit_offer):
    retailer, offer = kit_offer
    sync_price(loopback, retailer, "999.00 USD")
    editor = get_user_model().objects.create_user("editor")
    held = HeldPrice.objects.get()
    assert services.held_price_approve(held=held, user=editor)
    offer.refresh_from_db()
    held.refresh_from_db()
    snapshot = offer.snapshots.get()
    assert offer.price == Decimal("999.00")
    assert (held.status, held.decided_by) == (HeldPrice.Status.APPROVED, editor)
    assert snapshot.recorded_by == editor and "approved" in snapshot.note


def test_a_rejected_held_price_is_never_published(loopback, kit_offer):
    retailer, offer = kit_offer
    sync_price(loopback, retailer, "0.01 USD")
    held = HeldPrice.objects.get()
    services.held_price_reject(held=held, user=None)
    offer.refresh_from_db()
    assert offer.price == Decimal("300.00")
    assert HeldPrice.objects.get().status == HeldPrice.Status.REJECTED


def test_approving_an_old_hold_after_a_newer_price_keeps_the_newer_one(loopback, kit_offer):
    retailer, offer = kit_offer
    sync_price(loopback, retailer, "999.00 USD")
    sync_price(loopback, retailer, "310.00 USD")
    held = HeldPrice.objects.get()
    assert not services.held_price_approve(held=held, user=None)
    offer.refresh_from_db()
    assert offer.price == Decimal("310.00")
    assert offer.snapshots.filter(price=Decimal("999.00")).exists()  # kept as history


def test_a_kit_without_a_band_is_only_checked_for_jumps(loopback):
    retailer = feed_retailer(loopback)
    kit = MemoryKitFactory(ddr_generation="DDR4")
    offer = fresh_offer(retailer=retailer, kit=kit, item_id="K64", price=None)
    sync_price(loopback, retailer, "0.01 USD")
    offer.refresh_from_db()
    assert offer.price == Decimal("0.01")


def test_price_problem_reads_the_last_accepted_price_from_history_when_expired():
    offer = fresh_offer(price=None)
    PriceSnapshot.objects.create(
        offer=offer, price=Decimal("100.00"), currency="USD", availability="in_stock",
        observed_at=timezone.now(),
    )  # fmt: skip
    problem = sanity.price_problem(offer=offer, price=Decimal("1000"), bands=sanity.Bands({}))
    assert "10.00× the last accepted price 100.00" in problem


def test_held_prices_do_not_make_offers_fresh():
    offer = fresh_offer(price=None, last_checked=None)
    HeldPrice.objects.create(
        offer=offer, price=Decimal("1.00"), currency="USD", availability="in_stock",
        observed_at=timezone.now(), reason="test",
    )  # fmt: skip
    assert not Offer.objects.fresh().exists()
