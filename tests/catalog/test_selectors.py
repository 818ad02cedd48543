from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import MemoryKit, Offer, Retailer
from catalog.selectors import kit_offers, kit_picks

from .factories import MemoryKitFactory, OfferFactory, RetailerFactory, fresh_offer

pytestmark = pytest.mark.django_db


def rdimm(count, size, **kwargs):
    return MemoryKitFactory(
        module_count=count,
        module_size_gb=size,
        ecc=True,
        form_factor=MemoryKit.FormFactor.RDIMM,
        **kwargs,
    )


def picks_by_platform(required_gb):
    return {p.key: p for p in kit_picks(required_gb=required_gb)}


def test_picks_are_grouped_by_platform_fit():
    fresh_offer(kit=MemoryKitFactory(module_count=2, module_size_gb=64))
    fresh_offer(kit=rdimm(8, 16))
    fresh_offer(kit=rdimm(12, 64))
    groups = picks_by_platform(128)
    assert [len(groups[k].picks) for k in ("desktop", "workstation", "server")] == [1, 1, 1]


def test_picks_only_include_kits_that_cover_the_required_memory():
    fresh_offer(kit=rdimm(8, 32))
    fresh_offer(kit=rdimm(8, 64, title="Big enough"))
    [pick] = picks_by_platform(512)["workstation"].picks
    assert pick.kit.title == "Big enough"


def test_cheapest_in_stock_kit_comes_first():
    fresh_offer(kit=rdimm(8, 64, title="Dear"), price=Decimal("6000.00"))
    fresh_offer(kit=rdimm(8, 64, title="Cheap"), price=Decimal("3000.00"))
    fresh_offer(
        kit=rdimm(8, 64, title="Cheapest but gone"),
        price=Decimal("100.00"),
        availability=Offer.Availability.OUT_OF_STOCK,
    )
    picks = picks_by_platform(512)["workstation"].picks
    assert [p.kit.title for p in picks[:2]] == ["Cheap", "Dear"]


def test_stale_pick_has_no_price():
    fresh_offer(kit=rdimm(8, 64), last_checked=timezone.now() - timedelta(hours=30))
    [pick] = picks_by_platform(512)["workstation"].picks
    assert (pick.price, pick.is_fresh) == (None, False)


def test_pick_carries_price_per_gb_and_bandwidth():
    fresh_offer(kit=rdimm(8, 64, speed_mts=5600), price=Decimal("5120.00"))
    [pick] = picks_by_platform(512)["workstation"].picks
    assert (pick.price_per_gb, pick.channels, pick.bandwidth_gbps) == (Decimal("10.00"), 8, 358.4)


def test_empty_platform_says_why():
    assert picks_by_platform(512)["desktop"].note.startswith("No desktop kit")


def test_kit_picks_use_a_constant_number_of_queries(django_assert_num_queries):
    for _ in range(6):
        kit = rdimm(8, 64)
        fresh_offer(kit=kit)
        OfferFactory(kit=kit)
    with django_assert_num_queries(2):
        kit_picks(required_gb=512)


def test_an_editors_price_is_labelled_as_such_in_picks():
    manual = RetailerFactory(source_kind=Retailer.SourceKind.MANUAL, domain="")
    fresh_offer(kit=rdimm(8, 64), retailer=manual, last_checked=timezone.now() - timedelta(days=30))
    [pick] = picks_by_platform(512)["workstation"].picks
    assert (pick.is_fresh, pick.price_label) == (True, "editor's price")


def test_delisted_offers_are_left_out_of_a_kits_offers():
    kit = rdimm(8, 64)
    fresh_offer(kit=kit, delisted_at=timezone.now())
    listed = fresh_offer(kit=kit)
    rows = kit_offers(kit=kit)
    assert [row["offer"] for row in rows] == [listed]
    assert rows[0]["link_rel"] == "sponsored nofollow noopener"
