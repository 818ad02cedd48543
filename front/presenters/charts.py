"""The memory breakdown bar and the memory-versus-context chart: SVG geometry only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from calculator.engine import context as context_limits
from calculator.engine import hardware as hw
from calculator.engine.estimate import Estimate, Options, footprint, memory
from calculator.engine.fit import total_bytes
from calculator.engine.hardware import GB, machine_budget_bytes, recommended_ram_gb
from calculator.engine.quant import WeightsBreakdown
from calculator.engine.types import Architecture
from calculator.formatting import context_label
from front.presenters.labels import context_presets


@dataclass(frozen=True)
class Segment:
    key: str
    label: str
    bytes: int
    x: float  # percent from the left of the bar
    width: float  # percent of the bar


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


@dataclass(frozen=True)
class ChartPoint:
    context: int
    label: str
    total_bytes: int
    x: float
    y: float
    # Its axis label is left out on phones when there are many: every other one, and the
    # one next to the last (the last, the model's trained context, always shows).
    minor: bool = False


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
        return self.bottom + 24

    def _across(self, lines: Iterable[ChartLine]) -> str:
        """One SVG path of horizontal lines across the plot (fewer bytes than a
        ``<line>`` each)."""
        return "".join(f"M{self.left} {line.y:g}H{self.right}" for line in lines)

    @property
    def grid_path(self) -> str:
        return self._across(self.y_ticks)

    @property
    def machine_path(self) -> str:
        return self._across(self.machine_lines)


# The margins leave room for labels drawn at 20 units, the size that renders at >= 11 px
# when a phone scales the 640-unit-wide chart down to its width (static/css/site.css).
CHART_W, CHART_H, CHART_LEFT, CHART_BOTTOM, CHART_TOP, CHART_RIGHT = 640, 270, 80, 36, 14, 28
MANY_POINTS = 8  # more context presets than this: phones label every other one


def _total(arch: Architecture, options: Options, weights: WeightsBreakdown | None) -> int:
    if weights is None:
        return total_bytes(arch, options)
    return memory(footprint(arch, options, weights)[2]).total_bytes


def memory_chart(
    arch: Architecture, options: Options, weights: WeightsBreakdown | None = None
) -> MemoryChart:
    """Total memory against context at the chosen quant (``weights``: a published
    file's own): SVG geometry."""
    contexts = context_presets(context_limits.limits(arch).extended)
    if options.context not in contexts:
        contexts = sorted({*contexts, options.context})
    totals = [_total(arch, replace(options, context=c), weights) for c in contexts]
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
        ChartPoint(
            c, context_label(c), t, round(x_at(i), 1), round(y_at(t), 1),
            minor=n > MANY_POINTS and i < n - 1 and (i % 2 == 1 or i == n - 2),
        )
        for i, (c, t) in enumerate(zip(contexts, totals, strict=True))
    )  # fmt: skip
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
