"""Kit picks on model pages: the catalog's cheapest kits for the engine's recommendation."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import escape

from tests.catalog.factories import MemoryKitFactory, RetailerFactory, fresh_offer


@pytest.fixture
def kits(site_data):
    call_command("seed_catalog", stdout=StringIO())


def r1_page(client, **params):
    return client.get(reverse("calculator:model-detail", args=["deepseek-r1"]), params)


def test_r1_page_shows_512_gb_kit_picks_labelled_sample_price(client, kits):
    html = r1_page(client).content.decode()
    assert "kits for 512 GB" in html
    assert "sample price" in html
    assert "price as of" in html


def htmx(client, target, **params):
    return client.get(
        reverse("calculator:model-detail", args=["deepseek-r1"]),
        params,
        headers={"HX-Request": "true", "HX-Target": target},
    ).content.decode()


def test_kit_picks_follow_the_quant_in_the_htmx_region(client, kits):
    html = r1_page(client, quant="Q8_0", context=32768).content.decode()
    assert "Memory allocation sizer: kits for 768 GB" in html
    region = htmx(client, "kit-picks", quant="Q8_0", context=32768)
    assert "Memory allocation sizer: kits for 768 GB" in region and "<html" not in region
    assert region.startswith('<div id="kit-picks">') and "price as of" in region


def test_an_htmx_update_loads_the_kits_and_files_only_when_they_are_seen(client, kits):
    update = htmx(client, "result", quant="Q8_0", context=32768)
    assert 'id="result"' in update and "calculated for Q8_0" in update
    assert "price as of" not in update and "Files you can download" not in update
    for region in ("kit-picks", "gguf-files"):
        placeholder = update[update.index(f'<div id="{region}"') :].split(">", 1)[0]
        assert 'hx-trigger="revealed"' in placeholder and 'hx-target="this"' in placeholder
        assert "?quant=Q8_0&amp;context=32768" in placeholder  # the same state
    only_kits = htmx(client, "kit-picks", quant="Q8_0", context=32768)
    assert 'id="result"' not in only_kits and "calculated for" not in only_kits


def test_each_pick_shows_the_engine_speed_on_its_platform_channels(client, kits):
    html = r1_page(client).content.decode()
    assert "ch ·" in html and "GB/s" in html
    assert "Tokens/s" in html


def test_affiliate_disclosure_accompanies_the_offers(client, kits):
    html = r1_page(client).content.decode().lower()
    assert "affiliate" in html


def test_each_platform_links_to_the_kit_list_filtered_to_it(client, kits):
    html = r1_page(client).content.decode()
    assert f"{reverse('catalog:kit-list')}?platform=sp5-epyc-9004-1p" in html


def test_a_fresh_pick_shows_its_price_and_a_sponsored_link_with_every_text_escaped(
    client, site_data
):
    kit = MemoryKitFactory(title="<b>Fast</b> & cheap", module_count=2, module_size_gb=48)
    shop = RetailerFactory(name="Shop & Co")
    offer = fresh_offer(kit=kit, price="321.00", retailer=shop, url="https://shop.test/k")
    html = client.get(reverse("calculator:model-detail", args=["qwen3-8b"])).content.decode()
    row = html[html.rindex("<tr>", 0, html.index(escape(kit.title))) :].split("</tr>", 1)[0]
    assert "<b>Fast</b>" not in html and "&lt;b&gt;Fast&lt;/b&gt; &amp; cheap</a>" in row
    assert "<strong>USD 321.00</strong>" in row and "Shop &amp; Co · price as of <time" in row
    link = f'<a href="{escape(offer.product_url)}" rel="sponsored nofollow noopener">'
    assert f"{link}Buy at Shop &amp; Co</a>" in row
