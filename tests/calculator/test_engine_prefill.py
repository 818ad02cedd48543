"""FLOPs per prompt token: weights, and attention by layer kind (no database)."""

import pytest

from calculator.engine.prefill import prefill_cost
from tests.calculator.engine_data import model


def test_weights_cost_two_flops_per_active_parameter():
    # active_params already leaves out the input embedding table (a token reads one row)
    llama = model("llama-3.1-8b")
    cost = prefill_cost(llama)
    assert cost.matmul_flops == pytest.approx(2 * llama.active_params, rel=1e-3)


def test_moe_weights_count_only_the_experts_a_token_uses():
    r1 = model("deepseek-r1")
    assert prefill_cost(r1).matmul_flops < 2 * 0.06 * r1.total_params
    assert prefill_cost(r1).experts_touched(1) == pytest.approx(8 / 256)
    assert prefill_cost(r1).experts_touched(512) > 0.99


def test_full_attention_grows_linearly_with_depth():
    cost = prefill_cost(model("llama-3.1-8b"))
    step = cost.flops(1, 1000) - cost.flops(1, 0)
    assert cost.flops(1, 2000) - cost.flops(1, 0) == pytest.approx(2 * step)
    # 32 layers x 4096-wide queries x (QK + AV) x 2 FLOPs per earlier token
    assert step == pytest.approx(1000 * 32 * 4096 * 4)


def test_sliding_window_layers_stop_growing_past_their_window():
    gemma = model("gemma-2-9b-it")
    cost = prefill_cost(gemma)
    windows = [w for _, w in cost.attention if w]
    assert windows, "Gemma 2 alternates sliding-window layers"
    late = cost.flops(1, 100_000) - cost.flops(1, 90_000)
    full_only = sum(per for per, w in cost.attention if w is None) * 10_000
    assert late == pytest.approx(full_only)


def test_mla_attends_in_the_latent():
    r1 = model("deepseek-r1")
    per_token = sum(per for per, _ in prefill_cost(r1).attention)
    assert per_token == pytest.approx(61 * 2 * 128 * (576 + 512))


def test_a_prompt_costs_the_sum_of_its_tokens():
    cost = prefill_cost(model("llama-3.1-8b"))
    assert cost.flops(512, 256) == pytest.approx(cost.flops(768) - cost.flops(256))


# --- prompt time on a device ---------------------------------------------------------

from dataclasses import replace  # noqa: E402

from calculator.engine.prefill import MoeWeights, prompt_seconds  # noqa: E402
from calculator.engine.quant import weights_bytes  # noqa: E402
from tests.calculator.engine_data import inventory  # noqa: E402


def _oss(slug="gpt-oss-120b"):
    arch = model(slug)
    experts = weights_bytes(arch, "MXFP4_MOE").expert_bytes
    return prefill_cost(arch), MoeWeights(arch.n_moe_layers, experts)


def test_a_dense_prompt_is_its_flops_at_the_device_rate():
    cost = prefill_cost(model("llama-3.1-8b"))
    gpu = inventory().profiles["rtx-4090"]
    assert prompt_seconds(cost, 512, gpu) == pytest.approx(
        cost.flops(512) / gpu.prefill_flops_per_s
    )


def test_a_device_without_a_prompt_rate_has_no_prompt_time():
    cost = prefill_cost(model("llama-3.1-8b"))
    gpu = replace(inventory().profiles["rtx-4090"], fp16_tflops=None, prefill_tflops=None)
    assert prompt_seconds(cost, 512, gpu) is None


def test_moe_routing_time_grows_with_tokens_and_moe_layers():
    cost, moe = _oss()
    gpu = replace(inventory().profiles["rtx-pro-6000-blackwell"], moe_prefill_us=0.0)
    base = prompt_seconds(cost, 2048, gpu, moe=moe, ubatch=2048)
    routed = prompt_seconds(cost, 2048, gpu, moe=moe, ubatch=2048, routing_us=2.0)
    assert routed - base == pytest.approx(2048 * 36 * 2.0e-6)


def test_each_micro_batch_reads_the_experts_it_routes_to():
    """A small micro-batch re-reads gpt-oss-120b's experts more often: on a 256 GB/s APU,
    at the default 512 tokens, the reads take about as long as the FLOPs."""
    cost, moe = _oss()
    apu = replace(inventory().profiles["strix-halo-395-128"], moe_prefill_us=0.0)
    small = prompt_seconds(cost, 2048, apu, moe=moe, ubatch=512)
    large = prompt_seconds(cost, 2048, apu, moe=moe, ubatch=2048)
    reads = 3 * moe.expert_bytes * cost.experts_touched(512) / apu.read_bytes_per_s
    assert small - large == pytest.approx(reads, rel=0.01)
    assert 4 / 3 * reads > 0.5 * cost.flops(2048) / apu.prefill_flops_per_s
