"""The engine against published measurements (calculator/data/reference/*.csv).

Bounds from the sizing-engine issue: file size within 3% on every row (median under
0.5%, 90th percentile under 2%); parameter counts within 0.5% (plus the rounding of
the published figure); llama.cpp KV size within 1%. Speed bounds (issue 9) are judged on
held-out rows only (the ``check`` rows no coefficient was fitted to): decode within ±30%
on at least 80% of one-device, multi-GPU and offload rows each; prefill within ±35% on
at least 75%. Where the data does not reach a bound the test is an expected failure that
says why (strict: it turns red the day the model starts passing, so the mark is removed).
"""

import re
import statistics

import pytest

from calculator import services, validation
from calculator.calibration import OFFLOAD_HELD_OUT_XFAIL, rounding_of
from calculator.engine.quant import PRESETS, weights_bytes
from calculator.models import LlmModel


@pytest.fixture
def rows(hardware):
    archs = {m.slug: services.architecture_of(m) for m in LlmModel.objects.all()}
    profiles = {p.slug: p for p in hardware.profiles}
    return validation.all_rows(archs, profiles, moe_penalty=hardware.moe_penalty)


def evaluated(rows, kind):
    found = [r for r in rows if r.kind == kind and r.error is not None]
    assert found, f"no {kind} row could be evaluated"
    return found


def test_every_gguf_file_size_row_within_3_percent(rows):
    misses = [(r.model_slug, r.label, f"{r.error:+.2%}")
              for r in evaluated(rows, "file_size") if abs(r.error) > 0.03]  # fmt: skip
    assert misses == []


def test_file_size_median_error_under_half_a_percent(rows):
    errors = [abs(r.error) for r in evaluated(rows, "file_size")]
    assert statistics.median(errors) < 0.005


def test_file_size_90th_percentile_error_under_2_percent(rows):
    errors = sorted(abs(r.error) for r in evaluated(rows, "file_size"))
    assert errors[int(0.9 * (len(errors) - 1))] < 0.02


def test_parameter_counts_within_half_a_percent_of_published(rows):
    misses = [(r.model_slug, f"{r.error:+.2%}") for r in evaluated(rows, "params")
              if abs(r.error) > 0.005 + rounding_of(r.published)]  # fmt: skip
    assert misses == []


def test_kv_cache_within_1_percent_of_llama_cpp_logs(rows):
    misses = [(r.model_slug, r.label, f"{r.error:+.2%}")
              for r in evaluated(rows, "kv_cache") if abs(r.error) > 0.01]  # fmt: skip
    assert misses == []


def test_decode_speed_within_30_percent_for_at_least_80_percent_of_rows(rows):
    speeds = [r for r in evaluated(rows, "decode_speed") if r.group == "single"]
    within = sum(abs(r.error) <= 0.30 for r in speeds)
    assert within / len(speeds) >= 0.80, f"{within}/{len(speeds)}"


def test_every_speed_row_is_labelled_fitted_or_held_out(rows):
    speed = [r for r in rows if r.kind in ("decode_speed", "prefill_speed")]
    labelled = [r for r in speed if r.use in ("fitted", "held out")]
    assert len(labelled) == len(speed)
    assert {r.group for r in labelled} >= {"single", "multi_gpu", "offload", "offload_ik",
                                           "prefill"}  # fmt: skip


@pytest.mark.parametrize("group", ["single", "multi_gpu"])
def test_held_out_decode_within_30_percent_on_80_percent_of_each_group(rows, group):
    acc = validation.held_out_accuracy(rows, group, 0.30)
    assert acc.rows >= 10
    assert acc.share >= 0.80, f"{acc.within}/{acc.rows}"


@pytest.mark.xfail(strict=True, reason=OFFLOAD_HELD_OUT_XFAIL)
def test_held_out_offload_decode_within_30_percent_on_80_percent(rows):
    acc = validation.held_out_accuracy(rows, "offload", 0.30)
    assert acc.share >= 0.80, f"{acc.within}/{acc.rows}"


def test_held_out_ik_llama_cpp_offload_decode_within_30_percent_on_80_percent(rows):
    """ik_llama.cpp is a separately calibrated engine: its CPU expert rate is fitted to the
    shortest context of each of its GPU + system RAM runs; deeper steps are held out."""
    acc = validation.held_out_accuracy(rows, "offload_ik", 0.30)
    assert acc.rows >= 8
    assert acc.share >= 0.80, f"{acc.within}/{acc.rows}"


def _dense(rows):
    moe = {"gpt-oss-20b", "gpt-oss-120b", "qwen3-30b-a3b", "qwen3-235b-a22b", "deepseek-r1"}
    return [r for r in rows if r.model_slug not in moe]


def test_held_out_prefill_of_dense_models_within_35_percent_on_75_percent(rows):
    acc = validation.held_out_accuracy(_dense(rows), "prefill", 0.35)
    assert acc.rows >= 20
    assert acc.share >= 0.75, f"{acc.within}/{acc.rows}"


def test_held_out_prefill_within_35_percent_on_75_percent(rows):
    acc = validation.held_out_accuracy(rows, "prefill", 0.35)
    assert acc.rows >= 60
    assert acc.share >= 0.75, f"{acc.within}/{acc.rows}"


def test_held_out_prefill_of_moe_models_within_35_percent_on_75_percent(rows):
    """MoE prompts: FLOPs + experts read per micro-batch + per-backend routing time, the
    routing fitted on one short prompt per device; other models, longer prompts, depths
    and micro-batch sizes are held out."""
    moe = [r for r in rows if r not in _dense(rows)]
    acc = validation.held_out_accuracy(moe, "prefill", 0.35)
    assert acc.rows >= 40
    assert acc.share >= 0.75, f"{acc.within}/{acc.rows}"


def test_speed_model_beats_a_flat_bandwidth_times_0_55_rule(rows, hardware):
    """The rule rival calculators use: tokens/s = 0.55 × bandwidth ÷ model bytes."""
    archs = {m.slug: services.architecture_of(m) for m in LlmModel.objects.all()}
    profiles = {p.slug: p for p in hardware.profiles}
    speeds = [r for r in evaluated(rows, "decode_speed") if r.group == "single"]
    flat_within = 0
    for r in speeds:
        quant, slug = r.label.split(" on ")
        size = weights_bytes(archs[r.model_slug], quant).total_bytes
        flat = 0.55 * profiles[slug].bandwidth_gbps * 1e9 / size
        flat_within += abs(flat / r.published - 1) <= 0.30
    ours = sum(abs(r.error) <= 0.30 for r in speeds)
    assert ours > flat_within


def test_per_tensor_sizes_beat_a_fixed_bits_per_weight_table_on_the_tail(rows):
    """llama.cpp's own whole-file bpw for Llama-3-8B (tools/quantize/quantize.cpp sizes
    ÷ 8.03B params) applied to every model: right on the common case, wrong on the tail."""
    fixed_bpw = {"Q2_K": 3.17, "Q3_K_S": 3.65, "Q3_K_M": 4.00, "Q3_K_L": 4.31, "Q4_0": 4.64,
                 "Q4_1": 5.11, "Q4_K_S": 4.67, "Q4_K_M": 4.90, "Q5_0": 5.57, "Q5_1": 6.04,
                 "Q5_K_S": 5.57, "Q5_K_M": 5.70, "Q6_K": 6.57, "Q8_0": 8.52, "F16": 16.0,
                 "BF16": 16.0, "IQ4_XS": 4.25, "MXFP4_MOE": 4.25}  # fmt: skip
    table_errors, our_errors = [], []
    for r in evaluated(rows, "file_size"):
        if r.label not in fixed_bpw:
            continue
        model = LlmModel.objects.get(slug=r.model_slug)
        table = model.total_params * fixed_bpw[r.label] / 8
        table_errors.append(abs(table / r.published - 1))
        our_errors.append(abs(r.error))
    assert max(our_errors) < max(table_errors)
    assert sorted(our_errors)[-3:] < sorted(table_errors)[-3:]


def test_every_reference_quant_is_a_known_preset():
    for name in ("gguf_file_sizes.csv", "decode_speeds.csv", "build_speeds.csv",
                 "prefill_speeds.csv"):  # fmt: skip
        for record in filter(validation.included, validation.read_reference(name)):
            assert record["quant"] in PRESETS, (name, record["quant"])


def test_every_reference_row_carries_a_source():
    for name in ("gguf_file_sizes.csv", "param_counts.csv", "kv_cache_sizes.csv",
                 "decode_speeds.csv", "build_speeds.csv", "prefill_speeds.csv",
                 "memory_bandwidth.csv"):  # fmt: skip
        for record in validation.read_reference(name):
            assert record["source"].strip(), (name, record)
            assert PUBLIC_SOURCE.match(record["source"]), (name, record["source"])


PUBLIC_SOURCE = re.compile(r"^(https?://|github:[\w.-]+/[\w.-]+ )")


def test_no_measured_read_exceeds_the_bandwidth_our_dimm_rules_give(rows):
    """A population rule that under-counted would show a measurement above our figure."""
    reads = evaluated(rows, "memory_bandwidth")
    assert len(reads) >= 5
    assert all(r.predicted >= r.published for r in reads), [
        (r.model_slug, r.label) for r in reads if r.predicted < r.published
    ]
