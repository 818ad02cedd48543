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
