"""Family-specific behaviour of the parser and KV cache, on small configs of each shape."""

import pytest

from calculator.engine.architecture import LLAMA_CPP_SUPPORT, llama_cpp_support, parse_config
from calculator.engine.kv_cache import kv_cache
from calculator.engine.quant import native_weights_bytes, weights_bytes
from calculator.engine.types import EngineError
from tests.calculator.builders import deepseek_r1_config


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


def test_gemma3_sparse_multimodal_config_takes_transformers_defaults():
    # google/gemma-3-4b-it's text_config lists only what differs from Gemma3TextConfig
    sparse = {"hidden_size": 2560, "intermediate_size": 10240, "model_type": "gemma3_text",
              "num_hidden_layers": 34, "sliding_window": 1024,
              "rope_scaling": {"factor": 8.0, "rope_type": "linear"}}  # fmt: skip
    arch = parse_config({"model_type": "gemma3", "text_config": sparse})
    shapes = {t.name: t.shape for t in arch.tensors}
    assert shapes["token_embd.weight"] == (2560, 262_208)
    assert shapes["blk.0.attn_q.weight"] == (2560, 8 * 256)
    assert shapes["blk.0.attn_k.weight"] == (2560, 4 * 256)
    assert arch.n_ctx_train == 131_072
    explicit = {**sparse, "vocab_size": 262_208, "num_attention_heads": 8,
                "num_key_value_heads": 4, "head_dim": 256,
                "max_position_embeddings": 131_072}  # fmt: skip
    assert parse_config(explicit).total_params == arch.total_params


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


# --- families added with llama.cpp 0c1e57098 ------------------------------------------


def v32_config(**kw):
    """deepseek-ai/DeepSeek-V3.2 config.json, the fields that size it."""
    fields = {"model_type": "deepseek_v32", "architectures": ["DeepseekV32ForCausalLM"],
              "index_n_heads": 64, "index_head_dim": 128, "index_topk": 2048}  # fmt: skip
    return deepseek_r1_config(**{**fields, **kw})


def test_v32_adds_the_lightning_indexer_to_every_layer():
    v32, r1 = parse_config(v32_config()), parse_config(deepseek_r1_config())
    shapes = {t.name: t.shape for t in v32.tensors}
    assert shapes["blk.5.indexer.proj.weight"] == (7168, 64)
    assert shapes["blk.5.indexer.attn_k.weight"] == (7168, 128)
    assert shapes["blk.5.indexer.attn_q_b.weight"] == (1536, 64 * 128)
    assert shapes["blk.5.indexer.k_norm.bias"] == (128,)
    per_layer = 128 + 128 + 7168 * 64 + 7168 * 128 + 1536 * 64 * 128
    assert v32.total_params - r1.total_params == 61 * per_layer
    assert (v32.gguf_arch, v32.llama_cpp_status) == ("deepseek32", "supported")


def test_v32_keeps_its_mtp_layer_in_the_file_but_not_in_the_count_or_the_cache():
    arch = parse_config(v32_config())
    assert arch.n_layer == 62 and arch.n_mtp_layers == 1
    names = {t.name for t in arch.tensors if t.layer == 61}
    assert {"blk.61.nextn.eh_proj.weight", "blk.61.nextn.embed_tokens.weight",
            "blk.61.nextn.shared_head_head.weight"} <= names  # fmt: skip
    assert len(arch.kv_layers) == 61
    mtp = sum(t.n_elements for t in arch.tensors if t.layer == 61)
    assert sum(t.n_elements for t in arch.tensors) - arch.total_params == mtp


def test_glm5_is_glm_dsa_with_wider_mla_heads():
    config = v32_config(model_type="glm_moe_dsa", hidden_size=6144, num_attention_heads=64,
                        num_key_value_heads=64, q_lora_rank=2048, qk_nope_head_dim=192,
                        v_head_dim=256, index_n_heads=32, num_hidden_layers=78,
                        intermediate_size=12288, vocab_size=154880)  # fmt: skip
    arch = parse_config(config)
    shapes = {t.name: t.shape for t in arch.tensors}
    assert arch.gguf_arch == "glm-dsa"
    assert shapes["blk.0.attn_k_b.weight"] == (192, 512, 64)
    assert shapes["blk.0.attn_v_b.weight"] == (512, 256, 64)
    assert "blk.78.nextn.embed_tokens.weight" not in shapes


def test_glm52_keeps_indexers_only_on_its_full_layers():
    types = (["full"] * 3 + ["shared"] * 3) * 2
    config = v32_config(model_type="glm_moe_dsa", num_hidden_layers=12, indexer_types=types)
    arch = parse_config(config)
    with_indexer = {t.layer for t in arch.tensors if ".indexer." in t.name}
    assert with_indexer == {0, 1, 2, 6, 7, 8}  # the MTP layer (12) shares the trunk's index
    assert [layer.index_width for layer in arch.kv_layers] == [128 if t == "full" else 0
                                                               for t in types]  # fmt: skip
    every = parse_config(v32_config(model_type="glm_moe_dsa", num_hidden_layers=12))
    per_cell = 2 * 128  # one f16 indexer key
    assert (kv_cache(every, 4096).total_bytes - kv_cache(arch, 4096).total_bytes
            == 6 * per_cell * 4096)  # fmt: skip


def test_indexer_types_must_cover_every_layer():
    with pytest.raises(EngineError) as err:
        parse_config(v32_config(model_type="glm_moe_dsa", indexer_types=["full"] * 3))
    assert err.value.field == "indexer_types"


def test_minimax_m2_norms_q_and_k_over_all_heads_and_routes_with_a_bias():
    config = {
        "model_type": "minimax_m2", "hidden_size": 3072, "num_hidden_layers": 2,
        "num_attention_heads": 48, "num_key_value_heads": 8, "head_dim": 128,
        "intermediate_size": 1536, "num_local_experts": 256, "num_experts_per_tok": 8,
        "vocab_size": 200064, "max_position_embeddings": 196608,
    }  # fmt: skip
    arch = parse_config(config)
    shapes = {t.name: t.shape for t in arch.tensors}
    assert shapes["blk.0.attn_q_norm.weight"] == (48 * 128,)
    assert shapes["blk.0.attn_k_norm.weight"] == (8 * 128,)
    assert shapes["blk.0.exp_probs_b.bias"] == (256,)
    assert not any("shexp" in name for name in shapes)
    assert (arch.gguf_arch, arch.n_expert, arch.n_expert_used) == ("minimax-m2", 256, 8)


def test_mistral3_is_sized_from_its_text_config_as_llama_cpp_mistral3():
    text = {
        "model_type": "ministral3", "hidden_size": 512, "intermediate_size": 1024,
        "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 64,
        "num_hidden_layers": 2, "vocab_size": 1024, "max_position_embeddings": 393216,
        "rope_parameters": {"factor": 48.0, "original_max_position_embeddings": 8192,
                            "rope_type": "yarn"},
    }  # fmt: skip
    wrapped = {"model_type": "mistral3", "text_config": text, "tie_word_embeddings": False,
               "vision_config": {"hidden_size": 1024, "num_hidden_layers": 24}}  # fmt: skip
    arch = parse_config(wrapped)
    plain = parse_config({**text, "model_type": "mistral"})
    assert arch.gguf_arch == "mistral3" and plain.gguf_arch == "llama"
    assert arch.total_params == plain.total_params
    assert arch.rope_scaling is not None
    assert (arch.rope_scaling.method, arch.rope_scaling.factor) == ("yarn", 48.0)


def qwen35_moe_text(**kw):
    config = {
        "model_type": "qwen3_5_moe_text", "hidden_size": 256, "num_hidden_layers": 8,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64,
        "vocab_size": 1024, "num_experts": 8, "num_experts_per_tok": 2,
        "moe_intermediate_size": 128, "shared_expert_intermediate_size": 128,
        "layer_types": (["linear_attention"] * 3 + ["full_attention"]) * 2,
        "linear_num_key_heads": 2, "linear_num_value_heads": 4, "linear_key_head_dim": 32,
        "linear_value_head_dim": 32, "linear_conv_kernel_dim": 4, "mtp_num_hidden_layers": 1,
        "max_position_embeddings": 262144,
    }  # fmt: skip
    config.update(kw)
    return config


def test_qwen35_splits_beta_and_alpha_and_keeps_one_mtp_layer():
    arch = parse_config({"model_type": "qwen3_5_moe", "text_config": qwen35_moe_text()})
    names = {t.name for t in arch.tensors}
    assert arch.gguf_arch == "qwen35moe"
    assert {"blk.0.ssm_beta.weight", "blk.0.ssm_alpha.weight", "blk.0.attn_qkv.weight",
            "blk.0.attn_gate.weight", "blk.8.nextn.eh_proj.weight"} <= names  # fmt: skip
    assert "blk.0.ssm_ba.weight" not in names  # Qwen3-Next's fused beta/alpha
    assert [layer.kind for layer in arch.kv_layers] == (["recurrent"] * 3 + ["full"]) * 2


def test_qwen35_dense_has_an_ffn_in_every_layer():
    text = qwen35_moe_text(model_type="qwen3_5_text", intermediate_size=512)
    for key in ("num_experts", "num_experts_per_tok", "moe_intermediate_size",
                "shared_expert_intermediate_size"):  # fmt: skip
        del text[key]
    arch = parse_config({"model_type": "qwen3_5", "text_config": text})
    assert arch.gguf_arch == "qwen35" and not arch.is_moe
    assert sum(t.role == "ffn_up" for t in arch.tensors) == 9


def test_kimi_int4_release_is_sized_from_its_text_config_with_int4_experts():
    weights = {"num_bits": 4, "type": "int", "group_size": 32, "strategy": "group"}
    int4 = {"quant_method": "compressed-tensors", "format": "pack-quantized",
            "config_groups": {"group_0": {"weights": weights}}}  # fmt: skip
    text = deepseek_r1_config(model_type="kimi_k2", quantization_config=int4,
                              num_hidden_layers=4, first_k_dense_replace=1)  # fmt: skip
    arch = parse_config({"model_type": "kimi_k25", "text_config": text})
    assert (arch.native_dtype, arch.gguf_arch, arch.model_type) == ("int4", "deepseek2", "kimi_k25")
    experts = sum(t.n_elements for t in arch.tensors if t.is_expert and not t.is_bias)
    rest = sum(t.n_elements for t in arch.tensors if not t.is_expert)
    assert native_weights_bytes(arch) == experts // 32 * 18 + 2 * rest


def test_qwen3_vl_language_model_has_qwen3_tensors():
    text = {"model_type": "qwen3_vl_text", "hidden_size": 256, "intermediate_size": 512,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64,
            "num_hidden_layers": 2, "vocab_size": 1024,
            "max_position_embeddings": 262144}  # fmt: skip
    arch = parse_config({"model_type": "qwen3_vl", "text_config": text})
    assert arch.gguf_arch == "qwen3vl"
    assert arch.total_params == parse_config({**text, "model_type": "qwen3"}).total_params


def test_an_architecture_llama_cpp_lacks_says_so_with_a_source():
    status, note = llama_cpp_support("rwkv9")
    assert status == "unsupported"
    assert "github:ggml-org/llama.cpp" in note
    assert all(s == "supported" for s, _ in LLAMA_CPP_SUPPORT.values())


def gemma4_text(**kw):
    """google/gemma-4-26B-A4B's text_config, shrunk: 5 sliding layers then a global one."""
    config = {
        "model_type": "gemma4_text", "hidden_size": 256, "intermediate_size": 128,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64,
        "global_head_dim": 128, "num_global_key_value_heads": 1, "attention_k_eq_v": True,
        "num_hidden_layers": 12, "vocab_size": 1024, "sliding_window": 512,
        "layer_types": (["sliding_attention"] * 5 + ["full_attention"]) * 2,
        "enable_moe_block": True, "num_experts": 8, "top_k_experts": 2,
        "moe_intermediate_size": 32, "max_position_embeddings": 262144,
        "hidden_size_per_layer_input": 0, "num_kv_shared_layers": 0,
    }  # fmt: skip
    config.update(kw)
    return config


def test_gemma4_global_layers_are_wider_and_reuse_k_as_v():
    arch = parse_config({"model_type": "gemma4", "text_config": gemma4_text()})
    shapes = {t.name: t.shape for t in arch.tensors}
    assert arch.gguf_arch == "gemma4" and arch.llama_cpp_status == "supported"
    assert shapes["blk.0.attn_q.weight"] == (256, 4 * 64)
    assert shapes["blk.5.attn_q.weight"] == (256, 4 * 128)
    assert shapes["blk.5.attn_k.weight"] == (256, 1 * 128)
    assert "blk.0.attn_v.weight" in shapes and "blk.5.attn_v.weight" not in shapes
    assert shapes["rope_freqs.weight"] == (64,)
    kv = arch.kv_layers
    assert (kv[0].kind, kv[0].window, kv[0].k_width) == ("sliding", 512, 2 * 64)
    assert (kv[5].kind, kv[5].k_width, kv[5].v_width) == ("full", 128, 128)  # V still cached


def test_gemma4_moe_adds_routed_experts_beside_the_dense_mlp():
    moe = parse_config(gemma4_text())
    dense = parse_config(gemma4_text(enable_moe_block=False))
    shapes = {t.name: t.shape for t in moe.tensors}
    assert shapes["blk.0.ffn_gate_up_exps.weight"] == (256, 2 * 32, 8)
    assert shapes["blk.0.ffn_down_exps.weight"] == (32, 256, 8)
    assert "blk.0.ffn_gate.weight" in shapes  # the dense MLP stays
    per_layer = 256 * 8 + 256 + 3 * 256 + 256 * 64 * 8 + 32 * 256 * 8 + 8
    assert moe.total_params - dense.total_params == 12 * per_layer
    assert (moe.n_expert, moe.n_expert_used) == (8, 2)


def test_gemma4_small_sizes_with_per_layer_inputs_are_refused_by_name():
    with pytest.raises(EngineError) as err:
        parse_config(gemma4_text(hidden_size_per_layer_input=256))
    assert err.value.field == "hidden_size_per_layer_input"


def nemotron_h(**kw):
    """nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16's config, shrunk to six layers."""
    config = {
        "model_type": "nemotron_h", "hidden_size": 256, "vocab_size": 1000,
        "hybrid_override_pattern": "MEM*EM", "num_hidden_layers": 6,
        "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 32,
        "mamba_num_heads": 8, "mamba_head_dim": 32, "n_groups": 2, "ssm_state_size": 16,
        "conv_kernel": 4, "n_routed_experts": 8, "num_experts_per_tok": 2,
        "moe_intermediate_size": 64, "moe_shared_expert_intermediate_size": 128,
        "max_position_embeddings": 262144,
    }  # fmt: skip
    config.update(kw)
    return config


def test_nemotron_h_layers_follow_the_pattern_letters():
    arch = parse_config(nemotron_h())
    shapes = {t.name: t.shape for t in arch.tensors}
    assert arch.gguf_arch == "nemotron_h_moe" and arch.llama_cpp_status == "supported"
    d_inner, xbc = 8 * 32, 8 * 32 + 2 * 2 * 16
    assert shapes["blk.0.ssm_in.weight"] == (256, 2 * d_inner + 2 * 2 * 16 + 8)
    assert shapes["blk.0.ssm_conv1d.weight"] == (4, xbc)
    assert shapes["blk.1.ffn_up_exps.weight"] == (256, 64, 8)
    assert "blk.1.ffn_gate_exps.weight" not in shapes  # ReLU² experts have no gate
    assert shapes["blk.3.attn_k.weight"] == (256, 2 * 32)
    assert shapes["token_embd.weight"] == (256, 1000)  # already a multiple of 8
    assert [layer.kind for layer in arch.kv_layers] == ["recurrent"] * 3 + ["full"] + [
        "recurrent"
    ] * 2  # fmt: skip
    state = (4 - 1) * xbc + 16 * d_inner
    assert [layer.state_elements for layer in arch.kv_layers] == [state, 0, state, 0, 0, state]


def test_nemotron_h_state_does_not_grow_but_its_attention_layer_does():
    arch = parse_config(nemotron_h())
    short, long = kv_cache(arch, 4096), kv_cache(arch, 8192)
    assert short.state_bytes == long.state_bytes > 0
    assert long.total_bytes - short.total_bytes == 1 * 2 * 2 * 32 * 2 * 4096  # K+V, f16


def test_nemotron_h_latent_moe_and_mtp_block():
    arch = parse_config(nemotron_h(moe_latent_size=64, num_nextn_predict_layers=1,
                                   vocab_size=1001))  # fmt: skip
    shapes = {t.name: t.shape for t in arch.tensors}
    assert shapes["blk.1.ffn_latent_down.weight"] == (256, 64)
    assert shapes["blk.1.ffn_up_exps.weight"] == (64, 64, 8)
    assert shapes["token_embd.weight"] == (256, 1008)  # padded to a multiple of 8
    assert arch.n_mtp_layers == 1 and "blk.6.nextn.eh_proj.weight" in shapes
    assert len(arch.kv_layers) == 6


def test_nemotron_h_dense_mlp_layers():
    config = nemotron_h(hybrid_override_pattern="M-M*-M", intermediate_size=512)
    del config["num_experts_per_tok"]  # the converter's test for the MoE form
    dense = parse_config(config)
    shapes = {t.name: t.shape for t in dense.tensors}
    assert dense.gguf_arch == "nemotron_h" and not dense.is_moe
    assert shapes["blk.1.ffn_up.weight"] == (256, 512)


@pytest.mark.parametrize(
    ("change", "field"),
    [({"hybrid_override_pattern": "MEM*E"}, "hybrid_override_pattern"),
     ({"hybrid_override_pattern": "MEM*EX"}, "hybrid_override_pattern"),
     ({"n_groups": 3}, "n_groups")],
)  # fmt: skip
def test_nemotron_h_bad_layouts_name_their_field(change, field):
    with pytest.raises(EngineError) as err:
        parse_config(nemotron_h(**change))
    assert err.value.field == field
