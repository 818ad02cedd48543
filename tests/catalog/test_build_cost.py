"""What a build costs from the catalog: platform CPU and board, its DIMMs as kits, GPUs,
or the whole machine; tokens/s per $1,000; the verdict ranks builds by it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from calculator import services
from calculator.engine.verdict import build_verdict
from calculator.options import DEFAULTS
from catalog.models import Component, MemoryKit, Retailer
from catalog.selectors import BuildCost, CostLine, PriceBook, build_cost
from front.presenters.costs import cheapest_at, cost_function, costed

from .factories import ComponentFactory, MemoryKitFactory, RetailerFactory, fresh_offer

GENOA = "sp5-epyc-9004-1p"


def preset(slug, hardware):
    return services.preset_build(slug, hardware)


def priced_component(kind, profile_slug, price, memory_gb=None, **offer):
    component = ComponentFactory(kind=kind, profile_slug=profile_slug, memory_gb=memory_gb)
    fresh_offer(kit=None, component=component, price=Decimal(price), **offer)
    return component


def priced_rdimm_kit(count, size, price, speed=4800):
    kit = MemoryKitFactory(
        module_count=count, module_size_gb=size, speed_mts=speed, ecc=True,
        form_factor=MemoryKit.FormFactor.RDIMM,
    )  # fmt: skip
    fresh_offer(kit=kit, price=Decimal(price))
    return kit


def genoa_platform(cpu="1000.00", board="700.00"):
    priced_component(Component.Kind.CPU, GENOA, cpu)
    priced_component(Component.Kind.BOARD, GENOA, board)


def test_a_mac_costs_its_whole_box_at_the_memory_it_is_sold_with(hardware):
    priced_component(Component.Kind.SYSTEM, "apple-m3-ultra-512", "9499.00", memory_gb=512)
    priced_component(Component.Kind.SYSTEM, "apple-m3-ultra-512", "3999.00", memory_gb=96)
    cost = build_cost(preset("mac-studio-m3-ultra-512gb", hardware))
    assert cost.total == Decimal("9499.00") and cost.currency == "USD"
    assert build_cost(preset("mac-studio-m3-ultra-96gb", hardware)).total == Decimal("3999.00")


def test_a_cpu_platform_costs_cpu_board_and_the_kits_that_make_its_dimms(hardware):
    genoa_platform()
    priced_rdimm_kit(12, 64, "3600.00")
    cost = build_cost(preset("epyc-9004-768gb", hardware))
    assert [line.quantity for line in cost.lines] == [1, 1, 1]
    assert cost.total == Decimal("5300.00")


def test_the_cheapest_way_to_make_the_dimms_wins_counting_every_box(hardware):
    genoa_platform()
    priced_rdimm_kit(12, 64, "3600.00")
    priced_rdimm_kit(4, 64, "1100.00")  # 3 boxes: 3,300
    priced_rdimm_kit(12, 64, "100.00", speed=4400)  # too slow for the preset's 4800 MT/s
    cost = build_cost(preset("epyc-9004-768gb", hardware))
    [dimms] = [line for line in cost.lines if line.quantity == 3]
    assert dimms.unit_price == Decimal("1100.00") and cost.total == Decimal("5000.00")


def test_gpus_are_counted_per_card(hardware):
    genoa_platform()
    priced_rdimm_kit(12, 32, "1800.00")
    priced_component(Component.Kind.GPU, "rtx-4090", "1999.00", memory_gb=24)
    cost = build_cost(preset("rtx-4090-epyc-9004-384gb", hardware))
    assert cost.total == Decimal("1000.00") + Decimal("700.00") + Decimal("1800.00") + Decimal(
        "1999.00"
    )


def test_a_build_with_an_unpriced_part_has_no_cost(hardware):
    genoa_platform()  # no DIMMs priced
    assert build_cost(preset("epyc-9004-768gb", hardware)) is None
    assert build_cost(preset("dgx-spark", hardware)) is None


def test_a_stale_price_does_not_count(hardware):
    stale = timezone.now() - timedelta(days=3)
    priced_component(Component.Kind.SYSTEM, "dgx-spark", "3999.00", memory_gb=128,
                     last_checked=stale)  # fmt: skip
    assert build_cost(preset("dgx-spark", hardware)) is None


def test_an_editors_dated_price_counts_and_is_labelled(hardware):
    manual = RetailerFactory(source_kind=Retailer.SourceKind.MANUAL, domain="")
    priced_component(Component.Kind.SYSTEM, "dgx-spark", "3999.00", memory_gb=128,
                     retailer=manual, last_checked=timezone.now() - timedelta(days=30))  # fmt: skip
    cost = build_cost(preset("dgx-spark", hardware))
    assert cost.total == Decimal("3999.00") and cost.labels == ("editor's price",)


def test_sample_prices_are_labelled_in_the_total(hardware):
    demo = RetailerFactory(source_kind=Retailer.SourceKind.DEMO_FEED, domain="example.com")
    priced_component(Component.Kind.SYSTEM, "dgx-spark", "3999.00", memory_gb=128,
                     retailer=demo, url="https://example.com/p/spark")  # fmt: skip
    cost = build_cost(preset("dgx-spark", hardware))
    assert cost.is_sample and cost.labels == ("sample price",)
    assert cost.lines[0].url == ""  # a demo feed's link is not a product page


def test_tokens_per_second_per_thousand_dollars_divides_speed_by_the_total():
    line = CostLine("Box", 2, Decimal("1000.00"), "USD", "", None, "")
    cost = BuildCost((line,), "USD")
    assert cost.tokens_per_s_per_1000(10.0) == pytest.approx(5.0)
    assert cost.tokens_per_s_per_1000(None) is None


def test_the_verdict_ranks_builds_of_a_kind_by_their_catalog_price(hardware):
    priced_component(Component.Kind.SYSTEM, "apple-m3-ultra-512", "9499.00", memory_gb=512)
    priced_component(Component.Kind.SYSTEM, "apple-m3-ultra-512", "5599.00", memory_gb=256)
    model = services.find_model("qwen3-235b-a22b") or services.find_model("deepseek-r1")
    arch = services.architecture_of(model)
    macs = [preset(s, hardware) for s in ("mac-studio-m3-ultra-512gb", "mac-studio-m3-ultra-256gb")]
    from_options = services.estimate_on_builds(arch, DEFAULTS, hardware, builds=macs)
    book = PriceBook()
    verdict = build_verdict(from_options.placements, 256, cost=cost_function(book))
    fitting = [p for p in from_options.placements if p.fits]
    assert fitting
    [mac] = [o for o in verdict.options if o.kind == fitting[0].build.kind_label]
    cheapest = min(fitting, key=lambda p: book.build_cost(p.build).total)
    assert mac.placement.build.slug == cheapest.build.slug
    [row] = cheapest_at(from_options.placements, 0.1, book)
    assert row.placement.build.slug == cheapest.build.slug
    assert row.tokens_per_s_per_1000 == pytest.approx(
        row.placement.tokens_per_s / float(row.cost.total) * 1000
    )
    assert len(costed(from_options.placements, book)) == 2


def test_a_stale_price_prices_nothing_unless_the_last_known_price_is_asked_for(hardware):
    manual = RetailerFactory(source_kind=Retailer.SourceKind.MANUAL, domain="")
    seen = timezone.now() - timedelta(days=400)
    priced_component(Component.Kind.SYSTEM, "dgx-spark", "3999.00", memory_gb=128,
                     retailer=manual, last_checked=seen)  # fmt: skip
    spark = preset("dgx-spark", hardware)
    assert build_cost(spark) is None
    cost = build_cost(spark, book=PriceBook(last_known=True))
    assert cost.total == Decimal("3999.00")
    assert not cost.is_fresh and cost.oldest == seen
