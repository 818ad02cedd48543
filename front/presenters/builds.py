"""Builds as pages show them: a model's speed table over the preset builds (fastest
first, those that cannot run it collapsed), the visitor's own build, the build verdict,
and a preset build's page (every model's best quant on it by ``fit.best_quant_on``).

Every figure and every fit word comes from the engine (``placement.place``,
``pools.classify``, ``fit.best_quant_on``, ``verdict.build_verdict``); this module only
arranges them and puts words on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from calculator import services
from calculator.engine.build import Build
from calculator.engine.estimate import Options
from calculator.engine.fit import QuantPick
from calculator.engine.placement import Placement
from calculator.engine.pools import FitClass
from calculator.engine.quant import WeightsBreakdown
from calculator.engine.types import Architecture
from calculator.engine.verdict import BuildVerdict, CostFn, build_verdict, installed_gb
from calculator.formatting import seconds, tps
from calculator.models import LlmModel
from calculator.options import DEFAULTS
from front.presenters.labels import label


def installed_label(build: Build) -> str:
    """What the build installs: each GPU's VRAM and the host's RAM or unified memory."""
    host = build.host.profile
    memory = f"{host.memory_gb:,.0f} GB " + (
        "unified" if host.device.host_mode == "unified" else "RAM"
    )
    if not build.gpus:
        return memory
    vram = " + ".join(
        f"{g.count} x {g.profile.memory_gb:g} GB" if g.count > 1 else f"{g.profile.memory_gb:g} GB"
        for g in build.gpus
    )
    return f"{vram} VRAM + {memory}"


@dataclass(frozen=True)
class BuildRow:
    """One build in a speed table."""

    placement: Placement
    mine: bool = False  # the build the visitor picked

    @property
    def build(self) -> Build:
        return self.placement.build

    @property
    def fit(self) -> FitClass:
        return self.placement.fit

    @property
    def fit_label(self) -> str:
        return label("fit", self.placement.fit)

    @property
    def memory(self) -> str:
        return installed_label(self.build)

    @property
    def command(self) -> str:
        return self.placement.llama_cpp_command

    @property
    def html(self) -> SafeString:
        """The row as the speed table shows it, written here in one pass, as the quant
        ladder's rows are: every htmx answer sends the fastest builds, and as template
        nodes each row cost a tenth of a millisecond. Every text is escaped."""
        p, mine = self.placement, self.mine
        fit = escape(self.fit)
        url = reverse("calculator:build-detail", args=[self.build.slug])
        how = [f"<p>{escape(label('speed_mode', p.mode))}</p>"]
        if p.formula:
            how.append(f"<p><code>{escape(p.formula)}</code></p>")
        if p.note:
            how.append(f"<p>{escape(p.note)}</p>")
        if self.command:
            how.append(f"<pre><code>{escape(self.command)}</code></pre>")
        tight = (
            f'<br><span class="muted tight-note">{escape(p.note)}</span>'
            if self.fit == "tight" and p.note
            else ""
        )
        speed = "–"
        if p.tokens_per_s:
            low, high = p.tokens_per_s_low, p.tokens_per_s_high
            spread = (
                f'<span class="muted range">{tps(low)}–{tps(high)}</span>' if low != high else ""
            )
            speed = f"<strong>{tps(p.tokens_per_s)}</strong> {spread}"
        prefill = floatformat(p.prefill_tokens_per_s, "0") if p.prefill_tokens_per_s else "–"
        return mark_safe(  # noqa: S308  (every value escaped or a number)
            f'<tr class="{fit}{" mine" if mine else ""}"'
            f'{_MINE if mine else ""}><th><a href="{url}">{escape(self.build.describe())}</a>'
            f"{_BADGE if mine else ''}<details><summary>How</summary>{''.join(how)}</details>"
            f'</th><td data-label="Memory">{escape(self.memory)}</td><td data-label="Fit">'
            f'<span class="status {fit}">{escape(self.fit_label)}</span>{tight}</td>'
            f'<td data-label="Generation tokens/s">{speed}</td>'
            f'<td data-label="Prompt tokens/s">{prefill}</td>'
            f'<td data-label="First token">{seconds(p.time_to_first_token_s)}</td></tr>'
        )


_MINE = ' aria-current="true" data-testid="your-build-row"'
_BADGE = ' <strong class="badge">your build</strong>'


@dataclass(frozen=True)
class SpeedTable:
    """A model on the preset builds: ``running`` fastest first, ``cannot`` collapsed."""

    running: tuple[BuildRow, ...]
    cannot: tuple[BuildRow, ...]
    verdict: BuildVerdict
    mine: BuildRow | None = None  # the visitor's build, placed the same way
    more_running: int = 0  # rows a first view leaves out (``first``), loaded on demand
    more_cannot: int = 0

    @property
    def runs(self) -> int:
        return len(self.running) + self.more_running

    @property
    def total(self) -> int:
        return self.runs + len(self.cannot) + self.more_cannot

    @property
    def more(self) -> int:
        return self.more_running + self.more_cannot

    def first(self, limit: int) -> SpeedTable:
        """The table as an in-place update sends it: the ``limit`` fastest builds and the
        visitor's own wherever it ranks; the others load when asked for."""
        running = self.running[:limit] + tuple(r for r in self.running[limit:] if r.mine)
        return replace(
            self,
            running=running,
            cannot=(),
            more_running=len(self.running) - len(running),
            more_cannot=len(self.cannot),
        )


def _rows(placements: Iterable[Placement], mine: Build | None) -> list[BuildRow]:
    slug = mine.slug if mine is not None else ""
    return [BuildRow(p, mine=bool(slug) and p.build.slug == slug) for p in placements]


def speed_table(
    arch: Architecture,
    options: Options,
    hardware: services.HardwareSet,
    *,
    weights: WeightsBreakdown | None = None,
    chosen: Build | None = None,
    cost: CostFn = installed_gb,
    model_file: str = "",
) -> SpeedTable:
    """The preset builds for one model and options, plus the
    visitor's ``chosen`` build; ``cost`` ranks the verdict's builds (the catalog's build
    prices when it has them; the memory a build installs by default)."""
    builds = services.estimate_on_builds(
        arch, options, hardware, weights=weights, model_file=model_file
    )
    rows = _rows(builds.placements, chosen)
    verdict = build_verdict(builds.placements, builds.estimate.recommended_ram_gb, cost=cost)
    mine = None
    if chosen is not None:
        mine = next((r for r in rows if r.mine), None)
        if mine is None:
            placed = services.estimate_on_builds(
                arch, options, hardware, (chosen,), weights, model_file
            )
            mine = BuildRow(placed.placements[0], mine=True)
    return SpeedTable(
        running=tuple(r for r in rows if r.placement.runs),
        cannot=tuple(r for r in rows if not r.placement.runs),
        verdict=verdict,
        mine=mine,
    )


# --- a preset build's page ------------------------------------------------------------


@dataclass(frozen=True)
class ModelOnBuild:
    model: LlmModel
    pick: QuantPick | None  # None: no quant runs on this build

    @property
    def placement(self) -> Placement | None:
        return self.pick.placement if self.pick else None

    @property
    def fit_label(self) -> str:
        return label("fit", self.pick.fit if self.pick else "none")


def best_on_build(
    arch: Architecture, options: Options, build: Build, hardware: services.HardwareSet
) -> QuantPick | None:
    """THE best quant of ``arch`` on ``build`` (``fit.best_quant_on``, memoised by the
    engine)."""
    return services.best_quant_for(arch, options, build, hardware)


def models_on_build(
    models: Sequence[LlmModel],
    build: Build,
    hardware: services.HardwareSet,
    options: Options = DEFAULTS,
) -> list[ModelOnBuild]:
    """Every model's best quant on ``build``, those that run first, fastest first."""
    rows = [
        ModelOnBuild(m, best_on_build(services.architecture_of(m), options, build, hardware))
        for m in models
    ]
    return sorted(
        rows,
        key=lambda r: (
            r.placement is None,
            -((r.placement.tokens_per_s or 0.0) if r.placement else 0.0),
        ),
    )


@dataclass(frozen=True)
class BuildSummary:
    """A preset on the list page: its parts and what it does with notable models."""

    build: Build
    notable: tuple[ModelOnBuild, ...]

    @property
    def memory(self) -> str:
        return installed_label(self.build)


def build_summaries(
    builds: Sequence[Build],
    notable: Sequence[LlmModel],
    hardware: services.HardwareSet,
    options: Options = DEFAULTS,
) -> list[BuildSummary]:
    """Each preset with the best quant and speed of each ``notable`` model on it."""
    return [
        BuildSummary(
            b,
            tuple(
                ModelOnBuild(m, best_on_build(services.architecture_of(m), options, b, hardware))
                for m in notable
            ),
        )
        for b in builds
    ]
