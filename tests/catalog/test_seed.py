import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from catalog import seeding
from catalog.models import Component, MemoryKit, Offer, PriceBand, PriceSnapshot, Retailer

pytestmark = pytest.mark.django_db

DATA = seeding.DATA_DIR


def state():
    return (
        list(MemoryKit.objects.order_by("pk").values()),
        list(Retailer.objects.order_by("pk").values()),
        list(Component.objects.order_by("pk").values()),
        list(PriceBand.objects.order_by("pk").values()),
        list(Offer.objects.order_by("pk").values("pk", "price", "availability", "last_changed")),
        PriceSnapshot.objects.count(),
    )


def test_seed_and_demo_sync_twice_changes_nothing():
    seeding.catalog_seed()
    seeding.demo_prices_sync()
    before = state()
    result = seeding.catalog_seed()
    seeding.demo_prices_sync()
    assert state() == before
    assert (result.kits_created, result.offers_created, result.prices_recorded) == (0, 0, 0)


def test_seed_has_over_forty_real_kits_each_with_its_source():
    seeding.catalog_seed()
    kits = list(MemoryKit.objects.all())
    assert len(kits) >= 45
    assert all(k.source_url.startswith("https://") or k.source_note for k in kits)
    assert sum(bool(k.mpn) for k in kits) >= 45


def test_seed_spans_the_kits_buyers_look_for():
    seeding.catalog_seed()
    kits = MemoryKit.objects.all()
    assert {"UDIMM", "CUDIMM", "SODIMM", "RDIMM", "LRDIMM", "3DS_RDIMM"} <= set(
        kits.values_list("form_factor", flat=True)
    )
    rdimm_sets = set(
        kits.filter(form_factor="RDIMM", ddr_generation="DDR5").values_list(
            "module_count", "module_size_gb"
        )
    )
    assert {(12, 32), (12, 64), (12, 96), (12, 128), (8, 96), (8, 128)} <= rdimm_sets
    assert kits.filter(ddr_generation="DDR4", form_factor__in=["RDIMM", "LRDIMM"]).exists()


def test_seed_spans_desktop_kits_to_terabyte_server_sets():
    seeding.catalog_seed()
    capacities = sorted(MemoryKit.objects.values_list("capacity_gb", flat=True))
    assert capacities[0] == 32 and capacities[-1] >= 1024


def test_seed_includes_the_reference_512_gb_kits():
    seeding.catalog_seed()
    titles = " ".join(MemoryKit.objects.filter(capacity_gb=512).values_list("title", flat=True))
    for name in ("A-Tech", "OWC", "NEMIX"):
        assert name in titles


def test_seed_never_overwrites_an_editors_change():
    seeding.catalog_seed()
    kit = MemoryKit.objects.first()
    kit.title = "Edited in admin"
    kit.save()
    band = PriceBand.objects.first()
    band.max_per_gb = Decimal("75.00")
    band.save()
    seeding.catalog_seed()
    assert MemoryKit.objects.get(pk=kit.pk).title == "Edited in admin"
    assert PriceBand.objects.get(pk=band.pk).max_per_gb == Decimal("75.00")


def test_kits_come_with_product_links_on_the_inactive_amazon_retailer():
    seeding.catalog_seed()
    amazon = Retailer.objects.get(slug="amazon-us")
    links = Offer.objects.filter(retailer=amazon)
    assert not amazon.is_active and links.count() >= 25
    assert all(o.url == f"https://www.amazon.com/dp/{o.item_id}" for o in links)
    assert not links.filter(price__isnull=False).exists()  # links, never invented prices


def test_reference_prices_are_editors_prices_with_date_and_source():
    seeding.catalog_seed()
    data = json.loads((DATA / "reference_prices.json").read_text())
    editors = Retailer.objects.get(slug="editor-prices")
    offers = Offer.objects.filter(retailer=editors).select_related("component")
    assert offers.count() == len(data["prices"]) >= 30
    assert all(not o.is_live and o.price_label == "editor's price" for o in offers)
    mac = offers.get(component__slug="apple-mac-studio-m3-ultra-96gb")
    snapshot = mac.snapshots.get()
    assert (mac.price, snapshot.observed_at.date()) == (Decimal("3999.00"), date(2025, 3, 5))
    assert snapshot.source_url.startswith("https://") and "as published" in snapshot.note


def test_components_cover_platforms_gpus_and_systems_with_engine_slugs():
    seeding.catalog_seed()
    kinds = set(Component.objects.values_list("kind", flat=True))
    assert {"cpu", "board", "gpu", "system"} <= kinds
    for slug in ("rtx-4090", "dgx-spark", "strix-halo-395-128", "sp5-epyc-9005-1p"):
        assert Component.objects.filter(profile_slug=slug).exists(), slug
    assert all(c.source_url.startswith("https://") for c in Component.objects.all())


def test_price_bands_are_loaded_with_their_dated_sources():
    seeding.catalog_seed()
    band = PriceBand.objects.get(ddr_generation="DDR5", form_factor="UDIMM", currency="USD")
    assert (band.min_per_gb, band.max_per_gb) == (Decimal("0.50"), Decimal("60.00"))
    assert band.source_url.startswith("https://") and band.source_date.year == 2025


def test_demo_feed_prices_its_kits_as_samples_within_the_bands():
    seeding.catalog_seed()
    run = seeding.demo_prices_sync()
    demo = Offer.objects.filter(retailer__slug="demo-feed").select_related("retailer")
    assert (run.offers_failed, run.offers_held, demo.count()) == (0, 0, 18)
    assert all(o.is_sample for o in demo)


def test_seed_catalog_command_reports_what_it_did(capsys):
    call_command("seed_catalog")
    out = capsys.readouterr().out
    assert "Seeded 71 new kits" in out and "sample prices" in out and "reference prices" in out


def test_sync_prices_command_refuses_an_unknown_retailer():
    with pytest.raises(CommandError, match="No retailer with slug 'nope'"):
        call_command("sync_prices", retailer="nope")


def test_sync_prices_command_syncs_one_retailer(capsys):
    seeding.catalog_seed()
    call_command("sync_prices", retailer="demo-feed")
    assert "demo-feed: Succeeded, 18 checked" in capsys.readouterr().out


def test_sync_prices_command_skips_manual_prices(capsys):
    seeding.catalog_seed()
    call_command("sync_prices", retailer="editor-prices")
    assert "typed by editors; nothing to sync" in capsys.readouterr().out
