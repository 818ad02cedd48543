"""Published GGUF files: on model pages, in the quant menu, in the API and the CLI; a
published file estimates to its own size, and our predictions for the standard presets
stay within the bounds the reference set holds."""

import json
import statistics
from dataclasses import replace
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from calculator import services
from calculator.engine.estimate import Options, footprint
from calculator.engine.quant import is_standard, weights_bytes
from calculator.engine.types import UNSUPPORTED
from catalog.gguf_selectors import file_weights
from catalog.gguf_snapshot import SNAPSHOT_FILE, gguf_snapshot_load
from catalog.models import GgufFile
from front.presenters.files import files_table

R1 = "/models/deepseek-r1/"
API = "/api/v1/estimate"
# The reference set's bounds (tests/calculator/test_validation.py): every file within 3%,
# the median within 0.5%.
BOUND, MEDIAN_BOUND = 0.03, 0.005


@pytest.fixture
def files(site_data):
    gguf_snapshot_load()
    return GgufFile.objects.select_related("repository__model")


def test_every_published_file_estimates_to_its_own_size(files):
    sized = [f for f in files if f.total_bytes]
    assert len(sized) >= 50
    for gguf in sized:
        arch = services.architecture_of(gguf.repository.model)
        published = file_weights(arch, gguf)
        weights, _, fp = footprint(arch, Options(quant=gguf.label), published.weights)
        assert weights.total_bytes == fp.weights_bytes == gguf.total_bytes, gguf
        assert fp.expert_bytes <= fp.weights_bytes


def test_standard_preset_predictions_stay_within_the_reference_bounds(files):
    compared = [f for f in files if f.total_bytes and is_standard(f.label) and f.standard_mix]
    errors = {}
    for gguf in compared:
        arch = services.architecture_of(gguf.repository.model)
        predicted = weights_bytes(arch, gguf.label).total_bytes
        errors[gguf] = abs(predicted - gguf.total_bytes) / gguf.total_bytes
    explained = {g for g in errors if g.note.startswith("The source records")}
    assert {g.repository.repo_id for g in explained} == {
        "bartowski/Qwen_Qwen3-0.6B-GGUF", "bartowski/Qwen_Qwen3-1.7B-GGUF"
    }  # fmt: skip
    held = {g: e for g, e in errors.items() if g not in explained}
    assert len(held) >= 40
    assert [g for g, e in held.items() if e > BOUND] == []
    assert statistics.median(held.values()) < MEDIAN_BOUND


def test_the_snapshot_cites_a_public_source_for_every_file_and_says_how_exact_it_is():
    data = json.loads(Path(SNAPSHOT_FILE).read_text())
    precisions = set(data["precision"])
    for repo in data["repositories"]:
        for row in repo["files"]:
            assert row["source"].startswith(("https://", "github:")), row
            assert row["size_precision"] in precisions


def test_loading_the_snapshot_twice_changes_nothing(files):
    before = list(files.values_list("pk", "total_bytes"))
    again = gguf_snapshot_load()
    assert (again.repositories_created, again.files_created) == (0, 0)
    assert list(GgufFile.objects.values_list("pk", "total_bytes")) == before


def test_the_model_page_lists_files_with_links_sizes_builds_and_predictions(client, files):
    html = client.get(R1).content.decode()
    assert "Files you can download" in html
    assert "unsloth/DeepSeek-R1-GGUF/blob/e092ebe8fb2decbab7253c8d194eed78ac0838aa/" in html
    assert "(5 parts)" in html
    assert "?quant=UD-Q2_K_XL" in html


def test_an_htmx_update_loads_the_files_table_as_its_own_region(client, files):
    headers = {"HX-Request": "true", "HX-Target": "gguf-files"}
    region = client.get(R1, {"context": "32k"}, headers=headers).content.decode()
    assert region.startswith('<div id="gguf-files">') and "Files you can download" in region
    assert 'href="/models/deepseek-r1/?quant=UD-Q2_K_XL&amp;context=32768"' in region
    assert 'id="result"' not in region


def test_a_files_builds_come_from_the_one_fit_rule(files):
    model = files.get(label="UD-Q2_K_XL", repository__repo_id="unsloth/DeepSeek-R1-GGUF")
    model = model.repository.model
    arch = services.architecture_of(model)
    hardware = services.hardware_set()
    rows = {r.label: r for r in files_table(model, arch, Options(), hardware)}
    row = rows["UD-Q2_K_XL"]
    published = file_weights(arch, row.file)
    placed = services.estimate_on_builds(
        arch, Options(quant="UD-Q2_K_XL"), hardware, weights=published.weights
    ).placements
    assert [r.name for r in row.runs_on] == [p.build.name for p in placed if p.runs]
    assert {r.fit for r in row.runs_on} <= {"comfortable", "tight", "offload"}
    assert rows["Q2_K"].predicted_bytes is not None and abs(rows["Q2_K"].difference) < BOUND
    assert rows["UD-Q2_K_XL"].predicted_bytes is None  # not a preset: nothing to predict


def test_the_quant_menu_groups_published_files_above_the_presets(client, files):
    html = client.get(R1).content.decode()
    menu = html[html.index('name="quant"') : html.index("</select>", html.index('name="quant"'))]
    assert menu.index('label="Published files"') < menu.index("Q4_K_M")
    assert '<option value="UD-IQ1_S">' in menu


def test_a_published_label_is_selectable_in_any_case_and_echoed_canonical(client, files):
    html = client.get(R1, {"quant": "ud-iq1_s"}).content.decode()
    assert "calculated for UD-IQ1_S" in html
    assert "Weights are the published file unsloth/DeepSeek-R1-GGUF UD-IQ1_S" in html


def test_an_unknown_label_is_an_inline_problem_on_the_page(client, files):
    html = client.get(R1, {"quant": "UD-IQ3_XXS"}).content.decode()
    assert "no published file labelled UD-IQ3_XXS" in html
    assert "calculated for Q4_K_M" in html


def test_the_api_sizes_a_published_file_and_describes_it(client, files):
    body = client.get(
        API, {"model": "deepseek-r1", "quant": "ud-q2_k_xl", "hardware": "rtx-4090"}
    ).json()
    gguf = files.get(label="UD-Q2_K_XL", repository__repo_id="unsloth/DeepSeek-R1-GGUF")
    assert body["quant"] == "UD-Q2_K_XL"
    assert body["memory"]["weights_bytes"] == gguf.total_bytes
    assert body["file"]["url"] == gguf.url and body["file"]["parts"] == 5
    assert any("published file" in note for note in body["notes"])


def test_the_api_names_quant_for_a_label_this_model_does_not_publish(client, files):
    response = client.get(API, {"model": "deepseek-r1", "quant": "UD-IQ3_XXS"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "quant"
    assert "UD-Q2_K_XL" in response.json()["error"]["message"]  # what it does publish


def test_the_model_endpoint_lists_the_files(client, files):
    body = client.get("/api/v1/models/deepseek-r1").json()
    assert {f["quant"] for f in body["files"]} >= {"UD-IQ1_S", "UD-Q2_K_XL", "Q2_K"}
    assert body["default_quant"] == "Q4_K_M"


@pytest.mark.parametrize("slug", ["gpt-oss-120b", "gpt-oss-20b"])
def test_gpt_oss_defaults_to_its_mxfp4_release_everywhere(client, site_data, slug):
    assert client.get(API, {"model": slug}).json()["quant"] == "MXFP4"
    assert client.get(API, {"model": slug, "quant": "mxfp4"}).json()["quant"] == "MXFP4"
    assert "calculated for MXFP4" in client.get(f"/models/{slug}/").content.decode()
    out = StringIO()
    call_command("estimate", slug, "--hardware", "rtx-4090", stdout=out)
    assert " at MXFP4," in out.getvalue()


def test_q4_k_m_on_a_gpt_oss_page_is_not_its_default_page(client, site_data):
    html = client.get("/models/gpt-oss-120b/", {"quant": "Q4_K_M"}).content.decode()
    assert "calculated for Q4_K_M" in html
    api = client.get(API, {"model": "gpt-oss-120b", "quant": "Q4_K_M"}).json()
    assert api["quant"] == "Q4_K_M"


def test_the_cli_takes_a_published_label(files):
    out = StringIO()
    call_command("estimate", "deepseek-r1", "--quant", "ud-iq1_s", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert body["quant"] == "UD-IQ1_S" and body["file"]["repository"] == "unsloth/DeepSeek-R1-GGUF"


def test_long_context_adds_the_rope_flags_and_warns_only_past_the_documented_context(
    client, site_data
):
    within = client.get(
        API, {"model": "qwen3-32b", "context": "128k", "hardware": "rtx-4090"}
    ).json()
    assert "--rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 32768" in within["llama_cpp_command"]
    assert not any("beyond the longest context" in n for n in within["notes"])
    assert (
        within["model"]["context_length"] == 131072 and within["model"]["native_context"] == 32768
    )
    native = client.get(API, {"model": "qwen3-32b", "context": "32k"}).json()
    assert "--rope-scaling" not in native["llama_cpp_command"]
    beyond = client.get(API, {"model": "qwen3-32b", "context": "256k"}).json()
    assert any("beyond the longest context" in n for n in beyond["notes"])


@pytest.fixture
def unsupported_r1(site_data, monkeypatch):
    """DeepSeek R1 as if mainline llama.cpp had no loader for it."""
    model = services.find_model("deepseek-r1")
    arch = replace(
        services.architecture_of(model),
        llama_cpp_status=UNSUPPORTED,
        llama_cpp_note="Mainline llama.cpp has no loader for this architecture.",
    )
    real = services.architecture_of
    monkeypatch.setattr(
        services, "architecture_of", lambda m: arch if m.slug == "deepseek-r1" else real(m)
    )
    yield


def test_where_llama_cpp_cannot_run_it_the_api_page_and_faq_say_so(client, unsupported_r1):
    body = client.get(API, {"model": "deepseek-r1", "hardware": "rtx-4090"}).json()
    assert body["model"]["llama_cpp_status"] == "unsupported"
    assert all(s["tokens_per_s"] is None and s["llama_cpp_command"] is None for s in body["speeds"])
    assert "no loader" in " ".join(body["notes"])
    assert body["memory"]["weights_bytes"] > 0  # memory figures stand
    html = client.get(R1).content.decode()
    assert (
        'data-testid="no-llama-cpp"' in html and "tok/s" not in html.split('id="speed"')[1][:2000]
    )
    faq = client.get("/models/deepseek-r1/faq/").content.decode()
    assert "Not with llama.cpp yet" in faq


def test_commands_load_the_listed_file_of_a_preset_and_a_placeholder_otherwise(client, files):
    listed = "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"  # bartowski's, in the snapshot
    page = client.get("/models/llama-3.1-8b-instruct/", {"quant": "Q4_K_M"}).content.decode()
    assert f"-m {listed}" in page and "model-Q4_K_M.gguf" not in page
    api = client.get(API, {"model": "llama-3.1-8b-instruct", "quant": "Q4_K_M"}).json()
    commands = [s["llama_cpp_command"] for s in api["speeds"] if s["fits"]]
    assert commands and all(f"-m {listed}" in c for c in commands)
    out = StringIO()
    call_command("estimate", "llama-3.1-8b-instruct", "--quant", "Q4_K_M", stdout=out)
    assert f"-m {listed}" in out.getvalue()
    # DeepSeek R1's repositories publish no Q4_K_M: the command names the file to make
    r1 = client.get(R1, {"quant": "Q4_K_M"}).content.decode()
    assert "-m model-Q4_K_M.gguf" in r1
