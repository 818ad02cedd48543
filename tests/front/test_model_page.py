"""The model calculator page: full page vs htmx partial, bad input, 404s, engine figures."""

import json
from dataclasses import replace
from html import unescape

import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils.html import escape

from calculator import services
from calculator.engine.estimate import Options
from calculator.engine.verdict import build_verdict
from calculator.formatting import gb, seconds, tps
from calculator.models import LlmModel, SlugRedirect
from front import forms
from front.presenters.builds import BuildRow

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


def test_an_update_names_the_canonical_url_for_the_address_bar_hit_or_miss(client):
    form = "?quant=q8_0&context=32768&kv_type=f16&parallel=1&build=&host=&ram_gb=&gpu=&gpu="
    for _ in range(2):  # rendered, then replayed from the response cache
        response = client.get(r1_url() + form, headers={"HX-Request": "true"})
        assert response["HX-Push-Url"] == "/models/deepseek-r1/?quant=Q8_0&context=32768"
    assert "HX-Push-Url" not in client.get(r1_url() + form)  # a whole page keeps its URL


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


def builds_estimate(slug, **options):
    model = services.find_model(slug)
    return services.estimate_on_builds(
        services.architecture_of(model), Options(**options), services.hardware_set()
    )


def test_r1_page_verdict_is_the_engines_build_verdict(client):
    est = builds_estimate("deepseek-r1", quant="Q4_K_M", context=8192)
    headline = build_verdict(est.placements, est.estimate.recommended_ram_gb).headline
    html = client.get(r1_url()).content.decode()
    assert f'<p class="verdict" data-testid="verdict">{escape(headline)}</p>' in html


def speed_table_html(html):
    return html.split('data-testid="speed-table"')[1].split("</table>")[0]


def test_r1_speed_table_lists_the_running_presets_fastest_first(client):
    est = builds_estimate("deepseek-r1", quant="Q4_K_M", context=8192)
    running = [p for p in est.placements if p.runs]
    table = speed_table_html(client.get(r1_url()).content.decode())
    positions = [table.index(f">{escape(p.build.describe())}</a>") for p in running]
    assert positions == sorted(positions)
    speeds = [p.tokens_per_s for p in running]
    assert speeds == sorted(speeds, reverse=True)
    for p in running:
        assert f"<strong>{tps(p.tokens_per_s)}</strong>" in table
        assert escape(p.formula) in table


def test_a_speed_row_escapes_every_text_it_shows():
    est = builds_estimate("deepseek-r1", quant="Q4_K_M", context=8192)
    placed = next(p for p in est.placements if p.runs)
    build = replace(placed.build, name="<b>Rig</b> & co")
    html = BuildRow(replace(placed, build=build, note="<i>note</i>"), mine=True).html
    assert "<b>" not in html and "<i>" not in html
    assert f">{escape(build.describe())}</a>" in html and "&lt;b&gt;Rig" in html
    assert "<p>&lt;i&gt;note&lt;/i&gt;</p>" in html
    assert 'aria-current="true"' in html and "your build</strong>" in html


def test_builds_that_cannot_run_it_are_collapsed_under_one_line(client):
    est = builds_estimate("deepseek-r1", quant="Q4_K_M", context=8192)
    cannot = [p for p in est.placements if not p.runs]
    assert cannot
    html = client.get(r1_url()).content.decode()
    collapsed = html.split('data-testid="cannot-run"')[1].split("</details>")[0]
    assert f"{len(cannot)} machines cannot run this at Q4_K_M</summary>" in collapsed
    for p in cannot:
        assert escape(p.build.describe()) in collapsed
        assert escape(p.build.describe()) + "</a>" not in speed_table_html(html)


def test_memory_column_is_what_the_build_installs_not_the_platform_maximum(client):
    table = speed_table_html(client.get(r1_url()).content.decode())
    assert "24 GB VRAM + 384 GB RAM" in table  # RTX 4090 + EPYC 9004, 384 GB
    assert "8 x 80 GB VRAM + 2,048 GB RAM" in table
    assert "12,288 GB" not in table


def test_rows_show_prompt_speed_and_time_to_first_token_at_the_chosen_context(client):
    est = builds_estimate("deepseek-r1", quant="Q4_K_M", context=32768)
    table = speed_table_html(client.get(r1_url(context="32k")).content.decode())
    mac = next(p for p in est.placements if p.build.slug == "mac-studio-m3-ultra-512gb")
    row = table.split(escape(mac.build.describe()) + "</a>")[1].split("</tr>")[0]
    assert f"{mac.prefill_tokens_per_s:.0f}</td>" in row
    assert f"{seconds(mac.time_to_first_token_s)}</td>" in row


def test_a_tight_fit_says_what_is_left_and_what_to_do(client):
    # Llama 3.1 70B at Q8_0 fills most of a 96 GB Mac: macOS's wired limit must be raised.
    url = reverse("calculator:model-detail", args=["llama-3.1-70b-instruct"])
    est = builds_estimate("llama-3.1-70b-instruct", quant="Q8_0", context=8192)
    tight = [p for p in est.placements if p.fit == "tight"]
    assert tight
    table = speed_table_html(client.get(url + "?quant=Q8_0").content.decode())
    for p in tight:
        assert 'Fits tightly</span><br><span class="muted tight-note">' + escape(p.note) in table


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
    # model, hardware rows (2, read once per data version), kit picks (2: kits +
    # prefetched offers), the model's GGUF files, the default-quant map of the response
    # cache (rebuilt when the data changes), the build costs' price book (components
    # and kits, each with its offers prefetched)
    with django_assert_max_num_queries(9):
        client.get(r1_url())
    with django_assert_max_num_queries(9):
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


# --- the build picker -------------------------------------------------------------------

PICKED = "host=sp5-epyc-9004-1p&ram_gb=384&dimms=12&gpu=rtx-3090:2"


def test_a_picked_build_is_answered_with_its_placement_fit_and_command(client):
    html = client.get(r1_url() + "?" + PICKED).content.decode()
    mine = html.split('data-testid="your-build"')[1].split("</section>")[0]
    build = services.build_from_query(
        forms.page_build(QueryDict(PICKED))[0], services.hardware_set()
    )
    placed = services.estimate_on_builds(
        services.architecture_of(services.find_model("deepseek-r1")), Options(),
        services.hardware_set(), (build,),
    ).placements[0]  # fmt: skip
    assert escape(build.describe()) in mine
    assert "Runs with offload" in mine and placed.fit == "offload"
    assert f"<strong>{tps(placed.tokens_per_s)}</strong>" in mine
    assert escape(placed.llama_cpp_command) in mine


def test_picker_state_comes_from_the_url(client):
    html = client.get(r1_url() + "?" + PICKED).content.decode()
    picker = html.split('id="build-picker"')[1].split("</fieldset>")[0]
    assert '<option value="sp5-epyc-9004-1p" selected>' in picker
    assert 'name="ram_gb" id="id_ram_gb" min="1" step="1" inputmode="numeric" value="384"' in picker
    assert '<option value="rtx-3090:2" selected>' in picker
    assert 'data-testid="your-build"' in html


def test_an_htmx_answer_leaves_the_form_in_the_page_and_names_its_state(client):
    """The form (its menus are most of a page's bytes) stays where it is; the answer
    says which options it was computed for, and site.js sets the form to them."""
    html = client.get(r1_url(quant="q8_0", context="32k") + "&" + PICKED, **HTMX).content.decode()
    assert 'id="controls"' not in html and 'id="build-picker"' not in html
    assert 'data-testid="your-build"' in html  # the picked build is answered for
    state = html.split('data-state="')[1].split('"')[0]
    assert json.loads(unescape(state)) == {
        "quant": "Q8_0", "context": "32768", "kv_type": "f16", "parallel": "1"
    }  # fmt: skip


def test_a_preset_build_gets_the_highlighted_row_in_the_table(client):
    html = client.get(r1_url(build="rtx-4090-epyc-9004-384gb")).content.decode()
    row = html.split('data-testid="your-build-row"')[1].split("</tr>")[0]
    assert "RTX 4090 + EPYC 9004, 384 GB" in row and "your build</strong>" in row
    assert html.count('data-testid="your-build-row"') == 1
    assert '<option value="rtx-4090-epyc-9004-384gb" selected>' in html


def test_the_picker_and_the_options_form_are_one_get_form_pushing_the_url(client):
    html = client.get(r1_url()).content.decode()
    form = html.split('<form class="controls"')[1].split("</form>")[0]
    assert 'method="get"' in form and 'hx-push-url="true"' in form
    assert 'name="build"' in form and 'name="gpu"' in form and 'name="quant"' in form


@pytest.mark.parametrize(
    "query,label",
    [
        ("gpu=rtx-3090:100", "GPUs: GPU count must be between 1 and 8"),
        ("gpu=rtx-3090:0", "GPUs: GPU count must be between 1 and 8"),
        ("gpu=no-such-gpu&ram_gb=64", "GPUs: unknown GPU profile"),
        ("host=am5-ryzen-9000&ram_gb=4096", "RAM installed (GB): AMD AM5"),
        ("build=no-such-rig", "Preset build: unknown build"),
    ],
)
def test_a_bad_build_is_an_inline_message_never_a_500_and_never_cached(client, query, label):
    response = client.get(r1_url() + "?" + query)
    html = response.content.decode()
    assert response.status_code == 200
    problems = html.split('class="problems"')[1].split("</div>")[0]
    assert f"<li>{escape(label)}" in problems
    assert 'data-testid="your-build"' not in html
    assert 'data-testid="speed-table"' in html  # the presets still answer
    again = client.get(r1_url() + "?" + query, **HTMX)
    assert escape(label) in again.content.decode()  # rendered fresh: not a cached full page
