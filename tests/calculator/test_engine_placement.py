"""Placement on builds as llama.cpp does it, decode and prompt speed, and the one fit rule."""

from dataclasses import replace

import pytest

from calculator.engine.build import build_from_spec, device_build
from calculator.engine.estimate import Options, footprint, memory
from calculator.engine.hardware import (
    FIT_MARGIN_BYTES,
    GB,
    GIB,
    SOLD_SIZES_GB,
    HardwareProfile,
    recommended_ram_gb,
)
from calculator.engine.placement import place, prompt_seconds_on
from calculator.engine.prefill import PP_TOKENS
from calculator.engine.speed import plan
from tests.calculator.engine_data import inventory, model

R1, LLAMA70, GPT_OSS = model("deepseek-r1"), model("llama-3.1-70b-instruct"), model("gpt-oss-120b")


def on(build_spec, arch, **options):
    inv = inventory()
    opts = Options(**options)
    return place(build_from_spec(build_spec, inv), footprint(arch, opts)[2], opts, inv.tuning)


def gpus(*groups, host=None):
    host = host or {"profile": "sp5-epyc-9004-1p", "memory_gb": 768}
    return {"host": host, "gpus": [{"profile": g, "count": n} for g, n in groups]}


def test_a_model_larger_than_one_gpu_is_layer_split_over_several():
    p = on(gpus(("rtx-3090", 4)), GPT_OSS, quant="MXFP4_MOE")
    assert p.mode == "multi_gpu" and p.runs
    assert len(p.gpu_bytes) == 4 and max(p.gpu_bytes) - min(p.gpu_bytes) < GB
    assert "-ngl" in p.llama_cpp_command and "-ts" not in p.llama_cpp_command


def test_mixed_gpus_get_a_tensor_split_proportional_to_their_memory():
    p = on(gpus(("rtx-5090", 1), ("rtx-3090", 2)), LLAMA70, quant="Q4_K_M")
    assert p.mode == "multi_gpu"
    assert "-ts 32,24,24" in p.llama_cpp_command
    assert p.gpu_bytes[0] > p.gpu_bytes[1]


def test_layer_split_decode_time_is_the_sum_over_the_gpus_plus_a_fitted_cost_per_gpu():
    inv, opts = inventory(), Options(quant="Q4_K_M")
    fp = footprint(LLAMA70, opts)[2]
    card = replace(inv.profiles["h100-sxm"], overhead_ms=0.0, efficiency=0.5)
    host = inv.profiles["desktop-ddr5-5600-2ch"]
    one = place(device_build(card, host), fp, opts).tokens_per_s
    two = build_from_spec(gpus(("h100-sxm", 2)), inv)
    two = replace(two, gpus=(replace(two.gpus[0], profile=card),))
    split = place(two, fp, opts, replace(inv.tuning, extra_gpu_ms=0.0)).tokens_per_s
    slowed = place(two, fp, opts, replace(inv.tuning, extra_gpu_ms=1.0)).tokens_per_s
    assert split == pytest.approx(one)
    assert 1 / slowed == pytest.approx(1 / split + 0.001)


def test_moe_beside_a_big_host_keeps_attention_on_the_gpu_and_experts_in_ram():
    p = on(gpus(("rtx-4090", 1)), R1, quant="Q4_K_M")
    assert p.mode == "expert_offload" and p.fit == "offload"
    # --n-cpu-moe counts layers from 0, R1's three dense layers included
    assert f"--n-cpu-moe {p.cpu_moe_layers + 3}" in p.llama_cpp_command
    assert p.host_bytes > 300 * GB and p.gpu_bytes[0] + FIT_MARGIN_BYTES <= 24 * GIB


def test_when_no_expert_layer_fits_every_expert_goes_to_the_cpu():
    small = {"bandwidth_gbps": 360, "memory_gb": 16}
    p = on({"host": {"profile": "sp5-epyc-9004-1p", "memory_gb": 768}, "gpus": [small]}, R1,
           quant="Q4_K_M")  # fmt: skip
    assert p.mode == "expert_offload" and p.cpu_moe_layers == R1.n_moe_layers
    assert "-ot exps=CPU" in p.llama_cpp_command


def test_a_dense_model_too_big_for_the_gpu_offloads_its_first_layers():
    p = on(gpus(("rtx-4090", 1)), LLAMA70, quant="Q4_K_M")
    assert p.mode == "partial_offload" and p.fit == "offload"
    assert 0 < p.gpu_layers < 80 and f"-ngl {p.gpu_layers}" in p.llama_cpp_command


def test_a_plan_that_does_not_fit_says_which_memory_is_short_and_by_how_much():
    desktop = {"profile": "am5-ryzen-9000", "memory_gb": 96}
    p = on(gpus(("rtx-4090", 1), host=desktop), R1, quant="Q4_K_M")
    assert p.fit == "none" and p.mode == "does_not_fit" and p.tokens_per_s is None
    assert p.short_bytes > 250 * GB
    assert "system RAM is" in p.note and "short" in p.note


def test_a_second_socket_adds_capacity_not_decode_speed_by_default():
    one = on({"host": {"profile": "sp5-epyc-9004-1p", "memory_gb": 768}}, R1, quant="Q4_K_M")
    two = on({"host": {"profile": "sp5-epyc-9004-2p", "memory_gb": 1536}}, R1, quant="Q4_K_M")
    assert two.tokens_per_s == pytest.approx(one.tokens_per_s)
    assert "--numa distribute" in two.note


# --- prompt processing -------------------------------------------------------------------


def test_prefill_needs_a_compute_figure():
    cpu = on({"host": {"profile": "sp5-epyc-9004-1p", "memory_gb": 768}}, LLAMA70)
    assert cpu.tokens_per_s and cpu.prefill_tokens_per_s is None
    assert cpu.time_to_first_token_s is None


def test_pp512_is_prompt_flops_over_the_effective_rate():
    inv, opts = inventory(), Options(quant="Q4_K_M", context=8192)
    fp = footprint(model("llama-3.1-8b"), opts)[2]
    gpu = inv.profiles["rtx-4090"]
    p = place(device_build(gpu, inv.profiles["desktop-ddr5-5600-2ch"]), fp, opts)
    rate = gpu.fp16_tflops * gpu.prefill_efficiency * 1e12
    assert p.prefill_tokens_per_s == pytest.approx(PP_TOKENS * rate / fp.prefill.flops(512))
    assert p.time_to_first_token_s == pytest.approx(fp.prefill.flops(8192) / rate)


def test_the_whole_context_as_prompt_takes_longer_than_linear_in_length():
    short = on(gpus(("rtx-4090", 1)), model("llama-3.1-8b"), context=8192)
    long = on(gpus(("rtx-4090", 1)), model("llama-3.1-8b"), context=32768)
    assert long.time_to_first_token_s > 4 * short.time_to_first_token_s


def test_offloaded_weights_are_streamed_over_pcie_for_every_prompt_batch():
    p = on(gpus(("rtx-4090", 1)), R1, quant="Q4_K_M", context=8192)
    link = inventory().profiles["rtx-4090"].link_gbps
    streaming = p.host_bytes / (link * GB)  # one micro-batch's copy, at least
    assert p.prefill_tokens_per_s < PP_TOKENS / streaming * 1.01


def test_weight_copies_reach_the_fitted_share_of_the_link():
    inv, opts = inventory(), Options(quant="Q4_K_M", context=8192)
    fp = footprint(R1, opts)[2]
    build = build_from_spec(gpus(("rtx-4090", 1)), inv)
    full = place(build, fp, opts, replace(inv.tuning, link_efficiency=1.0))
    half = place(build, fp, opts, replace(inv.tuning, link_efficiency=0.5))
    assert full.tokens_per_s == half.tokens_per_s  # decode reads RAM in place
    assert half.prefill_tokens_per_s < 0.6 * full.prefill_tokens_per_s
    assert 0.5 < inv.tuning.link_efficiency < 1


def test_a_larger_micro_batch_copies_the_offloaded_experts_fewer_times():
    p = on(gpus(("rtx-4090", 1)), R1, quant="Q4_K_M", context=8192)
    default = prompt_seconds_on(p, 8192)
    assert default == pytest.approx(p.time_to_first_token_s)
    assert prompt_seconds_on(p, 8192, ubatch=4096) < 0.5 * default
    assert prompt_seconds_on(p, 512, start=8192) > prompt_seconds_on(p, 512)


def test_a_plan_that_does_not_run_has_no_prompt_time():
    p = on(gpus(("rtx-4090", 1), host={"profile": "am5-ryzen-9000", "memory_gb": 64}), R1)
    assert not p.runs and prompt_seconds_on(p, 512) is None


# --- one fit rule ---------------------------------------------------------------------


def cpu_machine(gb):
    return HardwareProfile(f"cpu{gb}", f"{gb} GB PC", "cpu", gb, 100, 0.5)


@pytest.mark.parametrize("slug", ["llama-3.1-70b-instruct", "gpt-oss-120b", "qwen3-30b-a3b"])
def test_comfortable_on_a_pc_means_exactly_having_the_recommended_ram(slug):
    arch, opts = model(slug), Options(quant="Q4_K_M", context=8192)
    fp = footprint(arch, opts)[2]
    recommended = recommended_ram_gb(memory(fp).total_bytes)
    for size in SOLD_SIZES_GB:
        speed = plan(cpu_machine(size), fp, host=cpu_machine(size), options=opts)
        assert speed.fits == (size >= recommended), (slug, size)
        assert speed.fits == (speed.fit == "comfortable")
        if not speed.fits and speed.tokens_per_s:
            assert speed.fit == "tight"


def test_a_mac_over_its_default_gpu_share_is_tight_and_gets_the_sysctl_command():
    mac = HardwareProfile("mac", "Mac 64 GB", "apple", 64, 400, 0.7)
    opts = Options(quant="Q5_K_M", context=8192)  # ~50 GB of 70B: over macOS's 48 GiB share
    tight = plan(mac, footprint(LLAMA70, opts)[2], host=mac, options=opts)
    assert tight.fit == "tight" and not tight.fits
    assert "sudo sysctl iogpu.wired_limit_mb=" in tight.note
