"""Model search as visitors type: typos, spacing, nicknames, repository names, other
releases of a model; used by the search box, the 404 page and compare."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from calculator import selectors, services
from calculator.models import LlmModel
from calculator.options import DEFAULTS
from front import search

pytestmark = pytest.mark.usefixtures("site_data")


def first(query: str) -> str:
    return search.rank(query, selectors.models())[0].model.slug


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("deepsek", "deepseek-r1"),  # a typo: the DeepSeek models, the popular one first
        ("deep seek r1", "deepseek-r1"),
        ("llama3.1 70b", "llama-3.1-70b"),  # no spaces, lower case: the base model by name
        ("Llama-3.1-70B", "llama-3.1-70b"),
        ("llama 3.1 70b instruct", "llama-3.1-70b-instruct"),
        ("lama 3.3", "llama-3.3-70b-instruct"),
        ("R1", "deepseek-r1"),  # a nickname
        ("deepseek-ai/DeepSeek-R1", "deepseek-r1"),  # the repository id
        ("DeepSeek-R1-0528", "deepseek-r1"),  # a later release: the closest model
        ("unsloth/DeepSeek-R1-GGUF", "deepseek-r1"),  # someone else's GGUF repository
        ("qwen 30b", "qwen3-30b-a3b"),
        ("phi4", "phi-4"),
    ],
)
def test_search_finds_the_closest_model_first(query, slug):
    assert first(query) == slug


def test_numbers_must_match_so_a_size_is_not_confused_with_another():
    slugs = [m.model.slug for m in search.rank("qwen 30b", selectors.models())]
    assert "qwen3-0.6b" not in slugs
    assert [m.model.slug for m in search.rank("lama 3.3", selectors.models())] == [
        "llama-3.3-70b-instruct"
    ]


def test_nonsense_finds_nothing():
    assert search.rank("zzz", selectors.models()) == []
    assert search.rank("  ", selectors.models()) == []


def test_resolve_takes_any_name_exactly_and_nothing_fuzzy():
    catalog = list(selectors.models())
    for text in ("DeepSeek R1", "deepseek-r1", "deepseek-ai/DeepSeek-R1", "DEEPSEEK_R1", "r1"):
        assert search.resolve(text, catalog).slug == "deepseek-r1", text
    assert search.resolve("deepsek", catalog) is None


def test_every_alias_names_a_model_in_the_catalog():
    data = json.loads(search.ALIASES_FILE.read_text())
    slugs = set(LlmModel.objects.values_list("slug", flat=True))
    assert set(data["aliases"].values()) <= slugs


# --- where visitors meet it ---------------------------------------------------------------


def test_the_model_index_search_forgives_typos(client):
    html = client.get(reverse("calculator:model-list"), {"q": "deepsek"}).content.decode()
    assert "/models/deepseek-r1/" in html and "/models/llama-3.1-8b/" not in html


def test_live_search_puts_the_closest_model_first(client):
    html = client.get(
        reverse("calculator:model-list"), {"q": "llama3.1 70b"},
        HTTP_HX_REQUEST="true", HTTP_HX_TARGET="search-results",
    ).content.decode()  # fmt: skip
    links = [part.split('"')[0] for part in html.split('href="/models/')[1:]]
    assert links[0] == "llama-3.1-70b/"
    assert "llama-3.1-70b-instruct/" in links[:3]


def test_a_404_for_an_unknown_model_suggests_the_closest_one(client):
    response = client.get("/models/DeepSeek-R1-0528/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Did you mean" in html and 'href="/models/deepseek-r1/"' in html


def test_compare_takes_model_names(client):
    html = client.get(
        reverse("calculator:compare"), {"models": "DeepSeek R1, Qwen3 32B"}
    ).content.decode()
    for slug in ("deepseek-r1", "qwen3-32b"):
        est = services.estimate_for(
            services.architecture_of(services.find_model(slug)), DEFAULTS,
            services.hardware_set(),
        )  # fmt: skip
        assert f"{est.recommended_ram_gb} GB" in html
    assert 'value="DeepSeek R1, Qwen3 32B"' in html


def test_compare_still_takes_slugs_separated_by_spaces(client):
    html = client.get(
        reverse("calculator:compare"), {"models": "deepseek-r1 qwen3-32b"}
    ).content.decode()
    assert 'value="DeepSeek R1, Qwen3 32B"' in html


def test_compare_suggests_a_model_for_an_unknown_name(client):
    html = client.get(
        reverse("calculator:compare"), {"models": "deepsek, qwen3-32b", "quant": "Q8_0"}
    ).content.decode()
    assert "No model is called “deepsek”. Did you mean" in html
    assert "/compare/?models=qwen3-32b%2Cdeepseek-r1&amp;quant=Q8_0" in html
