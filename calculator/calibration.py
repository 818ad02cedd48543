"""Fit the speed coefficients to the ``fit`` rows of the reference set (never to the
``check`` rows, which the tests judge the fit on).

* Decode, per hardware class: ``seconds per token = bytes read ÷ (eta × bandwidth) +
  overhead``. The fixed term is why doubling bandwidth does not double speed for small
  models (canirunthisllm.com/methodology/); ``eta`` is capped at 0.9 because read probes
  reach about 85% of peak (antirez/ds4 #773 on DGX Spark). The fit minimises squared log
  error per class on a grid (``decode_speeds.csv``).
* Several GPUs: the extra time per token for each GPU after the first in a layer split
  (``build_speeds.csv`` multi-GPU rows).
* Prompts: per prefill class, the share of the vendor's dense FP16 TFLOPS that llama-bench
  pp rows reach; for devices without a vendor FP16 figure (Apple, APUs, newer cards whose
  figure was not read), their own measured effective TFLOPS (``prefill_speeds.csv``).

``python manage.py calibrate_speed`` prints the fits with their held-out accuracy and
``--write`` stores them in ``hardware.json`` with their derivation.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from calculator.engine.build import Build, Inventory
from calculator.engine.estimate import Options
from calculator.engine.footprint import Footprint
from calculator.engine.hardware import HardwareProfile
from calculator.engine.placement import place
from calculator.engine.types import Architecture
from calculator.validation import (
    build_decode_tps,
    build_prompt_tps,
    included,
    measured_footprint,
    predicted_prefill,
    prefill_backend,
    prefill_footprint,
    prefill_moe_us,
    prompt_tokens,
    read_reference,
    reference_build,
    row_engine,
)

ETA_GRID = [i / 100 for i in range(30, 91)]
OVERHEAD_GRID_MS = [i / 10 for i in range(0, 81)]
EXTRA_GPU_GRID_MS = [i / 20 for i in range(0, 101)]
MIN_ROWS = 3
BOUND = 0.30

# Why the held-out GPU + system RAM (mainline llama.cpp) decode rows miss the ±30% on 80%
# bound: the strict xfail of tests/calculator/test_validation.py and /methodology/ both say it.
OFFLOAD_HELD_OUT_XFAIL = (
    "12 held-out mainline rows from two boxes, 7 within ±30% (median error 17%): the "
    "Threadripper PRO 7965WX + A6000 rows (two runs, f16 and q8_0 KV) are within -17..+5%, but "
    "5 of the 6 EPYC 9355 VM + RTX 3090 rows run 1.5-1.8x slower than predicted although "
    "the same VM's CPU-only run is predicted within 3%, so the loss is in that VM's GPU-CPU "
    "hand-offs, not in CPU efficiency; one box cannot calibrate a hand-off cost, and its depth "
    "rows carry May-2025 CUDA builds' quantized-KV attention slowdown. Two searches of "
    "public llama.cpp and ik_llama.cpp issues, pull requests and discussions (November 2026) "
    "found no other mainline run that can be held out: the reports give a RAM total but no "
    "DIMMs, run on GPUs without a profile (RTX 3060, 3070, 3090 Ti, 4070, 4080, 5060 Ti, 5070), "
    "load unsloth dynamic (UD) or ik_llama.cpp-only files or models outside the catalog, keep "
    "every expert in VRAM, or rest on a RAM size the author gave earlier that is smaller than "
    "the file the run loaded. The hybrid runs found from a Ryzen 9 9950X (2 x 48 GB "
    "DDR5-6400) + RTX 3090 Ti desktop are ik_llama.cpp runs of ik-only quants, and its "
    "mainline runs found are fully on the GPU or on the CPU alone"
)


def rounding_of(value: float) -> float:
    """Relative half-unit of the last significant digit of a published figure (a parameter
    count published as 8,000,000,000 is only known to ±0.5 billion): the slack the
    parameter-count bound adds, in the suite and on /methodology/."""
    digits = str(int(value)).rstrip("0")
    unit = 10 ** (len(str(int(value))) - len(digits))
    return unit / 2 / value


@dataclass(frozen=True, slots=True)
class Point:
    efficiency_class: str
    seconds_at_full_bandwidth: float  # bytes per token ÷ bandwidth
    measured_tps: float
    moe: bool
    label: str
    use: str = "fit"  # "fit" or "check"


@dataclass(frozen=True, slots=True)
class Fit:
    efficiency_class: str
    eta: float
    overhead_ms: float
    low: float  # measured ÷ predicted, worst below (fit rows)
    high: float  # measured ÷ predicted, best above (fit rows)
    rows: int  # fit rows
    within_30: int  # fit rows within ±30%
    held_out: int  # check rows
    held_out_within_30: int


def _predict(eta: float, overhead_ms: float, p: Point, moe_penalty: float) -> float:
    factor = moe_penalty if p.moe else 1.0
    return 1 / (p.seconds_at_full_bandwidth / (eta * factor) + overhead_ms / 1000)


def _best(points: list[Point], moe_penalty: float) -> tuple[float, float]:
    best: tuple[float, float, float] | None = None
    for eta in ETA_GRID:
        for overhead in OVERHEAD_GRID_MS:
            loss = sum(
                math.log(_predict(eta, overhead, p, moe_penalty) / p.measured_tps) ** 2
                for p in points
            )
            if best is None or loss < best[0]:
                best = (loss, eta, overhead)
    assert best is not None
    return best[1], best[2]


def _within(predicted: float, measured: float) -> bool:
    return abs(predicted / measured - 1) <= BOUND


def points(
    archs: Mapping[str, Architecture], profiles: Mapping[str, Mapping[str, object]]
) -> list[Point]:
    found = []
    for r in filter(included, read_reference("decode_speeds.csv")):
        arch, hw = archs.get(r["model_slug"]), profiles.get(r["hardware"])
        if arch is None or hw is None or not r.get("use"):
            continue
        fp = measured_footprint(arch, r)
        bandwidth = float(hw["bandwidth_gbps"]) * 1e9  # type: ignore[arg-type]
        found.append(
            Point(str(hw["efficiency_class"]), fp.read_bytes_per_token / bandwidth,
                  float(r["tokens_per_s"]), fp.is_moe,
                  f"{r['model_slug']} {r['quant']} on {r['hardware']}", r["use"])
        )  # fmt: skip
    return found


def fit(all_points: list[Point], moe_penalty: float) -> list[Fit]:
    """Per class, the coefficients that best fit its ``fit`` rows."""
    fits = []
    for cls in sorted({p.efficiency_class for p in all_points}):
        train = [p for p in all_points if p.efficiency_class == cls and p.use == "fit"]
        check = [p for p in all_points if p.efficiency_class == cls and p.use == "check"]
        if len(train) < MIN_ROWS:
            continue
        eta, overhead = _best(train, moe_penalty)
        ratios = [p.measured_tps / _predict(eta, overhead, p, moe_penalty) for p in train]
        fits.append(
            Fit(cls, eta, overhead, min(ratios), max(ratios), len(train),
                sum(_within(_predict(eta, overhead, p, moe_penalty), p.measured_tps)
                    for p in train),
                len(check),
                sum(_within(_predict(eta, overhead, p, moe_penalty), p.measured_tps)
                    for p in check))
        )  # fmt: skip
    return fits


# --- several GPUs ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupFit:
    value: float
    rows: int
    within_30: int
    held_out: int
    held_out_within_30: int


def _build_cases(
    archs: Mapping[str, Architecture], inv: Inventory, group: str
) -> list[tuple[str, float, Build, Footprint, Options]]:
    cases = []
    for r in filter(included, read_reference("build_speeds.csv")):
        arch = archs.get(r["model_slug"])
        build = reference_build(r, inv) if arch else None
        if arch is None or build is None or r["group"] != group:
            continue
        fp = measured_footprint(arch, r)
        options = Options(quant=r["quant"], context=fp.context, kv_type=r["kv_type"])
        cases.append((r["use"], float(r["tokens_per_s"]), build, fp, options))
    return cases


def fit_extra_gpu_ms(archs: Mapping[str, Architecture], inv: Inventory) -> GroupFit:
    """The per-token time each GPU after the first adds in a layer split."""
    cases = _build_cases(archs, inv, "multi_gpu")

    def predictions(ms: float, use: str) -> list[tuple[float, float]]:
        tuning = replace(inv.tuning, extra_gpu_ms=ms)
        out = []
        for case_use, measured, build, fp, options in cases:
            if case_use == use:
                tps = place(build, fp, options, tuning).tokens_per_s
                out.append((tps or 0.0, measured))
        return out

    def loss(ms: float) -> float:
        return sum(math.log(max(p, 1e-9) / m) ** 2 for p, m in predictions(ms, "fit"))

    best = min(EXTRA_GPU_GRID_MS, key=loss)
    train, check = predictions(best, "fit"), predictions(best, "check")
    return GroupFit(
        best, len(train), sum(_within(p, m) for p, m in train),
        len(check), sum(_within(p, m) for p, m in check),
    )  # fmt: skip


LINK_GRID = [i / 100 for i in range(30, 101)]


def fit_link_efficiency(archs: Mapping[str, Architecture], inv: Inventory) -> GroupFit:
    """The share of the PCIe link that llama.cpp's weight copies reach when a plan with
    weights in system RAM reads a prompt (``build_speeds.csv`` ``offload_prefill`` rows)."""
    cases = []
    for r in filter(included, read_reference("build_speeds.csv")):
        arch = archs.get(r["model_slug"])
        build = reference_build(r, inv) if arch else None
        if arch is not None and build is not None and r["group"] == "offload_prefill":
            cases.append((r["use"], float(r["tokens_per_s"]), arch, r, build))

    def predictions(eta: float, use: str) -> list[tuple[float, float]]:
        tuning = replace(inv.tuning, link_efficiency=eta)
        return [(build_prompt_tps(arch, r, build, tuning) or 1e-9, measured)
                for case_use, measured, arch, r, build in cases if case_use == use]  # fmt: skip

    def loss(eta: float) -> float:
        return sum(math.log(p / m) ** 2 for p, m in predictions(eta, "fit"))

    best = min(LINK_GRID, key=loss)
    train, check = predictions(best, "fit"), predictions(best, "check")
    return GroupFit(
        best, len(train), sum(_within(p, m) for p, m in train),
        len(check), sum(_within(p, m) for p, m in check),
    )  # fmt: skip


ENGINE_GRID = [i / 100 for i in range(50, 201)]


def fit_engine(archs: Mapping[str, Architecture], inv: Inventory, key: str) -> GroupFit:
    """An engine's CPU expert rate against llama.cpp's (``host_moe_factor``), fitted to its
    GPU + system RAM decode rows (``build_speeds.csv`` ``offload_ik`` for ik_llama.cpp)."""
    cases = []
    for r in filter(included, read_reference("build_speeds.csv")):
        arch = archs.get(r["model_slug"])
        build = reference_build(r, inv) if arch else None
        if arch is None or build is None or row_engine(r) != key or prompt_tokens(r):
            continue
        cases.append((r["use"], float(r["tokens_per_s"]), arch, r, build))

    def predictions(factor: float, use: str) -> list[tuple[float, float]]:
        tuning = replace(inv.tuning, host_moe_factor=factor)
        return [(build_decode_tps(arch, r, build, tuning) or 1e-9, measured)
                for case_use, measured, arch, r, build in cases if case_use == use]  # fmt: skip

    def loss(factor: float) -> float:
        return sum(math.log(p / m) ** 2 for p, m in predictions(factor, "fit"))

    best = min(ENGINE_GRID, key=loss)
    train, check = predictions(best, "fit"), predictions(best, "check")
    return GroupFit(
        best, len(train), sum(_within(p, m) for p, m in train),
        len(check), sum(_within(p, m) for p, m in check),
    )  # fmt: skip


# --- prompts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrefillFit:
    class_eta: dict[str, float]  # prefill class -> share of fp16_tflops
    measured_tflops: dict[str, float]  # profile slug -> effective TFLOPS
    rows: int  # dense fit rows
    moe_us: dict[str, float] = field(default_factory=dict)  # backend -> routing µs
    moe_rows: dict[str, int] = field(default_factory=dict)  # backend -> MoE fit rows
    class_sources: dict[str, tuple[str, ...]] = field(default_factory=dict)  # fit rows' sources


def effective_tflops(arch: Architecture, record: Mapping[str, str]) -> float:
    """The FLOP rate a pp row shows: prompt FLOPs per second, in TFLOPS."""
    fp = prefill_footprint(arch, record)
    assert fp.prefill is not None
    tokens, depth = int(record["tokens"]), int(record["depth"] or 0)
    return fp.prefill.flops(tokens, depth) / (tokens / float(record["tokens_per_s"])) / 1e12


MOE_US_GRID = [i / 20 for i in range(0, 801)]  # 0 .. 40 µs per token and MoE layer


def fit_prefill(
    archs: Mapping[str, Architecture],
    profiles: Mapping[str, HardwareProfile],
    prefill_class: Mapping[str, str],
) -> PrefillFit:
    """Class shares of vendor TFLOPS, and measured TFLOPS where no vendor figure exists,
    from the dense ``fit`` rows; then, with those rates, each backend's MoE routing time
    from its MoE ``fit`` rows (grid, least squared log error)."""
    ratios: dict[str, list[float]] = {}
    sources: dict[str, set[str]] = {}
    measured: dict[str, list[float]] = {}
    moe_cases: dict[str, list[tuple[Architecture, str, Mapping[str, str]]]] = {}
    rows = 0
    for r in filter(included, read_reference("prefill_speeds.csv")):
        arch, hw = archs.get(r["model_slug"]), profiles.get(r["hardware"])
        if r.get("use") != "fit" or arch is None or hw is None:
            continue
        if arch.n_expert:
            moe_cases.setdefault(prefill_backend(r), []).append((arch, hw.slug, r))
            continue
        rows += 1
        rate = effective_tflops(arch, r)
        if hw.fp16_tflops:
            ratios.setdefault(prefill_class[hw.slug], []).append(rate / hw.fp16_tflops)
            sources.setdefault(prefill_class[hw.slug], set()).add(r["source"])
        else:
            measured.setdefault(hw.slug, []).append(rate)
    class_eta = {k: round(statistics.geometric_mean(v), 3) for k, v in ratios.items()}
    tflops = {k: round(statistics.geometric_mean(v), 2) for k, v in measured.items()}
    fitted = {
        slug: replace(p, prefill_efficiency=class_eta.get(prefill_class[slug]),
                      prefill_tflops=tflops.get(slug))
        for slug, p in profiles.items()
    }  # fmt: skip
    moe_us = {}
    for backend, cases in sorted(moe_cases.items()):

        def loss(us: float, cases: list[tuple[Architecture, str, Mapping[str, str]]] = cases,
                 backend: str = backend) -> float:  # fmt: skip
            total = 0.0
            for arch, slug, r in cases:
                tps = predicted_prefill(arch, fitted[slug], r, {backend: us}) or 1e-9
                total += math.log(tps / float(r["tokens_per_s"])) ** 2
            return total

        moe_us[backend] = min(MOE_US_GRID, key=loss)
    return PrefillFit(class_eta, tflops, rows, moe_us,
                      {k: len(v) for k, v in sorted(moe_cases.items())},
                      {k: tuple(sorted(v)) for k, v in sources.items()})  # fmt: skip


# --- the data files as engine values (the command and the engine bench share this) -----


def profiles_from_data(data: Mapping[str, Any]) -> dict[str, HardwareProfile]:
    """``hardware.json`` profiles as the engine sees them (what ``services`` builds from
    the database rows, plus the file-only facts)."""
    classes: Mapping[str, Mapping[str, Any]] = data["efficiency"]
    prefill: Mapping[str, Mapping[str, float]] = data.get("prefill", {})
    routing = prefill_moe_us(data)
    out = {}
    for p in data["profiles"]:
        c = classes[p["efficiency_class"]]
        out[p["slug"]] = HardwareProfile(
            slug=p["slug"], name=p["name"], kind=p["kind"], memory_gb=p["memory_gb"],
            bandwidth_gbps=p["bandwidth_gbps"], efficiency=c["eta"],
            efficiency_low=c.get("low"), efficiency_high=c.get("high"),
            overhead_ms=c.get("overhead_ms", 0.0), tier=p.get("tier", ""),
            gpu_memory_fraction=p.get("gpu_memory_fraction"), fp16_tflops=p.get("fp16_tflops"),
            link_gbps=p.get("link_gbps"),
            prefill_efficiency=prefill.get(p.get("prefill_class") or p["efficiency_class"],
                                           {}).get("eta"),
            prefill_tflops=p.get("prefill_tflops"),
            moe_prefill_us=routing.get(p.get("backend") or c.get("backend", ""), 0.0),
        )  # fmt: skip
    return out
