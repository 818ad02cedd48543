"""What a machine that runs the model costs, on the model page: per kind of build, the
cheapest priced preset that runs it comfortably at the bar, its parts and links, stale
prices dated, and tokens/s per $1,000 — from the same placements as the speed table."""

from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from calculator import services
from catalog.models import Component, Retailer
from front.presenters.costs import COST_BAR_TOKENS_PER_S, cost_answer
from front.presenters.files import model_defaults
from tests.catalog.factories import ComponentFactory, RetailerFactory, fresh_offer


def mac(memory_gb, price, **offer):
    component = ComponentFactory(
        kind=Component.Kind.SYSTEM, profile_slug="apple-m3-ultra-512", memory_gb=memory_gb
    )
    fresh_offer(kit=None, component=component, price=Decimal(price), **offer)


def r1_page(client):
    url = reverse("calculator:model-detail", args=["deepseek-r1"])
    return client.get(url, {"quant": "Q4_K_M"}).content.decode()


def test_the_page_names_the_cheapest_priced_machine_that_runs_it_at_the_bar(client, site_data):
    mac(512, "9499.00")
    html = r1_page(client)
    section = html[html.index('id="build-costs"') :]
    assert "Cheapest way to run DeepSeek" in section
    assert "about USD 9,499" in section
    assert "Tokens/s per $1,000" in section


def test_a_stale_price_is_shown_with_the_date_it_was_last_seen(client, site_data):
    manual = RetailerFactory(source_kind=Retailer.SourceKind.MANUAL, domain="")
    mac(512, "9499.00", retailer=manual, last_checked=timezone.now() - timedelta(days=400))
    section = r1_page(client).split('id="build-costs"')[1]
    assert "about USD 9,499" in section and "last seen" in section
    assert "check current prices" in section


def test_without_any_priced_machine_the_page_says_so(client, site_data):
    section = r1_page(client).split('id="build-costs"')[1]
    assert "No machine that runs this has every part priced" in section


def test_the_answer_uses_the_speed_tables_placements_and_keeps_one_build_per_kind(hardware):
    mac(512, "9499.00")
    mac(256, "5599.00")
    model = services.find_model("qwen3-235b-a22b")
    arch = services.architecture_of(model)
    placed = services.estimate_on_builds(arch, model_defaults(model), hardware)
    answer = cost_answer(placed.placements)
    assert answer.reaches_bar
    [row] = answer.rows  # both Macs are one kind: the cheaper one that runs it is named
    assert row.placement in placed.placements
    assert row.placement.fits and row.placement.tokens_per_s >= COST_BAR_TOKENS_PER_S
    assert row.cost.total == Decimal("5599.00")
