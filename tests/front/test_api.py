import json

import pytest
from django.test import Client

from calculator import services
from calculator.engine.estimate import Options
from calculator.engine.hardware import GIB

ESTIMATE = "/api/v1/estimate"


@pytest.fixture
def client():
    return Client()


def get(client, **params):
    return client.get(ESTIMATE, params)


def post(client, body, **kwargs):
    return client.post(ESTIMATE, json.dumps(body), content_type="application/json", **kwargs)


def test_r1_q4_k_m_estimate_is_moe_with_about_404_gb_of_weights_and_512_gb_ram(client, catalog):
    data = get(client, model="deepseek-r1", quant="Q4_K_M", context=8192).json()
    assert data["model"]["architecture"] == "moe"
    assert data["model"]["active_params"] < data["model"]["total_params"] / 15
    assert data["memory"]["weights_bytes"] == pytest.approx(404e9, rel=0.02)
    assert data["recommended_ram_gb"] == 512


def test_estimate_numbers_equal_the_engine_for_the_same_inputs(client, hardware):
    model = services.find_model("llama-3.1-8b-instruct")
    est = services.estimate_for(
        services.architecture_of(model), Options(quant="Q8_0", context=32768), hardware
    )
    data = get(client, model="llama-3.1-8b-instruct", quant="Q8_0", context=32768).json()
    assert data["memory"]["total_bytes"] == est.memory.total_bytes
    assert data["memory"]["kv_cache_bytes"] == est.kv.total_bytes
    assert [s["tokens_per_s"] for s in data["speeds"]] == [
        None if s.tokens_per_s is None else round(s.tokens_per_s, 2) for s in est.speeds
    ]


def test_bytes_are_integers_and_memory_parts_add_up(client, catalog):
    memory = get(client, model="qwen3-30b-a3b").json()["memory"]
    assert all(isinstance(v, int) for v in memory.values())
    parts = ("weights_bytes", "kv_cache_bytes", "compute_buffer_bytes", "overhead_bytes")
    assert sum(memory[p] for p in parts) == memory["total_bytes"]


def test_model_accepts_hugging_face_repo_id(client, catalog):
    response = get(client, model="deepseek-ai/DeepSeek-R1")
    assert response.status_code == 200
    assert response.json()["model"]["slug"] == "deepseek-r1"


def test_hardware_profile_limits_speeds_to_that_profile(client, catalog):
    speeds = get(client, model="deepseek-r1", hardware="apple-m3-ultra-512").json()["speeds"]
    assert [s["hardware"] for s in speeds] == ["apple-m3-ultra-512"]
    assert speeds[0]["fits"] is True and speeds[0]["tokens_per_s"] > 5


def test_custom_machine_is_answered_in_speeds(client, catalog):
    speeds = get(
        client, model="llama-3.1-8b-instruct", bandwidth_gbps=100, memory_gb=32, kind="cpu"
    ).json()["speeds"]
    assert len(speeds) == 1
    assert speeds[0]["hardware"] == "custom" and speeds[0]["mode"] == "cpu"


def test_more_bandwidth_gives_more_tokens_per_second(client, catalog):
    def speed(bw):
        r = get(client, model="llama-3.1-8b-instruct", bandwidth_gbps=bw, memory_gb=64, kind="cpu")
        return r.json()["speeds"][0]["tokens_per_s"]

    assert speed(200) == pytest.approx(2 * speed(100), abs=0.02)  # rounded to 0.01


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"model": "no-such-model"}, "model"),
        ({"model": "deepseek-r1", "quant": "Q4_K_Z"}, "quant"),
        ({"model": "deepseek-r1", "context": "abc"}, "context"),
        ({"model": "deepseek-r1", "context": -5}, "context"),
        ({"model": "deepseek-r1", "context": 10**12}, "context"),
        ({"model": "deepseek-r1", "kv_type": "q3"}, "kv_type"),
        ({"model": "deepseek-r1", "parallel": 0}, "parallel"),
        ({"model": "deepseek-r1", "hardware": "nope"}, "hardware"),
        ({"model": "deepseek-r1", "bandwidth_gbps": 100}, "memory_gb"),
        (
            {"model": "deepseek-r1", "bandwidth_gbps": -1, "memory_gb": 8, "kind": "cpu"},
            "bandwidth_gbps",
        ),
        ({"model": "deepseek-r1", "bandwidth_gbps": 1, "memory_gb": 8, "kind": "tpu"}, "kind"),
        ({}, "model"),
    ],
)
def test_bad_query_is_a_400_naming_the_field(client, catalog, params, field):
    response = get(client, **params)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_posted_config_is_estimated_without_the_catalog(client, catalog):
    config = services.find_model("qwen3-8b").config
    data = post(client, {"config": config, "quant": "Q4_K_M", "context": 4096}).json()
    assert data["model"]["slug"] is None
    assert data["model"]["architecture"] == "dense"
    assert data["memory"]["weights_bytes"] > 4 * GIB


def test_posted_config_matches_the_catalog_estimate_for_the_same_model(client, catalog):
    config = services.find_model("qwen3-30b-a3b").config
    posted = post(client, {"config": config, "quant": "Q6_K", "context": 16384}).json()
    listed = get(client, model="qwen3-30b-a3b", quant="Q6_K", context=16384).json()
    assert posted["memory"] == listed["memory"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"config": {"model_type": "rwkv7"}}, "config.model_type"),
        ({"config": {"model_type": "llama", "hidden_size": 4096}}, "config.num_hidden_layers"),
        ({"config": "not an object"}, "config"),
        ({"quant": "Q4_K_M"}, "config"),
        ({"config": {"model_type": "llama"}, "context": "eight k"}, "context"),
        ({"config": {"model_type": "llama"}, "quant": "Q9"}, "quant"),
    ],
)
def test_bad_post_is_a_400_naming_the_field(client, catalog, body, field):
    response = post(client, body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_malformed_json_is_a_400(client, catalog):
    response = client.post(ESTIMATE, "{not json", content_type="application/json")
    assert response.status_code == 400


def test_oversized_body_is_refused(client, catalog, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post(client, {"config": {"model_type": "llama", "pad": "x" * 5000}})
    assert response.status_code in (400, 413)


def test_models_list_names_every_published_model_with_its_architecture(client, catalog):
    data = client.get("/api/v1/models").json()
    by_slug = {m["slug"]: m for m in data}
    assert by_slug["deepseek-r1"]["architecture"] == "moe"
    assert by_slug["llama-3.1-8b-instruct"]["architecture"] == "dense"


def test_model_detail_lists_the_quant_ladder(client, catalog):
    data = client.get("/api/v1/models/deepseek-r1").json()
    sizes = {q["quant"]: q["weights_bytes"] for q in data["quants"]}
    assert sizes["Q8_0"] > sizes["Q4_K_M"] > sizes["Q2_K"]


def test_unknown_model_detail_is_404(client, catalog):
    assert client.get("/api/v1/models/nope").status_code == 404


def test_openapi_schema_is_served_with_the_estimate_fields(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    props = schema["components"]["schemas"]["EstimateOut"]["properties"]
    for name in ("model", "quant", "context", "kv_type", "memory", "recommended_ram_gb", "speeds"):
        assert name in props


def test_model_detail_gives_the_native_fp8_release_size_of_r1(client, catalog):
    data = client.get("/api/v1/models/deepseek-r1").json()
    # FP8: one byte per linear weight plus scales, BF16 embeddings: about 680 GB, not 1.3 TB
    assert 650e9 < data["native_weights_bytes"] < 720e9


def test_options_are_read_by_the_shared_parser(client, catalog):
    data = get(client, model="deepseek-r1", quant="q4_k_m", context="32k").json()
    assert data["quant"] == "Q4_K_M" and data["context"] == 32768
    assert "model-Q4_K_M.gguf" in data["llama_cpp_command"]
    assert data == get(client, model="deepseek-r1", context=32768).json()


def test_posted_options_may_be_text_or_numbers(client, catalog):
    config = services.find_model("qwen3-8b").config
    as_text = post(client, {"config": config, "quant": "q8_0", "context": "16K"}).json()
    as_numbers = post(client, {"config": config, "quant": "Q8_0", "context": 16384}).json()
    assert as_text == as_numbers and as_text["context"] == 16384


# --- fit, prompt speed and builds ------------------------------------------------------

R1_RIG = {
    "host": {"profile": "sp5-epyc-9004-1p", "memory_gb": 768},
    "gpus": [{"profile": "rtx-3090", "count": 2}],
}


def _placed(model_slug, build, **options):
    model = services.find_model(model_slug)
    return services.estimate_on_builds(
        services.architecture_of(model), Options(**options), services.hardware_set(), (build,)
    ).placements[0]


def test_every_speed_entry_has_the_one_fit_rule_and_prompt_figures(client, hardware):
    data = get(client, model="llama-3.1-8b-instruct", hardware="rtx-4090", context=32768).json()
    (speed,) = data["speeds"]
    assert speed["fit"] == "comfortable" and speed["fits"] is True
    assert speed["prefill_tokens_per_s"] > speed["tokens_per_s"]
    # the whole context is the prompt, read slower than pp512 as attention deepens
    assert speed["time_to_first_token_s"] > 32768 / speed["prefill_tokens_per_s"]
    fits = {s["fit"] for s in get(client, model="deepseek-r1").json()["speeds"]}
    assert fits <= {"comfortable", "tight", "offload", "none"} and "none" in fits


def test_a_custom_machine_takes_fp16_tflops_for_prompt_speed(client, catalog):
    base = {"model": "llama-3.1-8b-instruct", "bandwidth_gbps": 1008, "memory_gb": 24,
            "kind": "gpu"}  # fmt: skip
    without = get(client, **base).json()["speeds"][0]
    with_tflops = get(client, **base, fp16_tflops=165).json()["speeds"][0]
    assert without["prefill_tokens_per_s"] is None
    assert with_tflops["prefill_tokens_per_s"] > 0
    assert with_tflops["tokens_per_s"] == without["tokens_per_s"]


def test_a_custom_machine_takes_sockets_and_refuses_them_alone(client, catalog):
    base = {"model": "llama-3.1-8b-instruct", "bandwidth_gbps": 460.8, "memory_gb": 768,
            "kind": "cpu"}  # fmt: skip
    assert get(client, **base, sockets=2).status_code == 200
    assert get(client, **base, sockets=3).json()["error"]["field"] == "sockets"
    alone = get(client, model="llama-3.1-8b-instruct", fp16_tflops=10)
    assert alone.status_code == 400 and alone.json()["error"]["field"] == "fp16_tflops"


def test_post_with_a_build_answers_its_placement_like_the_engine(client, hardware):
    model = services.find_model("deepseek-r1")
    body = {"config": model.config, "build": R1_RIG, "quant": "Q4_K_M"}
    data = post(client, body).json()["build"]
    placed = _placed("deepseek-r1", services.build_from_request(R1_RIG, hardware))
    assert data["fit"] == placed.fit == "offload"
    assert data["mode"] == "expert_offload"
    assert data["tokens_per_s"] == round(placed.tokens_per_s, 2)
    assert data["gpu_bytes"] == list(placed.gpu_bytes) and len(data["gpu_bytes"]) == 2
    assert data["host_bytes"] == placed.host_bytes
    assert data["prefill_tokens_per_s"] and data["time_to_first_token_s"]
    assert "--n-cpu-moe" in data["llama_cpp_command"]


def test_a_build_that_fits_several_gpus_is_multi_gpu(client, catalog):
    model = services.find_model("llama-3.1-8b-instruct")
    data = post(client, {"config": model.config, "build": R1_RIG}).json()["build"]
    assert data["mode"] == "multi_gpu" and data["fit"] == "comfortable"


def test_a_custom_host_and_custom_gpu_build(client, catalog):
    model = services.find_model("llama-3.1-8b-instruct")
    build = {
        "host": {"kind": "cpu", "bandwidth_gbps": 460.8, "memory_gb": 768, "sockets": 1,
                 "fp16_tflops": 10},
        "gpus": [{"bandwidth_gbps": 1008, "memory_gb": 24, "fp16_tflops": 165, "count": 1}],
    }  # fmt: skip
    data = post(client, {"config": model.config, "build": build}).json()["build"]
    assert data["mode"] == "gpu" and data["prefill_tokens_per_s"] > 0


@pytest.mark.parametrize(
    "build,field",
    [
        ({**R1_RIG, "gpus": [{"profile": "rtx-3090", "count": 0}]}, "build.gpus[0].count"),
        ({**R1_RIG, "gpus": [{"profile": "rtx-3090", "count": 100}]}, "build.gpus[0].count"),
        ({**R1_RIG, "gpus": [{"profile": "rtx-9999"}]}, "build.gpus[0].profile"),
        ({"host": {"profile": "am5-ryzen-9000", "memory_gb": 4096}}, "build.host.memory_gb"),
        ({"host": {"profile": "no-such-host"}}, "build.host.profile"),
        ({"gpus": []}, "build.host"),
    ],
)
def test_post_a_bad_build_is_a_400_naming_the_field(client, catalog, build, field):
    model = services.find_model("llama-3.1-8b-instruct")
    response = post(client, {"config": model.config, "build": build})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_get_takes_the_build_as_query_fields_with_repeatable_gpus(client, hardware):
    data = get_query(client, "model=deepseek-r1&host=sp5-epyc-9004-1p&ram_gb=768"
                             "&gpu=rtx-3090:2").json()["build"]  # fmt: skip
    placed = _placed("deepseek-r1", services.build_from_request(R1_RIG, hardware))
    assert data["tokens_per_s"] == round(placed.tokens_per_s, 2)
    two = get_query(client, "model=llama-3.1-8b-instruct&gpu=rtx-3090&gpu=rtx-4090&ram_gb=64")
    assert len(two.json()["build"]["gpu_bytes"]) == 2
    preset = get(client, model="deepseek-r1", build="mac-studio-m3-ultra-512gb").json()["build"]
    assert preset["mode"] == "unified" and preset["fit"] == "comfortable"


@pytest.mark.parametrize(
    "query,field",
    [
        ("gpu=rtx-3090:0", "gpu"),
        ("gpu=rtx-3090:100", "gpu"),
        ("gpu=rtx-9999&ram_gb=64", "gpu"),
        ("host=am5-ryzen-9000&ram_gb=4096", "ram_gb"),
        ("host=nowhere&ram_gb=64", "host"),
        ("build=no-such-rig", "build"),
    ],
)
def test_get_a_bad_build_is_a_400_naming_the_query_field(client, catalog, query, field):
    response = get_query(client, "model=deepseek-r1&" + query)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_without_a_build_the_answer_has_none(client, catalog):
    assert get(client, model="deepseek-r1").json()["build"] is None


def get_query(client, query):
    return client.get(f"{ESTIMATE}?{query}")
