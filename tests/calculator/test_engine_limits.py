"""Pasted configs cannot overflow an estimate or make the engine work for long: every
dimension is bounded, lists are bounded and checked, and anything else is an EngineError
that names the field."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calculator.engine.architecture import LIMITS, MAX_LIST, parse_config
from calculator.engine.kv_cache import kv_cache
from calculator.engine.quant import weights_bytes
from calculator.engine.types import Architecture, EngineError
from tests.calculator.builders import deepseek_r1_config, llama3_8b_config

MLA_FIELDS = ["kv_lora_rank", "q_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim",
              "v_head_dim", "n_shared_experts", "moe_intermediate_size", "n_routed_experts",
              "num_experts_per_tok", "first_k_dense_replace", "hidden_size", "vocab_size",
              "num_attention_heads", "num_hidden_layers", "max_position_embeddings"]  # fmt: skip


def llama4_config(**overrides):
    """meta-llama/Llama-4-Scout-17B-16E-Instruct's text_config, the fields that size it."""
    config = {
        "model_type": "llama4_text", "hidden_size": 5120, "intermediate_size": 8192,
        "intermediate_size_mlp": 16384, "num_attention_heads": 40, "num_key_value_heads": 8,
        "head_dim": 128, "num_hidden_layers": 48, "vocab_size": 202048,
        "num_local_experts": 16, "num_experts_per_tok": 1, "interleave_moe_layer_step": 1,
        "max_position_embeddings": 10485760,
    }  # fmt: skip
    config.update(overrides)
    return config


@pytest.mark.parametrize("field", MLA_FIELDS)
@pytest.mark.parametrize("value", [10**300, 10**305, float("inf"), float("nan"), 1e300])
def test_absurd_dimension_is_refused_naming_the_field(field, value):
    with pytest.raises(EngineError) as err:
        parse_config(deepseek_r1_config(**{field: value}))
    assert err.value.field == field


@pytest.mark.parametrize("field", ["intermediate_size_mlp", "num_local_experts", "head_dim"])
def test_llama4_dimensions_are_bounded_too(field):
    with pytest.raises(EngineError) as err:
        parse_config(llama4_config(**{field: 10**300}))
    assert err.value.field == field


def test_a_thousand_layers_with_a_huge_moe_layers_list_is_refused_fast():
    config = llama4_config(num_hidden_layers=1024, moe_layers=list(range(130_000)))
    with pytest.raises(EngineError) as err:
        parse_config(config)
    assert err.value.field == "moe_layers"
    assert f"{MAX_LIST - 16:,}" in str(err.value)


def test_moe_layers_entries_must_be_layers_of_this_model():
    with pytest.raises(EngineError) as err:
        parse_config(llama4_config(moe_layers=[1, 3, 10**300]))
    assert err.value.field == "moe_layers"


def test_every_field_within_its_bound_can_still_be_too_large_together():
    config = llama3_8b_config(
        num_hidden_layers=LIMITS["num_hidden_layers"],
        hidden_size=LIMITS["hidden_size"],
        intermediate_size=LIMITS["intermediate_size"],
        num_attention_heads=64,
        num_key_value_heads=8,
    )
    with pytest.raises(EngineError) as err:
        parse_config(config)
    assert err.value.field == "config"
    assert "parameters" in str(err.value)


def test_heads_without_width_are_refused():
    with pytest.raises(EngineError) as err:
        parse_config(llama3_8b_config(hidden_size=16, num_attention_heads=32,
                                      num_key_value_heads=8))  # fmt: skip
    assert err.value.field == "head_dim"


# --- property: any value in any field either sizes or names the field -----------------

values = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.integers(min_value=10**6, max_value=10**320),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=8),
    st.lists(st.integers(min_value=-5, max_value=200), max_size=6),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)

BASES = {
    "llama": llama3_8b_config(num_hidden_layers=4, vocab_size=1024),
    "deepseek": deepseek_r1_config(num_hidden_layers=5, n_routed_experts=16,
                                   num_experts_per_tok=2, vocab_size=1024),
    "dsa": deepseek_r1_config(model_type="deepseek_v32", num_hidden_layers=4,
                              n_routed_experts=16, num_experts_per_tok=2, vocab_size=1024,
                              index_n_heads=8, index_head_dim=128, index_topk=2048),
    "llama4": llama4_config(num_hidden_layers=4, vocab_size=1024),
    "qwen3_next": {
        "model_type": "qwen3_next", "hidden_size": 256, "num_hidden_layers": 8,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64,
        "vocab_size": 1024, "num_experts": 8, "num_experts_per_tok": 2,
        "moe_intermediate_size": 128, "shared_expert_intermediate_size": 128,
        "full_attention_interval": 4, "linear_num_key_heads": 2, "linear_num_value_heads": 4,
        "linear_key_head_dim": 32, "linear_value_head_dim": 32, "linear_conv_kernel_dim": 4,
        "max_position_embeddings": 262144,
    },
    "gemma3": {
        "model_type": "gemma3_text", "hidden_size": 256, "intermediate_size": 512,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64,
        "num_hidden_layers": 12, "vocab_size": 1024, "sliding_window": 512,
        "max_position_embeddings": 131072,
    },
}  # fmt: skip
EXTRA_KEYS = ["moe_layers", "mlp_only_layers", "layer_types", "no_rope_layers", "rope_scaling",
              "quantization_config", "text_config", "tie_word_embeddings", "architectures",
              "torch_dtype", "model_type", "sliding_window_pattern"]  # fmt: skip


@st.composite
def mutated_configs(draw):
    base = dict(BASES[draw(st.sampled_from(sorted(BASES)))])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        key = draw(st.sampled_from(sorted(base) + EXTRA_KEYS))
        base[key] = draw(values)
    return base


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(mutated_configs())
def test_any_config_value_sizes_or_raises_an_engine_error_naming_a_field(config):
    try:
        arch = parse_config(config)
    except EngineError as err:
        assert isinstance(err.field, str) and err.field
        return
    assert isinstance(arch, Architecture)
    assert 0 < arch.total_params < 10**14
    assert 0 <= arch.active_params <= arch.total_params
    try:
        size = weights_bytes(arch, "Q4_K_M").total_bytes
        kv = kv_cache(arch, 8192).total_bytes
    except EngineError as err:
        assert err.field
        return
    assert math.isfinite(float(size)) and math.isfinite(float(kv))
