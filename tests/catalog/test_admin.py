import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from catalog.models import Offer

from .conftest import TEST_QUEUE, TEST_REDIS_URL
from .factories import MemoryKitFactory, RetailerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(monkeypatch):
    """Point the Celery app at a broker URL for one test, with no cached connections."""
    import kombu.pools

    from config.celery import app

    def use(url):
        monkeypatch.setitem(app.conf, "broker_url", url)
        kombu.pools.reset()
        app._pool = None

    yield use
    kombu.pools.reset()
    app._pool = None


def run_action(admin_client, retailer):
    url = reverse("admin:catalog_retailer_changelist")
    response = admin_client.post(
        url, {"action": "sync_prices_now", "_selected_action": [retailer.pk]}
    )
    return response, [str(m) for m in get_messages(response.wsgi_request)]


def test_sync_action_with_the_broker_down_says_it_could_not_be_queued(admin_client, broker):
    broker("redis://127.0.0.1:1/0")
    retailer = RetailerFactory(name="Feed shop")
    response, messages = run_action(admin_client, retailer)
    assert response.status_code == 302
    assert any("Could not queue the price sync for Feed shop" in m for m in messages)


def test_sync_action_says_the_sync_was_queued(admin_client, broker, test_redis, monkeypatch):
    from config.celery import app

    queue = TEST_QUEUE  # Celery caches its queue map: use the session's one queue
    monkeypatch.setitem(app.conf, "task_default_queue", queue)
    broker(TEST_REDIS_URL)
    retailer = RetailerFactory(name="Feed shop")
    try:
        _, messages = run_action(admin_client, retailer)
    finally:
        test_redis.delete(queue, f"_kombu.binding.{queue}")
    assert any("Queued a price sync for Feed shop" in m for m in messages)


def test_offer_url_on_another_domain_is_refused_in_admin(admin_client):
    kit = MemoryKitFactory()
    retailer = RetailerFactory(domain="shop.test")
    response = admin_client.post(
        reverse("admin:catalog_offer_add"),
        {
            "kit": kit.pk,
            "retailer": retailer.pk,
            "item_id": "X1",
            "url": "https://other.test/p/X1",
            "currency": "USD",
            "snapshots-TOTAL_FORMS": 0,
            "snapshots-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert not Offer.objects.exists()


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("memorykit", "?stale=yes&in_stock=no&capacity=64-128"),
        ("offer", "?stale=yes"),
        ("retailer", ""),
        ("syncrun", ""),
    ],
)
def test_admin_changelists_render_with_filters(admin_client, name, query):
    MemoryKitFactory()
    response = admin_client.get(reverse(f"admin:catalog_{name}_changelist") + query)
    assert response.status_code == 200
