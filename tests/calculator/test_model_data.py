"""The reviewed model files: breadth, the quant each page starts on, documented long
context, and llama.cpp's support, all checked through the engine."""

import hashlib
import json
import re
from pathlib import Path

import pytest

from calculator.engine import context
from calculator.engine.architecture import parse_config
from calculator.engine.quant import canonical_quant, default_quant, resolve_quant

MODELS_DIR = Path(__file__).resolve().parents[2] / "calculator" / "data" / "models"
FILES = sorted(MODELS_DIR.glob("*.json"))
DATA = {path.stem: json.loads(path.read_text()) for path in FILES}
HASHED = {slug: data for slug, data in DATA.items() if "config_sha256" in data}


def test_the_catalogue_holds_at_least_sixty_models_with_unique_names():
    assert len(DATA) >= 60
    assert all(slug == data["slug"] for slug, data in DATA.items())
    repos = [data["hf_repo"].lower() for data in DATA.values()]
    assert len(set(repos)) == len(repos)


@pytest.mark.parametrize("slug", sorted(DATA))
def test_default_quant_is_the_official_release_or_q4_k_m(slug):
    data = DATA[slug]
    arch = parse_config(data["config"])
    quant = data["default_quant"]
    assert canonical_quant(quant) == quant
    resolve_quant(arch, quant)  # valid for this model
    assert quant == default_quant(arch)
    if quant != "Q4_K_M":
        assert data["default_quant_source"].startswith("https://")


@pytest.mark.parametrize("slug", sorted(DATA))
def test_documented_long_context_reaches_past_the_config_only_with_rope_flags(slug):
    data = DATA[slug]
    arch = context.with_documented(parse_config(data["config"]), data.get("long_context"))
    limits = context.limits(arch)
    assert limits.native <= limits.extended
    assert context.rope_flags(arch, limits.native) == ()
    if limits.extended > limits.native:
        assert context.rope_flags(arch, limits.extended)


def test_qwen3_full_context_is_131072_with_yarn_not_max_position_embeddings():
    data = DATA["qwen3-30b-a3b"]
    arch = context.with_documented(parse_config(data["config"]), data["long_context"])
    assert data["config"]["max_position_embeddings"] == 40960
    assert context.limits(arch).extended == 131072
    assert "--yarn-orig-ctx" in context.rope_flags(arch, 131072)


@pytest.mark.parametrize("slug", sorted(DATA))
def test_every_catalogued_architecture_runs_in_mainline_llama_cpp(slug):
    arch = parse_config(DATA[slug]["config"])
    assert arch.llama_cpp_status == "supported", arch.llama_cpp_note
    assert "@0c1e57098" in arch.llama_cpp_note


def test_summaries_leave_active_parameter_counts_to_the_engine():
    stated = re.compile(r"\d+(\.\d+)?\s*B\s+active", re.IGNORECASE)
    assert [slug for slug, d in DATA.items() if stated.search(d["summary"])] == []


def test_gpt_oss_active_count_is_the_model_cards_5_1b():
    arch = parse_config(DATA["gpt-oss-120b"]["config"])
    # OpenAI's card: 5.13B active (4 of 128 experts, attention, unembedding); the input
    # embedding table (0.58B) is not computed with, so it does not count.
    assert round(arch.active_params / 1e9, 2) == 5.13


def test_configs_rebuilt_from_a_copy_carry_the_hash_of_the_published_file():
    assert len(HASHED) >= 5


@pytest.mark.parametrize("slug", sorted(HASHED))
def test_a_hashed_config_is_the_published_file_byte_for_byte(slug):
    data = HASHED[slug]
    # transformers writes config.json as json.dumps(indent=2) (Qwen3.5: indent=4), with or
    # without a final newline
    digests = {
        hashlib.sha256(
            (json.dumps(data["config"], indent=n, ensure_ascii=False) + end).encode()
        ).hexdigest()
        for n in (2, 4)
        for end in ("", "\n")
    }
    assert data["config_sha256"] in digests
    assert "github:dinoml/model-configs-rs" in data["source"]  # where the hash is recorded
