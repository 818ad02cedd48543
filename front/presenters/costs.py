"""Build prices next to speeds: the catalog's :class:`~catalog.selectors.BuildCost` of
each placed build, tokens/s per 1,000 of the currency, and the cost function the engine's
:func:`~calculator.engine.verdict.build_verdict` ranks builds by."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from calculator import services
from calculator.engine.build import Build
from calculator.engine.estimate import Options
from calculator.engine.placement import Placement
from calculator.engine.quant import WeightsBreakdown
from calculator.engine.types import Architecture
from calculator.engine.verdict import CostFn
from catalog.selectors import BuildCost, PriceBook


@dataclass(frozen=True)
class CostedPlacement:
    placement: Placement
    cost: BuildCost | None  # None: a part has no fresh price in the catalog

    @property
    def tokens_per_s_per_1000(self) -> float | None:
        if self.cost is None:
            return None
        return self.cost.tokens_per_s_per_1000(self.placement.tokens_per_s)


def cost_function(book: PriceBook) -> CostFn:
    """``build_verdict(..., cost=cost_function(book))``: a build's catalog total; builds
    without a full price rank after every priced one."""

    def cost(build: Build) -> float:
        priced = book.build_cost(build)
        return math.inf if priced is None else float(priced.total)

    return cost


def costed(placements: Iterable[Placement], book: PriceBook) -> tuple[CostedPlacement, ...]:
    return tuple(CostedPlacement(p, book.build_cost(p.build)) for p in placements)


def cheapest_at(
    placements: Sequence[Placement], min_tokens_per_s: float, book: PriceBook
) -> tuple[CostedPlacement, ...]:
    """Per kind of build (GPU rig, Mac, CPU platform...), the cheapest priced build that
    runs the model comfortably at ``min_tokens_per_s`` or more; cheapest first."""
    best: dict[str, CostedPlacement] = {}
    for row in costed(placements, book):
        p = row.placement
        if row.cost is None or not p.fits or (p.tokens_per_s or 0.0) < min_tokens_per_s:
            continue
        kind = p.build.kind_label
        held = best.get(kind)
        if held is None or (held.cost is not None and row.cost.total < held.cost.total):
            best[kind] = row
    return tuple(sorted(best.values(), key=lambda r: r.cost.total if r.cost else 0))


# The speed the model page's cost answer asks for ("the cheapest way to run it at 8 tok/s
# or more"): a bar we choose for the answer, not a measured fact; builds below it are
# listed after, cheapest first, when none reaches it.
COST_BAR_TOKENS_PER_S = 8.0


@dataclass(frozen=True)
class CostAnswer:
    """The model page's "what it costs": per kind of build, the cheapest priced build that
    runs the model comfortably at ``bar`` tokens/s or more (else at any speed)."""

    bar: float
    rows: tuple[CostedPlacement, ...]
    reaches_bar: bool  # False: no priced build reaches the bar; rows run slower

    @property
    def is_fresh(self) -> bool:
        return all(r.cost is not None and r.cost.is_fresh for r in self.rows)


def cost_answer(placements: Sequence[Placement], book: PriceBook | None = None) -> CostAnswer:
    """Priced at fresh prices where the catalog has them, else the last price seen (each
    total says which, with its date)."""
    book = book or PriceBook(last_known=True)
    rows = cheapest_at(placements, COST_BAR_TOKENS_PER_S, book)
    if rows:
        return CostAnswer(COST_BAR_TOKENS_PER_S, rows, True)
    return CostAnswer(COST_BAR_TOKENS_PER_S, cheapest_at(placements, 0.0, book), False)


def model_costs(
    arch: Architecture,
    options: Options,
    hardware: services.HardwareSet,
    *,
    weights: WeightsBreakdown | None = None,
) -> CostAnswer:
    """The cost answer for a model on the preset builds (what the speed table places)."""
    placed = services.estimate_on_builds(arch, options, hardware, weights=weights)
    return cost_answer([p for p in placed.placements if p.runs])
