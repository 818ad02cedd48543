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
