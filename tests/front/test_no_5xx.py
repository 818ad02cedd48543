"""No input gives a 5xx: every public page and the GET API, with random query values
(unicode, control characters, huge and non-finite numbers, long strings, real values)
and random path slugs. A fixed example budget keeps it in the suite; run it on both
databases (PostgreSQL refuses NUL in a string, SQLite does not).

Bad input is the visitor's fault: a page shows its inline message (200) or answers 400
or 404; the API answers 4xx in its JSON error shape.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calculator.engine.quant import PRESETS
from catalog.models import MemoryKit
from tests.catalog.factories import MemoryKitFactory, fresh_offer

BUDGET = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

SLUGS = ["deepseek-r1", "llama-3.1-8b-instruct", "gpt-oss-20b", "qwen3-30b-a3b"]
PROFILES = ["rtx-4090", "apple-m3-ultra-512", "desktop-ddr5-5600-2ch"]
BUILD_VALUES = [
    "rtx-4090-epyc-9004-384gb", "dgx-spark", "sp5-epyc-9004-2p", "am5-ryzen-9000",
    "rtx-3090:2", "rtx-3090:0", "rtx-3090:100", "h100-sxm:8", "rtx-4090:", ":2", "384", "12",
]  # fmt: skip

# Every query parameter some page or the API reads, plus names none reads.
PARAMS = [
    "quant", "context", "kv_type", "parallel",  # calculator options
    "q", "family", "architecture", "size", "fits_gb",  # model list
    "profile", "memory_gb", "kind", "bandwidth_gbps",  # hardware
    "models",  # compare
    "capacity", "ddr", "form_factor", "ecc", "max_price_per_gb",  # kits
    "model", "hardware", "flash_attention", "fp16_tflops", "sockets",  # API
    "build", "host", "ram_gb", "dimms", "gpu",  # the build picker (pages, API)
    "utm_source", "page",
]  # fmt: skip

SPECIAL = [
    "", " ", "0", "-1", "1", "1e308", "1e309", "-1e309", "inf", "-inf", "nan", "NaN",
    "32k", "128K", "1M", "99999999999999999999", "0x10", "1_000", "1,024", "½", "٣٢",
    "Q4_K_M", "q8_0", "IQ1_S", "MXFP4_MOE", "f16", "q4_0", "dense", "moe", "huge",
    "gpu", "apple", "apu", "cpu", "DDR5", "RDIMM", "yes", "no", "true", "maybe",
    "\x00", "a\x00b", "%00", "\n", "\t", "\x7f", "\u200b", "\ufeff", "\u202e",
    "deepseek-r1,qwen3-32b", "DeepSeek R1, Qwen3 32B", "deepsek", "a" * 300, "9" * 400,
    "<script>", "' OR 1=1 --", "../../etc/passwd", "{{ 7*7 }}",
]  # fmt: skip

values = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(max_size=40),
    st.integers(-(10**40), 10**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(list(PRESETS) + SLUGS + PROFILES + BUILD_VALUES),
)
queries = st.dictionaries(
    st.one_of(st.sampled_from(PARAMS), st.text(min_size=1, max_size=12)), values, max_size=5
)
slugs = st.one_of(st.sampled_from(SLUGS), st.text(min_size=1, max_size=30))


def _kit_slug() -> str:
    kit = MemoryKit.objects.first()
    return kit.slug if kit else "no-kit"


def page_paths(slug: str, profile: str, kit: str) -> list[str]:
    s, p, k = quote(slug, safe=""), quote(profile, safe=""), quote(kit, safe="")
    return [
        "/", "/models/", f"/models/{s}/", f"/models/{s}/faq/", f"/models/{s}/og.svg",
        f"/models/{s}/og.png", "/hardware/", f"/hardware/{p}/", "/compare/", "/methodology/",
        "/kits/", f"/kits/{k}/", "/faq/", "/robots.txt", "/sitemap.xml", "/favicon.ico",
        "/builds/", f"/builds/{s}/", "/builds/dgx-spark/",
    ]  # fmt: skip


def api_paths(slug: str) -> list[str]:
    return ["/api/v1/models", f"/api/v1/models/{quote(slug, safe='')}", "/api/v1/estimate"]


@pytest.fixture
def visitor(site_data, settings):
    settings.RATELIMIT_ENABLE = False  # hundreds of requests from one address
    fresh_offer(kit=MemoryKitFactory(title="Crucial Pro 96GB"))
    return Client(raise_request_exception=False)


@BUDGET
@given(
    which=st.integers(0, 18),
    slug=slugs,
    profile=st.one_of(st.sampled_from(PROFILES), st.text(min_size=1, max_size=20)),
    params=queries,
    htmx=st.booleans(),
)
def test_no_page_answers_5xx_to_any_query(visitor, which, slug, profile, params, htmx):
    path = page_paths(slug, profile, _kit_slug())[which]
    headers = {"HX-Request": "true", "HX-Target": "result"} if htmx else {}
    response = visitor.get(path, params, headers=headers)
    assert response.status_code < 500, (path, params, response.content[:500])


@BUDGET
@given(which=st.integers(0, 2), slug=slugs, params=queries, model=st.one_of(values, slugs))
def test_no_api_query_answers_5xx_and_every_error_is_json(visitor, which, slug, params, model):
    path = api_paths(slug)[which]
    if path.endswith("estimate") and "model" not in params:
        params = {**params, "model": model}
    response = visitor.get(path, params)
    assert response.status_code < 500, (path, params, response.content[:500])
    if response.status_code >= 400:
        body = json.loads(response.content)
        assert set(body) == {"error"} and set(body["error"]) == {"field", "message"}, body
