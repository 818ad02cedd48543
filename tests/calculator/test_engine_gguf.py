"""The engine agrees with llama.cpp's own gguf package, and quant names read as users type
them: block sizes, file types, tensor names, canonical spellings and the MXFP4 release."""

import json
from pathlib import Path

import pytest
from gguf.constants import (
    GGML_QUANT_SIZES,
    MODEL_ARCH_NAMES,
    MODEL_TENSORS,
    TENSOR_NAMES,
    GGMLQuantizationType,
    LlamaFileType,
)

from calculator.engine.architecture import parse_config
from calculator.engine.kv_cache import KV_TYPES
from calculator.engine.quant import (
    GGML_TYPES,
    PRESETS,
    RELEASE_TYPES,
    canonical_quant,
    default_quant,
    file_breakdown,
    get_preset,
    resolve_quant,
    tensor_type,
    weights_bytes,
)
from calculator.engine.types import EngineError
from tests.calculator.builders import llama3_8b_config

MODELS_DIR = Path(__file__).resolve().parents[2] / "calculator" / "data" / "models"

# Tensor names llama.cpp registered after the gguf release on PyPI: present in the
# gguf-py of ggml-org/llama.cpp 0c1e57098 (gguf-py/gguf/constants.py, MODEL_TENSORS)
# and loaded by src/models/qwen35.cpp / qwen35moe.cpp / nemotron-h.cpp there. Qwen3-Next's
# multi-token-prediction layer: conversion/qwen.py ``Qwen3NextModel(_QwenMtpMixin, ...)``
# there (see calculator/engine/architecture.py ``_qwen3_next``).
NEWER_THAN_PYPI = {
    ("qwen3next", "nextn"), ("qwen35", "nextn"), ("qwen35moe", "nextn"),
    ("nemotron_h_moe", "nextn"), ("nemotron_h_moe", "post_attention_norm"),
}  # fmt: skip


def gpt_oss_config(**kw):
    config = {
        "model_type": "gpt_oss", "hidden_size": 256, "intermediate_size": 256,
        "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 64, "vocab_size": 1024, "num_local_experts": 8, "num_experts_per_tok": 2,
        "sliding_window": 128, "max_position_embeddings": 131072,
        "quantization_config": {"quant_method": "mxfp4"},
    }  # fmt: skip
    config.update(kw)
    return config


def catalog():
    for path in sorted(MODELS_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        yield data["slug"], parse_config(data["config"])


# --- the gguf package --------------------------------------------------------------


def test_block_sizes_are_the_gguf_packages():
    for name, t in GGML_TYPES.items():
        assert (t.block_size, t.type_size) == GGML_QUANT_SIZES[GGMLQuantizationType[name]]


def test_kv_cache_types_agree_with_the_gguf_package():
    for name, block in KV_TYPES.items():
        assert block == GGML_QUANT_SIZES[GGMLQuantizationType[name.upper()]], name


def test_every_preset_is_a_llama_cpp_file_type():
    names = {f.name for f in LlamaFileType}
    for name in PRESETS:
        assert f"MOSTLY_{name}" in names or (name == "F32" and "ALL_F32" in names), name


@pytest.mark.parametrize(("slug", "arch"), list(catalog()), ids=[s for s, _ in catalog()])
def test_every_tensor_name_is_one_llama_cpp_registers_for_the_architecture(slug, arch):
    by_name = {v: k for k, v in MODEL_ARCH_NAMES.items()}
    if arch.gguf_arch not in by_name:
        pytest.skip(f"{arch.gguf_arch} is newer than the gguf package on PyPI")
    allowed = {TENSOR_NAMES[t] for t in MODEL_TENSORS[by_name[arch.gguf_arch]]}
    unknown = set()
    for t in arch.tensors:
        # ".scale": Gemma 4's router and per-expert scales (src/models/gemma4.cpp)
        suffixes = (".weight", ".bias", ".scale")
        stem = t.name.rsplit(".", 1)[0] if t.name.endswith(suffixes) else t.name
        if t.layer is not None:
            stem = stem.replace(f"blk.{t.layer}.", "blk.{bid}.", 1)
        newer = (arch.gguf_arch, stem.split(".")[2] if stem.count(".") >= 2 else "")
        if stem not in allowed and newer not in NEWER_THAN_PYPI:
            unknown.add(stem)
    assert not unknown, (slug, sorted(unknown))


def test_a_published_files_tensor_list_sizes_like_the_prediction():
    arch = parse_config(llama3_8b_config(num_hidden_layers=4, vocab_size=1024))
    infos = [(t.name, tensor_type("Q4_K_M", t, arch), t.shape) for t in arch.tensors]
    predicted = weights_bytes(arch, "Q4_K_M")
    found = file_breakdown("Q4_K_M", infos)
    assert found.total_bytes == predicted.total_bytes
    assert found.by_type == predicted.by_type
    assert found.layer_bytes == predicted.layer_bytes
    assert found.n_params == sum(t.n_elements for t in arch.tensors)
    numeric = [(n, int(GGMLQuantizationType[ty]), s) for n, ty, s in infos]
    assert file_breakdown("Q4_K_M", numeric).total_bytes == predicted.total_bytes


@pytest.mark.parametrize("bad", [("x.weight", "Q9_K", (256, 2)), ("x.weight", "Q4_K", (100, 2))])
def test_a_malformed_tensor_info_names_the_tensor(bad):
    with pytest.raises(EngineError) as err:
        file_breakdown("odd", [bad])
    assert err.value.field == "tensor"


# --- names as users write them ------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [("q4_k_m", "Q4_K_M"), (" Q4_K_M ", "Q4_K_M"), ("iq2_xxs", "IQ2_XXS"), ("mxfp4", "MXFP4"),
     ("Mxfp4_Moe", "MXFP4_MOE"), ("bf16", "BF16")],
)  # fmt: skip
def test_quant_names_are_case_insensitive_with_a_canonical_echo(typed, canonical):
    assert canonical_quant(typed) == canonical


@pytest.mark.parametrize("bad", ["Q4_K_X", "", "q4km", 4])
def test_an_unknown_quant_names_the_field(bad):
    with pytest.raises(EngineError) as err:
        canonical_quant(bad)
    assert err.value.field == "quant"


def test_mxfp4_is_the_official_release_of_models_released_in_it():
    arch = parse_config(gpt_oss_config())
    assert resolve_quant(arch, "mxfp4") == "MXFP4_MOE"
    assert weights_bytes(arch, "MXFP4").total_bytes == weights_bytes(arch, "MXFP4_MOE").total_bytes
    assert get_preset("MXFP4").name == "MXFP4_MOE"
    assert default_quant(arch) == "MXFP4"
    assert RELEASE_TYPES["MXFP4"].source.startswith("https://")


def test_mxfp4_for_a_model_released_in_bf16_is_an_error_naming_quant():
    arch = parse_config(llama3_8b_config(num_hidden_layers=2))
    with pytest.raises(EngineError) as err:
        weights_bytes(arch, "MXFP4")
    assert err.value.field == "quant"
    assert "MXFP4_MOE" in str(err.value)
    assert weights_bytes(arch, "MXFP4_MOE").total_bytes > 0
    assert default_quant(arch) == "Q4_K_M"
