import pytest

from calculator.engine.architecture import parse_config
from calculator.engine.kv_cache import kv_cache
from calculator.engine.types import EngineError
from tests.calculator.builders import deepseek_r1_config, llama3_8b_config

MIB = 1024**2


def test_llama3_8b_f16_cache_is_128_kib_per_token():
    # 32 layers x 8 KV heads x 128 dims x (K+V) x 2 bytes = 131072 bytes per token
    kv = kv_cache(parse_config(llama3_8b_config()), 8192)
    assert kv.total_bytes == 1024 * MIB


def test_context_is_padded_to_256_cells():
    arch = parse_config(llama3_8b_config())
    assert kv_cache(arch, 1000).cells == 1024
    assert kv_cache(arch, 1000).total_bytes == kv_cache(arch, 1024).total_bytes


def test_q8_0_cache_costs_34_bytes_per_32_values():
    arch = parse_config(llama3_8b_config())
    assert kv_cache(arch, 8192, "q8_0").total_bytes * 32 == kv_cache(arch, 8192).total_bytes * 17


def test_q4_0_cache_costs_18_bytes_per_32_values():
    arch = parse_config(llama3_8b_config())
    assert kv_cache(arch, 8192, "q4_0").total_bytes * 64 == kv_cache(arch, 8192).total_bytes * 18


def test_parallel_sequences_each_get_their_own_cells():
    arch = parse_config(llama3_8b_config())
    assert kv_cache(arch, 4096, parallel=4).total_bytes == 4 * kv_cache(arch, 4096).total_bytes


def test_r1_mla_cache_holds_576_wide_latent_k_only():
    # 61 layers x 576 x 2 bytes x 8192 cells = 549 MiB ("about 0.54 GiB at 8K")
    kv = kv_cache(parse_config(deepseek_r1_config()), 8192)
    assert kv.v_bytes == 0
    assert kv.k_bytes == 61 * 576 * 2 * 8192


def test_r1_pre_mla_gguf_caches_full_k_and_v():
    # 128 heads x (192 K + 128 V) x 2 bytes x 61 layers = 4.77 MiB/token, 38.1 GiB at 8K
    kv = kv_cache(parse_config(deepseek_r1_config()), 8192, legacy_mla=True)
    assert kv.total_bytes == 61 * 128 * (192 + 128) * 2 * 8192


@pytest.mark.parametrize("context", [0, -5])
def test_non_positive_context_is_rejected(context):
    with pytest.raises(EngineError) as err:
        kv_cache(parse_config(llama3_8b_config()), context)
    assert err.value.field == "context"


def test_unknown_kv_type_is_rejected():
    with pytest.raises(EngineError) as err:
        kv_cache(parse_config(llama3_8b_config()), 8192, "q3_k")
    assert err.value.field == "kv_type"
