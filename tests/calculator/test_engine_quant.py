"""GGUF weight sizing against llama.cpp's rules (ggml-common.h blocks, llama-quant.cpp mixes).

Expected values are worked out here from the rules and block sizes, not read back from
the code under test.
"""

from __future__ import annotations

from dataclasses import replace
from math import ceil

import pytest

from calculator.engine.quant import (
    GGML_TYPES,
    PRESETS,
    native_weights_bytes,
    row_bytes,
    tensor_bytes,
    tensor_type,
    weights_bytes,
)
from calculator.engine.types import Architecture, EngineError, KvLayer, MlaDims, Tensor

GIB = 2**30

# Block bytes per block weights, from the structs in ggml/src/ggml-common.h.
Q8_0 = (34, 32)
Q4_K = (144, 256)
Q5_K = (176, 256)
Q6_K = (210, 256)


def _bytes(n_weights: int, block: tuple[int, int]) -> int:
    size, weights = block
    return n_weights // weights * size


# --------------------------------------------------------------------------------------
# Hand-built models
# --------------------------------------------------------------------------------------


def _attention(il: int, n_embd: int, n_head: int, n_head_kv: int, head_dim: int) -> list[Tensor]:
    p = f"blk.{il}."
    return [
        Tensor(p + "attn_norm.weight", (n_embd,), il),
        Tensor(p + "attn_q.weight", (n_embd, n_head * head_dim), il),
        Tensor(p + "attn_k.weight", (n_embd, n_head_kv * head_dim), il),
        Tensor(p + "attn_v.weight", (n_embd, n_head_kv * head_dim), il),
        Tensor(p + "attn_output.weight", (n_head * head_dim, n_embd), il),
    ]


def llama_like(
    n_layer: int = 16,
    n_embd: int = 256,
    n_head: int = 8,
    n_head_kv: int = 2,
    head_dim: int = 32,
    n_ff: int = 512,
    n_vocab: int = 1000,
    tied: bool = False,
    gguf_arch: str = "llama",
) -> Architecture:
    tensors = [
        Tensor("token_embd.weight", (n_embd, n_vocab)),
        Tensor("output_norm.weight", (n_embd,)),
    ]
    if not tied:
        tensors.append(Tensor("output.weight", (n_embd, n_vocab)))
    for il in range(n_layer):
        p = f"blk.{il}."
        tensors += _attention(il, n_embd, n_head, n_head_kv, head_dim)
        tensors += [
            Tensor(p + "ffn_norm.weight", (n_embd,), il),
            Tensor(p + "ffn_gate.weight", (n_embd, n_ff), il),
            Tensor(p + "ffn_up.weight", (n_embd, n_ff), il),
            Tensor(p + "ffn_down.weight", (n_ff, n_embd), il),
        ]
    kv = KvLayer("full", n_head_kv * head_dim, n_head_kv * head_dim)
    return Architecture(
        model_type="llama",
        gguf_arch=gguf_arch,
        n_layer=n_layer,
        n_embd=n_embd,
        n_vocab=n_vocab,
        n_head=n_head,
        n_ctx_train=8192,
        kv_layers=(kv,) * n_layer,
        tensors=tuple(tensors),
        native_dtype="bf16",
        tie_word_embeddings=tied,
    )


def mixtral_like(n_layer: int = 8, n_expert: int = 8) -> Architecture:
    """Eight experts per layer, no shared expert: llama.cpp's ``n_expert == 8`` case."""
    n_embd, n_ff = 256, 512
    tensors = [
        Tensor("token_embd.weight", (n_embd, 1000)),
        Tensor("output_norm.weight", (n_embd,)),
        Tensor("output.weight", (n_embd, 1000)),
    ]
    for il in range(n_layer):
        p = f"blk.{il}."
        tensors += _attention(il, n_embd, 8, 2, 32)
        tensors += [
            Tensor(p + "ffn_norm.weight", (n_embd,), il),
            Tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), il),
            Tensor(p + "ffn_gate_exps.weight", (n_embd, n_ff, n_expert), il),
            Tensor(p + "ffn_up_exps.weight", (n_embd, n_ff, n_expert), il),
            Tensor(p + "ffn_down_exps.weight", (n_ff, n_embd, n_expert), il),
        ]
    return Architecture(
        model_type="mixtral",
        gguf_arch="llama",
        n_layer=n_layer,
        n_embd=n_embd,
        n_vocab=1000,
        n_head=8,
        n_ctx_train=32768,
        kv_layers=(KvLayer("full", 64, 64),) * n_layer,
        tensors=tuple(tensors),
        native_dtype="bf16",
        n_expert=n_expert,
        n_expert_used=2,
        n_moe_layers=n_layer,
    )


def deepseek_like(native_dtype: str = "bf16") -> Architecture:
    """MLA attention, one dense first layer, then 16 routed experts plus a shared expert."""
    n_layer, n_embd, n_head, n_expert = 16, 256, 8, 16
    tensors = [
        Tensor("token_embd.weight", (n_embd, 1000)),
        Tensor("output_norm.weight", (n_embd,)),
        Tensor("output.weight", (n_embd, 1000)),
    ]
    for il in range(n_layer):
        p = f"blk.{il}."
        tensors += [
            Tensor(p + "attn_norm.weight", (n_embd,), il),
            Tensor(p + "attn_q_a.weight", (n_embd, 128), il),
            Tensor(p + "attn_q_a_norm.weight", (128,), il),
            Tensor(p + "attn_q_b.weight", (128, n_head * 64), il),
            Tensor(p + "attn_kv_a_mqa.weight", (n_embd, 96), il),
            Tensor(p + "attn_kv_a_norm.weight", (64,), il),
            Tensor(p + "attn_k_b.weight", (32, 64, n_head), il),
            Tensor(p + "attn_v_b.weight", (64, 32, n_head), il),
            Tensor(p + "attn_output.weight", (n_head * 32, n_embd), il),
            Tensor(p + "ffn_norm.weight", (n_embd,), il),
        ]
        if il == 0:
            tensors += [
                Tensor(p + "ffn_gate.weight", (n_embd, 1024), il),
                Tensor(p + "ffn_up.weight", (n_embd, 1024), il),
                Tensor(p + "ffn_down.weight", (1024, n_embd), il),
            ]
        else:
            tensors += [
                Tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), il),
                Tensor(p + "exp_probs_b.bias", (n_expert,), il),
                Tensor(p + "ffn_gate_exps.weight", (n_embd, 256, n_expert), il),
                Tensor(p + "ffn_up_exps.weight", (n_embd, 256, n_expert), il),
                Tensor(p + "ffn_down_exps.weight", (256, n_embd, n_expert), il),
                Tensor(p + "ffn_gate_shexp.weight", (n_embd, 256), il),
                Tensor(p + "ffn_up_shexp.weight", (n_embd, 256), il),
                Tensor(p + "ffn_down_shexp.weight", (256, n_embd), il),
            ]
    return Architecture(
        model_type="deepseek_v3",
        gguf_arch="deepseek2",
        n_layer=n_layer,
        n_embd=n_embd,
        n_vocab=1000,
        n_head=n_head,
        n_ctx_train=163840,
        kv_layers=(KvLayer("mla", 96, 0),) * n_layer,
        tensors=tuple(tensors),
        native_dtype=native_dtype,
        n_expert=n_expert,
        n_expert_used=4,
        n_expert_shared=1,
        n_moe_layers=n_layer - 1,
        mla=MlaDims(128, 64, 32, 32, 32),
    )


def gpt_oss_like() -> Architecture:
    """Experts released in MXFP4; n_embd 576 is a multiple of 32 but not of 256 (like 2880)."""
    n_layer, n_embd, n_expert = 4, 576, 4
    tensors = [
        Tensor("token_embd.weight", (n_embd, 1000)),
        Tensor("output_norm.weight", (n_embd,)),
        Tensor("output.weight", (n_embd, 1000)),
    ]
    for il in range(n_layer):
        p = f"blk.{il}."
        tensors += _attention(il, n_embd, 8, 2, 64)
        tensors += [
            Tensor(p + "attn_q.bias", (512,), il),
            Tensor(p + "attn_sinks.weight", (8,), il),
            Tensor(p + "post_attention_norm.weight", (n_embd,), il),
            Tensor(p + "ffn_gate_inp.weight", (n_embd, n_expert), il),
            Tensor(p + "ffn_gate_inp.bias", (n_expert,), il),
            Tensor(p + "ffn_gate_exps.weight", (n_embd, n_embd, n_expert), il),
            Tensor(p + "ffn_gate_exps.bias", (n_embd, n_expert), il),
            Tensor(p + "ffn_up_exps.weight", (n_embd, n_embd, n_expert), il),
            Tensor(p + "ffn_down_exps.weight", (n_embd, n_embd, n_expert), il),
        ]
    return Architecture(
        model_type="gpt_oss",
        gguf_arch="gpt-oss",
        n_layer=n_layer,
        n_embd=n_embd,
        n_vocab=1000,
        n_head=8,
        n_ctx_train=131072,
        kv_layers=(KvLayer("full", 128, 128),) * n_layer,
        tensors=tuple(tensors),
        native_dtype="mxfp4",
        n_expert=n_expert,
        n_expert_used=2,
        n_moe_layers=n_layer,
    )


def _by_name(arch: Architecture) -> dict[str, Tensor]:
    return {t.name: t for t in arch.tensors}


def _type(preset: str, arch: Architecture, name: str, imatrix: bool | None = None) -> str:
    return tensor_type(preset, _by_name(arch)[name], arch, imatrix)


def _layers_with(preset: str, arch: Architecture, role: str, type_name: str) -> set[int]:
    return {
        il
        for il in range(arch.n_layer)
        if _type(preset, arch, f"blk.{il}.{role}.weight") == type_name
    }


# llama.cpp's use_more_bits(i, n): i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2.
# For n = 16: layers 0, 1, 14, 15, and 4, 7, 10, 13.
MORE_BITS_OF_16 = {0, 1, 4, 7, 10, 13, 14, 15}


# --------------------------------------------------------------------------------------
# Block arithmetic (ggml-common.h)
# --------------------------------------------------------------------------------------


def test_q8_0_is_34_bytes_per_32_weights() -> None:
    assert row_bytes("Q8_0", 4096) == 4096 // 32 * 34
    assert GGML_TYPES["Q8_0"].bits_per_weight == 8.5


@pytest.mark.parametrize(
    ("type_name", "block_size", "type_size", "bpw"),
    [
        ("Q4_0", 32, 18, 4.5),
        ("Q5_0", 32, 22, 5.5),
        ("Q2_K", 256, 84, 2.625),
        ("Q3_K", 256, 110, 3.4375),
        ("Q4_K", 256, 144, 4.5),
        ("Q5_K", 256, 176, 5.5),
        ("Q6_K", 256, 210, 6.5625),
        ("IQ1_S", 256, 50, 1.5625),
        ("IQ2_XXS", 256, 66, 2.0625),
        ("IQ3_S", 256, 110, 3.4375),
        ("IQ4_XS", 256, 136, 4.25),
        ("IQ4_NL", 32, 18, 4.5),
        ("TQ1_0", 256, 54, 1.6875),
        ("MXFP4", 32, 17, 4.25),
        ("BF16", 1, 2, 16.0),
    ],
)
def test_block_sizes_match_ggml_common_h(
    type_name: str, block_size: int, type_size: int, bpw: float
) -> None:
    t = GGML_TYPES[type_name]
    assert (t.block_size, t.type_size, t.bits_per_weight) == (block_size, type_size, bpw)


def test_row_bytes_rejects_a_row_that_is_not_whole_blocks() -> None:
    with pytest.raises(EngineError) as err:
        row_bytes("Q4_K", 4000)
    assert err.value.field == "quant"


def test_tensor_bytes_counts_every_row_of_every_stacked_expert() -> None:
    experts = Tensor("blk.1.ffn_up_exps.weight", (512, 256, 8), 1)
    assert tensor_bytes(experts, "Q4_K") == 256 * 8 * (512 // 256 * 144)


# --------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------


def test_presets_are_the_33_llama_quantize_file_types() -> None:
    expected = [
        "Q2_K",
        "Q2_K_S",
        "Q3_K_S",
        "Q3_K_M",
        "Q3_K_L",
        "Q4_0",
        "Q4_1",
        "Q4_K_S",
        "Q4_K_M",
        "Q5_0",
        "Q5_1",
        "Q5_K_S",
        "Q5_K_M",
        "Q6_K",
        "Q8_0",
        "F16",
        "BF16",
        "F32",
        "IQ1_S",
        "IQ1_M",
        "IQ2_XXS",
        "IQ2_XS",
        "IQ2_S",
        "IQ2_M",
        "IQ3_XXS",
        "IQ3_XS",
        "IQ3_S",
        "IQ3_M",
        "IQ4_NL",
        "IQ4_XS",
        "TQ1_0",
        "TQ2_0",
        "MXFP4_MOE",
    ]
    assert set(PRESETS) == set(expected)
    for preset in PRESETS.values():
        assert preset.description and preset.group
        assert preset.base_type in GGML_TYPES


def test_preset_base_types_follow_llama_ftype_get_default_type() -> None:
    bases = {name: PRESETS[name].base_type for name in PRESETS}
    assert bases["IQ2_S"] == "IQ2_XS"
    assert bases["IQ2_M"] == "IQ2_S"
    assert bases["IQ3_XS"] == bases["IQ3_M"] == "IQ3_S"
    assert bases["Q4_K_S"] == bases["Q4_K_M"] == "Q4_K"
    assert bases["MXFP4_MOE"] == "MXFP4"


def test_imatrix_presets_are_grouped_as_needing_one() -> None:
    for name in ("IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ3_XXS", "IQ3_XS"):
        assert PRESETS[name].needs_imatrix
        assert PRESETS[name].group == "I-quants (need an importance matrix)"
    assert not PRESETS["IQ4_XS"].needs_imatrix


def test_unknown_preset_raises_on_the_quant_field_and_lists_valid_ones() -> None:
    with pytest.raises(EngineError) as err:
        weights_bytes(llama_like(), "Q4_K_XL")
    assert err.value.field == "quant"
    assert "Q4_K_M" in str(err.value) and "IQ2_XXS" in str(err.value)


def test_preset_names_are_case_insensitive_like_llama_quantize() -> None:
    arch = llama_like()
    assert weights_bytes(arch, "q4_k_m") == weights_bytes(arch, "Q4_K_M")


# --------------------------------------------------------------------------------------
# Dense model rules (llama_tensor_get_type_impl)
# --------------------------------------------------------------------------------------


def test_q4_k_m_keeps_attn_v_at_q6_k_on_first_eighth_of_layers() -> None:
    arch = llama_like()
    assert _layers_with("Q4_K_M", arch, "attn_v", "Q6_K") == MORE_BITS_OF_16
    assert _layers_with("Q4_K_M", arch, "attn_v", "Q4_K") == set(range(16)) - MORE_BITS_OF_16


def test_q4_k_m_puts_ffn_down_at_q6_k_on_the_use_more_bits_layers() -> None:
    arch = llama_like()
    assert _layers_with("Q4_K_M", arch, "ffn_down", "Q6_K") == MORE_BITS_OF_16


def test_q4_k_m_leaves_q_k_output_gate_and_up_at_q4_k() -> None:
    arch = llama_like()
    for role in ("attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"):
        assert _layers_with("Q4_K_M", arch, role, "Q4_K") == set(range(16))


def test_output_goes_to_q6_k_while_untied_token_embd_keeps_the_base_type() -> None:
    arch = llama_like()
    assert _type("Q4_K_M", arch, "output.weight") == "Q6_K"
    assert _type("Q4_K_M", arch, "token_embd.weight") == "Q4_K"
    assert _type("Q4_0", arch, "output.weight") == "Q6_K"
    assert _type("Q4_0", arch, "token_embd.weight") == "Q4_0"


def test_tied_token_embd_is_quantized_like_the_output() -> None:
    arch = llama_like(tied=True)
    assert _type("Q4_K_M", arch, "token_embd.weight") == "Q6_K"
    assert weights_bytes(arch, "Q4_K_M").output_bytes == 0


def test_q8_0_keeps_the_output_at_q8_0() -> None:
    assert _type("Q8_0", llama_like(), "output.weight") == "Q8_0"


def test_norms_stay_f32_in_every_preset() -> None:
    arch = llama_like()
    for preset in PRESETS:
        assert _type(preset, arch, "blk.3.attn_norm.weight") == "F32"
        assert _type(preset, arch, "output_norm.weight") == "F32"


def test_float_presets_store_every_matrix_in_that_type() -> None:
    arch = llama_like()
    for preset in ("F16", "BF16", "F32"):
        assert _type(preset, arch, "output.weight") == preset
        assert _type(preset, arch, "blk.0.attn_v.weight") == preset


def test_q4_k_s_bumps_attn_v_in_first_four_and_ffn_down_in_first_eighth_to_q5_k() -> None:
    arch = llama_like()
    assert _layers_with("Q4_K_S", arch, "attn_v", "Q5_K") == {0, 1, 2, 3}
    assert _layers_with("Q4_K_S", arch, "ffn_down", "Q5_K") == {0, 1}  # 16 / 8


def test_q3_k_m_mix() -> None:
    arch = llama_like()
    assert _layers_with("Q3_K_M", arch, "attn_v", "Q5_K") == {0, 1}
    assert _layers_with("Q3_K_M", arch, "ffn_down", "Q5_K") == {0}  # i < 16 / 16
    assert _layers_with("Q3_K_M", arch, "ffn_down", "Q4_K") == set(range(1, 16))
    assert _layers_with("Q3_K_M", arch, "attn_output", "Q4_K") == set(range(16))
    assert _layers_with("Q3_K_M", arch, "ffn_up", "Q3_K") == set(range(16))


def test_q3_k_l_raises_attn_v_ffn_down_and_attn_output_to_q5_k() -> None:
    arch = llama_like()
    for role in ("attn_v", "ffn_down", "attn_output"):
        assert _layers_with("Q3_K_L", arch, role, "Q5_K") == set(range(16))


def test_q2_k_gives_attn_v_q4_k_only_with_four_or_more_queries_per_kv_head() -> None:
    gqa = llama_like(n_head_kv=2)  # 8 heads / 2 kv heads = 4
    mha = llama_like(n_head_kv=8)
    assert _type("Q2_K", gqa, "blk.5.attn_v.weight") == "Q4_K"
    assert _type("Q2_K", mha, "blk.5.attn_v.weight") == "Q3_K"
    assert _type("Q2_K", gqa, "blk.5.ffn_down.weight") == "Q3_K"
    assert _type("Q2_K", gqa, "blk.5.attn_output.weight") == "Q3_K"


def test_iq2_xxs_mix() -> None:
    arch = llama_like()
    assert _type("IQ2_XXS", arch, "output.weight") == "Q5_K"
    assert _type("IQ2_XXS", arch, "token_embd.weight") == "Q2_K"
    assert _layers_with("IQ2_XXS", arch, "attn_v", "Q4_K") == set(range(16))
    assert _layers_with("IQ2_XXS", arch, "ffn_down", "Q2_K") == {0, 1}
    assert _layers_with("IQ2_XXS", arch, "ffn_up", "IQ2_XXS") == set(range(16))


def test_iq3_xs_lowers_q_k_and_middle_gate_up_to_iq3_xxs() -> None:
    arch = llama_like()
    middle = set(range(2, 14))  # n/8 <= i < 7n/8
    assert _layers_with("IQ3_XS", arch, "attn_q", "IQ3_XXS") == set(range(16))
    assert _layers_with("IQ3_XS", arch, "attn_k", "IQ3_XXS") == set(range(16))
    assert _layers_with("IQ3_XS", arch, "ffn_gate", "IQ3_XXS") == middle
    assert _layers_with("IQ3_XS", arch, "ffn_up", "IQ3_S") == set(range(16)) - middle


def test_imatrix_changes_the_rules_that_depend_on_it() -> None:
    arch = llama_like()
    mha = llama_like(n_head_kv=8)
    # Q4_0 with an imatrix guards the first eighth of ffn_down with Q4_1.
    assert _layers_with("Q4_0", arch, "ffn_down", "Q4_1") == set()
    assert _type("Q4_0", arch, "blk.1.ffn_down.weight", imatrix=True) == "Q4_1"
    # IQ4_XS without an imatrix uses Q5_K there instead.
    assert _type("IQ4_XS", arch, "blk.1.ffn_down.weight") == "Q5_K"
    assert _type("IQ4_XS", arch, "blk.1.ffn_down.weight", imatrix=True) == "IQ4_XS"
    # IQ3_XXS attn_v of an MHA model: IQ3_XXS with an imatrix, IQ3_S without.
    assert _type("IQ3_XXS", mha, "blk.5.attn_v.weight") == "IQ3_XXS"
    assert _type("IQ3_XXS", mha, "blk.5.attn_v.weight", imatrix=False) == "IQ3_S"


def test_80_layer_llama_with_gqa_bumps_q4_k_attn_v_to_q5_k() -> None:
    seventy_b = llama_like(n_layer=80, n_embd=256, n_ff=256, n_vocab=256)
    other = llama_like(n_layer=79, n_embd=256, n_ff=256, n_vocab=256)
    assert _type("Q4_K_S", seventy_b, "blk.40.attn_v.weight") == "Q5_K"
    assert _type("Q4_K_S", other, "blk.40.attn_v.weight") == "Q4_K"


def test_falcon_q4_k_m_grades_ffn_down_and_keeps_output_at_q8_0() -> None:
    arch = llama_like(gguf_arch="falcon")
    assert _type("Q4_K_M", arch, "output.weight") == "Q8_0"
    assert _type("Q4_K_M", arch, "blk.0.ffn_down.weight") == "Q6_K"  # i < n/16
    assert _type("Q4_K_M", arch, "blk.4.ffn_down.weight") == "Q5_K"  # use_more_bits
    assert _type("Q4_K_M", arch, "blk.5.ffn_down.weight") == "Q4_K"


# --------------------------------------------------------------------------------------
# Shape fallback (tensor_type_fallback)
# --------------------------------------------------------------------------------------


def test_row_not_divisible_by_256_falls_back_to_q5_0_for_q4_k() -> None:
    arch = llama_like(n_ff=320)  # ffn_down rows are 320 long: 10 blocks of 32
    assert _type("Q4_K_M", arch, "blk.2.ffn_down.weight") == "Q5_0"
    assert _type("Q4_K_M", arch, "blk.0.ffn_down.weight") == "Q8_0"  # Q6_K falls back
    assert _type("Q5_K_S", arch, "blk.2.ffn_down.weight") == "Q5_1"
    assert _type("Q3_K_S", arch, "blk.2.ffn_down.weight") == "Q4_0"
    assert _type("IQ2_XXS", arch, "blk.9.ffn_down.weight") == "IQ4_NL"


def test_row_not_divisible_by_32_falls_back_to_f16() -> None:
    arch = llama_like(n_ff=48)
    assert _type("Q4_K_M", arch, "blk.2.ffn_down.weight") == "F16"


def test_q8_0_cannot_store_a_row_that_is_not_whole_32_blocks() -> None:
    with pytest.raises(EngineError) as err:
        weights_bytes(llama_like(n_ff=48), "Q8_0")
    assert err.value.field == "quant"


def test_output_with_rows_not_divisible_by_256_is_q8_0() -> None:
    arch = gpt_oss_like()
    assert _type("Q4_K_M", arch, "output.weight") == "Q8_0"
    assert _type("Q4_K_M", arch, "blk.0.attn_q.weight") == "Q5_0"


# --------------------------------------------------------------------------------------
# MoE rules
# --------------------------------------------------------------------------------------


def test_eight_expert_model_keeps_attn_v_and_attn_k_at_q8_0() -> None:
    arch = mixtral_like()
    for preset in ("Q4_K_M", "Q3_K_S", "Q5_K_S"):
        assert _layers_with(preset, arch, "attn_v", "Q8_0") == set(range(8))
        assert _layers_with(preset, arch, "attn_k", "Q8_0") == set(range(8))


def test_eight_expert_model_raises_attn_output_to_q5_k() -> None:
    arch = mixtral_like()
    assert _layers_with("Q4_K_M", arch, "attn_output", "Q5_K") == set(range(8))
    assert _layers_with("Q5_K_M", arch, "attn_output", "Q5_K") == set(range(8))


def test_other_expert_counts_do_not_get_the_eight_expert_rules() -> None:
    arch = mixtral_like(n_expert=16)
    assert _type("Q4_K_M", arch, "blk.1.attn_k.weight") == "Q4_K"
    assert _type("Q4_K_M", arch, "blk.1.attn_output.weight") == "Q4_K"


def test_router_is_never_quantized() -> None:
    arch = mixtral_like()
    for preset in ("Q4_K_M", "IQ1_S", "MXFP4_MOE"):
        assert _type(preset, arch, "blk.2.ffn_gate_inp.weight") == "F32"


def test_moe_ffn_down_layer_comes_from_the_tensor_name() -> None:
    arch = deepseek_like()
    assert _type("Q4_K_M", arch, "blk.0.ffn_down.weight") == "Q6_K"  # dense, layer 0
    assert _type("Q4_K_M", arch, "blk.4.ffn_down_exps.weight") == "Q6_K"  # (4 - 2) % 3 == 2
    assert _type("Q4_K_M", arch, "blk.4.ffn_down_shexp.weight") == "Q6_K"
    assert _type("Q4_K_M", arch, "blk.5.ffn_down_exps.weight") == "Q4_K"


def test_iq2_ffn_down_counter_advances_per_tensor_not_per_layer() -> None:
    # n_ffn_down / 8 = 2: only the first two ffn_down-like tensors get Q2_K, in
    # llama-quantize's order: blk.0.ffn_down, blk.1.ffn_down_exps, blk.1.ffn_down_shexp.
    arch = deepseek_like()
    assert _type("IQ2_XXS", arch, "blk.0.ffn_down.weight") == "Q2_K"
    assert _type("IQ2_XXS", arch, "blk.1.ffn_down_exps.weight") == "Q2_K"
    assert _type("IQ2_XXS", arch, "blk.1.ffn_down_shexp.weight") == "IQ2_XXS"


def test_mla_split_kv_b_has_128_wide_rows_that_fall_back() -> None:
    arch = deepseek_like()
    # attn_k_b rows are qk_nope_head_dim (32 here) long: Q4_K (256) -> Q5_0 (32).
    assert _type("Q4_K_M", arch, "blk.3.attn_k_b.weight") == "Q5_0"
    assert _type("Q4_K_M", arch, "blk.3.attn_v_b.weight") == "Q5_0"


def test_mxfp4_moe_puts_3d_tensors_in_mxfp4_and_the_rest_in_q8_0() -> None:
    arch = deepseek_like()
    assert _type("MXFP4_MOE", arch, "blk.3.ffn_up_exps.weight") == "MXFP4"
    assert _type("MXFP4_MOE", arch, "blk.3.attn_k_b.weight") == "MXFP4"  # per-head, 3-D
    assert _type("MXFP4_MOE", arch, "blk.3.ffn_up_shexp.weight") == "Q8_0"
    assert _type("MXFP4_MOE", arch, "blk.3.attn_q_b.weight") == "Q8_0"
    assert _type("MXFP4_MOE", arch, "output.weight") == "Q8_0"
    assert _type("MXFP4_MOE", arch, "token_embd.weight") == "Q8_0"


def test_expert_bytes_are_the_routed_experts_only() -> None:
    arch = mixtral_like()
    result = weights_bytes(arch, "Q8_0")
    experts_per_layer = 3 * 256 * 512 * 8
    assert result.expert_bytes == 8 * _bytes(experts_per_layer, Q8_0)
    assert result.non_expert_bytes == result.total_bytes - result.expert_bytes


# --------------------------------------------------------------------------------------
# gpt-oss: experts released in MXFP4
# --------------------------------------------------------------------------------------


def test_gpt_oss_mxfp4_experts_stay_mxfp4_in_every_preset() -> None:
    arch = gpt_oss_like()
    for preset in PRESETS:
        assert _type(preset, arch, "blk.1.ffn_down_exps.weight") == "MXFP4"


def test_gpt_oss_vectors_biases_and_sinks_stay_f32() -> None:
    arch = gpt_oss_like()
    for name in ("blk.0.attn_sinks.weight", "blk.0.attn_q.bias", "blk.0.ffn_gate_exps.bias"):
        assert _type("Q4_K_M", arch, name) == "F32"


def test_gpt_oss_q8_0_size_is_mxfp4_experts_plus_q8_0_rest() -> None:
    arch = gpt_oss_like()
    expected = 0
    for t in arch.tensors:
        if t.name.endswith("_exps.weight"):
            expected += _bytes(t.n_elements, (17, 32))
        elif t.is_vector or not t.name.endswith(".weight") or "ffn_gate_inp" in t.name:
            expected += 4 * t.n_elements
        else:
            expected += _bytes(t.n_elements, Q8_0)
    assert weights_bytes(arch, "Q8_0").total_bytes == expected


# --------------------------------------------------------------------------------------
# Whole-file sizes
# --------------------------------------------------------------------------------------


def llama3_8b() -> Architecture:
    return llama_like(
        n_layer=32, n_embd=4096, n_head=32, n_head_kv=8, head_dim=128, n_ff=14336, n_vocab=128256
    )


def test_llama3_8b_q4_k_m_is_within_1_percent_of_llama_cpp_reference() -> None:
    # tools/quantize/quantize.cpp QUANT_OPTIONS: "Q4_K_M 4.58G @ Llama-3-8B" (GiB). The file
    # also holds ~6 MB of metadata (tokenizer), which these tensor bytes leave out.
    result = weights_bytes(llama3_8b(), "Q4_K_M")
    assert result.total_bytes / GIB == pytest.approx(4.58, rel=0.01)
    assert 4.85 < result.bits_per_weight < 4.95


def test_llama3_8b_q8_0_is_within_1_percent_of_llama_cpp_reference() -> None:
    arch = llama3_8b()
    result = weights_bytes(arch, "Q8_0")
    assert result.total_bytes / GIB == pytest.approx(7.96, rel=0.01)
    vectors = sum(t.n_elements for t in arch.tensors if t.is_vector)
    matrices = arch.total_params - vectors
    assert result.total_bytes == _bytes(matrices, Q8_0) + 4 * vectors


def test_q4_k_m_bytes_add_up_from_the_rules() -> None:
    arch = llama_like()
    n_embd, n_ff, n_vocab, kv = 256, 512, 1000, 64
    attn_v, ffn_down = n_embd * kv, n_ff * n_embd
    per_layer_q4_k = n_embd * n_embd * 2 + n_embd * kv + 2 * n_embd * n_ff
    more, fewer = len(MORE_BITS_OF_16), 16 - len(MORE_BITS_OF_16)
    expected = (
        _bytes(n_embd * n_vocab, Q4_K)  # token_embd
        + _bytes(n_embd * n_vocab, Q6_K)  # output
        + 16 * _bytes(per_layer_q4_k, Q4_K)
        + more * _bytes(attn_v + ffn_down, Q6_K)
        + fewer * _bytes(attn_v + ffn_down, Q4_K)
        + 4 * (n_embd + 16 * 2 * n_embd)  # F32 norms
    )
    result = weights_bytes(arch, "Q4_K_M")
    assert result.total_bytes == expected
    assert result.by_type["Q6_K"] == _bytes(n_embd * n_vocab, Q6_K) + more * _bytes(
        attn_v + ffn_down, Q6_K
    )


def test_breakdown_parts_add_up_to_the_total() -> None:
    arch = deepseek_like()
    result = weights_bytes(arch, "Q4_K_M")
    output_norm = 4 * arch.n_embd
    assert sum(size for _, size in result.bytes_by_type) == result.total_bytes
    assert (
        sum(result.layer_bytes) + result.token_embd_bytes + result.output_bytes + output_norm
        == result.total_bytes
    )
    assert len(result.layer_bytes) == arch.n_layer
    assert result.token_embd_bytes == _bytes(256 * 1000, Q4_K)
    assert result.output_bytes == _bytes(256 * 1000, Q6_K)


def test_layer_bytes_are_indexed_by_block_number() -> None:
    arch = llama_like()
    result = weights_bytes(arch, "Q4_K_M")
    assert result.layer_bytes[0] > result.layer_bytes[2]  # layer 0 uses more bits
    assert result.layer_bytes[2] == result.layer_bytes[3]


def test_bits_per_weight_is_total_bits_over_parameters() -> None:
    arch = llama_like()
    result = weights_bytes(arch, "Q6_K")
    assert result.bits_per_weight == result.total_bytes * 8 / arch.total_params


# --------------------------------------------------------------------------------------
# Released checkpoints
# --------------------------------------------------------------------------------------


def test_native_bf16_is_two_bytes_per_parameter() -> None:
    arch = llama_like()
    assert native_weights_bytes(arch) == 2 * arch.total_params


def test_native_fp8_is_one_byte_per_linear_weight_plus_f32_128x128_block_scales() -> None:
    arch = deepseek_like(native_dtype="fp8")
    expected = 0
    for t in arch.tensors:
        unquantized = (
            t.name in ("token_embd.weight", "output.weight")
            or t.is_vector
            or "ffn_gate_inp" in t.name
        )
        if t.role == "exp_probs_b":
            expected += 4 * t.n_elements  # e_score_correction_bias is float32
        elif unquantized:
            expected += 2 * t.n_elements  # BF16
        else:
            n_in, n_out = t.shape[0], t.shape[1]
            stack = t.shape[2] if len(t.shape) == 3 else 1
            expected += t.n_elements + 4 * ceil(n_in / 128) * ceil(n_out / 128) * stack
    # e.g. attn_kv_a_mqa (256 x 96) has 2 x 1 scale blocks: 96 rows round up to one block.
    assert native_weights_bytes(arch) == expected


def test_native_mxfp4_experts_cost_17_bytes_per_32_weights_and_the_rest_bf16() -> None:
    arch = gpt_oss_like()
    experts = sum(t.n_elements for t in arch.tensors if t.name.endswith("_exps.weight"))
    rest = arch.total_params - experts
    assert native_weights_bytes(arch) == experts // 32 * 17 + 2 * rest


def test_unknown_native_dtype_raises() -> None:
    arch = llama_like()
    odd = replace(arch, native_dtype="int3")
    with pytest.raises(EngineError):
        native_weights_bytes(odd)


def test_tensor_type_of_a_foreign_tensor_raises() -> None:
    with pytest.raises(EngineError) as err:
        tensor_type("Q4_K_M", Tensor("blk.99.attn_v.weight", (256, 64), 99), llama_like())
    assert err.value.field == "tensor"
