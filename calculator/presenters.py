"""What the pages show, composed from the engine's public API.

Nothing here invents a figure: every byte count, speed and verdict comes from
``calculator.engine`` (through ``calculator.services``). This module only
arranges those results for templates (rows, bar segments, chart geometry) and
memoises them per process, because a model page asks the engine for the same
quant ladder and context curve on every request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import urlencode

from calculator import services, validation
from calculator.engine import hardware as hw
from calculator.engine.estimate import Estimate, Options, speed_command
from calculator.engine.fit import best_quant, ladder, total_bytes
from calculator.engine.hardware import GB, machine_budget_bytes, recommended_ram_gb
from calculator.engine.kv_cache import DEFAULT_UBATCH
from calculator.engine.quant import PRESETS, weights_bytes
from calculator.engine.speed import SpeedEstimate, plan
from calculator.engine.types import Architecture
from calculator.engine.verdict import Verdict, verdict
from calculator.models import LlmModel
from catalog.selectors import kit_picks as select_picks

T = TypeVar("T")

# Machines the quant ladder checks every quant against (system RAM, GB as sold).
LADDER_MACHINES_GB: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
MIN_CONTEXT_PRESET = 2048

# --- a small per-process memo keyed on the Architecture object ---------------------
#
# ``services.architecture_of`` returns the same Architecture object for the same row
# version, and the engine caches weights per object; we do the same for our
# compositions. The value keeps a reference to the arch so its id cannot be reused.

_MEMO: dict[tuple[Any, ...], tuple[Any, Any]] = {}
_MEMO_LIMIT = 20_000
_LOCK = threading.Lock()
_VALIDATION: dict[tuple[Any, ...], Any] = {}


def _memo(arch: Architecture | None, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    full_key = (id(arch), *key)
    hit = _MEMO.get(full_key)
    if hit is not None and hit[0] is arch:
        return hit[1]  # type: ignore[no-any-return]
    value = compute()
    with _LOCK:
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[full_key] = (arch, value)
    return value


def clear_cache() -> None:
    with _LOCK:
        _MEMO.clear()
        _REGIONS.clear()
        _VALIDATION.clear()


_REGIONS: OrderedDict[tuple[Any, ...], tuple[Any, str]] = OrderedDict()
_REGIONS_LIMIT = 256  # rendered results regions (a large model page's is ~60 KB)


def cached_region(arch: Architecture, key: tuple[Any, ...], render: Callable[[], str]) -> str:
    """A rendered results region, reused while the inputs it was rendered from are the same.

    A model page's results are a pure function of the model row, the options, the
    hardware rows and the input problems, so the HTML is rendered once per process
    (LRU-bounded) instead of on every request.
    """
    full_key = (id(arch), *key)
    with _LOCK:
        hit = _REGIONS.get(full_key)
        if hit is not None and hit[0] is arch:
            _REGIONS.move_to_end(full_key)
            return hit[1]
    html = render()
    with _LOCK:
        _REGIONS[full_key] = (arch, html)
        while len(_REGIONS) > _REGIONS_LIMIT:
            _REGIONS.popitem(last=False)
    return html


@dataclass(frozen=True)
class EngineFacts:
    """The engine's fixed allowances, for the prose that explains them."""

    fit_margin_gib: float = hw.FIT_MARGIN_BYTES / hw.GIB
    os_reserve_gib: float = hw.OS_RESERVE_BYTES / hw.GIB
    planning_fill_pct: int = round(hw.PLANNING_FILL * 100)
    headroom_pct: int = round((1 - hw.PLANNING_FILL) * 100)
    ubatch: int = DEFAULT_UBATCH


ENGINE_FACTS = EngineFacts()


def hardware_key(hardware: services.HardwareSet) -> tuple[Any, ...]:
    return (hardware.profiles, hardware.host, hardware.moe_penalty)


def cached_estimate(
    arch: Architecture,
    options: Options,
    hardware: services.HardwareSet,
    profiles: Sequence[hw.HardwareProfile] | None = None,
) -> Estimate:
    profiles_key = None if profiles is None else tuple(profiles)
    return _memo(
        arch,
        ("estimate", options, hardware_key(hardware), profiles_key),
        lambda: services.estimate_for(arch, options, hardware, profiles),
    )


def cached_total(arch: Architecture, options: Options) -> int:
    return _memo(arch, ("total", options), lambda: total_bytes(arch, options))


def cached_ladder(arch: Architecture) -> tuple[str, ...]:
    return _memo(arch, ("ladder",), lambda: tuple(ladder(arch)))


def cached_best_quant(arch: Architecture, options: Options, budget: int) -> str | None:
    return _memo(arch, ("best", options, budget), lambda: best_quant(arch, options, budget))


# --- labels ------------------------------------------------------------------------

MODE_LABELS = {
    "gpu": "Fits in VRAM",
    "unified": "Fits in unified memory",
    "cpu": "Fits in RAM",
    "expert_offload": "Experts offloaded to RAM",
    "partial_offload": "Partial offload to RAM",
    "does_not_fit": "Does not fit",
}


def fit_status(speed: SpeedEstimate) -> str:
    """``fits`` / ``partial`` / ``nofit`` (a CSS class and a plain-word status)."""
    if speed.mode == "does_not_fit":
        return "nofit"
    if speed.fits:
        return "fits"
    return "partial"


def mode_label(speed: SpeedEstimate) -> str:
    if speed.mode == "cpu" and speed.hardware.kind == "gpu":
        return "Runs from system RAM"
    return MODE_LABELS[speed.mode]


def context_label(tokens: int) -> str:
    """8192 → "8K", 163840 → "160K", 1048576 → "1M", 1000 → "1,000"."""
    if tokens >= 1024 * 1024 and tokens % (1024 * 1024) == 0:
        return f"{tokens // (1024 * 1024)}M"
    if tokens >= 1024 and tokens % 1024 == 0:
        return f"{tokens // 1024}K"
    return f"{tokens:,}"


def options_query(options: Options) -> str:
    """The query string that reproduces ``options`` on a model page."""
    return "?" + urlencode(
        {
            "quant": options.quant,
            "context": options.context,
            "kv_type": options.kv_type,
            "parallel": options.parallel,
        }
    )


def context_presets(max_context: int) -> list[int]:
    """Powers of two from 2K up to the model's trained context, plus that maximum."""
    presets = []
    n = MIN_CONTEXT_PRESET
    while n < max_context:
        presets.append(n)
        n *= 2
    presets.append(max_context)
    return presets


# --- the model page -----------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    key: str
    label: str
    bytes: int
    x: float  # percent from the left of the bar
    width: float  # percent of the bar


@dataclass(frozen=True)
class SpeedRow:
    speed: SpeedEstimate
    status: str
    label: str
    command: str | None


@dataclass(frozen=True)
class LadderRow:
    quant: str
    description: str
    file_bytes: int
    bits_per_weight: float
    total_bytes: int
    recommended_ram_gb: int | None
    fits: tuple[bool, ...]  # per LADDER_MACHINES_GB
    best_for: tuple[bool, ...]  # the best quant that fits that machine
    current: bool
    query: str  # the page's query string with this quant


@dataclass(frozen=True)
class ChartPoint:
    context: int
    label: str
    total_bytes: int
    x: float
    y: float


@dataclass(frozen=True)
class ChartLine:
    label: str
    y: float

    @property
    def label_y(self) -> float:
        return round(self.y - 4, 1)


@dataclass(frozen=True)
class MemoryChart:
    width: int
    height: int
    left: int
    right: int
    bottom: int
    points: tuple[ChartPoint, ...]
    polyline: str
    y_ticks: tuple[ChartLine, ...]
    machine_lines: tuple[ChartLine, ...]
    marker: ChartPoint | None

    @property
    def label_x(self) -> int:
        return self.right - 2

    @property
    def tick_x(self) -> int:
        return self.left - 6

    @property
    def axis_label_y(self) -> int:
        return self.bottom + 16


@dataclass(frozen=True)
class Calculation:
    """Everything the results region of a model page shows."""

    model: LlmModel
    arch: Architecture
    options: Options
    estimate: Estimate
    verdict: Verdict
    segments: tuple[Segment, ...]
    speed_rows: tuple[SpeedRow, ...]
    ladder: tuple[LadderRow, ...]
    ladder_machines: tuple[int, ...]
    chart: MemoryChart
    presets: tuple[tuple[int, str], ...]  # (context, query string)
    notes: tuple[str, ...]

    @property
    def context_label(self) -> str:
        return context_label(self.options.context)

    @property
    def fitting_rows(self) -> int:
        return sum(1 for r in self.speed_rows if r.status != "nofit")


def breakdown_segments(est: Estimate) -> tuple[Segment, ...]:
    mem = est.memory
    parts = (
        ("weights", "Weights", mem.weights_bytes),
        ("kv", "KV cache", mem.kv_cache_bytes),
        ("compute", "Compute buffer", mem.compute_buffer_bytes),
        ("overhead", "Runtime margin + OS reserve", mem.overhead_bytes),
    )
    total = mem.total_bytes or 1
    segments, x = [], 0.0
    for key, label, size in parts:
        width = 100.0 * size / total
        segments.append(Segment(key, label, size, round(x, 3), round(width, 3)))
        x += width
    return tuple(segments)


def speed_rows(est: Estimate) -> tuple[SpeedRow, ...]:
    return tuple(
        SpeedRow(
            speed=s,
            status=fit_status(s),
            label=mode_label(s),
            command=None if s.mode == "does_not_fit" else speed_command(est.options, s),
        )
        for s in est.speeds
    )


def ladder_rows(arch: Architecture, options: Options) -> tuple[LadderRow, ...]:
    """Every ladder quant at the chosen context/KV/parallel (cached; quant-independent)."""

    def build() -> tuple[LadderRow, ...]:
        budgets = [machine_budget_bytes(gb) for gb in LADDER_MACHINES_GB]
        rows = []
        seen_best = [False] * len(budgets)
        for name in cached_ladder(arch):
            w = weights_bytes(arch, name)
            total = cached_total(arch, replace(options, quant=name))
            fits = tuple(total <= b for b in budgets)
            best = tuple(f and not s for f, s in zip(fits, seen_best, strict=True))
            seen_best = [s or f for s, f in zip(seen_best, fits, strict=True)]
            rows.append(
                LadderRow(
                    quant=name,
                    description=PRESETS[name].description,
                    file_bytes=w.total_bytes,
                    bits_per_weight=w.bits_per_weight,
                    total_bytes=total,
                    recommended_ram_gb=recommended_ram_gb(total),
                    fits=fits,
                    best_for=best,
                    current=False,
                    query=options_query(replace(options, quant=name)),
                )
            )
        return tuple(rows)

    key = replace(options, quant="*")
    rows = _memo(arch, ("ladder-rows", key), build)
    return tuple(replace(r, current=r.quant == options.quant) for r in rows)


CHART_W, CHART_H, CHART_LEFT, CHART_BOTTOM, CHART_TOP, CHART_RIGHT = 640, 260, 56, 28, 12, 16


def memory_chart(arch: Architecture, options: Options) -> MemoryChart:
    """Total memory against context at the chosen quant: SVG geometry, cached."""

    def build() -> MemoryChart:
        contexts = context_presets(arch.n_ctx_train)
        if options.context not in contexts:
            contexts = sorted({*contexts, options.context})
        totals = [cached_total(arch, replace(options, context=c)) for c in contexts]
        # Leave room for the machine size the largest total needs, so its line shows.
        top = recommended_ram_gb(max(totals))
        y_max = max(max(totals), machine_budget_bytes(top) if top else 0) * 1.08 or 1
        plot_w = CHART_W - CHART_LEFT - CHART_RIGHT
        plot_h = CHART_H - CHART_BOTTOM - CHART_TOP
        n = len(contexts)

        def x_at(i: int) -> float:
            return CHART_LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

        def y_at(size: float) -> float:
            return CHART_TOP + plot_h * (1 - size / y_max)

        points = tuple(
            ChartPoint(c, context_label(c), t, round(x_at(i), 1), round(y_at(t), 1))
            for i, (c, t) in enumerate(zip(contexts, totals, strict=True))
        )
        step = _nice_step(y_max / GB / 4)
        ticks = tuple(
            ChartLine(f"{v:g} GB", round(y_at(v * GB), 1)) for v in _frange(0, y_max / GB, step)
        )
        lines = tuple(
            ChartLine(f"fits {gb} GB", round(y_at(machine_budget_bytes(gb)), 1))
            for gb in hw.SOLD_SIZES_GB
            if max(totals) * 0.15 <= machine_budget_bytes(gb) <= y_max
        )[-3:]
        marker = next((p for p in points if p.context == options.context), None)
        return MemoryChart(
            CHART_W, CHART_H, CHART_LEFT, CHART_W - CHART_RIGHT, CHART_H - CHART_BOTTOM, points,
            " ".join(f"{p.x},{p.y}" for p in points), ticks, lines, marker,
        )  # fmt: skip

    return _memo(arch, ("chart", options), build)


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 0.1
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _frange(start: float, stop: float, step: float) -> Iterable[float]:
    value = start
    while value <= stop + 1e-9:
        yield round(value, 6)
        value += step


def calculation(model: LlmModel, options: Options, hardware: services.HardwareSet) -> Calculation:
    arch = services.architecture_of(model)

    def build() -> tuple[Any, ...]:
        est = services.estimate_for(arch, options, hardware)
        return (
            est,
            verdict(est.speeds, est.recommended_ram_gb),
            breakdown_segments(est),
            speed_rows(est),
            est.notes,
        )

    est, ver, segments, rows, notes = _memo(
        arch, ("calculation", options, hardware_key(hardware)), build
    )
    return Calculation(
        model=model,
        arch=arch,
        options=options,
        estimate=est,
        verdict=ver,
        segments=segments,
        speed_rows=rows,
        ladder=ladder_rows(arch, options),
        ladder_machines=LADDER_MACHINES_GB,
        chart=memory_chart(arch, options),
        presets=tuple(
            (n, options_query(replace(options, context=n)))
            for n in context_presets(arch.n_ctx_train)
        ),
        notes=notes,
    )


# --- lists of models: RAM needed, fits a budget, what runs on a machine -----------


@dataclass(frozen=True)
class ModelSummary:
    model: LlmModel
    arch: Architecture
    total_bytes: int
    recommended_ram_gb: int | None


def summaries(models: Iterable[LlmModel], options: Options) -> list[ModelSummary]:
    out = []
    for m in models:
        arch = services.architecture_of(m)
        total = cached_total(arch, options)
        out.append(ModelSummary(m, arch, total, recommended_ram_gb(total)))
    return out


@dataclass(frozen=True)
class RunRow:
    model: LlmModel
    arch: Architecture
    quant: str | None
    total_bytes: int | None
    speed: SpeedEstimate | None
    status: str  # fits / partial / nofit

    @property
    def label(self) -> str:
        return mode_label(self.speed) if self.speed else "Does not fit"


def runs_on_profile(
    models: Iterable[LlmModel],
    profile: hw.HardwareProfile,
    hardware: services.HardwareSet,
    options: Options,
) -> list[RunRow]:
    """Per model: the best ladder quant that fits ``profile`` whole (else with offload)."""
    rows = []
    for m in models:
        arch = services.architecture_of(m)
        quant, speed = _memo(
            arch,
            ("on-profile", profile, options, hardware_key(hardware)),
            lambda arch=arch: _best_on_profile(arch, profile, hardware, options),
        )
        total = cached_total(arch, replace(options, quant=quant)) if quant else None
        status = fit_status(speed) if speed else "nofit"
        rows.append(RunRow(m, arch, quant, total, speed, status))
    return _sorted_runs(rows)


def _best_on_profile(
    arch: Architecture,
    profile: hw.HardwareProfile,
    hardware: services.HardwareSet,
    options: Options,
) -> tuple[str | None, SpeedEstimate | None]:
    names = cached_ladder(arch)

    def speed(name: str) -> SpeedEstimate:
        return cached_estimate(arch, replace(options, quant=name), hardware, (profile,)).speeds[0]

    # Sizes fall monotonically down the ladder, so "fits" flips once: binary search.
    for accept in (lambda s: s.fits, lambda s: s.mode != "does_not_fit"):
        low, high = 0, len(names)
        while low < high:
            mid = (low + high) // 2
            if accept(speed(names[mid])):
                high = mid
            else:
                low = mid + 1
        if low < len(names):
            return names[low], speed(names[low])
    return None, None


def runs_in_budget(
    models: Iterable[LlmModel],
    machine: hw.HardwareProfile,
    hardware: services.HardwareSet,
    options: Options,
) -> list[RunRow]:
    """Per model: the best quant whose total fits ``machine_budget_bytes`` of its RAM,
    with the speed the engine plans on that machine."""
    budget = machine_budget_bytes(machine.memory_gb)
    rows = []
    for m in models:
        arch = services.architecture_of(m)
        quant = cached_best_quant(arch, options, budget)
        speed = None
        if quant:
            est = cached_estimate(arch, replace(options, quant=quant), hardware, (machine,))
            speed = est.speeds[0]
        total = cached_total(arch, replace(options, quant=quant)) if quant else None
        status = "nofit" if quant is None else (fit_status(speed) if speed else "fits")
        rows.append(RunRow(m, arch, quant, total, speed, status))
    return _sorted_runs(rows)


def _sorted_runs(rows: list[RunRow]) -> list[RunRow]:
    """Runnable models first, largest (most capable) first; then the rest by size."""
    order = {"fits": 0, "partial": 1, "nofit": 2}
    return sorted(rows, key=lambda r: (order[r.status], -r.model.total_params))


# --- compare -----------------------------------------------------------------------


@dataclass(frozen=True)
class Compared:
    model: LlmModel
    arch: Architecture
    estimate: Estimate
    verdict: Verdict
    speeds: tuple[SpeedRow, ...]  # on the comparison profiles, in order


COMPARE_PROFILES = (
    "desktop-ddr5-5600-2ch",
    "wrx90-ddr5-6400-8ch",
    "epyc-turin-1p-12ch-ddr5-6400",
    "apple-m4-max-40c",
    "apple-m3-ultra-512",
    "strix-halo-395-128",
    "rtx-4090",
    "rtx-5090",
    "h100-sxm",
)


def compare(
    models: Sequence[LlmModel], options: Options, hardware: services.HardwareSet
) -> tuple[list[Compared], list[hw.HardwareProfile]]:
    picked = [p for p in (hardware.get(s) for s in COMPARE_PROFILES) if p is not None]
    out = []
    for m in models:
        calc = calculation(m, options, hardware)
        by_slug = {r.speed.hardware.slug: r for r in calc.speed_rows}
        out.append(
            Compared(
                m, calc.arch, calc.estimate, calc.verdict,
                tuple(by_slug[p.slug] for p in picked if p.slug in by_slug),
            )
        )  # fmt: skip
    return out, picked


# --- methodology: the live validation table --------------------------------------


@dataclass(frozen=True)
class ValidationReport:
    rows: tuple[validation.Row, ...]
    summaries: tuple[validation.Summary, ...]


def validation_report(
    models: Iterable[LlmModel], hardware: services.HardwareSet
) -> ValidationReport:
    """Predicted versus published for the reference set, computed once per process
    (and again whenever a model or hardware row changes)."""
    models = list(models)
    key = (tuple((m.slug, str(m.updated_at)) for m in models), hardware_key(hardware))
    report = _VALIDATION.get(key)
    if report is None:
        archs = {m.slug: services.architecture_of(m) for m in models}
        profiles = {p.slug: p for p in hardware.profiles}
        rows = validation.all_rows(archs, profiles, moe_penalty=hardware.moe_penalty)
        report = ValidationReport(tuple(rows), tuple(validation.summarize(rows)))
        _VALIDATION.clear()
        _VALIDATION[key] = report
    return report


@dataclass(frozen=True)
class KitRow:
    pick: Any  # catalog.selectors.KitPick
    tokens_per_s: float | None  # this model on the platform's channels at the kit's speed


@dataclass(frozen=True)
class PlatformRows:
    platform: Any  # catalog.selectors.PlatformPicks
    rows: tuple[KitRow, ...]


def kit_picks(calc: Calculation, hardware: services.HardwareSet) -> tuple[PlatformRows, ...]:
    """The "memory allocation sizer": cheapest kits that hold the recommended RAM, each with
    the decode speed its platform's channels give this model (engine bandwidth model)."""
    required = calc.estimate.recommended_ram_gb
    if required is None:
        return ()
    platforms = []
    for platform in select_picks(required_gb=required):
        rows = []
        for pick in platform.picks:
            machine = services.custom_hardware(
                hardware,
                memory_gb=float(pick.kit.capacity_gb),
                bandwidth_gbps=float(pick.bandwidth_gbps),
                kind="cpu",
            )
            speed = plan(machine, calc.estimate.footprint, host=machine)
            rows.append(KitRow(pick, speed.tokens_per_s))
        platforms.append(PlatformRows(platform, tuple(rows)))
    return tuple(platforms)
