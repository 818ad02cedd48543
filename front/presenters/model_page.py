"""A model page's results region: the answer, the speed rows, the chart and the quant
ladder, for one model and one set of options (the engine memoises what repeats)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from html import escape

from django.utils.safestring import SafeString, mark_safe

from calculator import services
from calculator.engine import context as context_limits
from calculator.engine.build import Build
from calculator.engine.estimate import Estimate, Options, speed_command
from calculator.engine.fit import ladder, total_bytes
from calculator.engine.hardware import machine_budget_bytes, recommended_ram_gb
from calculator.engine.quant import PRESETS, WeightsBreakdown, weights_bytes
from calculator.engine.speed import SpeedEstimate
from calculator.engine.types import Architecture
from calculator.engine.verdict import BuildVerdict, CostFn, installed_gb
from calculator.formatting import context_label, gb
from calculator.models import LlmModel
from calculator.options import DEFAULTS
from front.presenters.builds import SpeedTable, speed_table
from front.presenters.charts import MemoryChart, Segment, breakdown_segments, memory_chart
from front.presenters.labels import context_presets, fit_status, mode_label, page_query

# Machines the quant ladder checks every quant against (system RAM, GB as sold).
LADDER_MACHINES_GB: tuple[int, ...] = (16, 32, 64, 128, 256, 512)


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

    @property
    def html(self) -> SafeString:
        """The row as the ladder table shows it, written here in one pass: 33 rows of 11
        cells are the largest part of a model page, too many for template nodes, and kept
        terse (numbers right-aligned by the table's CSS; cell and row end tags, which
        HTML makes optional, left out) because every htmx answer sends them (a ``th`` in
        the body heads its row). The link is a plain link to the page with
        this quant (a relative ``?…`` URL, ``.`` for the page itself); static/js/site.js
        turns a click into the form's request (the body's ``data-set``: the link's text is
        the quant), which keeps the visitor's other choices."""
        quant, url = escape(self.quant), escape(self.query or ".")
        marks = "".join(
            _LADDER_MARK[(best, fits)] for fits, best in zip(self.fits, self.best_for, strict=True)
        )
        ram = f"{self.recommended_ram_gb} GB" if self.recommended_ram_gb else "&gt; 2 TB"
        return mark_safe(  # noqa: S308  (every value escaped or a number)
            f'<tr{_CURRENT if self.current else ""}><th><a id="ladder-{quant}" href="{url}">'
            f"{quant}</a><td>{self.bits_per_weight:.2f}<td>{gb(self.file_bytes)}"
            f"<td>{gb(self.total_bytes)}<td>{ram}{marks}"
        )


# (best for that machine, fits it) → the ladder cell: ★ best, ✓ fits, · does not fit
# (the table's legend says so).
_LADDER_MARK = {
    (True, True): mark_safe('<td class="fits">★'),
    (True, False): mark_safe('<td class="nofit">★'),
    (False, True): mark_safe('<td class="fits">✓'),
    (False, False): mark_safe("<td>·"),
}
_CURRENT = mark_safe(' class="current" aria-current="true"')


@dataclass(frozen=True)
class Calculation:
    """Everything the results region of a model page shows."""

    model: LlmModel
    arch: Architecture
    options: Options
    estimate: Estimate
    segments: tuple[Segment, ...]
    speed_rows: tuple[SpeedRow, ...]
    ladder: tuple[LadderRow, ...]
    ladder_machines: tuple[int, ...]
    chart: MemoryChart
    presets: tuple[tuple[int, str], ...]  # (context, query string)
    notes: tuple[str, ...]
    builds: SpeedTable  # the preset builds and the visitor's own

    @property
    def verdict(self) -> BuildVerdict:
        """The build verdict: the cheapest preset build of each kind that runs it
        comfortably (``builds.verdict``; the page, the FAQ and compare say the same)."""
        return self.builds.verdict

    @property
    def context_label(self) -> str:
        return context_label(self.options.context)

    @property
    def fitting_rows(self) -> int:
        return sum(1 for r in self.speed_rows if r.status != "nofit")


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


def ladder_rows(
    arch: Architecture,
    options: Options,
    defaults: Options = DEFAULTS,
    hardware: services.HardwareSet | None = None,
) -> tuple[LadderRow, ...]:
    """Every ladder quant at the chosen context/KV/parallel (``defaults``: the model's
    own, for the links). ★ is the one best-quant rule (``services.best_quant_for``) on a
    PC with that much RAM, as the FAQ states it."""
    hardware = hardware or services.hardware_set()
    budgets = [machine_budget_bytes(gb) for gb in LADDER_MACHINES_GB]
    picks = [
        services.best_quant_for(arch, options, services.ram_machine(gb, hardware), hardware)
        for gb in LADDER_MACHINES_GB
    ]
    rows = []
    for name in ladder(arch):
        w = weights_bytes(arch, name)
        total = total_bytes(arch, replace(options, quant=name))
        rows.append(
            LadderRow(
                quant=name,
                description=PRESETS[name].description,
                file_bytes=w.total_bytes,
                bits_per_weight=w.bits_per_weight,
                total_bytes=total,
                recommended_ram_gb=recommended_ram_gb(total),
                fits=tuple(total <= b for b in budgets),
                best_for=tuple(p is not None and p.quant == name for p in picks),
                current=name == options.quant,
                query=page_query(replace(options, quant=name), defaults),
            )
        )
    return tuple(rows)


def calculation(
    model: LlmModel,
    options: Options,
    hardware: services.HardwareSet,
    weights: WeightsBreakdown | None = None,
    extra_notes: tuple[str, ...] = (),
    *,
    chosen: Build | None = None,
    cost: CostFn = installed_gb,
    model_file: str = "",
) -> Calculation:
    """``weights``: a published file's own (its label is ``options.quant``), with
    ``extra_notes`` saying so; else the preset's prediction. ``chosen``: the build the
    visitor picked; ``cost`` ranks the builds of the verdict; ``model_file``: the listed
    GGUF of a preset, which the commands load."""
    arch = services.architecture_of(model)
    defaults = replace(DEFAULTS, quant=model.default_quant or DEFAULTS.quant)

    est = services.estimate_for(arch, options, hardware, weights=weights, model_file=model_file)
    return Calculation(
        model=model,
        arch=arch,
        options=options,
        estimate=est,
        segments=breakdown_segments(est),
        speed_rows=speed_rows(est),
        ladder=ladder_rows(arch, options, defaults, hardware),
        ladder_machines=LADDER_MACHINES_GB,
        chart=memory_chart(arch, options, weights),
        presets=tuple(
            (n, page_query(replace(options, context=n), defaults))
            for n in context_presets(context_limits.limits(arch).extended)
        ),
        notes=(*est.notes, *extra_notes),
        builds=speed_table(
            arch,
            options,
            hardware,
            weights=weights,
            chosen=chosen,
            cost=cost,
            model_file=model_file,
        ),  # fmt: skip
    )
