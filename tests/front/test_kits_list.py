"""/kits/ as a buyer uses it: fits my platform, filters, sortable columns, state in the
URL; the kit page's platforms, product links, price-history chart and JSON-LD."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import MemoryKit, PriceSnapshot, Retailer
from tests.catalog.factories import MemoryKitFactory, RetailerFactory, fresh_offer

pytestmark = pytest.mark.django_db

GENOA = "sp5-epyc-9004-1p"


def rdimm(count, size, **kwargs):
    return MemoryKitFactory(
        module_count=count, module_size_gb=size, ecc=True,
        form_factor=MemoryKit.FormFactor.RDIMM, speed_mts=kwargs.pop("speed_mts", 4800), **kwargs,
    )  # fmt: skip


def kit_list(client, **params):
    return client.get(reverse("catalog:kit-list"), params).content.decode()


def titles_in_order(html, titles):
    return sorted(titles, key=html.index)


def test_the_main_nav_and_footer_link_to_the_kit_list(client):
    html = client.get(reverse("catalog:kit-list")).content.decode()
    nav, _, rest = html.partition("</nav>")
    href = f'href="{reverse("catalog:kit-list")}"'
    assert href in nav and href in rest.partition("<footer")[2]
    assert 'aria-current="page">Memory kits' in nav


def test_fits_my_platform_shows_only_kits_that_fill_its_channels_alike(client):
    rdimm(12, 64, title="Twelve sticks")
    rdimm(16, 64, title="Sixteen sticks")
    MemoryKitFactory(title="Desktop pair", module_size_gb=48)
    rdimm(8, 64, title="DDR4 set", ddr_generation="DDR4", speed_mts=3200)
    html = kit_list(client, platform=GENOA)
    assert "Twelve sticks" in html
    assert not any(t in html for t in ("Sixteen sticks", "Desktop pair", "DDR4 set"))


def test_the_build_pickers_host_parameter_is_read_as_the_platform(client):
    rdimm(12, 64, title="Twelve sticks")
    MemoryKitFactory(title="Desktop pair", module_size_gb=48)
    html = kit_list(client, host=GENOA)
    assert "Twelve sticks" in html and "Desktop pair" not in html


def test_an_unknown_platform_is_an_error_not_an_empty_list(client):
    MemoryKitFactory(title="Any kit")
    html = kit_list(client, platform="no-such-socket")
    assert "Fix the filters" in html and "Any kit" not in html


def test_each_kit_lists_the_platforms_it_fits_with_the_speed_there(client):
    rdimm(12, 64, title="Fast set", speed_mts=6400)
    html = kit_list(client)
    row = html[html.index("Fast set") :].partition("</tr>")[0]
    assert "AMD SP5 server, EPYC 9004 Genoa (1 socket, 12 channels each), 4800 MT/s" in row


def test_filters_for_dimm_type_kit_size_speed_and_price(client):
    fresh_offer(kit=rdimm(12, 64, title="Twelve"), price=Decimal("3000.00"))
    fresh_offer(kit=rdimm(8, 64, title="Eight"), price=Decimal("2000.00"))
    fresh_offer(kit=MemoryKitFactory(title="Pair", speed_mts=6000), price=Decimal("200.00"))
    assert "Twelve" not in kit_list(client, form_factor="UDIMM")
    html = kit_list(client, modules=8)
    assert "Eight" in html and "Twelve" not in html
    html = kit_list(client, speed=6000)
    assert "Pair" in html and "Eight" not in html
    html = kit_list(client, max_price="2500")
    assert "Eight" in html and "Pair" in html and "Twelve" not in html


def test_columns_sort_by_price_price_per_gb_and_speed(client):
    fresh_offer(kit=rdimm(12, 64, title="Big dear"), price=Decimal("3840.00"))  # 5.00/GB
    fresh_offer(kit=rdimm(8, 16, title="Small", speed_mts=5600), price=Decimal("1280.00"))  # 10
    fresh_offer(kit=MemoryKitFactory(title="Pair", speed_mts=6000), price=Decimal("256.00"))  # 4
    titles = ["Big dear", "Small", "Pair"]
    assert titles_in_order(kit_list(client, sort="price"), titles) == ["Pair", "Small", "Big dear"]
    assert titles_in_order(kit_list(client, sort="-price"), titles) == ["Big dear", "Small", "Pair"]
    by_gb = titles_in_order(kit_list(client, sort="per_gb"), titles)
    assert by_gb == ["Pair", "Big dear", "Small"]
    by_speed = titles_in_order(kit_list(client, sort="-speed"), titles)
    assert by_speed == ["Pair", "Small", "Big dear"]


def test_a_sorted_column_header_links_to_the_reverse_order_keeping_the_filters(client):
    html = kit_list(client, sort="price", ddr="DDR5")
    assert "?sort=-price&amp;ddr=DDR5" in html or "?ddr=DDR5&amp;sort=-price" in html
    assert 'hx-push-url="true"' in html


def test_the_filtered_list_answers_htmx_with_the_results_region(client):
    rdimm(12, 64, title="Twelve sticks")
    response = client.get(
        reverse("catalog:kit-list"), {"platform": GENOA}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "<html" not in html and "Twelve sticks" in html


def test_a_kit_without_a_fresh_price_still_links_to_the_retailers_product(client):
    offer = fresh_offer(kit=rdimm(12, 64), last_checked=timezone.now() - timedelta(days=3))
    html = kit_list(client)
    assert "check price at retailer" in html
    assert f'href="{offer.url}" rel="sponsored nofollow noopener"' in html


def test_affiliate_tags_come_from_settings_in_the_sources_parameter(client, settings):
    retailer = RetailerFactory(
        slug="shop-tagged",
        source_settings={"url": "https://shop.test/feed.json", "affiliate_param": "aff"},
    )
    settings.CATALOG_AFFILIATE_TAGS = {"shop-tagged": "llmram-20"}
    offer = fresh_offer(kit=rdimm(12, 64), retailer=retailer)
    html = client.get(offer.kit.get_absolute_url()).content.decode()
    link = re.search(r'href="([^"]+)" rel="sponsored nofollow noopener"', html).group(1)
    assert link == f"{offer.url}?aff=llmram-20"


def test_the_kit_page_chart_marks_each_price_change_with_its_date_low_and_high(client):
    offer = fresh_offer()
    now = timezone.now()
    for days, price in ((4, "520.00"), (3, "520.00"), (2, "480.00"), (1, "510.00")):
        PriceSnapshot.objects.create(
            offer=offer, price=Decimal(price), currency="USD", availability="in_stock",
            observed_at=now - timedelta(days=days),
        )  # fmt: skip
    html = client.get(offer.kit.get_absolute_url()).content.decode()
    assert html.count("<circle") == 3  # 520, 480, 510: the repeat is not a change
    assert "low USD 480.00, high USD 520.00" in html
    day = (now - timedelta(days=2)).date().isoformat()
    assert f"{day}: USD 480.00" in html


def test_json_ld_offers_only_fresh_live_prices(client):
    kit = rdimm(12, 64)
    manual = RetailerFactory(source_kind=Retailer.SourceKind.MANUAL, domain="")
    fresh_offer(kit=kit, retailer=manual, price=Decimal("2999.00"))
    live = fresh_offer(kit=kit, price=Decimal("3100.00"))
    html = client.get(kit.get_absolute_url()).content.decode()
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    offers = json.loads(block.group(1))["offers"]
    offers = offers if isinstance(offers, list) else offers.get("offers", [offers])
    assert [str(o["price"]) for o in offers] == [str(live.price)]
    assert "editor&#x27;s price" in html or "editor's price" in html


def test_the_kit_page_names_the_platforms_it_fits_and_its_product_page(client):
    kit = rdimm(12, 64, speed_mts=6400)
    html = client.get(kit.get_absolute_url()).content.decode()
    assert "12 channels at 4800 MT/s" in html
    assert f'href="{kit.source_url}" rel="nofollow noopener"' in html
