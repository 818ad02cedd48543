import pytest
from django.core.management import CommandError, call_command

from catalog import services
from catalog.models import MemoryKit, Offer, PriceSnapshot, Retailer

pytestmark = pytest.mark.django_db


def state():
    return (
        list(MemoryKit.objects.order_by("pk").values()),
        list(Retailer.objects.order_by("pk").values()),
        list(Offer.objects.order_by("pk").values("pk", "price", "availability", "last_changed")),
        PriceSnapshot.objects.count(),
    )


def test_seed_and_demo_sync_twice_changes_nothing():
    services.catalog_seed()
    services.demo_prices_sync()
    before = state()
    services.catalog_seed()
    services.demo_prices_sync()
    assert state() == before


def test_seed_spans_desktop_kits_to_terabyte_server_sets():
    services.catalog_seed()
    capacities = sorted(MemoryKit.objects.values_list("capacity_gb", flat=True))
    assert capacities[0] == 32 and capacities[-1] >= 1024


def test_seed_includes_the_reference_512_gb_kits():
    services.catalog_seed()
    titles = " ".join(MemoryKit.objects.filter(capacity_gb=512).values_list("title", flat=True))
    for name in ("A-Tech", "OWC", "NEMIX"):
        assert name in titles


def test_seed_never_overwrites_an_editors_change():
    services.catalog_seed()
    kit = MemoryKit.objects.first()
    kit.title = "Edited in admin"
    kit.save()
    services.catalog_seed()
    assert MemoryKit.objects.get(pk=kit.pk).title == "Edited in admin"


def test_demo_feed_prices_every_seed_kit_as_a_sample():
    services.catalog_seed()
    run = services.demo_prices_sync()
    assert run.offers_failed == 0
    assert Offer.objects.count() == MemoryKit.objects.count()
    assert all(o.is_sample for o in Offer.objects.select_related("retailer"))


def test_seed_catalog_command_reports_what_it_did(capsys):
    call_command("seed_catalog")
    out = capsys.readouterr().out
    assert "Seeded 18 new kits" in out and "sample prices" in out


def test_sync_prices_command_refuses_an_unknown_retailer():
    with pytest.raises(CommandError, match="No retailer with slug 'nope'"):
        call_command("sync_prices", retailer="nope")


def test_sync_prices_command_syncs_one_retailer(capsys):
    services.catalog_seed()
    call_command("sync_prices", retailer="demo-feed")
    assert "demo-feed: Succeeded, 18 checked" in capsys.readouterr().out
