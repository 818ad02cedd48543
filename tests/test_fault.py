"""Fault tests: Redis unreachable (cache and broker).

Nothing here stops the machine's Redis (others use it): the cache and the broker
are pointed at a closed port instead. Pages must still render (cache misses fall
through), the API must still answer (rate limits counted per process), /healthz must say
what is down, and a price-sync request must be refused with a message, not a 500.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid

import kombu.pools
import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache, caches
from django.test import Client
from django.urls import reverse

from catalog import services as catalog_services
from config.cache import FailSoftRedisCache
from config.celery import app
from tests.catalog.factories import RetailerFactory
from tests.services import redis_url_for_tests

DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once


@pytest.fixture
def redis_down(settings, monkeypatch):
    """Cache and Celery broker both on a closed port, for this test only."""
    settings.CACHES = {"default": {"BACKEND": "config.cache.FailSoftRedisCache", "LOCATION": DOWN}}
    settings.CELERY_BROKER_URL = DOWN
    monkeypatch.setitem(app.conf, "broker_url", DOWN)
    kombu.pools.reset()
    app._pool = None
    yield
    kombu.pools.reset()
    app._pool = None


PAGES = [
    ("/", {}),
    ("/models/", {}),
    ("/models/deepseek-r1/?quant=Q4_K_M&context=8192", {}),
    ("/models/deepseek-r1/?quant=Q4_K_M&context=8192", {"HX-Request": "true"}),
    ("/hardware/?memory_gb=64&kind=cpu", {}),
    ("/compare/?models=deepseek-r1,qwen3-32b", {}),
    ("/kits/", {}),
    ("/api/v1/estimate?model=deepseek-r1", {}),
    ("/api/v1/models", {}),
]


@pytest.mark.parametrize(("path", "headers"), PAGES)
def test_pages_and_api_render_with_redis_unreachable(client, site_data, redis_down, path, headers):
    assert isinstance(caches["default"], FailSoftRedisCache)
    start = time.monotonic()
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    assert time.monotonic() - start < 5


def test_api_post_answers_and_rate_limits_fall_back_to_a_per_process_count_with_redis_unreachable(
    client, site_data, redis_down, settings
):
    settings.API_RATE_POST = "2/m"
    body = '{"config": {"model_type": "llama"}}'
    statuses = [
        client.post("/api/v1/estimate", body, content_type="application/json").status_code
        for _ in range(3)
    ]
    # The config's fault (400, not 500) twice, then the limit holds without Redis.
    assert statuses == [400, 400, 429]


def test_healthz_names_redis_as_down_quickly(client, db, redis_down):
    start = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - start < 2
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["cache"]["status"] == "fail"
    assert checks["broker"]["status"] == "fail"


def test_sync_request_is_refused_gracefully_with_the_broker_down(admin_client, db, redis_down):
    retailer = RetailerFactory(name="Feed shop")
    result = catalog_services.price_sync_enqueue(retailer_ids=[retailer.pk])
    assert result.queued == [] and result.failed == ["Feed shop"]

    response = admin_client.post(
        reverse("admin:catalog_retailer_changelist"),
        {"action": "sync_prices_now", "_selected_action": [retailer.pk]},
    )
    assert response.status_code == 302
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Could not queue" in m for m in messages), messages


def test_sync_request_asks_the_one_broker_check_and_says_why_it_ran_here(db, settings):
    # A broker that answers, switched off by the setting `make run` sets without Redis:
    # "Sync prices now" follows config.broker's answer, not a probe of its own.
    settings.CELERY_BROKER_AVAILABLE = False
    retailer = RetailerFactory(
        name="Feed shop", source_settings={"url": "http://127.0.0.1:1/feed.json"}
    )
    result = catalog_services.price_sync_request(retailer_ids=[retailer.pk])
    [run] = result.ran_here
    assert result.queued == [] and run.runner == "in_process"
    assert result.broker_error == "switched off by CELERY_BROKER_AVAILABLE=0"


def test_the_model_list_with_a_published_file_label_as_quant_is_not_a_500(site_data):
    # found by bench/fault_sweep.py: a published file's label, which only some models have
    response = Client(raise_request_exception=False).get("/models/?quant=UD-Q2_K_XL")
    assert response.status_code == 200
    assert "published for some models" in response.content.decode()


# --- the fail-soft cache on its own ----------------------------------------------------------


def _down_cache() -> FailSoftRedisCache:
    return FailSoftRedisCache(DOWN, {})


def test_fail_soft_cache_turns_errors_into_misses_and_logs_once(caplog):
    c = _down_cache()
    with caplog.at_level(logging.WARNING, logger="config.cache"):
        assert c.get("k", "default") == "default"
        c.set("k", 1)
        assert c.add("k", 1) is False
        assert c.get_many(["a", "b"]) == {}
        assert c.has_key("k") is False
        assert c.delete("k") is False
        assert c.get_or_set("k", lambda: 42) == 42
        with pytest.raises(ValueError):
            c.incr("k")
    assert c.is_down
    assert len([r for r in caplog.records if r.name == "config.cache"]) == 1


def test_fail_soft_cache_skips_redis_while_it_is_known_down(monkeypatch):
    c = _down_cache()
    c.get("k")  # fails, opens the circuit
    calls = []
    monkeypatch.setattr(c, "_cache", property(lambda self: calls.append(1)), raising=False)
    for _ in range(100):
        assert c.get("k") is None
    assert calls == []


def test_fail_soft_cache_uses_a_short_timeout_when_redis_hangs():
    # A socket that listens but never answers: connect() succeeds, reads hang.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        c = FailSoftRedisCache(f"redis://127.0.0.1:{port}/0", {})
        start = time.monotonic()
        assert c.get("k", "miss") == "miss"
        assert time.monotonic() - start < 2
        assert c.is_down


def test_fail_soft_cache_works_against_a_live_redis():
    live = redis_url_for_tests()  # the configured Redis, or a throwaway one
    c = FailSoftRedisCache(live, {"KEY_PREFIX": f"test-fault-{uuid.uuid4().hex}"})
    try:
        c.set("answer", {"a": 1}, 30)
        assert c.get("answer") == {"a": 1}
        assert c.add("counter", 0, 30) is True
        assert c.incr("counter") == 1
        assert c.is_down is False
    finally:
        c.delete_many(["answer", "counter"])


def test_cache_is_back_to_normal_after_the_fault(db):
    cache.set("after", 1)
    assert cache.get("after") == 1


def test_a_shared_counter_counts_and_expires_in_redis_and_says_when_it_cannot():
    counter = FailSoftRedisCache(redis_url_for_tests(), {"KEY_PREFIX": f"t-{uuid.uuid4().hex}"})
    try:
        assert [counter.count("hits", 60) for _ in range(3)] == [1, 2, 3]
        name = counter.make_and_validate_key("hits")
        assert 0 < counter._cache.get_client(name).ttl(name) <= 60  # the window expires
    finally:
        counter.delete("hits")
    with pytest.raises(ValueError, match="not counted"):
        FailSoftRedisCache(DOWN, {}).count("hits", 60)
