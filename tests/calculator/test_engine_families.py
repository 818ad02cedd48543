"""Family-specific behaviour of the parser and KV cache, on small configs of each shape."""

import pytest

from calculator.engine.architecture import parse_config
from calculator.engine.kv_cache import kv_cache
from calculator.engine.quant import weights_bytes


def gemma3_text(**kw):
    config = {
        "model_type": "gemma3_text", "hidden_size": 256, "intermediate_size": 512,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64,
        "num_hidden_layers": 12, "vocab_size": 1024, "sliding_window": 512,
        "max_position_embeddings": 131072,
    }  # fmt: skip
    config.update(kw)
    return config


def qwen3_next(**kw):
    config = {
        "model_type": "qwen3_next", "hidden_size": 256, "num_hidden_layers": 8,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64,
        "vocab_size": 1024, "num_experts": 8, "num_experts_per_tok": 2,
        "moe_intermediate_size": 128, "shared_expert_intermediate_size": 128,
        "full_attention_interval": 4, "linear_num_key_heads": 2, "linear_num_value_heads": 4,
        "linear_key_head_dim": 32, "linear_value_head_dim": 32, "linear_conv_kernel_dim": 4,
        "max_position_embeddings": 262144,
    }  # fmt: skip
    config.update(kw)
    return config


def test_gemma3_has_one_global_layer_in_six_and_five_sliding():
    kinds = [layer.kind for layer in parse_config(gemma3_text()).kv_layers]
    assert kinds == (["sliding"] * 5 + ["full"]) * 2


def test_gemma3_multimodal_config_is_sized_from_its_text_config():
    wrapped = {"model_type": "gemma3", "text_config": gemma3_text(), "torch_dtype": "bfloat16"}
    assert parse_config(wrapped).total_params == parse_config(gemma3_text()).total_params


def test_sliding_layers_stop_growing_past_window_plus_ubatch():
    arch = parse_config(gemma3_text())
    long, longer = kv_cache(arch, 65536), kv_cache(arch, 131072)
    full_layers = 2
    per_cell = 2 * 2 * 64 * 2  # K+V, 2 KV heads x 64 dims, f16
    assert longer.total_bytes - long.total_bytes == full_layers * per_cell * 65536


def test_explicit_layer_types_override_the_pattern():
    types = ["full_attention"] * 12
    kinds = {layer.kind for layer in parse_config(gemma3_text(layer_types=types)).kv_layers}
    assert kinds == {"full"}


def test_linear_attention_layers_hold_a_fixed_state_whatever_the_context():
    arch = parse_config(qwen3_next())
    short, long = kv_cache(arch, 1024), kv_cache(arch, 262144)
    assert short.state_bytes == long.state_bytes > 0
    assert sum(layer.kind == "recurrent" for layer in arch.kv_layers) == 6


def test_gpt_oss_experts_stay_mxfp4_at_every_quant():
    config = {
        "model_type": "gpt_oss", "hidden_size": 256, "intermediate_size": 256,
        "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
        "head_dim": 64, "vocab_size": 1024, "num_local_experts": 8, "num_experts_per_tok": 2,
        "sliding_window": 128, "max_position_embeddings": 131072,
        "quantization_config": {"quant_method": "mxfp4"},
    }  # fmt: skip
    arch = parse_config(config)
    q4 = weights_bytes(arch, "Q4_K_M")
    q8 = weights_bytes(arch, "Q8_0")
    assert q4.expert_bytes == q8.expert_bytes
    expert_weights = sum(t.n_elements for t in arch.tensors if t.is_expert and not t.is_bias)
    assert q4.by_type["MXFP4"] == expert_weights * 17 // 32  # 17 bytes per 32 weights


@pytest.mark.parametrize("model_type", ["mistral", "mixtral", "qwen2", "qwen3", "phi3"])
def test_llama_like_families_parse_and_count_parameters(model_type):
    config = {
        "model_type": model_type, "hidden_size": 256, "intermediate_size": 512,
        "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2,
        "vocab_size": 1024, "max_position_embeddings": 4096, "num_local_experts": 4,
        "num_experts_per_tok": 2,
    }  # fmt: skip
    if model_type != "mixtral":
        del config["num_local_experts"], config["num_experts_per_tok"]
    arch = parse_config(config)
    assert arch.total_params > 2 * 256 * 1024
    assert arch.is_moe == (model_type == "mixtral")
