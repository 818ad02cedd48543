"""Production readiness: deploy settings, security headers, health endpoints, logs,
API rate limits and body limits (issue 6)."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from calculator.engine import architecture
from config.logs import JsonFormatter

ROOT = Path(__file__).resolve().parent.parent
ESTIMATE = "/api/v1/estimate"


def production_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "SECURE_", "CSRF_", "SESSION_"))
        and k not in ("DEBUG", "HTTPS", "BEHIND_PROXY", "LOG_FORMAT")
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="example.com,www.example.com",
        CSRF_TRUSTED_ORIGINS="https://example.com,https://www.example.com",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_in(env: dict[str, str], *names: str) -> dict[str, object]:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


# --- deploy settings -----------------------------------------------------------------


def test_check_deploy_is_clean_under_production_settings():
    result = manage(production_env(), "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "no issues" in output
    assert "WARNING" not in output


def test_check_deploy_is_clean_behind_a_proxy_with_redis_cache_and_json_logs():
    env = production_env(BEHIND_PROXY="1", CACHE_URL="redis://127.0.0.1:6379/1", LOG_FORMAT="json")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_start_up_without_secret_key_fails_with_a_clear_message():
    env = production_env()
    del env["SECRET_KEY"]
    result = manage(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_defaults_are_secure_and_http_switch_turns_https_parts_off():
    names = (
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
        "CSRF_TRUSTED_ORIGINS",
        "X_FRAME_OPTIONS",
    )
    prod = settings_in(production_env(BEHIND_PROXY="1"), *names)
    assert prod["SECURE_SSL_REDIRECT"] is True
    assert prod["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert prod["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert prod["SECURE_HSTS_PRELOAD"] is True
    assert prod["SESSION_COOKIE_SECURE"] is True and prod["CSRF_COOKIE_SECURE"] is True
    assert prod["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert prod["CSRF_TRUSTED_ORIGINS"] == ["https://example.com", "https://www.example.com"]
    assert prod["X_FRAME_OPTIONS"] == "DENY"

    plain = settings_in(production_env(HTTPS="0"), *names)
    assert plain["SECURE_SSL_REDIRECT"] is False
    assert plain["SECURE_HSTS_SECONDS"] == 0
    assert plain["SESSION_COOKIE_SECURE"] is False
    assert plain["SECURE_PROXY_SSL_HEADER"] is None  # never without BEHIND_PROXY=1


def test_redis_cache_url_selects_the_fail_soft_backend():
    env = production_env(CACHE_URL="redis://127.0.0.1:6379/1")
    caches = settings_in(env, "CACHES")["CACHES"]
    assert caches["default"]["BACKEND"] == "config.cache.FailSoftRedisCache"
    assert caches["default"]["LOCATION"] == "redis://127.0.0.1:6379/1"


def test_a_malformed_log_format_fails_loudly():
    result = manage(production_env(LOG_FORMAT="xml"), "check")
    assert result.returncode != 0
    assert "LOG_FORMAT" in result.stderr


# --- security headers and CSP-compatible pages ------------------------------------------


def test_pages_carry_csp_and_security_headers(client, site_data):
    response = client.get("/models/deepseek-r1/?quant=Q4_K_M&context=8192")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


class _InlineFinder(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, styles and handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            executable = names.get("type") in (None, "", "text/javascript", "module")
            if executable and not names.get("src"):
                self._in_script = True
        for name, _ in attrs:
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")
            if name.startswith("on") or name.startswith(("hx-on", "data-hx-on")):
                self.problems.append(f"{name} handler on <{tag}>")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:60]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/models/",
        "/models/deepseek-r1/?quant=Q4_K_M&context=8192",
        "/hardware/",
        "/hardware/?memory_gb=64&kind=cpu",
        "/compare/?models=deepseek-r1,qwen3-32b",
        "/methodology/",
        "/kits/",
    ],
)
def test_pages_have_nothing_a_strict_csp_would_block(client, site_data, path):
    response = client.get(path)
    assert response.status_code == 200
    finder = _InlineFinder()
    finder.feed(response.content.decode())
    assert finder.problems == []
    htmx_config = re.search(r'name="htmx-config" content=\'([^\']*)\'', response.content.decode())
    assert htmx_config, "base.html must configure htmx for CSP"
    assert json.loads(htmx_config.group(1))["includeIndicatorStyles"] is False


# --- health endpoints -------------------------------------------------------------------


def test_livez_touches_nothing_and_answers_ok(client):
    response = client.get("/livez")  # no db fixture: a query would raise
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_is_200_with_per_check_status_when_healthy(client, db, settings):
    settings.CELERY_BROKER_URL = "memory://"
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "ok"
    assert data["checks"]["database"]["status"] == "ok"
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_503_quickly_when_redis_is_unreachable(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    start = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - start < 2
    assert response.status_code == 503
    data = response.json()
    assert data["status"] == "fail"
    assert data["checks"]["database"]["status"] == "ok"
    assert data["checks"]["broker"]["status"] == "fail"
    assert data["checks"]["broker"]["target"] == "127.0.0.1:1/0"


def test_healthz_checks_a_redis_cache_too(client, db, settings):
    settings.CELERY_BROKER_URL = "memory://"
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.FailSoftRedisCache",
            "LOCATION": "redis://127.0.0.1:1/1",
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"]["status"] == "fail"


def test_health_endpoints_are_exempt_from_the_https_redirect(client, site_data, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.CELERY_BROKER_URL = "memory://"
    assert client.get("/").status_code == 301
    assert client.get("/livez").status_code == 200
    assert client.get("/healthz").status_code == 200


# --- structured logs ----------------------------------------------------------------------


def test_json_formatter_writes_one_object_per_record_with_extras():
    record = logging.LogRecord("calculator", logging.WARNING, __file__, 1, "hello %s", ("x",), None)
    record.check = "database"
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "\n" not in line.split('"exc_info"')[0]
    data = json.loads(line)
    assert data["message"] == "hello x"
    assert data["level"] == "WARNING"
    assert data["logger"] == "calculator"
    assert data["check"] == "database"
    assert "ValueError: boom" in data["exc_info"]


# --- API rate limits ------------------------------------------------------------------------


def test_get_estimate_is_rate_limited_with_retry_after(client, site_data, settings):
    settings.API_RATE_GET = "3/m"
    statuses = [
        client.get(ESTIMATE, {"model": "llama-3.2-1b-instruct"}).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    response = client.get(ESTIMATE, {"model": "llama-3.2-1b-instruct"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["error"]["field"] == "rate"
    assert "retry" in response.json()["error"]["message"]


def test_post_has_its_own_stricter_limit(client, site_data, settings):
    from django_ratelimit.core import _split_rate

    assert _split_rate(settings.API_RATE_POST)[0] / _split_rate(settings.API_RATE_POST)[1] < (
        _split_rate(settings.API_RATE_GET)[0] / _split_rate(settings.API_RATE_GET)[1]
    )
    settings.API_RATE_POST = "2/m"
    body = json.dumps({"config": {"model_type": "llama"}})
    posts = [client.post(ESTIMATE, body, content_type="application/json") for _ in range(3)]
    assert [r.status_code for r in posts] == [400, 400, 429]
    assert posts[-1].json()["error"]["field"] == "rate"
    # GET is counted separately.
    assert client.get(ESTIMATE, {"model": "llama-3.2-1b-instruct"}).status_code == 200


def test_clients_are_counted_apart(site_data, settings):
    settings.API_RATE_GET = "1/m"
    first, second = Client(REMOTE_ADDR="10.0.0.1"), Client(REMOTE_ADDR="10.0.0.2")
    assert first.get(ESTIMATE, {"model": "qwen3-8b"}).status_code == 200
    assert first.get(ESTIMATE, {"model": "qwen3-8b"}).status_code == 429
    assert second.get(ESTIMATE, {"model": "qwen3-8b"}).status_code == 200


def test_behind_a_proxy_the_appended_forwarded_address_is_the_client(site_data, settings):
    settings.API_RATE_GET = "1/m"
    settings.BEHIND_PROXY = True
    proxy = Client(REMOTE_ADDR="10.0.0.254")
    a = {"HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.7"}
    b = {"HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.8"}  # same spoofed left part
    assert proxy.get(ESTIMATE, {"model": "qwen3-8b"}, **a).status_code == 200
    assert proxy.get(ESTIMATE, {"model": "qwen3-8b"}, **a).status_code == 429
    assert proxy.get(ESTIMATE, {"model": "qwen3-8b"}, **b).status_code == 200


# --- body size and JSON shape -----------------------------------------------------------------


def test_a_50_mb_body_is_refused_from_its_content_length_without_reading_it(client, db):
    # The payload holds 16 bytes but claims 50 MB: reading the body would fail the
    # test client's "cannot read more than the available bytes" assertion.
    response = client.generic(
        "POST",
        ESTIMATE,
        b'{"config": {}}  ',
        content_type="application/json",
        CONTENT_LENGTH=str(50 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert response.json()["error"]["field"] == "body"


def test_a_real_body_over_the_limit_is_413(client, db, settings):
    settings.API_MAX_BODY_BYTES = 10_000
    body = json.dumps({"config": {"model_type": "llama", "pad": "x" * 20_000}})
    response = client.post(ESTIMATE, body, content_type="application/json")
    assert response.status_code == 413
    assert set(response.json()["error"]) == {"field", "message"}


def test_a_body_just_under_the_limit_is_read(client, site_data, settings):
    settings.API_MAX_BODY_BYTES = 10_000
    body = json.dumps({"config": {"model_type": "llama", "pad": "x" * 9_000}})
    response = client.post(ESTIMATE, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["field"].startswith("config.")


@pytest.mark.parametrize("depth", [30, 5_000, 100_000])
def test_a_deeply_nested_config_is_a_400_naming_config(client, db, depth):
    body = '{"config": {"model_type": "llama", "x": ' + "[" * depth + "]" * depth + "}}"
    response = client.post(ESTIMATE, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "config"
    assert "nested" in response.json()["error"]["message"]


def test_deep_nesting_elsewhere_names_that_field(client, db):
    deep: list[object] = [1]
    for _ in range(25):
        deep = [deep]
    body = json.dumps({"config": {"model_type": "llama"}, "name": deep})
    response = client.post(ESTIMATE, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "name"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ([1, 2, 3], "config"),
        ("llama", "config"),
        (None, "config"),
        ({"model_type": ["llama"]}, "config"),
        ({"model_type": "llama", "hidden_size": "4096"}, "config"),
    ],
)
def test_config_of_the_wrong_type_is_a_400(client, site_data, config, field):
    response = client.post(
        ESTIMATE, json.dumps({"config": config}), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"].split(".")[0] == field


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"model_type": "llama", "num_hidden_layers": 10**6}, "config.num_hidden_layers"),
        (
            {"model_type": "llama4", "text_config": {"num_hidden_layers": 5e9}},
            "config.text_config.num_hidden_layers",
        ),
        (
            {"model_type": "deepseek_v3", "num_nextn_predict_layers": 100_000},
            "config.num_nextn_predict_layers",
        ),
    ],
)
def test_absurd_layer_counts_are_refused_before_any_work(client, db, monkeypatch, config, field):
    tensors_listed = []  # the work an absurd config would cost: one call per tensor
    monkeypatch.setattr(
        architecture._Builder,
        "add",
        lambda self, name, *shape, layer=None: tensors_listed.append(name),
    )
    response = client.post(
        ESTIMATE, json.dumps({"config": config}), content_type="application/json"
    )
    assert tensors_listed == []
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
