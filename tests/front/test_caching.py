"""Whole-response caching: a canonical key, served until the data a page shows changes."""

import gzip
import random
import uuid

import pytest
import redis
from django.core.cache import cache, caches
from django.db import connection
from django.template import engines
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calculator import options as option_table
from calculator import services, versions
from calculator.engine.estimate import Options
from calculator.models import LlmModel
from catalog import gguf_selectors
from catalog.models import SyncRun
from config.cache import FailSoftRedisCache
from front import caching
from tests.catalog.factories import MemoryKitFactory, RetailerFactory, fresh_offer
from tests.services import redis_url_for_tests

R1 = "/models/deepseek-r1/"


@pytest.fixture(autouse=True)
def data(site_data):
    pass


def test_a_repeated_page_is_served_without_touching_the_database(client, django_assert_num_queries):
    first = client.get(R1).content
    with django_assert_num_queries(0):
        again = client.get(R1)
    assert again.content == first
    assert "HX-Request" in again["Vary"]


def test_a_hit_is_one_cache_round_trip_for_the_entry_and_the_data_versions(client, monkeypatch):
    first = client.get(R1).content
    client.get(R1)  # this process has now seen the data versions
    calls, inside = [], []  # top-level calls (the local cache's get_many calls get)

    def spy(method):
        real = getattr(cache, method)

        def call(*args, **kwargs):
            if not inside:
                calls.append(method)
            inside.append(method)
            try:
                return real(*args, **kwargs)
            finally:
                inside.pop()

        return call

    for method in ("get", "get_many", "add", "set"):
        monkeypatch.setattr(cache, method, spy(method))
    assert client.get(R1).content == first
    assert calls == ["get_many"]


def test_a_hit_replays_every_header_the_page_was_rendered_with(client):
    for headers in ({}, {"HX-Request": "true", "HX-Target": "result"}):
        fresh = client.get(R1, headers={"Accept-Encoding": "gzip", **headers})
        hit = client.get(R1, headers={"Accept-Encoding": "gzip", **headers})
        # A fresh render is sent as it was stored (compressed once): byte for byte a hit.
        assert dict(hit.items()) == dict(fresh.items())
        assert hit.content == fresh.content
        assert int(hit["Content-Length"]) == len(hit.content)
        assert hit["Content-Security-Policy"] and hit["X-Frame-Options"] == "DENY"


def test_a_page_hit_is_answered_before_the_sessions_and_auth_middleware(client):
    fresh = client.get(R1)
    hit = client.get(R1)
    assert hasattr(fresh.wsgi_request, "session") and hasattr(fresh.wsgi_request, "user")
    assert not hasattr(hit.wsgi_request, "session") and not hasattr(hit.wsgi_request, "user")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/estimate?model=deepseek-r1", "/api/v1/models", "/api/v1/models/deepseek-r1"],
)
def test_an_api_hit_is_answered_before_the_sessions_and_auth_middleware_too(client, path):
    fresh = client.get(path)
    hit = client.get(path)
    assert hit.status_code == 200 and hit.json() == fresh.json()
    assert hasattr(fresh.wsgi_request, "session")
    assert not hasattr(hit.wsgi_request, "session")


def test_a_page_rendered_fresh_is_stored_once(client, monkeypatch):
    stored = []
    real = cache.set
    monkeypatch.setattr(
        cache, "set", lambda key, *a, **kw: stored.append(key) or real(key, *a, **kw)
    )
    client.get(R1 + "?context=5000")
    assert len([key for key in stored if key.startswith("resp:")]) == 1


def test_htmx_partial_and_full_page_are_cached_apart(client):
    full = client.get(R1).content.decode()
    partial = client.get(R1, headers={"HX-Request": "true"}).content.decode()
    assert "<html" in full and "<html" not in partial
    assert "<html" in client.get(R1).content.decode()


def test_saving_a_model_invalidates_its_cached_pages(client):
    client.get(R1)
    model = LlmModel.objects.get(slug="deepseek-r1")
    model.summary = "A freshly edited summary."
    model.save()
    assert "A freshly edited summary." in client.get(R1).content.decode()


def test_different_query_strings_are_different_pages(client):
    q4 = client.get(R1, {"quant": "Q4_K_M"}).content
    q8 = client.get(R1, {"quant": "Q8_0"}).content
    assert q4 != q8


def test_not_found_is_never_cached(client):
    assert client.get(reverse("calculator:model-detail", args=["nope"])).status_code == 404
    assert client.get(reverse("calculator:model-detail", args=["nope"])).status_code == 404


def test_repeated_estimate_api_call_is_served_from_the_cache(client, django_assert_num_queries):
    url = "/api/v1/estimate?model=deepseek-r1&quant=Q4_K_M&context=8192"
    first = client.get(url).json()
    with django_assert_num_queries(0):
        again = client.get(url)
    assert again.json() == first
    assert again["Content-Type"].startswith("application/json")


def test_api_errors_are_not_cached(client):
    url = "/api/v1/estimate?model=deepseek-r1&quant=NOPE"
    assert client.get(url).status_code == 400
    assert client.get(url).status_code == 400


def test_cached_page_is_served_gzipped_to_clients_that_accept_it(client):
    plain = client.get(R1).content
    zipped = client.get(R1, headers={"Accept-Encoding": "gzip, br"})
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain
    assert "Accept-Encoding" in zipped["Vary"]


PUBLIC_HTML = [
    "/",
    "/models/",
    R1 + "?context=12345",
    "/hardware/",
    "/hardware/rtx-4090/",
    "/compare/?models=deepseek-r1,qwen3-32b",
    "/methodology/",
    "/builds/",
    "/kits/",
    "/faq/",
    R1 + "faq/",
]


@pytest.mark.parametrize("path", PUBLIC_HTML)
def test_every_html_page_is_gzipped_when_rendered_fresh_too(client, path):
    cache.clear()  # a miss: rendered now, not the stored compressed copy
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content).lstrip().lower().startswith(b"<!doctype html>")


def test_an_htmx_partial_is_gzipped_when_rendered_fresh(client):
    headers = {"Accept-Encoding": "gzip", "HX-Request": "true", "HX-Target": "result"}
    zipped = client.get(R1 + "?context=23456", headers=headers)
    assert zipped["Content-Encoding"] == "gzip"
    assert b"<html" not in gzip.decompress(zipped.content)


def test_templates_are_compiled_once_per_process():
    """A cold render must not re-read and re-parse its templates (Django's cached loader,
    inside django-template-partials' loader: set ``loaders`` explicitly and it is gone)."""
    (partials,) = engines["django"].engine.template_loaders
    assert [type(inner).__module__ for inner in partials.loaders] == [
        "django.template.loaders.cached"
    ]


# --- the canonical key ------------------------------------------------------------------


def _entries():
    return len(cache._cache)  # the local-memory cache the tests run on


def test_tracking_parameters_are_dropped_from_the_key(client, django_assert_num_queries):
    first = client.get(R1).content
    with django_assert_num_queries(0):
        tracked = client.get(R1, {"utm_source": "news", "fbclid": "abc", "gclid": "x"})
    assert tracked.content == first
    assert '<meta name="robots" content="index, follow">' in tracked.content.decode()


def test_spellings_of_the_same_options_share_one_entry(client, django_assert_num_queries):
    first = client.get(R1 + "?quant=q8_0&context=32k").content
    with django_assert_num_queries(0):
        again = client.get(R1 + "?context=32,768&quant=Q8_0&kv_type=F16&parallel=1")
    assert again.content == first
    assert "calculated for Q8_0 @ 32K context" in first.decode()


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("/compare/?models=deepseek-r1%2Cqwen3-32b", "/compare/?models=deepseek-r1,qwen3-32b"),
        (
            R1 + "?gpu=rtx-3090%3A2&host=sp5-epyc-9004-1p",
            R1 + "?host=sp5-epyc-9004-1p&gpu=rtx-3090:2",
        ),
    ],
)
def test_the_canonical_query_writes_commas_and_colons_as_the_sites_links_do(
    client, typed, canonical
):
    response = client.get(typed, headers={"HX-Request": "true", "HX-Target": "result"})
    assert response["HX-Push-Url"] == canonical  # what the address bar shows


def test_an_explicit_default_is_the_default_page(client, django_assert_num_queries):
    first = client.get(R1).content
    with django_assert_num_queries(0):
        assert client.get(R1, {"quant": "Q4_K_M", "context": "8192"}).content == first


def test_the_parsed_query_memo_keys_on_the_page_defaults_too(rf):
    """One query string, two models: the quant is dropped where it is the model's own
    default and kept where it is not, though the parse is memoised."""
    page = caching.PageKey(options=option_table.NAMES)
    request = rf.get(R1, {"quant": "q4_k_m"})
    assert caching.canonical_query_of(page, request, Options(quant="Q4_K_M")) == ("", True)
    mxfp4 = Options(quant="MXFP4_MOE")
    assert caching.canonical_query_of(page, request, mxfp4) == ("quant=Q4_K_M", True)


def test_junk_query_strings_never_grow_the_parsed_query_memo_past_its_bound(rf):
    page = caching.PageKey(options=option_table.NAMES)
    bound = caching._canonical_query.cache_info().maxsize
    for i in range(bound + 50):
        caching.canonical_query_of(page, rf.get(R1, {"utm_source": i}), option_table.DEFAULTS)
    long = rf.get(R1, {"quant": "Q8_0", "utm_source": "x" * caching.MEMO_QUERY})
    assert caching.canonical_query_of(page, long, option_table.DEFAULTS) == ("quant=Q8_0", True)
    assert caching._canonical_query.cache_info().currsize <= bound


def test_two_thousand_junk_requests_add_no_cache_entries(client):
    client.get(R1)
    client.get(R1, headers={"HX-Request": "true"})
    client.get(R1, headers={"HX-Request": "true", "HX-Target": "result"})
    before = _entries()
    rng = random.Random(12)
    for i in range(1000):
        junk = {f"utm_{rng.choice(['source', 'medium', 'x' * (i % 7)])}": str(rng.random())}
        assert client.get(R1, junk).status_code == 200
    for _ in range(1000):
        target = f"t{rng.getrandbits(48):x}"
        headers = {"HX-Target": target}
        if rng.random() < 0.5:
            headers["HX-Request"] = "true"
        assert client.get(R1, headers=headers).status_code == 200
    assert _entries() == before


def test_bad_option_values_are_shown_but_never_stored(client):
    client.get(R1)
    before = _entries()
    for typo in ("abc", "3.2k", "-1", "9" * 20):
        html = client.get(R1, {"context": typo}).content.decode()
        assert 'class="problems"' in html
    assert _entries() == before


def test_the_host_is_part_of_the_key(client):
    client.get(R1)
    before = _entries()
    client.get(R1, HTTP_HOST="localhost")
    assert _entries() == before + 1


def test_unknown_hx_target_gets_the_same_partial_as_no_target(client):
    plain = client.get(R1, headers={"HX-Request": "true"}).content
    odd = client.get(R1, headers={"HX-Request": "true", "HX-Target": "nope"}).content
    assert odd == plain


def test_api_key_is_canonical_too(client, django_assert_num_queries):
    first = client.get("/api/v1/estimate?model=deepseek-r1&quant=q4_k_m&context=8k").json()
    assert first["quant"] == "Q4_K_M" and first["context"] == 8192
    with django_assert_num_queries(0):
        again = client.get("/api/v1/estimate?context=8192&model=deepseek-r1&utm_medium=x")
    assert again.json() == first


def test_api_key_writes_the_build_canonically_and_keeps_every_gpu(
    client, django_assert_num_queries
):
    first = client.get(
        "/api/v1/estimate?model=deepseek-r1&host=sp5-epyc-9004-1p&ram_gb=768&gpu=rtx-3090&gpu=rtx-4090"
    ).json()
    assert len(first["build"]["gpu_bytes"]) == 2
    with django_assert_num_queries(0):
        again = client.get(
            "/api/v1/estimate?gpu=RTX-3090&ram_gb=0768&model=deepseek-r1&gpu=rtx-4090:1"
            "&host=sp5-epyc-9004-1p&utm_source=x"
        )
    assert again.json() == first
    one_gpu = client.get(
        "/api/v1/estimate?model=deepseek-r1&host=sp5-epyc-9004-1p&ram_gb=768&gpu=rtx-3090"
    ).json()
    assert len(one_gpu["build"]["gpu_bytes"]) == 1  # not the two-GPU answer from the cache


# --- invalidation by named data versions ---------------------------------------------------


def test_a_price_change_invalidates_only_the_pages_that_show_prices(
    client, django_assert_num_queries
):
    kit_list = reverse("catalog:kit-list")
    for url in (R1, "/methodology/", "/hardware/", kit_list):
        client.get(url)
    fresh_offer(kit=MemoryKitFactory(title="Fresh 512GB kit"))  # writes kit + offer rows
    with django_assert_num_queries(0):
        client.get("/methodology/")
        client.get("/hardware/")
    assert "Fresh 512GB kit" in client.get(kit_list).content.decode()
    # re-rendered: the page shows kit picks and build costs, read from the priced catalog
    # (components, kits, their offers) and the FAQ's editor entries; the model row, its
    # GGUF files and the hardware set are kept: the models did not change
    with django_assert_num_queries(4):
        client.get(R1)


def test_a_sync_run_bumps_the_prices_version_only(db):
    models, prices = versions.current(versions.MODELS, versions.PRICES)
    SyncRun.objects.create(retailer=RetailerFactory())
    assert versions.current(versions.MODELS, versions.PRICES)[0] == models
    assert versions.current(versions.MODELS, versions.PRICES)[1] != prices


def test_a_model_change_invalidates_every_page(client, django_assert_num_queries):
    client.get("/methodology/")
    LlmModel.objects.get(slug="deepseek-r1").save()
    with django_assert_num_queries(3):
        client.get("/methodology/")


def test_spellings_of_the_same_build_share_one_entry(client, django_assert_num_queries):
    first = client.get(R1 + "?gpu=rtx-3090:2&ram_gb=384&host=sp5-epyc-9004-1p&utm_source=x")
    assert 'data-testid="your-build"' in first.content.decode()
    with django_assert_num_queries(0):
        again = client.get(R1 + "?host=SP5-EPYC-9004-1P&ram_gb=0384&gpu=RTX-3090:2")
    assert again.content == first.content


def test_the_order_of_several_gpus_is_part_of_the_key(client):
    one = client.get(R1 + "?host=sp5-epyc-9004-1p&ram_gb=384&gpu=rtx-3090&gpu=rtx-4090")
    other = client.get(R1 + "?host=sp5-epyc-9004-1p&ram_gb=384&gpu=rtx-4090&gpu=rtx-3090")
    assert one.content != other.content  # llama.cpp numbers the GPUs in that order


def test_a_build_the_engine_refuses_is_shown_but_never_stored(client):
    client.get(R1)
    before = _entries()
    for query in (
        "gpu=rtx-3090:100",
        "gpu=no-such-gpu&ram_gb=64",
        "host=am5-ryzen-9000&ram_gb=4096",
    ):
        html = client.get(R1 + "?" + query).content.decode()
        assert 'class="problems"' in html
    assert _entries() == before


@pytest.fixture
def redis_cache(settings):
    """The response cache and the data versions in a real Redis (the suite's default
    cache is the local one), under a prefix of this test's own, deleted afterwards
    (``clear`` would flush the whole database, which other tests share)."""
    prefix = f"test-caching-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.FailSoftRedisCache",
            "LOCATION": redis_url_for_tests(),
            "KEY_PREFIX": prefix,
        }
    }
    versions.forget_seen()
    yield
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)
    versions.forget_seen()


def test_in_redis_a_hit_is_one_lookup_and_a_data_change_is_seen_at_once(client, redis_cache):
    assert isinstance(caches["default"], FailSoftRedisCache)
    first = client.get(R1).content
    with CaptureQueriesContext(connection) as queries:
        assert client.get(R1).content == first  # served from Redis
    assert len(queries) == 0
    LlmModel.objects.get(slug="deepseek-r1").save()  # a new "models" version
    with CaptureQueriesContext(connection) as queries:
        assert client.get(R1).status_code == 200  # this process guessed the old one
    assert len(queries) > 0  # re-keyed on the new version: rendered, not the old entry
    with CaptureQueriesContext(connection) as queries:
        client.get(R1)
    assert len(queries) == 0


@pytest.fixture
def redis_trips(monkeypatch):
    """Every command sent to Redis from now on (a round trip each), as sent."""
    trips = []
    real = redis.connection.AbstractConnection.send_packed_command

    def send(self, command, check_health=True):
        trips.append(command)
        return real(self, command, check_health)

    def start():
        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", send)
        return trips

    return start


def test_in_redis_an_api_hit_and_its_rate_count_are_one_round_trip(
    client, redis_cache, settings, redis_trips
):
    settings.API_RATE_GET = "3/m"
    path = "/api/v1/estimate?model=qwen3-8b"
    first = client.get(path)  # stored; this process has seen the data versions
    trips = redis_trips()
    hit = client.get(path)
    assert hit.json() == first.json()
    assert len(trips) == 1  # the counter and the entry (with the versions), one command
    assert [client.get(path).status_code for _ in range(2)] == [200, 429]  # hits count
    redis_client = cache._cache.get_client(write=True)
    (counter,) = redis_client.scan_iter(match=f"{cache.key_prefix}:*api-rate:API_RATE_GET:*")
    assert int(redis_client.get(counter)) == 4
    assert 0 < redis_client.ttl(counter) <= 65  # expires after its window (60 s + 5)


def test_in_redis_a_cold_render_asks_redis_only_for_its_entry_and_to_store_it(
    client, redis_cache, redis_trips
):
    """Every read the render keeps per data version (the model, its files, the hardware
    set, the priced catalog) takes the versions the lookup read, rather than a trip each."""
    client.get(R1)  # this process has seen the data versions and filled its memos
    trips = redis_trips()
    assert client.get(R1 + "?context=12345").status_code == 200  # a state nobody asked for
    assert len(trips) == 2  # the entry with the versions (a miss), then the store


def test_a_model_and_its_files_are_read_once_per_models_version(django_assert_num_queries):
    model = services.find_model("deepseek-r1")
    gguf_selectors.model_files(model)
    with django_assert_num_queries(0):
        assert services.find_model("DeepSeek-R1") is model
        assert services.find_model(model.hf_repo.upper()) is model
        files = gguf_selectors.model_files(model)
    LlmModel.objects.filter(slug="deepseek-r1").update(name="DeepSeek R1 (renamed)")
    versions.bump(versions.MODELS)  # what every save and every GGUF sync does
    with django_assert_num_queries(2):
        assert services.find_model("deepseek-r1").name == "DeepSeek R1 (renamed)"
        assert gguf_selectors.model_files(model) == files
