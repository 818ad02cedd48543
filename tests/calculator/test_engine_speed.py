"""Placement and decode speed on hardware profiles (plain engine, no database)."""

import pytest

from calculator.engine.architecture import parse_config
from calculator.engine.estimate import Options, estimate, footprint, llama_cpp_command
from calculator.engine.hardware import GB, GIB, HardwareProfile, recommended_ram_gb
from calculator.engine.speed import plan
from tests.calculator.builders import deepseek_r1_config, llama3_8b_config


def profile(slug="gpu", kind="gpu", memory_gb=24.0, bandwidth_gbps=1000.0, **kw):
    eta = kw.pop("eta", 0.5)
    return HardwareProfile(slug, slug, kind, memory_gb, bandwidth_gbps, eta, **kw)


DESKTOP = profile("desktop", "cpu", 128, 89.6, tier="desktop")
R1 = parse_config(deepseek_r1_config())
LLAMA = parse_config(llama3_8b_config())


def fp(arch, **options):
    return footprint(arch, Options(**options))[2]


def test_decode_speed_is_efficiency_times_bandwidth_over_bytes_read():
    f = fp(LLAMA, quant="Q8_0", context=1)
    s = plan(profile(memory_gb=80), f, host=DESKTOP)
    assert s.mode == "gpu"
    assert s.tokens_per_s == pytest.approx(0.5 * 1000 * GB / f.read_bytes_per_token)


def test_per_token_overhead_slows_small_models_more():
    f = fp(LLAMA, quant="Q4_K_M", context=1)
    fast = plan(profile(memory_gb=80), f, host=DESKTOP).tokens_per_s
    slowed = plan(profile(memory_gb=80, overhead_ms=2.0), f, host=DESKTOP).tokens_per_s
    assert 1 / slowed == pytest.approx(1 / fast + 0.002)


def test_moe_reads_only_active_experts_per_token():
    f = fp(R1, quant="Q4_K_M", context=1)
    assert f.read_bytes_per_token < f.weights_bytes / 10
    assert f.expert_read_bytes == pytest.approx(f.expert_bytes * 8 / 256)


def test_kv_read_grows_with_context():
    assert fp(LLAMA, context=32768).kv_read_bytes > fp(LLAMA, context=1024).kv_read_bytes


def test_moe_too_big_for_vram_plans_expert_offload_with_n_cpu_moe():
    f = fp(R1, quant="IQ1_S", context=8192)
    server = profile("epyc", "cpu", 768, 460.8, tier="server")
    s = plan(profile(memory_gb=24), f, host=server)
    assert s.mode == "expert_offload"
    assert 0 < s.cpu_moe_layers <= R1.n_moe_layers
    assert "--n-cpu-moe" in llama_cpp_command(
        Options(quant="IQ1_S"), gpu_layers=s.gpu_layers, cpu_moe_layers=s.cpu_moe_layers
    )


def test_offload_is_slower_than_the_same_model_fully_in_vram():
    f = fp(parse_config(llama3_8b_config(num_hidden_layers=80, hidden_size=8192,
                                         intermediate_size=28672, num_attention_heads=64)),
           quant="Q4_K_M")  # fmt: skip
    partial = plan(profile(memory_gb=24), f, host=DESKTOP)
    whole = plan(profile(memory_gb=80), f, host=DESKTOP)
    assert partial.mode == "partial_offload"
    assert 0 < partial.gpu_layers < 80
    assert partial.tokens_per_s < whole.tokens_per_s


def test_model_larger_than_gpu_and_host_ram_does_not_fit():
    s = plan(profile(memory_gb=24), fp(R1, quant="Q4_K_M"), host=DESKTOP)
    assert s.mode == "does_not_fit" and s.tokens_per_s is None
    assert "system RAM" in s.note


def test_cpu_platform_needs_weights_kv_and_compute_within_ram_less_os_reserve():
    f = fp(R1, quant="Q4_K_M")
    assert plan(profile("s", "cpu", 384, 460.8), f, host=DESKTOP).mode == "cpu"
    assert plan(profile("s", "cpu", 256, 460.8), f, host=DESKTOP).mode == "does_not_fit"


def test_apple_gpu_may_use_only_part_of_unified_memory_by_default():
    f = fp(LLAMA, quant="F16", context=8192)  # about 16 GiB with KV
    mac = profile("mac", "apple", 22, 100)  # GPU share 16.5 GiB < need < RAM less OS
    s = plan(mac, f, host=DESKTOP)
    assert s.mode == "unified"
    assert "iogpu.wired_limit_mb" in s.note


def test_r1_q4_k_m_recommends_512_gb():
    est = estimate(R1, Options(quant="Q4_K_M", context=8192))
    assert est.memory.weights_bytes == pytest.approx(404e9, rel=0.01)
    assert est.recommended_ram_gb == 512


def test_recommendation_rounds_up_to_a_size_that_is_sold():
    assert recommended_ram_gb(int(10 * GIB)) == 16
    assert recommended_ram_gb(int(60 * GIB)) == 96
    assert recommended_ram_gb(int(3000 * GIB)) is None


def test_memory_parts_add_up_to_the_total():
    m = estimate(LLAMA, Options()).memory
    assert m.total_bytes == (m.weights_bytes + m.kv_cache_bytes + m.compute_buffer_bytes
                             + m.fit_margin_bytes + m.os_reserve_bytes)  # fmt: skip


def test_without_flash_attention_the_compute_buffer_holds_attention_scores():
    with_fa = estimate(R1, Options(context=65536)).memory.compute_buffer_bytes
    without = estimate(R1, Options(context=65536, flash_attention=False)).memory
    # cells x ubatch x heads x 4 bytes = 65536 x 512 x 128 x 4 = 16 GiB
    assert without.compute_buffer_bytes - with_fa >= 16 * GIB - 1 * GIB


def test_quantized_kv_cache_requires_flash_attention():
    from calculator.engine.types import EngineError

    with pytest.raises(EngineError) as err:
        estimate(LLAMA, Options(kv_type="q8_0", flash_attention=False))
    assert err.value.field == "kv_type"


def test_llama_cpp_command_multiplies_context_by_parallel_slots():
    cmd = llama_cpp_command(Options(context=8192, parallel=4, kv_type="q8_0"), gpu_layers=None)
    assert "-c 32768" in cmd and "-np 4" in cmd and "-ctk q8_0 -ctv q8_0" in cmd


# --- engines ---------------------------------------------------------------------------

from calculator.engine.build import Build, GpuGroup, Host, Tuning  # noqa: E402
from calculator.engine.speed import LLAMA_CPP, Engine, engines_from_data, place_engines  # noqa: E402


def _offload_build():
    host = profile("epyc", "cpu", 768, 460.8, eta=0.5)
    return Build(Host(host), (GpuGroup(profile("gpu", memory_gb=24, eta=0.8), 1),))


def test_an_engine_with_faster_cpu_experts_decodes_offloaded_moe_faster_only_there():
    f = fp(R1, quant="Q4_K_M", context=4096)
    opts = Options(quant="Q4_K_M", context=4096)
    fast = Engine("fast", "fast", host_moe_factor=1.5)
    (_, base), (_, quick) = place_engines(_offload_build(), f, opts, [LLAMA_CPP, fast], Tuning())
    assert base.mode == quick.mode == "expert_offload"
    assert base.cpu_moe_layers == quick.cpu_moe_layers and base.gpu_bytes == quick.gpu_bytes
    assert quick.tokens_per_s > base.tokens_per_s
    dense = fp(LLAMA, quant="Q8_0", context=4096)
    gpu = Build(_offload_build().host, (GpuGroup(profile(memory_gb=80), 1),))
    (_, a), (_, b) = place_engines(gpu, dense, Options(quant="Q8_0", context=4096),
                                   [LLAMA_CPP, fast])  # fmt: skip
    assert a.tokens_per_s == b.tokens_per_s  # nothing in system RAM: the engines agree


def test_engines_come_from_the_data_with_llama_cpp_first():
    engines = engines_from_data({"engines": {"ik_llama.cpp": {"host_moe_factor": 1.2}}})
    assert list(engines) == ["llama.cpp", "ik_llama.cpp"]
    assert engines["ik_llama.cpp"].tuning(Tuning(moe_penalty=0.8)).host_moe_factor == 1.2
    assert engines["llama.cpp"].host_moe_factor == 1.0
