"""Memory kits next to models: the kits that hold a model, the models a kit runs.

Every speed here is the engine's build placement (:func:`calculator.engine.placement.place`)
on the build a kit makes: its platform host populated with the kit's DIMMs
(:func:`calculator.engine.kits.kit_fit`), the same function and coefficients the speed
table's preset builds go through, so a kit row and a speed-table row for the same machine
show the same tokens/s."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from django.utils.formats import localize
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from calculator import selectors as calculator_selectors
from calculator import services
from calculator.engine.build import Build, make_build, platform_host
from calculator.engine.estimate import Estimate, Options
from calculator.engine.footprint import Footprint
from calculator.engine.kits import KitFit
from calculator.engine.placement import Placement, place
from calculator.formatting import tps
from calculator.models import LlmModel
from calculator.options import DEFAULTS
from catalog.models import MemoryKit
from catalog.selectors import KitPick, PlatformPicks, kit_fits
from catalog.selectors import kit_picks as select_picks
from front.presenters.labels import label, time_element


def kit_build(fit: KitFit, hardware: services.HardwareSet) -> Build:
    """The CPU-only build a kit makes on its platform (the kit's DIMMs, as many kits as
    the channels take)."""
    efficiency = hardware.efficiency[services.KIND_CLASS["cpu"]]
    host = platform_host(fit.platform, efficiency, dimms=fit.dimms)
    boxes = f"{fit.kits} x " if fit.kits > 1 else ""
    name = f"{fit.platform.name} + {boxes}{fit.kit.count} x {fit.kit.size_gb} GB"
    return make_build(host, slug=fit.platform.slug, name=name)


def place_kit(
    fit: KitFit, footprint: Footprint, options: Options, hardware: services.HardwareSet
) -> Placement:
    """A model's placement on the build a kit makes."""
    return place(kit_build(fit, hardware), footprint, options, hardware.tuning)


PICKS_PER_PLATFORM = 2  # a model page lists every platform; two kits each keep it short


@dataclass(frozen=True)
class KitRow:
    pick: KitPick
    placement: Placement

    @property
    def tokens_per_s(self) -> float | None:
        return self.placement.tokens_per_s

    @property
    def html(self) -> SafeString:
        """The row as the kit-picks table shows it, written here in one pass, as the quant
        ladder's rows are: two dozen rows of a dozen values each, on every model page and
        in its kit region, cost 4 ms as template nodes. Every text is escaped; numbers
        are written as templates write them (``localize``)."""
        pick, kit = self.pick, self.pick.kit
        boxes = f"{pick.kits} × " if pick.kits > 1 else ""
        runs_at = f", runs at {pick.speed_mts} MT/s here" if pick.speed_mts != kit.speed_mts else ""
        name = (
            f'<th scope="row">{boxes}<a href="{escape(kit.get_absolute_url())}">'
            f'{escape(kit.title)}</a><br><span class="muted">{escape(kit.modules_label)} '
            f"{escape(kit.ddr_generation)}-{kit.speed_mts} "
            f"{escape(label('form_factor', kit.form_factor))}{escape(runs_at)}</span></th>"
        )
        bandwidth = f"{pick.bandwidth_gbps:.1f}".removesuffix(".0")  # floatformat:"-1"
        speed = tps(self.tokens_per_s) if self.tokens_per_s else "–"
        return mark_safe(  # noqa: S308  (every value escaped or a number)
            f"<tr>{name}"
            f'<td class="num" data-label="Capacity">{pick.capacity_gb} GB</td>'
            f'<td data-label="Price">{_price_cell(pick)}</td>'
            f'<td class="num" data-label="Bandwidth">{pick.channels} ch · {pick.speed_mts} '
            f"MT/s · {bandwidth} GB/s</td>"
            f'<td class="num" data-label="Tokens/s">{speed}</td></tr>'
        )


def _price_cell(pick: KitPick) -> str:
    """The price (fresh only), where it was seen and when, and the retailer's link."""
    currency, retailer = escape(pick.currency), escape(pick.retailer)
    if pick.price is not None and pick.is_fresh:
        each = f' <span class="muted">({pick.kits} × {localize(pick.price)})</span>'
        note = f' <span class="partial">{escape(pick.price_label)}</span>'
        details = (
            '<details><summary class="muted">Price details</summary>'
            f'<p class="muted">{escape(pick.disclaimer)}</p></details>'
        )
        cell = (
            f"<strong>{currency} {localize(pick.total_price)}</strong>"
            f"{each if pick.kits > 1 else ''}{note if pick.price_label else ''}"
            f'<br><span class="muted">{currency} {localize(pick.price_per_gb)}/GB · {retailer}'
            f" · price as of {time_element(pick.as_of)}</span>"
            f"{details if pick.disclaimer else ''}"
        )
    else:
        cell = '<span class="muted">check price at retailer</span>'
    if pick.outbound_url:
        verb = "Buy at" if pick.is_fresh else "Check price at"
        link = f'<a href="{escape(pick.outbound_url)}" rel="sponsored nofollow noopener">'
        return f"{cell}<br>{link}{verb} {retailer}</a>"
    if pick.kit.source_url:
        link = f'<a href="{escape(pick.kit.source_url)}" rel="nofollow noopener">'
        return f"{cell}<br>{link}Product page</a>"
    return cell


@dataclass(frozen=True)
class PlatformRows:
    platform: PlatformPicks
    rows: tuple[KitRow, ...]


def kit_picks(estimate: Estimate, hardware: services.HardwareSet) -> tuple[PlatformRows, ...]:
    """The "memory allocation sizer": per platform that has one, the cheapest kits that
    fit it and hold the recommended RAM, each placed as a build."""
    required = estimate.recommended_ram_gb
    if required is None or services.KIND_CLASS["cpu"] not in hardware.efficiency:
        return ()
    groups = []
    for platform in select_picks(required_gb=required, per_platform=PICKS_PER_PLATFORM):
        if not platform.picks:
            continue
        rows = tuple(
            KitRow(pick, place_kit(pick.fit, estimate.footprint, estimate.options, hardware))
            for pick in platform.picks
        )
        groups.append(PlatformRows(platform, rows))
    return tuple(groups)


# --- the models a kit runs ---------------------------------------------------------------

STATUS_LABELS = {"fits": "Fits", "partial": "Tight", "nofit": "Does not fit"}


@dataclass(frozen=True)
class KitRun:
    model: LlmModel
    quant: str | None
    total_bytes: int | None
    speed: Placement | None  # named as in includes/run_table.html
    status: str  # fits / partial / nofit

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class KitRuns:
    runs: list[KitRun]
    options: Options  # the options every row is sized at
    fit: KitFit | None  # the platform the rows are placed on
    fits: tuple[KitFit, ...]  # every platform the kit fits


def _run(model: LlmModel, build: Build, options: Options, hardware: services.HardwareSet) -> KitRun:
    """The model at THE best quant on the kit's build (the engine's one rule), placed."""
    arch = services.architecture_of(model)
    pick = services.best_quant_for(arch, options, build, hardware)
    if pick is None:
        return KitRun(model, None, None, None, "nofit")
    sized = replace(options, quant=pick.quant)
    placement = (
        pick.placement
        or services.estimate_on_builds(arch, sized, hardware, builds=[build]).placements[0]
    )
    status = "fits" if placement.fits else "partial" if placement.runs else "nofit"
    return KitRun(model, pick.quant, pick.total_bytes, placement, status)


def models_on_kit(kit: MemoryKit, models: Iterable[LlmModel] | None = None) -> KitRuns:
    """Every model with the best quant that fits this kit's build on the first platform
    it fits, at the default options, placed on that build."""
    fits = tuple(kit_fits(kit))
    hardware = services.hardware_set()
    if not fits or services.KIND_CLASS["cpu"] not in hardware.efficiency:
        return KitRuns([], DEFAULTS, None, fits)
    fit = fits[0]
    build = kit_build(fit, hardware)
    chosen = calculator_selectors.models() if models is None else models
    runs = [_run(m, build, DEFAULTS, hardware) for m in chosen]
    order = {"fits": 0, "partial": 1, "nofit": 2}
    runs.sort(key=lambda r: (order[r.status], -r.model.total_params))
    return KitRuns(runs, DEFAULTS, fit, fits)
