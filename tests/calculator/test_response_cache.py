"""Whole-response caching: served from the shared cache until the data changes."""

import pytest
from django.urls import reverse

from calculator.models import LlmModel

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
    import gzip

    plain = client.get(R1).content
    zipped = client.get(R1, headers={"Accept-Encoding": "gzip, br"})
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain
    assert "Accept-Encoding" in zipped["Vary"]
