"""The catalog admin as an editor uses it."""

from datetime import timedelta
from decimal import Decimal

import kombu.pools
import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from calculator.models import LlmModel
from catalog.models import HeldPrice, Offer, PriceSnapshot, Retailer, SyncRun
from config.celery import app

from .conftest import TEST_QUEUE, TEST_REDIS_URL
from .factories import (
    ComponentFactory,
    MemoryKitFactory,
    OfferFactory,
    RetailerFactory,
    fresh_offer,
)
from .helpers import feed_item, feed_reply, feed_retailer

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(monkeypatch):
    """Point the Celery app at a broker URL for one test, with no cached connections."""

    def use(url):
        monkeypatch.setitem(app.conf, "broker_url", url)
        kombu.pools.reset()
        app._pool = None

    yield use
    kombu.pools.reset()
    app._pool = None


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def run_action(admin_client, retailer, action="sync_prices_now", name="retailer"):
    response = admin_client.post(
        reverse(f"admin:catalog_{name}_changelist"),
        {"action": action, "_selected_action": [retailer.pk]},
    )
    return response, messages_of(response)


# ── "Sync prices now" ───────────────────────────────────────────────────────────


def test_sync_action_with_the_broker_down_runs_the_sync_in_this_process(
    admin_client, broker, loopback
):
    broker("redis://127.0.0.1:1/0")
    retailer = feed_retailer(loopback, name="Feed shop")
    offer = fresh_offer(retailer=retailer, item_id="A1")
    loopback.routes["/feed.json"] = [feed_reply(feed_item("A1", "420.00 USD"))]
    response, messages = run_action(admin_client, retailer)
    offer.refresh_from_db()
    assert response.status_code == 302
    assert any(
        "Could not queue the price sync for Feed shop" in m
        and "Ran it in this process instead: Feed shop: Succeeded, 1 checked" in m
        for m in messages
    ), messages
    assert offer.price == Decimal("420.00")
    assert SyncRun.objects.get().runner == SyncRun.Runner.IN_PROCESS


def test_sync_action_queues_a_run_that_shows_as_pending(
    admin_client, broker, test_redis, monkeypatch
):
    queue = TEST_QUEUE  # Celery caches its queue map: use the session's one queue
    monkeypatch.setitem(app.conf, "task_default_queue", queue)
    broker(TEST_REDIS_URL)
    retailer = RetailerFactory(name="Feed shop")
    try:
        _, messages = run_action(admin_client, retailer)
    finally:
        test_redis.delete(queue, f"_kombu.binding.{queue}")
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.PENDING and run.task_id
    assert any(f"Queued a price sync for Feed shop (run #{run.pk})" in m for m in messages)
    page = admin_client.get(reverse("admin:catalog_syncrun_changelist")).content.decode()
    assert "Pending (waiting for a worker)" in page


def test_a_pending_run_nobody_took_shows_as_stale_with_the_reason(admin_client, settings):
    settings.CATALOG_PENDING_STALE_MINUTES = 10
    SyncRun.objects.create(
        retailer=RetailerFactory(),
        status=SyncRun.Status.PENDING,
        requested_at=timezone.now() - timedelta(minutes=11),
    )
    page = admin_client.get(reverse("admin:catalog_syncrun_changelist")).content.decode()
    assert "Never started (no worker took it)" in page
    assert "No worker started this run within 10 minutes" in page


def test_sync_action_on_manual_prices_says_there_is_nothing_to_sync(admin_client):
    manual = RetailerFactory(name="Editors", source_kind=Retailer.SourceKind.MANUAL, domain="")
    _, messages = run_action(admin_client, manual)
    assert any("Nothing to sync for Editors" in m for m in messages)
    assert not SyncRun.objects.exists()


# ── Retailers ──────────────────────────────────────────────────────────────────


def retailer_form(**overrides):
    form = {
        "name": "New feed",
        "slug": "new-feed",
        "source_kind": "feed",
        "source_settings": "{}",
        "domain": "shop.test",
        "country": "US",
        "currency": "USD",
        "affiliate_tag": "",
        "requests_per_second": "1.0",
        "disclaimer": "",
        "is_active": "on",
    }
    form.update(overrides)
    return form


def test_a_feed_retailer_with_empty_settings_is_refused_at_save(admin_client):
    response = admin_client.post(reverse("admin:catalog_retailer_add"), retailer_form())
    page = response.content.decode()
    assert response.status_code == 200 and not Retailer.objects.exists()
    assert "a feed needs exactly one of &#x27;url&#x27;" in page
    assert "Example for Product feed" in page


def test_a_feed_retailer_with_a_url_is_saved(admin_client):
    form = retailer_form(source_settings='{"url": "https://shop.test/feed.json"}')
    response = admin_client.post(reverse("admin:catalog_retailer_add"), form)
    assert response.status_code == 302 and Retailer.objects.get().slug == "new-feed"


def test_the_settings_help_lists_an_example_for_every_source_kind(admin_client):
    page = admin_client.get(reverse("admin:catalog_retailer_add")).content.decode()
    assert "client_id_env" in page and "catalog/data/demo_feed.json" in page


# ── Offers and manual prices ───────────────────────────────────────────────────


def offer_form(**overrides):
    form = {
        "kit": "",
        "component": "",
        "retailer": "",
        "item_id": "X1",
        "title": "",
        "url": "https://shop.test/p/X1",
        "condition": "new",
        "currency": "",
        "price": "",
        "availability": "unknown",
        "price_date": "",
        "price_source_url": "",
        "price_note": "",
        "snapshots-TOTAL_FORMS": 0,
        "snapshots-INITIAL_FORMS": 0,
    }
    form.update(overrides)
    return form


def test_offer_url_on_another_domain_is_refused_in_admin(admin_client):
    kit = MemoryKitFactory()
    retailer = RetailerFactory(domain="shop.test")
    response = admin_client.post(
        reverse("admin:catalog_offer_add"),
        offer_form(kit=kit.pk, retailer=retailer.pk, url="https://other.test/p/X1"),
    )
    assert response.status_code == 200
    assert not Offer.objects.exists()


def test_offer_currency_defaults_from_the_retailer(admin_client):
    kit = MemoryKitFactory()
    retailer = RetailerFactory(currency="EUR")
    response = admin_client.post(
        reverse("admin:catalog_offer_add"), offer_form(kit=kit.pk, retailer=retailer.pk)
    )
    assert response.status_code == 302
    assert Offer.objects.get().currency == "EUR"


def test_a_price_typed_for_a_synced_retailer_is_refused_with_the_reason(admin_client):
    kit = MemoryKitFactory()
    retailer = RetailerFactory(name="Feed shop")
    response = admin_client.post(
        reverse("admin:catalog_offer_add"),
        offer_form(kit=kit.pk, retailer=retailer.pk, price="99.00"),
    )
    assert response.status_code == 200 and not Offer.objects.exists()
    assert "Prices for Feed shop come from its sync" in response.content.decode()


def test_a_synced_offer_explains_why_its_price_is_read_only(admin_client):
    offer = fresh_offer(retailer=RetailerFactory(name="Feed shop"))
    page = admin_client.get(reverse("admin:catalog_offer_change", args=[offer.pk])).content
    assert b"Set by the price sync of Feed shop" in page
    assert b'name="price"' not in page


def test_an_editor_types_a_price_and_it_is_recorded_with_who_and_when(admin_client, admin_user):
    manual = RetailerFactory(source_kind=Retailer.SourceKind.MANUAL, domain="")
    gpu = ComponentFactory()
    offer = OfferFactory(retailer=manual, kit=None, component=gpu, item_id="G1",
                         url="https://www.example.com/rtx-4090")  # fmt: skip
    response = admin_client.post(
        reverse("admin:catalog_offer_change", args=[offer.pk]),
        offer_form(
            component=gpu.pk,
            retailer=manual.pk,
            item_id="G1",
            url="https://www.example.com/rtx-4090",
            currency="USD",
            price="1819.99",
            availability="in_stock",
            price_date="2025-07-23 00:00:00",
            price_source_url="https://pcpartpicker.com/",
            price_note="lowest price",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    offer.refresh_from_db()
    snapshot = PriceSnapshot.objects.get(offer=offer)
    assert offer.price == Decimal("1819.99") and offer.availability == "in_stock"
    assert (snapshot.recorded_by, snapshot.observed_at.date().isoformat()) == (
        admin_user,
        "2025-07-23",
    )
    assert snapshot.note == "lowest price"


def test_the_offer_inline_keeps_to_four_short_columns(admin_client):
    kit = MemoryKitFactory()
    fresh_offer(kit=kit)
    page = admin_client.get(reverse("admin:catalog_memorykit_change", args=[kit.pk])).content
    page = page.decode()
    inline = page[page.index('id="offers-group"') :]
    inline = inline[: inline.index("</table>")]
    headers = inline.count('<th class="column-')
    assert headers == 4  # retailer, item id, product URL, price
    assert 'size="28"' in inline and 'size="12"' in inline


# ── Held prices ────────────────────────────────────────────────────────────────


@pytest.fixture
def held():
    offer = fresh_offer(price=Decimal("300.00"))
    return HeldPrice.objects.create(
        offer=offer,
        price=Decimal("0.01"),
        currency="USD",
        availability="in_stock",
        observed_at=timezone.now(),
        reason="USD 0.0002/GB is outside the plausible band 0.50–60.00/GB for DDR5 UDIMM",
    )


def test_held_prices_are_listed_with_their_reason(admin_client, held):
    page = admin_client.get(reverse("admin:catalog_heldprice_changelist")).content.decode()
    assert "outside the plausible band" in page and "USD 300.00" in page


def test_approving_a_held_price_publishes_it(admin_client, held):
    _, messages = run_action(admin_client, held, action="approve", name="heldprice")
    held.offer.refresh_from_db()
    assert held.offer.price == Decimal("0.01") and "Approved 1 held price." in messages


def test_rejecting_a_held_price_keeps_the_accepted_one(admin_client, held):
    run_action(admin_client, held, action="reject", name="heldprice")
    held.refresh_from_db()
    held.offer.refresh_from_db()
    assert held.status == "rejected" and held.offer.price == Decimal("300.00")


# ── Filters: a bad value is a message, never a 500 ─────────────────────────────


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("memorykit", "?capacity=abc"),
        ("memorykit", "?in_stock=maybe"),
        ("memorykit", "?ecc__exact=abc"),
        ("memorykit", "?offers__retailer__exact=abc"),
        ("offer", "?stale=x"),
        ("offer", "?item=shoes"),
        ("syncrun", "?requested_at__year=abc"),
        ("heldprice", "?status=maybe"),
    ],
)
def test_a_bad_filter_value_is_refused_with_a_message(admin_client, name, query):
    MemoryKitFactory()
    url = reverse(f"admin:catalog_{name}_changelist")
    response = admin_client.get(url + query, follow=True)
    assert response.status_code == 200
    assert any("Filter not applied" in m for m in messages_of(response))


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("memorykit", "?stale=yes&in_stock=no&capacity=64-128"),
        ("offer", "?stale=yes&item=kit"),
        ("retailer", ""),
        ("syncrun", ""),
        ("component", "?kind__exact=gpu"),
        ("heldprice", "?status=pending"),
        ("priceband", ""),
    ],
)
def test_admin_changelists_render_with_filters(admin_client, name, query):
    MemoryKitFactory()
    ComponentFactory()
    response = admin_client.get(reverse(f"admin:catalog_{name}_changelist") + query)
    assert response.status_code == 200


# ── From a model to its FAQ overrides ──────────────────────────────────────────


def test_an_llm_models_admin_page_links_to_its_faq_overrides(admin_client, site_data):
    model = LlmModel.objects.get(slug="deepseek-r1")
    page = admin_client.get(reverse("admin:calculator_llmmodel_change", args=[model.pk]))
    link = reverse("admin:faq_faqentry_changelist") + f"?model__id__exact={model.pk}"
    assert link in page.content.decode()
    assert admin_client.get(link).status_code == 200
