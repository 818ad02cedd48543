from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import PriceSnapshot, Retailer
from tests.catalog.factories import MemoryKitFactory, RetailerFactory, fresh_offer

pytestmark = pytest.mark.django_db


def test_kit_list_renders_the_full_page_with_the_disclosure(client):
    fresh_offer(kit=MemoryKitFactory(title="Crucial Pro 96GB"))
    response = client.get(reverse("catalog:kit-list"))
    html = response.content.decode()
    assert "<html" in html and "Crucial Pro 96GB" in html
    assert "Affiliate disclosure" in html


def test_kit_list_answers_htmx_with_the_results_fragment(client):
    fresh_offer(kit=MemoryKitFactory(title="Crucial Pro 96GB"))
    response = client.get(reverse("catalog:kit-list"), headers={"HX-Request": "true"})
    html = response.content.decode()
    title, _, region = html.lstrip().partition("\n")
    assert title.startswith("<title>Memory kits")
    assert region.lstrip().startswith('<div id="results"')
    assert "Crucial Pro 96GB" in html and "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_kit_list_answers_history_restore_with_the_full_page(client):
    response = client.get(
        reverse("catalog:kit-list"),
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in response.content.decode()


def test_kit_list_filters_by_capacity_and_generation(client):
    MemoryKitFactory(title="Small DDR5", module_size_gb=16)
    MemoryKitFactory(title="Big DDR4", module_size_gb=64, ddr_generation="DDR4")
    MemoryKitFactory(title="Big DDR5", module_size_gb=64)
    html = client.get(reverse("catalog:kit-list"), {"capacity": 128, "ddr": "DDR5"}).content
    assert b"Big DDR5" in html and b"Big DDR4" not in html and b"Small DDR5" not in html


def test_kit_list_filters_by_max_price_per_gb(client):
    fresh_offer(kit=MemoryKitFactory(title="Cheap kit"), price=Decimal("320.00"))  # 5/GB
    fresh_offer(kit=MemoryKitFactory(title="Dear kit"), price=Decimal("960.00"))  # 15/GB
    html = client.get(reverse("catalog:kit-list"), {"max_price_per_gb": "10"}).content
    assert b"Cheap kit" in html and b"Dear kit" not in html


def test_kit_list_rejects_an_invalid_filter_with_an_error(client):
    MemoryKitFactory(title="Any kit")
    html = client.get(reverse("catalog:kit-list"), {"capacity": "lots"}).content
    assert b"Fix the filters" in html and b"Any kit" not in html


def test_stale_price_is_hidden_behind_check_retailer(client):
    kit = MemoryKitFactory()
    fresh_offer(kit=kit, price=Decimal("123.45"), last_checked=timezone.now() - timedelta(hours=25))
    html = client.get(kit.get_absolute_url()).content.decode()
    assert "123.45" not in html
    assert "check price at retailer" in html
    assert f"{kit.offers.get().url}" in html  # the product link, with no price


def test_kit_page_shows_price_as_of_time_and_the_retailer_disclaimer(client):
    retailer = RetailerFactory(disclaimer="Shop prices change daily.")
    offer = fresh_offer(retailer=retailer, price=Decimal("499.00"))
    html = client.get(offer.kit.get_absolute_url()).content.decode()
    assert "499.00" in html and "price as of" in html and "Shop prices change daily." in html


def test_outbound_links_are_sponsored_nofollow(client):
    offer = fresh_offer()
    html = client.get(offer.kit.get_absolute_url()).content.decode()
    assert f'href="{offer.url}" rel="sponsored nofollow noopener"' in html


def test_demo_feed_prices_are_labelled_sample_price(client):
    demo = RetailerFactory(source_kind=Retailer.SourceKind.DEMO_FEED, domain="example.com")
    offer = fresh_offer(retailer=demo, url="https://example.com/kits/x")
    html = client.get(offer.kit.get_absolute_url()).content.decode()
    assert "sample price" in html
    assert 'rel="sponsored nofollow"' not in html


def test_feed_price_history_is_drawn_as_inline_svg(client):
    offer = fresh_offer()
    for days, price in ((3, "520.00"), (2, "510.00"), (1, "500.00")):
        PriceSnapshot.objects.create(
            offer=offer,
            price=Decimal(price),
            currency="USD",
            availability="in_stock",
            observed_at=timezone.now() - timedelta(days=days),
        )
    html = client.get(offer.kit.get_absolute_url()).content.decode()
    assert "<svg" in html and "<polyline" in html


def test_amazon_offer_gets_no_history_chart(client):
    amazon = RetailerFactory(source_kind=Retailer.SourceKind.AMAZON_CREATORS, domain="amazon.com")
    offer = fresh_offer(retailer=amazon, url="https://www.amazon.com/dp/B0TEST0001")
    for hours in (3, 2):
        PriceSnapshot.objects.create(
            offer=offer,
            price=Decimal("1.00") * hours,
            currency="USD",
            availability="in_stock",
            observed_at=timezone.now() - timedelta(hours=hours),
        )
    html = client.get(offer.kit.get_absolute_url()).content.decode()
    assert "<svg" not in html and "24 hours only" in html


def test_retired_kit_page_is_not_found(client):
    kit = MemoryKitFactory()
    kit.retire()
    assert client.get(kit.get_absolute_url()).status_code == 404


def test_kit_page_lists_the_models_it_can_run_with_engine_figures(client, site_data):
    from io import StringIO

    from django.core.management import call_command

    from catalog.models import MemoryKit

    call_command("seed_catalog", stdout=StringIO())
    kit = MemoryKit.objects.filter(capacity_gb__gte=512).order_by("capacity_gb").first()
    html = client.get(kit.get_absolute_url()).content.decode()
    assert "Models this kit can run" in html
    assert "DeepSeek R1" in html


def test_kit_page_product_json_ld_never_offers_sample_prices(client, site_data):
    import json
    import re
    from io import StringIO

    from django.core.management import call_command

    from catalog.models import MemoryKit

    call_command("seed_catalog", stdout=StringIO())
    kit = MemoryKit.objects.order_by("capacity_gb").first()
    html = client.get(kit.get_absolute_url()).content.decode()
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    product = json.loads(block.group(1))
    assert product["@type"] == "Product" and product["name"] == kit.title
    assert "offers" not in product  # the demo feed's prices are samples, not offers
