"""Attention kinds are behaviour registered in one table: what each layer holds, reads and
scores. Expected figures are worked out from llama.cpp's cache rules, not read back."""

import pytest

from calculator.engine.architecture import parse_config
from calculator.engine.attention import KINDS, kind_of
from calculator.engine.compute import compute_buffer_bytes
from calculator.engine.kv_cache import kv_cache, kv_read_bytes
from calculator.engine.types import KvLayer, MlaDims
from tests.calculator.builders import deepseek_r1_config


def dsa_config(**kw):
    """DeepSeek V3.2's shape (deepseek-ai/DeepSeek-V3.2 config.json): R1 plus the indexer."""
    return deepseek_r1_config(
        model_type="deepseek_v32", architectures=["DeepseekV32ForCausalLM"],
        index_n_heads=64, index_head_dim=128, index_topk=2048, **kw,
    )  # fmt: skip


def test_every_kind_has_a_human_description_for_the_faq():
    assert set(KINDS) == {"full", "sliding", "mla", "dsa", "recurrent"}
    for kind in KINDS.values():
        assert kind.label and len(kind.description) > 40


def test_unknown_kind_name_fails_loudly():
    with pytest.raises(KeyError):
        kind_of(KvLayer("chunked", 64, 64))  # type: ignore[arg-type]


def test_sliding_layer_holds_window_plus_micro_batch_padded_to_256():
    layer = KvLayer("sliding", 512, 512, window=1024)
    assert kind_of(layer).cells(layer, 65536, 512) == 1536
    assert kind_of(layer).cells(layer, 1024, 512) == 1024


def test_recurrent_layer_holds_no_cells_and_a_fixed_state():
    layer = KvLayer("recurrent", 0, 0, state_elements=1000)
    kind = kind_of(layer)
    assert kind.cells(layer, 65536, 512) == 0
    assert kind.state_elements(layer) == 1000
    assert not kind.grows_with_context


def test_legacy_mla_widths_are_full_per_head_k_and_v():
    layer = KvLayer("mla", 576, 0)
    mla = MlaDims(1536, 512, 128, 64, 128)
    assert kind_of(layer).widths(layer, mla, 128, legacy_mla=False) == (576, 0)
    assert kind_of(layer).widths(layer, mla, 128, legacy_mla=True) == (128 * 192, 128 * 128)


def test_v32_caches_the_latent_plus_a_128_wide_indexer_key_per_token():
    arch = parse_config(dsa_config())
    assert {layer.kind for layer in arch.kv_layers} == {"dsa"}
    kv = kv_cache(arch, 8192)
    assert kv.k_bytes == 61 * (576 + 128) * 2 * 8192
    assert kv.v_bytes == 0


def test_v32_decode_reads_all_indexer_keys_but_only_the_top_2048_latents():
    v32, r1 = parse_config(dsa_config()), parse_config(deepseek_r1_config())
    context = 131072
    assert kv_read_bytes(v32, context) == 61 * 2 * (576 * 2048 + 128 * context)
    assert kv_read_bytes(v32, context) < kv_read_bytes(r1, context) / 3
    assert kv_read_bytes(v32, 1000) == 61 * 2 * (576 + 128) * 1000


def test_scores_without_flash_attention_follow_the_kind():
    """Same FFN and logits; R1 scores every cell per head, V3.2 its top 2,048."""
    v32, r1 = parse_config(dsa_config()), parse_config(deepseek_r1_config())
    assert compute_buffer_bytes(v32, 65536) == compute_buffer_bytes(r1, 65536)
    r1_no_fa = compute_buffer_bytes(r1, 65536, flash_attention=False)
    v32_no_fa = compute_buffer_bytes(v32, 65536, flash_attention=False)
    assert r1_no_fa - v32_no_fa == (65536 - 2048) * 512 * 128 * 4
