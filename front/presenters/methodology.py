"""The methodology page: predicted versus published per reference row, summarised per
figure and per role ("fitted": a row a coefficient was fitted to; "held out": a row no
coefficient saw), with the bound the test suite asserts on held-out rows, and the engine's
fitted coefficients for the prose.

The split is the reference CSVs' ``use`` column as :mod:`calculator.validation` reads it
(``Row.use``); held-out shares come from :func:`calculator.validation.held_out_accuracy`,
the function ``tests/calculator/test_validation.py`` asserts with, so the page and the
suite cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from calculator import formatting, services, validation
from calculator.calibration import OFFLOAD_HELD_OUT_XFAIL, rounding_of
from calculator.engine import build as build_rules
from calculator.engine import fit as fit_rules
from calculator.engine import platform as platform_rules
from calculator.engine.prefill import PP_TOKENS
from calculator.engine.speed import LLAMA_CPP
from calculator.models import LlmModel

FITTED, HELD_OUT = validation.USE_LABELS["fit"], validation.USE_LABELS["check"]
REPORTED = "reported only"  # speed rows in no split (e.g. ik_llama.cpp CPU-only runs)
SIZE_KINDS = ("file_size", "params", "active_params", "kv_cache", "memory_bandwidth")


@dataclass(frozen=True)
class Figure:
    """One line of the summary: which rows, and the bound the suite asserts on them."""

    key: str
    title: str
    unit: str  # how the detail table prints values: bytes / params / tps / gbps
    matches: Callable[[validation.Row], bool]
    bound: float | None  # relative error the suite allows
    min_share: float | None  # share of rows that must be within it (1.0: every row)
    bound_text: str
    group: str = ""  # validation group for held_out_accuracy ("" for size figures)
    xfail: str = ""  # the suite's expected-failure reason, when the bound is not met
    note: str = ""


FIGURES = (
    Figure("file_size", "GGUF file size", "bytes", lambda r: r.kind == "file_size",
           0.03, 1.0, "every row within ±3%",
           note="Nothing is fitted: every tensor's type follows llama.cpp's quantizer."),
    Figure("params", "Parameters (total)", "params", lambda r: r.kind == "params",
           0.005, 1.0, "every row within ±0.5% (plus the published figure's rounding)",
           note="Counted from config.json; nothing is fitted."),
    Figure("active_params", "Parameters (active, MoE)", "params",
           lambda r: r.kind == "active_params", None, None, "reported, not bounded",
           note="Counted from config.json; nothing is fitted."),
    Figure("kv_cache", "KV cache", "bytes", lambda r: r.kind == "kv_cache",
           0.01, 1.0, "every row within ±1%",
           note="llama.cpp's cache layout; nothing is fitted."),
    Figure("single", "Decode, one device", "tps", lambda r: r.group == "single",
           0.30, 0.80, "held out: ±30% on at least 80% of rows", group="single"),
    Figure("multi_gpu", "Decode, several GPUs (layer split)", "tps",
           lambda r: r.group == "multi_gpu", 0.30, 0.80,
           "held out: ±30% on at least 80% of rows", group="multi_gpu"),
    Figure("offload", "Decode, GPU + system RAM (llama.cpp)", "tps",
           lambda r: r.group == "offload", 0.30, 0.80,
           "held out: ±30% on at least 80% of rows", group="offload",
           xfail=OFFLOAD_HELD_OUT_XFAIL,
           note="No coefficient is fitted to these rows: all are held out."),
    Figure("sockets", "Decode, one versus two sockets", "tps",
           lambda r: r.group == "sockets", None, None, "reported, not bounded",
           group="sockets", note="No coefficient is fitted to these rows."),
    Figure("prefill", f"Prompt processing (pp{PP_TOKENS} and other llama-bench pp runs)",
           "tps", lambda r: r.group == "prefill", 0.35, 0.75,
           "held out: ±35% on at least 75% of rows", group="prefill"),
    Figure("offload_ik", "ik_llama.cpp, GPU + system RAM decode (own calibration)", "tps",
           lambda r: r.group == "offload_ik", 0.30, 0.80,
           "held out: ±30% on at least 80% of rows", group="offload_ik"),
    Figure("memory_bandwidth", "Measured memory bandwidth of a DIMM population", "gbps",
           lambda r: r.kind == "memory_bandwidth", None, None,
           "no measured read above our figure",
           note="Our figure is the theoretical bandwidth of the channels and MT/s the "
                "platform rules give; a measured read is expected below it."),
)  # fmt: skip


def role(row: validation.Row) -> str:
    """The row's role, "fitted" or "held out"; size and bandwidth rows fit nothing, so they
    are held out; speed rows outside the split are "reported only"."""
    if row.use:
        return row.use
    return HELD_OUT if row.kind in SIZE_KINDS else REPORTED


@dataclass(frozen=True)
class RoleStats:
    role: str
    rows: int
    median: float | None
    p90: float | None
    worst: float | None
    within: int | None  # rows within the figure's bound (None: no bound)

    @property
    def share(self) -> float | None:
        if self.within is None or not self.rows:
            return None
        return self.within / self.rows


def _value(unit: str, value: float | None) -> str:
    if value is None:
        return "–"
    if unit == "bytes":
        return formatting.gb(value)
    if unit == "tps":
        return f"{formatting.tps(value)} tok/s"
    if unit == "gbps":
        return f"{value:,.1f} GB/s"
    return formatting.params(int(value))


@dataclass(frozen=True)
class DetailRow:
    """One reference row with its cells formatted once (the page has several hundred
    rows; formatting them in the template would dominate a cold render)."""

    row: validation.Row
    role: str
    published: str
    predicted: str
    error: str
    source_url: str  # "" when the source is not a link

    @classmethod
    def of(cls, row: validation.Row, unit: str) -> DetailRow:
        error = "–" if row.error is None else f"{row.error * 100:+.1f}%"
        url = row.source if row.source.startswith("http") else ""
        return cls(row, role(row), _value(unit, row.published), _value(unit, row.predicted),
                   error, url)  # fmt: skip


@dataclass(frozen=True)
class Section:
    figure: Figure
    fitted: RoleStats
    held_out: RoleStats
    rows: tuple[DetailRow, ...]
    meets_bound: bool | None  # held-out share against the asserted minimum

    @property
    def roles(self) -> tuple[RoleStats, RoleStats]:
        return (self.fitted, self.held_out)


def _stats(rows: list[validation.Row], name: str, figure: Figure) -> RoleStats:
    found = [r for r in rows if r.error is not None]
    summary = validation.summarize(found)
    within: int | None = None
    if figure.group and figure.bound is not None and name == HELD_OUT:
        within = validation.held_out_accuracy(found, figure.group, figure.bound).within
    elif figure.key == "params" and figure.bound is not None:
        within = sum(abs(r.error or 0) <= figure.bound + rounding_of(r.published) for r in found)
    elif figure.bound is not None:
        within = sum(abs(r.error or 0) <= figure.bound for r in found)
    elif figure.key == "memory_bandwidth":
        within = sum(r.published <= (r.predicted or 0) for r in found)
    if not summary:
        return RoleStats(name, 0, None, None, None, within)
    s = summary[0]
    return RoleStats(name, s.rows, s.median_abs_error, s.p90_abs_error, s.max_abs_error,
                     within)  # fmt: skip


def _section(figure: Figure, rows: list[validation.Row]) -> Section | None:
    mine = [r for r in rows if figure.matches(r)]
    if not mine:
        return None
    fitted = _stats([r for r in mine if role(r) == FITTED], FITTED, figure)
    held = _stats([r for r in mine if role(r) == HELD_OUT], HELD_OUT, figure)
    meets = None
    if figure.min_share is not None and held.share is not None:
        meets = held.share >= figure.min_share
    return Section(figure, fitted, held, tuple(DetailRow.of(r, figure.unit) for r in mine), meets)


# --- the coefficients and rules the prose explains ------------------------------------------


# hardware.json class and backend keys in words (a key missing here shows as itself)
CLASS_NAMES = {
    "cuda": "NVIDIA GPUs (CUDA)", "cuda_datacenter": "NVIDIA datacenter GPUs (CUDA)",
    "rocm": "AMD GPUs (ROCm)", "metal": "Apple silicon (Metal)", "vulkan": "Vulkan",
    "cpu_ddr": "CPUs on DDR memory", "cpu": "CPUs", "apu": "APUs with unified memory",
}  # fmt: skip


@dataclass(frozen=True)
class DecodeClass:
    key: str
    eta: float
    overhead_ms: float

    @property
    def name(self) -> str:
        return CLASS_NAMES.get(self.key, self.key)


@dataclass(frozen=True)
class Derating:
    platform: str
    one_dpc: int
    two_dpc: int
    ranks: int


@dataclass(frozen=True)
class EngineNumbers:
    """Every number the methodology prose states, read from the code and the data files."""

    decode_classes: tuple[DecodeClass, ...]
    moe_penalty: float
    extra_gpu_ms: float
    link_efficiency_pct: int
    prefill_classes: tuple[tuple[str, int], ...]  # (class, % of vendor FP16 TFLOPS)
    routing_us: tuple[tuple[str, float], ...]  # (backend, µs per token and MoE layer)
    engines: tuple[tuple[str, float], ...]  # (engine, CPU expert rate vs llama.cpp)
    platforms: int
    deratings: tuple[Derating, ...]
    two_socket_factor: tuple[float, ...]  # distinct numa_speedup of 2-socket platforms
    ceilings: int  # platforms with a measured read ceiling
    numa_notes: tuple[str, ...]
    max_gpus: int = build_rules.MAX_GPUS
    pp_tokens: int = PP_TOKENS
    quality_loss_bpw: float = fit_rules.QUALITY_LOSS_BPW
    legacy: tuple[str, ...] = fit_rules.LEGACY
    floats: tuple[str, ...] = fit_rules.FLOAT
    bytes_per_transfer: int = platform_rules.BYTES_PER_TRANSFER


# hardware.json efficiency keys that are shared coefficients, not hardware classes
_SHARED = (services.MOE_PENALTY_KEY, services.MULTI_GPU_KEY, services.PCIE_KEY)


def engine_numbers(hardware: services.HardwareSet) -> EngineNumbers:
    data = json.loads((validation.DATA_DIR / "hardware.json").read_text())
    platforms = services.platforms().values()
    deratings = []
    for p in platforms:
        by_dpc: dict[int, int] = {}
        for rule in p.speeds:
            if not rule.dimm_types:
                by_dpc[rule.dpc] = min(by_dpc.get(rule.dpc, rule.mt_s), rule.mt_s)
        if 1 in by_dpc and 2 in by_dpc:
            ranks = max(r.ranks for r in p.speeds if r.dpc == 2)
            deratings.append(Derating(p.name, by_dpc[1], by_dpc[2], ranks))
    classes = tuple(DecodeClass(k, e.eta, e.overhead_ms)
                    for k, e in hardware.efficiency.items() if k not in _SHARED)  # fmt: skip
    engines = validation.reference_engines()
    return EngineNumbers(
        decode_classes=classes,
        moe_penalty=hardware.moe_penalty,
        extra_gpu_ms=hardware.extra_gpu_ms,
        link_efficiency_pct=round(hardware.link_efficiency * 100),
        prefill_classes=tuple(
            (CLASS_NAMES.get(k, k), round(v["eta"] * 100))
            for k, v in data.get("prefill", {}).items()
        ),
        routing_us=tuple(
            (CLASS_NAMES.get(k, k), us) for k, us in sorted(validation.prefill_moe_us(data).items())
        ),
        engines=tuple(
            (e.label, e.host_moe_factor) for k, e in engines.items() if k != LLAMA_CPP.key
        ),
        platforms=len(platforms),
        deratings=tuple(deratings),
        two_socket_factor=tuple(sorted({p.numa_speedup for p in platforms if p.sockets > 1})),
        ceilings=sum(p.read_ceiling_gbps is not None for p in platforms),
        numa_notes=platform_rules.NUMA_NOTES,
    )


@dataclass(frozen=True)
class ValidationReport:
    rows: tuple[validation.Row, ...]
    summaries: tuple[validation.Summary, ...]
    sections: tuple[Section, ...] = ()
    numbers: EngineNumbers | None = None

    def rows_by_kind(self) -> dict[str, list[validation.Row]]:
        by_kind: dict[str, list[validation.Row]] = {}
        for row in self.rows:
            by_kind.setdefault(row.kind, []).append(row)
        return by_kind

    def section(self, key: str) -> Section | None:
        return next((s for s in self.sections if s.figure.key == key), None)


def validation_report(
    models: Iterable[LlmModel], hardware: services.HardwareSet
) -> ValidationReport:
    """Predicted versus published for the reference set (the page is served from the
    response cache; the engine memoises the per-model work)."""
    archs = {m.slug: services.architecture_of(m) for m in models}
    profiles = {p.slug: p for p in hardware.profiles}
    rows = validation.all_rows(archs, profiles, moe_penalty=hardware.moe_penalty)
    sections = tuple(s for f in FIGURES if (s := _section(f, rows)) is not None)
    return ValidationReport(tuple(rows), tuple(validation.summarize(rows)), sections,
                            engine_numbers(hardware))  # fmt: skip
