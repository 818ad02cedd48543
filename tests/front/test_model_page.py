"""The model calculator page: full page vs htmx partial, bad input, 404s, engine figures."""

import pytest
from django.urls import reverse

from calculator import services
from calculator.engine.estimate import Options
from calculator.engine.verdict import verdict
from calculator.formatting import gb, tps
from calculator.models import LlmModel, SlugRedirect

pytestmark = pytest.mark.usefixtures("site_data")

HTMX = {"HTTP_HX_REQUEST": "true"}


def r1_url(**params):
    url = reverse("calculator:model-detail", args=["deepseek-r1"])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def engine_estimate(slug, **options):
    model = services.find_model(slug)
    return services.estimate_for(
        services.architecture_of(model), Options(**options), services.hardware_set()
    )


def test_model_page_renders_a_full_document_with_the_results_region(client):
    response = client.get(r1_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith("<!doctype html>")
    assert 'id="result"' in html
    assert "DeepSeek R1 RAM calculator" in html


def test_htmx_request_gets_only_the_results_region(client):
    response = client.get(r1_url(quant="Q8_0"), **HTMX)
    html = response.content.decode().strip()
    assert response.status_code == 200
    title, _, region = html.partition("\n")
    # the tab title follows the state: htmx moves a leading <title> into the document
    assert title.startswith("<title>DeepSeek R1 at Q8_0, 8K context") and title.endswith("</title>")
    assert region.startswith('<section id="result"')
    assert "<html" not in html and "<h1>" not in html


def test_model_page_varies_on_the_hx_request_header(client):
    response = client.get(r1_url())
    assert "HX-Request" in response["Vary"]


def test_history_restore_request_gets_the_full_page(client):
    response = client.get(r1_url(), HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    assert response.content.decode().startswith("<!doctype html>")


def test_unknown_quant_shows_an_inline_message_and_the_default(client):
    response = client.get(r1_url(quant="Q9_X"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Unknown quantization" in html
    assert "calculated for Q4_K_M @ 8K context" in html


@pytest.mark.parametrize("context", ["abc", "-5", "1000000000000", "0", "99999999999K"])
def test_bad_context_shows_an_inline_message_and_the_default(client, context):
    response = client.get(r1_url(context=context))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="problems"' in html
    assert "@ 8K context" in html


def test_bad_parameters_under_htmx_show_the_message_in_the_fragment(client):
    response = client.get(r1_url(context="abc", kv_type="q3"), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="problems"' in html and "KV-cache" not in html.split("problems")[0]


def test_context_accepts_a_k_suffix(client):
    html = client.get(r1_url(context="32K")).content.decode()
    assert "@ 32K context" in html
    assert 'class="problems"' not in html


def test_lower_case_quant_is_understood(client):
    html = client.get(r1_url(quant="q8_0")).content.decode()
    assert "calculated for Q8_0" in html


def test_unknown_slug_is_a_404_page_with_a_search_box(client):
    response = client.get(reverse("calculator:model-detail", args=["deepseek-r9"]))
    html = response.content.decode()
    assert response.status_code == 404
    assert 'role="search"' in html and 'name="q"' in html
    assert "DeepSeek R1" in html  # a "did you mean" suggestion


def test_unknown_url_with_debug_off_renders_the_404_template(client, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert 'role="search"' in response.content.decode()


def test_renamed_model_slug_redirects_permanently_keeping_the_query(client):
    SlugRedirect.objects.create(old_slug="r1", model=LlmModel.objects.get(slug="deepseek-r1"))
    response = client.get(reverse("calculator:model-detail", args=["r1"]) + "?quant=Q8_0")
    assert response.status_code == 301
    assert response["Location"] == r1_url(quant="Q8_0")


def test_upper_case_slug_redirects_to_the_canonical_url(client):
    response = client.get(reverse("calculator:model-detail", args=["DeepSeek-R1"]))
    assert response.status_code == 301
    assert response["Location"] == r1_url()


def test_r1_page_says_mixture_of_experts(client):
    html = client.get(r1_url()).content.decode()
    assert "Mixture-of-Experts" in html
    assert "Dense:" not in html


def test_r1_page_headline_is_the_engines_recommended_ram(client):
    est = engine_estimate("deepseek-r1", quant="Q8_0", context=32768)
    html = client.get(r1_url(quant="Q8_0", context=32768)).content.decode()
    assert f"{est.recommended_ram_gb} GB RAM" in html
    assert "calculated for Q8_0 @ 32K context" in html


def test_r1_page_breakdown_shows_the_engines_bytes(client):
    est = engine_estimate("deepseek-r1", quant="Q4_K_M", context=8192)
    html = client.get(r1_url()).content.decode()
    for size in (est.memory.weights_bytes, est.memory.kv_cache_bytes, est.memory.total_bytes):
        assert gb(size) in html


def test_r1_page_verdict_is_the_engines(client):
    est = engine_estimate("deepseek-r1", quant="Q4_K_M", context=8192)
    html = client.get(r1_url()).content.decode()
    assert verdict(est.speeds, est.recommended_ram_gb).headline in html


def test_r1_page_speed_matrix_shows_the_engines_tokens_per_second_and_formula(client):
    est = engine_estimate("deepseek-r1", quant="Q4_K_M", context=8192)
    html = client.get(r1_url()).content.decode()
    fitting = [s for s in est.speeds if s.tokens_per_s]
    assert fitting
    for speed in fitting:
        assert f"<strong>{tps(speed.tokens_per_s)}</strong>" in html
        assert speed.formula.replace("÷", "÷") in html


def test_r1_page_has_a_llama_cpp_command_per_runnable_row(client):
    html = client.get(r1_url()).content.decode()
    assert html.count("llama-server -m model-Q4_K_M.gguf") >= 2


def test_quant_ladder_lists_every_ladder_quant(client):
    from calculator.engine.fit import ladder

    arch = services.architecture_of(services.find_model("deepseek-r1"))
    html = client.get(r1_url()).content.decode()
    ladder_html = html.split('id="ladder"')[1]
    for name in ladder(arch):
        assert f">{name}</a>" in ladder_html


def test_memory_chart_is_inline_svg(client):
    html = client.get(r1_url()).content.decode()
    chart = html.split('id="chart"')[1]
    assert "<svg" in chart and "<polyline" in chart


def test_model_page_links_to_the_methodology(client):
    html = client.get(r1_url()).content.decode()
    assert reverse("calculator:methodology") in html.split('id="how"')[1]


def test_model_page_query_count_is_constant(client, django_assert_max_num_queries):
    # model, hardware rows (2), kit picks (2: kits + prefetched offers), the model's GGUF
    # files, the default-quant map of the response cache (rebuilt when the data changes)
    with django_assert_max_num_queries(7):
        client.get(r1_url())
    with django_assert_max_num_queries(7):
        client.get(reverse("calculator:model-detail", args=["llama-3.1-8b-instruct"]))


def test_editing_a_hardware_profile_changes_the_cached_results(client):
    from calculator.models import HardwareProfile

    before = client.get(r1_url()).content.decode()
    row = HardwareProfile.objects.get(slug="apple-m3-ultra-512")
    row.bandwidth_gbps *= 2
    row.save()
    after = client.get(r1_url()).content.decode()
    est = engine_estimate("deepseek-r1")
    speed = next(s for s in est.speeds if s.hardware.slug == "apple-m3-ultra-512")
    assert speed.formula in after and speed.formula not in before
