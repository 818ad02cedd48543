"""Discovery pages (home, index, hardware, compare, methodology) and site-wide rules."""

import gzip
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from calculator import selectors, services
from calculator.engine.estimate import Options
from calculator.engine.fit import best_quant, total_bytes
from calculator.engine.hardware import machine_budget_bytes

pytestmark = pytest.mark.usefixtures("site_data")

HTMX = {"HTTP_HX_REQUEST": "true"}
R1 = "/models/deepseek-r1/"

PAGES = [
    ("/", 3),
    ("/models/", 2),
    ("/models/?architecture=moe&fits_gb=256&quant=Q4_K_M", 2),
    # + kit picks (kits, prefetched offers), GGUF files, default-quant map, and the build
    # costs' price book (components and kits with their offers: 2 more on seeded data)
    (R1, 9),
    (R1 + "?quant=Q8_0&context=32768&kv_type=q8_0&parallel=2", 9),
    ("/hardware/", 2),
    ("/hardware/?memory_gb=64", 3),
    ("/hardware/rtx-4090/", 3),
    ("/hardware/apple-m3-ultra-512/", 3),
    ("/compare/?models=deepseek-r1,qwen3-235b-a22b", 4),
    ("/methodology/", 3),
]


@pytest.mark.parametrize(("url", "max_queries"), PAGES)
def test_page_renders_with_a_constant_number_of_queries(
    client, django_assert_max_num_queries, url, max_queries
):
    with django_assert_max_num_queries(max_queries):
        response = client.get(url)
    assert response.status_code == 200


def _static_bytes(html):
    total = 0
    for path in re.findall(r'(?:src|href)="/static/([^"]+)"', html):
        found = finders.find(path)
        assert found, path
        with open(found, "rb") as handle:
            total += len(gzip.compress(handle.read()))
    return total


@pytest.mark.parametrize("url", [url for url, _ in PAGES])
def test_page_weighs_under_60_kb_compressed_with_its_css_and_js(client, url):
    html = client.get(url).content
    weight = len(gzip.compress(html)) + _static_bytes(html.decode())
    assert weight < 60_000, f"{url}: {weight} bytes"


@pytest.mark.parametrize("url", [url for url, _ in PAGES])
def test_page_has_no_inline_script(client, url):
    html = client.get(url).content.decode()
    for tag in re.findall(r"<script[^>]*>", html):
        # JSON-LD is a data block browsers never execute; anything else must be a file
        assert "src=" in tag or 'type="application/ld+json"' in tag, tag
    assert " on" not in "".join(re.findall(r"<[^>]+ on[a-z]+=", html))


@pytest.mark.parametrize("url", [url for url, _ in PAGES])
def test_every_form_control_has_a_label(client, url):
    html = client.get(url).content.decode()
    ids = set(re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', html))
    hidden = set(re.findall(r'<input type="hidden"[^>]*\bid="([^"]+)"', html))
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert ids - hidden <= labelled


def test_home_explains_the_site_and_lists_popular_models(client):
    html = client.get(reverse("calculator:home")).content.decode()
    assert 'role="search"' in html
    for model in selectors.popular_models():
        assert model.get_absolute_url() in html


def test_home_has_memory_and_hardware_entry_points(client):
    html = client.get(reverse("calculator:home")).content.decode()
    assert 'name="memory_gb"' in html and 'name="profile"' in html


def test_live_search_returns_the_search_results_fragment(client):
    response = client.get(
        reverse("calculator:model-list"), {"q": "deepseek r1"},
        HTTP_HX_TARGET="search-results", **HTMX,
    )  # fmt: skip
    html = response.content.decode().strip()
    assert html.startswith('<div id="search-results"')
    assert "/models/deepseek-r1/" in html


def test_model_index_varies_on_the_htmx_headers(client):
    vary = client.get(reverse("calculator:model-list"))["Vary"]
    assert "HX-Request" in vary and "HX-Target" in vary


def test_model_index_htmx_request_gets_the_results_region(client):
    html = client.get(reverse("calculator:model-list"), {"family": "Qwen"}, **HTMX).content
    title, _, region = html.decode().strip().partition("\n")
    assert title.startswith("<title>") and region.lstrip().startswith('<section id="result"')


def test_model_index_filters_by_architecture(client):
    html = client.get(reverse("calculator:model-list"), {"architecture": "moe"}).content.decode()
    assert "DeepSeek R1" in html
    assert "Llama 3.1 8B Instruct" not in html


def test_model_index_fits_filter_keeps_exactly_the_models_the_engine_fits(client):
    html = client.get(
        reverse("calculator:model-list"), {"fits_gb": 32, "quant": "Q4_K_M"}
    ).content.decode()
    budget = machine_budget_bytes(32)
    for model in selectors.models():
        arch = services.architecture_of(model)
        fits = total_bytes(arch, Options(quant="Q4_K_M")) <= budget
        assert (f'href="{model.get_absolute_url()}"' in html) is fits, model.slug


def test_model_index_bad_filter_value_is_an_inline_message(client):
    response = client.get(reverse("calculator:model-list"), {"fits_gb": "lots"})
    assert response.status_code == 200
    assert 'class="problems"' in response.content.decode()


def test_memory_page_shows_the_best_quant_that_fits_each_model(client):
    html = client.get(reverse("calculator:hardware-list"), {"memory_gb": 64}).content.decode()
    model = services.find_model("llama-3.3-70b-instruct")
    quant = best_quant(services.architecture_of(model), Options(), machine_budget_bytes(64))
    row = html.split(f'href="{model.get_absolute_url()}')[1].split("</tr>")[0]
    assert f'data-label="Best quant">{quant}</td>' in row


def test_hardware_index_profile_choice_redirects_to_its_page(client):
    response = client.get(reverse("calculator:hardware-list"), {"profile": "rtx-4090"})
    assert response["Location"] == reverse("calculator:hardware-detail", args=["rtx-4090"])


def test_gpu_page_runs_a_small_model_entirely_in_vram(client):
    html = client.get(reverse("calculator:hardware-detail", args=["rtx-4090"])).content.decode()
    row = html.split('href="/models/llama-3.1-8b-instruct/')[1].split("</tr>")[0]
    assert "Fits in VRAM" in row


def test_unknown_hardware_profile_is_a_404_with_a_search_box(client):
    response = client.get(reverse("calculator:hardware-detail", args=["cray-1"]))
    assert response.status_code == 404
    assert 'role="search"' in response.content.decode()


def test_compare_shows_both_models_at_the_same_options(client):
    html = client.get(
        reverse("calculator:compare"),
        {"models": "deepseek-r1,qwen3-235b-a22b", "quant": "Q8_0", "context": "32768"},
    ).content.decode()
    for slug in ("deepseek-r1", "qwen3-235b-a22b"):
        est = services.estimate_for(
            services.architecture_of(services.find_model(slug)),
            Options(quant="Q8_0", context=32768), services.hardware_set(),
        )  # fmt: skip
        assert f"{est.recommended_ram_gb} GB" in html
    assert "All at Q8_0 with 32K context" in html


def test_compare_names_unknown_models_inline(client):
    response = client.get(reverse("calculator:compare"), {"models": "deepseek-r1,gpt-9"})
    assert response.status_code == 200
    assert "No model is called “gpt-9”" in response.content.decode()


def test_hardware_page_reads_context_like_the_model_page(client):
    html = client.get("/hardware/rtx-4090/", {"context": "32k"}).content.decode()
    assert 'class="problems"' not in html
    assert "at 32K context" in html
