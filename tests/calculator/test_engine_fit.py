from dataclasses import replace

from calculator.engine.architecture import parse_config
from calculator.engine.estimate import Options, estimate
from calculator.engine.fit import best_quant, ladder, max_context, total_bytes
from calculator.engine.hardware import HardwareProfile, machine_budget_bytes
from calculator.engine.quant import weights_bytes
from calculator.engine.verdict import verdict
from tests.calculator.builders import deepseek_r1_config, llama3_8b_config

R1 = parse_config(deepseek_r1_config())
LLAMA = parse_config(llama3_8b_config())


def test_ladder_runs_from_largest_to_smallest_file():
    sizes = [weights_bytes(LLAMA, q).total_bytes for q in ladder(LLAMA)]
    assert sizes == sorted(sizes, reverse=True)
    assert "F32" not in ladder(LLAMA)


def test_best_quant_is_the_largest_that_fits_and_the_next_one_up_does_not():
    budget = machine_budget_bytes(256)
    best = best_quant(R1, Options(), budget)
    names = ladder(R1)
    assert total_bytes(R1, replace(Options(), quant=best)) <= budget
    assert total_bytes(R1, replace(Options(), quant=names[names.index(best) - 1])) > budget


def test_nothing_fits_a_tiny_budget():
    assert best_quant(R1, Options(), machine_budget_bytes(8)) is None


def test_max_context_fits_and_one_more_step_does_not():
    budget = machine_budget_bytes(16)
    ctx = max_context(LLAMA, Options(quant="Q8_0"), budget)
    assert ctx is not None and ctx % 256 == 0
    assert total_bytes(LLAMA, Options(quant="Q8_0", context=ctx)) <= budget
    if ctx < LLAMA.n_ctx_train:
        assert total_bytes(LLAMA, Options(quant="Q8_0", context=ctx + 256)) > budget


def test_max_context_stops_at_the_trained_context():
    assert max_context(LLAMA, Options(quant="Q4_K_M"), machine_budget_bytes(512)) == 8192


def test_verdict_for_r1_needs_a_big_platform_and_names_no_single_gpu():
    profiles = [
        HardwareProfile("desk", "Desktop", "cpu", 256, 89.6, 0.55, tier="desktop"),
        HardwareProfile("ws", "Workstation", "cpu", 2048, 409.6, 0.55, tier="workstation"),
        HardwareProfile("mac", "Mac Studio", "apple", 512, 819, 0.74, tier="mac"),
        HardwareProfile("4090", "RTX 4090", "gpu", 24, 1008, 0.9, tier="consumer-gpu"),
    ]
    est = estimate(R1, Options(), profiles, host=profiles[0])
    v = verdict(est.speeds, est.recommended_ram_gb)
    labels = " ".join(o.label for o in v.options)
    assert "512 GB" in v.headline
    assert "workstation" in labels and "Mac" in labels
    assert "RTX 4090" not in labels
