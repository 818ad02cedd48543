from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import MemoryKit, Offer, Retailer
from catalog.selectors import PICKS_PER_PLATFORM, PriceBook, kit_offers, kit_picks

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


GENOA = "sp5-epyc-9004-1p"  # 12 channels, RDIMM/3DS, one DIMM per channel modelled
WRX90 = "wrx90-threadripper-pro-7000wx"  # 8 channels
AM5 = "am5-ryzen-9000"  # 2 channels, 2 slots each, UDIMM


def picks_by_platform(required_gb):
    return {p.key: p for p in kit_picks(required_gb=required_gb)}


def test_picks_are_kits_the_engine_fits_to_each_platform():
    fresh_offer(kit=MemoryKitFactory(module_count=2, module_size_gb=48))
    fresh_offer(kit=rdimm(8, 16))
    fresh_offer(kit=rdimm(12, 64))
    groups = picks_by_platform(96)
    assert [p.kit.modules_label for p in groups[AM5].picks] == ["2×48 GB"]
    assert [p.kit.modules_label for p in groups[WRX90].picks] == ["8×16 GB"]
    assert [p.kit.modules_label for p in groups[GENOA].picks] == ["12×64 GB"]


def test_a_kit_that_cannot_fill_the_channels_alike_is_never_picked():
    fresh_offer(kit=rdimm(16, 64))
    assert picks_by_platform(512)[GENOA].picks == []
    assert picks_by_platform(512)[WRX90].picks == []


def test_ddr4_kits_are_picked_only_for_ddr4_platforms():
    fresh_offer(kit=rdimm(8, 64, ddr_generation="DDR4", speed_mts=3200))
    groups = picks_by_platform(512)
    assert groups[WRX90].picks == []
    assert [p.kit.ddr_generation for p in groups["sp3-epyc-7002-7003-1p"].picks] == ["DDR4"]


def test_picks_only_include_kits_that_cover_the_required_memory():
    fresh_offer(kit=rdimm(8, 32))
    fresh_offer(kit=rdimm(8, 64, title="Big enough"))
    [pick] = picks_by_platform(512)[WRX90].picks
    assert pick.kit.title == "Big enough"


def test_a_small_kit_counts_as_many_times_as_the_channels_take_it():
    fresh_offer(kit=rdimm(4, 64), price=Decimal("1000.00"))
    [pick] = picks_by_platform(768)[GENOA].picks
    assert (pick.kits, pick.capacity_gb, pick.total_price) == (3, 768, Decimal("3000.00"))


def test_cheapest_in_stock_kit_comes_first():
    fresh_offer(kit=rdimm(8, 64, title="Dear"), price=Decimal("6000.00"))
    fresh_offer(kit=rdimm(8, 64, title="Cheap"), price=Decimal("3000.00"))
    fresh_offer(
        kit=rdimm(8, 64, title="Cheapest but gone"),
        price=Decimal("100.00"),
        availability=Offer.Availability.OUT_OF_STOCK,
    )
    picks = picks_by_platform(512)[WRX90].picks
    assert [p.kit.title for p in picks[:2]] == ["Cheap", "Dear"]


def test_stale_pick_has_no_price_but_keeps_its_product_link():
    offer = fresh_offer(kit=rdimm(8, 64), last_checked=timezone.now() - timedelta(hours=30))
    [pick] = picks_by_platform(512)[WRX90].picks
    assert (pick.price, pick.is_fresh) == (None, False)
    assert pick.outbound_url == offer.url


def test_pick_carries_price_per_gb_and_the_speed_the_platform_runs_it_at():
    fresh_offer(kit=rdimm(8, 64, speed_mts=5600), price=Decimal("5120.00"))
    [pick] = picks_by_platform(512)[WRX90].picks
    assert (pick.price_per_gb, pick.channels, pick.speed_mts) == (Decimal("10.00"), 8, 5200)
    assert pick.bandwidth_gbps == 332.8


def test_empty_platform_says_why():
    assert picks_by_platform(512)[AM5].note.startswith("No kit in the catalog fits")


def test_kit_picks_use_a_constant_number_of_queries_once_per_prices_version(
    django_assert_num_queries,
):
    for _ in range(6):
        kit = rdimm(8, 64)
        fresh_offer(kit=kit)
        OfferFactory(kit=kit)
    with django_assert_num_queries(3):  # components (none here), kits and their offers
        kit_picks(required_gb=512)
    with django_assert_num_queries(0):
        kit_picks(required_gb=256)
        PriceBook(last_known=True)  # build costs read the same rows
    fresh_offer(kit=rdimm(8, 64))  # a saved offer: the next picks read afresh
    with django_assert_num_queries(3):
        assert len(picks_by_platform(512)[WRX90].picks) == PICKS_PER_PLATFORM


def test_an_editors_price_is_labelled_as_such_in_picks():
    manual = RetailerFactory(source_kind=Retailer.SourceKind.MANUAL, domain="")
    fresh_offer(kit=rdimm(8, 64), retailer=manual, last_checked=timezone.now() - timedelta(days=30))
    [pick] = picks_by_platform(512)[WRX90].picks
    assert (pick.is_fresh, pick.price_label) == (True, "editor's price")


def test_delisted_offers_are_left_out_of_a_kits_offers():
    kit = rdimm(8, 64)
    fresh_offer(kit=kit, delisted_at=timezone.now())
    listed = fresh_offer(kit=kit)
    rows = kit_offers(kit=kit)
    assert [row["offer"] for row in rows] == [listed]
    assert rows[0]["link_rel"] == "sponsored nofollow noopener"
