"""Bad input and wrong methods: a clear 4xx, never a 500; the API's errors always JSON;
API rate limits that hold without Redis and run before a body is read."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from front import api_limits
from front.api_limits import LocalCounter, Rate

pytestmark = pytest.mark.usefixtures("site_data")

ESTIMATE = "/api/v1/estimate"


def error_of(response) -> dict[str, str]:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = json.loads(response.content)
    assert set(body) == {"error"} and set(body["error"]) == {"field", "message"}
    return body["error"]


# --- control characters (PostgreSQL refuses NUL: this runs on both databases) ----------


@pytest.mark.parametrize(
    "path", ["/models/a%00b/", "/models/a%00b/faq/", "/models/a%00b/og.svg", "/models/%0a/"]
)
def test_a_control_character_in_a_page_path_is_a_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"We don't have that page" in response.content


@pytest.mark.parametrize(
    "url", ["/models/?q=%00", "/compare/?models=deepseek-r1,%00", "/models/deepseek-r1/?quant=%7F"]
)
def test_a_control_character_in_a_page_query_is_a_400_naming_the_parameter(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert b"contains a control character" in response.content


def test_a_control_character_in_an_api_query_is_a_json_400_naming_the_field(client):
    response = client.get(ESTIMATE + "?model=%00")
    assert response.status_code == 400
    assert error_of(response)["field"] == "model"


def test_a_control_character_in_an_api_path_is_a_json_404(client):
    response = client.get("/api/v1/models/a%00b")
    assert response.status_code == 404
    assert error_of(response)["field"] == "path"


# --- the API answers every error as JSON -------------------------------------------------


def test_an_unexpected_api_failure_is_a_logged_json_500(client, monkeypatch, caplog):
    def broken(key):
        raise RuntimeError("database went away")

    monkeypatch.setattr("front.api.services.find_model", broken)
    with caplog.at_level(logging.ERROR, logger="front.api"):
        response = client.get(ESTIMATE, {"model": "deepseek-r1"})
    assert response.status_code == 500
    assert error_of(response)["field"] == "server"
    assert "database went away" not in response.content.decode()
    assert any(r.exc_info and "database went away" in str(r.exc_info[1]) for r in caplog.records)


def test_a_failure_outside_any_api_operation_is_still_json(monkeypatch):
    def broken(request, rate_setting, now=None):
        raise RuntimeError("limiter broke")

    monkeypatch.setattr(api_limits, "tally", broken)
    response = Client(raise_request_exception=False).get(ESTIMATE, {"model": "deepseek-r1"})
    assert response.status_code == 500
    assert error_of(response)["field"] == "server"


def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert error_of(response)["field"] == "path"


def test_a_method_the_api_does_not_serve_is_a_json_405_with_allow(client):
    response = client.delete(ESTIMATE)
    assert response.status_code == 405
    assert error_of(response)["field"] == "method"
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


# --- pages answer 405 to methods they do not serve ----------------------------------------

PAGES = [
    "/", "/models/", "/models/deepseek-r1/", "/models/deepseek-r1/faq/",
    "/models/deepseek-r1/og.svg", "/models/deepseek-r1/og.png", "/hardware/",
    "/hardware/rtx-4090/", "/compare/", "/methodology/", "/kits/", "/faq/",
    "/robots.txt", "/sitemap.xml", "/favicon.ico", "/favicon.svg", "/apple-touch-icon.png",
]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_pages_answer_405_with_allow_to_methods_they_do_not_serve(path, method):
    client = Client(enforce_csrf_checks=True)  # as a browser without a token would
    response = getattr(client, method)(path)
    assert response.status_code == 405, response.content[:200]
    assert response["Allow"] == "GET, HEAD"


def test_the_admin_still_checks_csrf():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403


# --- rate limits -------------------------------------------------------------------------


def test_a_post_is_rate_limited_before_its_body_is_read(client, settings, monkeypatch):
    settings.API_RATE_POST = "1/m"
    read = []
    real = api_limits.bad_body
    monkeypatch.setattr(api_limits, "bad_body", lambda request: read.append(1) or real(request))
    deep = "[" * 5000 + "]" * 5000
    first = client.post(ESTIMATE, deep, content_type="application/json")
    second = client.post(ESTIMATE, deep, content_type="application/json")
    assert first.status_code == 400 and second.status_code == 429
    assert read == [1]  # the refused request's body was never parsed


def test_the_limit_falls_back_to_this_process_when_the_shared_cache_fails(
    client, settings, monkeypatch, caplog
):
    def down(key, timeout):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(api_limits, "_shared_incr", down)
    settings.API_RATE_GET = "2/m"
    with caplog.at_level(logging.WARNING, logger="front.api_limits"):
        statuses = [client.get(ESTIMATE, {"model": "qwen3-8b"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert any("per process" in r.message for r in caplog.records)


def test_rates_read_like_django_ratelimit():
    assert Rate.parse("120/m") == Rate(120, 60)
    assert Rate.parse("30/5m") == Rate(30, 300)
    assert Rate.parse("1000/h") == Rate(1000, 3600)
    with pytest.raises(ValueError):
        Rate.parse("lots")


def test_the_local_counter_counts_per_window_and_stays_bounded():
    counter = LocalCounter(max_keys=100)
    assert [counter.incr("a", 1) for _ in range(3)] == [1, 2, 3]
    assert counter.incr("a", 2) == 1  # a new window starts again
    for i in range(1000):
        counter.incr(f"client-{i}", 3)
    assert len(counter._counts) <= 100
