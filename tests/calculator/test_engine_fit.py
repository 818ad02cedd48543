from dataclasses import replace

import pytest

from calculator.engine.architecture import parse_config
from calculator.engine.estimate import Options, estimate, footprint
from calculator.engine.fit import (
    LEGACY,
    QuantPick,
    _bpw,
    _choose,
    best_quant,
    best_quant_on,
    best_quant_pick,
    candidates,
    classify,
    ladder,
    max_context,
    total_bytes,
)
from calculator.engine.hardware import HardwareProfile, machine_budget_bytes
from calculator.engine.placement import place
from calculator.engine.pools import host_pool
from calculator.engine.quant import weights_bytes
from calculator.engine.verdict import build_verdict, verdict
from tests.calculator.builders import deepseek_r1_config, llama3_8b_config
from tests.calculator.engine_data import inventory, model, preset, presets_data

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


# --- the one best-quant rule (issue 9) ------------------------------------------------------


def test_a_recommendation_never_offers_f16_or_bf16_unless_asked():
    names = candidates(LLAMA)
    assert "F16" not in names and "BF16" not in names and "F32" not in names
    assert "F16" in candidates(LLAMA, allow_float=True)
    assert best_quant(LLAMA, Options(), machine_budget_bytes(512)) == "Q8_0"
    assert best_quant(LLAMA, Options(), machine_budget_bytes(512), allow_float=True) in (
        "F16", "BF16",
    )  # fmt: skip


def test_mxfp4_only_for_models_released_in_it_and_ternary_never_for_others():
    assert not any(n.startswith("MXFP4") for n in candidates(LLAMA))
    assert any(n.startswith("MXFP4") for n in candidates(model("gpt-oss-20b")))
    assert not any(n.startswith("TQ") for n in candidates(LLAMA))


def test_candidates_run_from_most_to_fewest_bits_per_weight():
    sizes = [weights_bytes(R1, n).total_bytes for n in candidates(R1)]
    assert sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize("budget_gb", [8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768])
def test_a_legacy_type_is_never_picked_when_a_k_quant_of_equal_or_smaller_size_fits(budget_gb):
    for arch in (LLAMA, R1, model("qwen3-30b-a3b")):
        pick = best_quant_pick(arch, Options(), machine_budget_bytes(budget_gb))
        if pick is None or pick.quant not in LEGACY:
            continue
        smaller = [n for n in candidates(arch) if n not in LEGACY
                   and weights_bytes(arch, n).total_bytes <= pick.total_bytes]  # fmt: skip
        assert not any(
            total_bytes(arch, replace(Options(), quant=n)) <= machine_budget_bytes(budget_gb)
            for n in smaller
        )


def test_under_three_bits_per_weight_is_flagged_as_a_visible_quality_loss():
    pick = best_quant_pick(R1, Options(), machine_budget_bytes(256))
    assert pick is not None and pick.bits_per_weight < 3 and pick.quality_loss
    assert not best_quant_pick(R1, Options(), machine_budget_bytes(512)).quality_loss


def test_scout_on_a_4090_beside_a_big_host_runs_a_real_quant_with_expert_offload():
    scout = model("llama-4-scout-17b-16e-instruct")
    build = preset("rtx-4090-epyc-9004-384gb")
    pick = best_quant_on(scout, Options(), build, tuning=inventory().tuning)
    assert pick is not None and not pick.quality_loss
    assert pick.fit == "offload" and pick.placement.mode == "expert_offload"
    assert pick.quant not in ("IQ1_S", "IQ1_M") and pick.bits_per_weight >= 4


def test_a_comfortable_fit_of_three_bits_or_more_beats_any_offloaded_one():
    build = preset("rtx-4090-epyc-9004-384gb")
    pick = best_quant_on(model("qwen3-14b"), Options(), build, tuning=inventory().tuning)
    assert pick.fit == "comfortable" and pick.placement.mode == "gpu"
    assert pick.bits_per_weight >= 4


def test_the_best_quant_on_a_build_is_one_the_build_runs_as_placed():
    build = preset("mac-studio-m3-ultra-256gb")
    for slug in ("deepseek-r1", "qwen3-235b-a22b", "llama-3.1-70b-instruct"):
        arch = model(slug)
        pick = best_quant_on(arch, Options(), build)
        opts = replace(Options(), quant=pick.quant)
        assert place(build, footprint(arch, opts)[2], opts).fit == pick.fit != "none"


def test_fit_classify_is_the_rule_every_plan_uses():
    p = place(preset("desktop-ddr5-2x48gb"), fp_of(R1), Options())
    assert p.fit == classify([host_pool(p.build.host.profile, p.host_bytes)],
                             offload=False).fit == "none"  # fmt: skip


def fp_of(arch):
    return footprint(arch, Options())[2]


# --- the verdict over builds ---------------------------------------------------------------


def _placements(arch, slugs):
    opts = Options()
    fp = fp_of(arch)
    return [place(preset(s), fp, opts, inventory().tuning) for s in slugs]


def test_the_verdict_names_the_cheapest_comfortable_build_of_each_kind():
    slugs = ["mac-studio-m3-ultra-96gb", "mac-studio-m3-ultra-256gb", "epyc-9004-768gb",
             "desktop-ddr5-2x48gb", "4x-rtx-3090-threadripper-pro-256gb",
             "rtx-4090-epyc-9004-384gb"]  # fmt: skip
    v = build_verdict(_placements(model("llama-3.1-70b-instruct"), slugs), 64)
    picked = {o.kind: o.placement.build.slug for o in v.options}
    assert picked["Mac"] == "mac-studio-m3-ultra-96gb"
    assert picked["CPU platform"] == "desktop-ddr5-2x48gb"
    assert picked["GPU rig"] == "4x-rtx-3090-threadripper-pro-256gb"  # the 4090 one offloads
    speeds = [o.placement.tokens_per_s for o in v.options]
    assert speeds == sorted(speeds, reverse=True)


def test_a_cost_function_changes_which_build_of_a_kind_is_named():
    slugs = ["mac-studio-m3-ultra-96gb", "mac-studio-m3-ultra-256gb"]
    placements = _placements(model("llama-3.1-8b"), slugs)
    default = build_verdict(placements, 16)
    pricey_small = build_verdict(placements, 16, cost=lambda b: -b.memory_gb)
    assert default.options[0].placement.build.slug == "mac-studio-m3-ultra-96gb"
    assert pricey_small.options[0].placement.build.slug == "mac-studio-m3-ultra-256gb"


def test_r1_verdict_offers_no_gpu_that_only_runs_it_with_offload():
    slugs = ["rtx-4090-epyc-9004-384gb", "epyc-9004-768gb", "mac-studio-m3-ultra-512gb"]
    v = build_verdict(_placements(R1, slugs), 512)
    kinds = {o.kind for o in v.options}
    assert kinds == {"CPU platform", "Mac"}


def _best_by_full_scan(arch, options, build, tuning):
    """The rule spelled out: every candidate placed, then ``_choose`` over all of them."""
    picks = []
    for name in candidates(arch):
        opts = replace(options, quant=name)
        fp = footprint(arch, opts)[2]
        placement = place(build, fp, opts, tuning)
        total = estimate(arch, opts).memory.total_bytes
        picks.append(QuantPick(name, _bpw(arch, name), placement.fit, total, placement))
    return _choose(arch, picks)


@pytest.mark.parametrize("slug", ["deepseek-r1", "qwen3-14b", "llama-3.1-70b-instruct"])
@pytest.mark.parametrize("context", [4096, 131072])
def test_best_quant_on_stops_early_only_when_the_full_rule_agrees(slug, context):
    """``best_quant_on`` stops at the first comfortable modern quant of 3+ bits; the
    rule over every candidate picks the same on every preset build."""
    arch, tuning = model(slug), inventory().tuning
    options = Options(context=context)
    for entry in presets_data():
        build = preset(entry["slug"])
        full = _best_by_full_scan(arch, options, build, tuning)
        early = best_quant_on(arch, options, build, tuning=tuning)
        assert (full and (full.quant, full.fit)) == (early and (early.quant, early.fit)), entry
