import json

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict

from calculator import models as rows
from calculator import options, services
from calculator.engine.estimate import Options
from calculator.engine.types import EngineError
from calculator.models import HardwareProfile, LlmModel


def test_loading_twice_changes_nothing(catalog):
    models = services.models_load()
    hardware = services.hardware_load()
    assert not models.created and not models.updated
    assert not hardware.created and not hardware.updated


def test_catalog_has_forty_models_across_eight_families(catalog):
    assert LlmModel.objects.count() >= 40
    assert LlmModel.objects.values("family").distinct().count() >= 8


def test_editor_changes_survive_a_changed_data_file(catalog, tmp_path):
    model = LlmModel.objects.get(slug="phi-4")
    model.name = "Phi-4 (edited)"
    model.save()
    data = json.loads((services.MODELS_DIR / "phi-4.json").read_text())
    data["summary"] = "Updated summary."
    (tmp_path / "phi-4.json").write_text(json.dumps(data))
    report = services.models_load(directory=tmp_path)
    assert report.kept_editor_changes == ["phi-4"]
    assert LlmModel.objects.get(slug="phi-4").name == "Phi-4 (edited)"


def test_changed_data_file_updates_an_unedited_row(catalog, tmp_path):
    source = services.MODELS_DIR / "phi-4.json"
    data = json.loads(source.read_text())
    data["summary"] = "Updated summary."
    (tmp_path / "phi-4.json").write_text(json.dumps(data))
    report = services.models_load(directory=tmp_path)
    assert report.updated == ["phi-4"]
    assert LlmModel.objects.get(slug="phi-4").summary == "Updated summary."


def test_loading_a_new_model_parses_its_config_once(db, tmp_path, monkeypatch):
    """The file is checked, the row cleaned and saved: one parse, not three."""
    parsed = []
    real = rows.parse_config
    monkeypatch.setattr(rows, "parse_config", lambda config: parsed.append(1) or real(config))
    rows._parse_config_text.cache_clear()
    data = json.loads((services.MODELS_DIR / "phi-4.json").read_text())
    data.update(slug="phi-4-copy", name="Phi-4 (copy)", hf_repo="example/phi-4-copy")  # a new row
    data["config"]["max_position_embeddings"] += 1  # a config no test parsed before
    (tmp_path / "phi-4-copy.json").write_text(json.dumps(data))
    assert services.models_load(directory=tmp_path).created == ["phi-4-copy"]
    assert len(parsed) == 1


def test_derived_figures_come_from_the_engine_on_save(catalog):
    model = LlmModel.objects.get(slug="qwen3-30b-a3b")
    assert model.architecture == LlmModel.MOE
    assert model.total_params == services.architecture_of(model).total_params
    # Qwen3's card: 32,768 tokens natively, 131,072 with YaRN x4 (the data file's long_context)
    assert (model.native_context, model.context_length) == (32768, 131072)


def test_invalid_pasted_config_is_a_form_error_on_the_config_field(catalog):
    model = LlmModel(slug="broken", name="Broken", family="Test", hf_repo="x/broken",
                     source="test", config={"model_type": "llama"})  # fmt: skip
    with pytest.raises(ValidationError) as err:
        model.full_clean()
    assert "config" in err.value.message_dict


def test_hardware_set_uses_a_desktop_as_the_offload_host(hardware):
    assert hardware.host.kind == "cpu" and hardware.host.tier == "desktop"
    assert len(hardware.profiles) == HardwareProfile.objects.count()


def test_find_model_by_slug_or_repo_id_ignores_case(catalog):
    assert services.find_model("DeepSeek-R1").slug == "deepseek-r1"
    assert services.find_model("deepseek-ai/deepseek-r1").slug == "deepseek-r1"
    assert services.find_model("nope") is None


# --- builds (issue 9): presets and API-shaped builds resolve against the loaded catalog ---


def test_every_preset_build_resolves_against_the_loaded_catalog(hardware):
    builds = services.preset_builds(hardware)
    assert len(builds) >= 15
    slugs = {b.slug for b in builds}
    assert {"rtx-4090-epyc-9004-384gb", "4x-rtx-3090-threadripper-pro-256gb",
            "8x-h100-sxm-server", "mac-studio-m3-ultra-512gb", "dgx-spark",
            "desktop-ddr5-4x48gb", "dual-epyc-9004-768gb"} <= slugs  # fmt: skip
    assert services.preset_build("dgx-spark", hardware).kind_label == "unified-memory PC"


def test_an_api_build_resolves_with_the_database_profiles_and_file_facts(hardware):
    build = services.build_from_request(
        {"host": {"profile": "sp5-epyc-9004-1p", "memory_gb": 768},
         "gpus": [{"profile": "rtx-4090", "count": 1}]},
        hardware,
    )  # fmt: skip
    gpu = build.devices[0]
    assert gpu.link_gbps and gpu.fp16_tflops and gpu.prefill_efficiency
    assert build.host.profile.bandwidth_gbps == pytest.approx(460.8)


def test_builds_are_estimated_fastest_first(hardware):
    model = LlmModel.objects.get(slug="deepseek-r1")
    result = services.estimate_on_builds(services.architecture_of(model), Options(), hardware)
    running = [p.tokens_per_s for p in result.placements if p.runs]
    assert running == sorted(running, reverse=True)
    assert not result.placements[-1].runs  # the desktop cannot hold R1


def _query(text):
    return options.parse_strict(QueryDict(text), options.BUILD_DEFAULTS, options.BUILD_NAMES)


def test_a_picked_host_ram_and_gpus_is_a_build(hardware):
    build = services.build_from_query(
        _query("host=sp5-epyc-9004-1p&ram_gb=384&dimms=12&gpu=rtx-3090:2"), hardware
    )
    assert build.gpu_count == 2 and build.memory_gb == 384
    assert build.host.setup.channels_filled == 12


def test_a_preset_slug_is_that_preset(hardware):
    build = services.build_from_query(_query("build=dgx-spark"), hardware)
    assert build.slug == "dgx-spark"
    assert services.build_from_query(_query(""), hardware) is None


@pytest.mark.parametrize(
    "typed,field",
    [
        ("build=no-such-rig", "build"),
        ("host=no-such-host&ram_gb=64", "host"),
        ("gpu=no-such-gpu&ram_gb=64", "gpu"),
        ("host=am5-ryzen-9000&ram_gb=4096", "ram_gb"),
        ("host=am5-ryzen-9000", "ram_gb"),
        ("host=am5-ryzen-9000&ram_gb=100&dimms=3", "dimms"),
    ],
)
def test_a_build_the_engine_refuses_names_the_query_field(hardware, typed, field):
    with pytest.raises(EngineError) as err:
        services.build_from_query(_query(typed), hardware)
    assert err.value.field == field
