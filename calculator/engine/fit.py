"""The one rule for "fits" and the one rule for "best quant", plus the fit solvers
(largest context for a budget).

**Fits** is :func:`calculator.engine.pools.classify` (re-exported here): comfortable,
tight, offload or none, decided per memory pool; every plan's ``fit`` comes from it.

**Best quant** ranks by quality, not size:

1. Candidates: K-quants, I-quants, Q8_0 and the legacy types, ordered by bits per weight
   of this model's file (more bits first). F32 never; F16/BF16 only when asked for
   (``allow_float``); MXFP4 presets only for models released in MXFP4
   (``arch.native_dtype == "mxfp4"``); ternary types only for ternary-trained models.
2. A legacy type (Q4_0, Q4_1, Q5_0, Q5_1) is never picked when a K- or I-quant of equal
   or smaller size runs.
3. Among the candidates that run, the pick is the first by
   ``(at least 3 bits per weight, fit: comfortable > tight > offload, bits per weight)``:
   a comfortable fit beats a tight one of higher quality, a tight one beats an offloaded
   one, and anything under 3 bits per weight (a visible quality loss, flagged on the
   result) is picked only when nothing of 3 bits or more runs at all.

:func:`best_quant_on` applies it to a build (offload counts as runnable);
:func:`best_quant` to a plain RAM budget (a CPU machine: "comfortable" = total within the
budget, the same inequality as :func:`~calculator.engine.hardware.recommended_ram_gb`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

from calculator.engine.build import Build, Tuning
from calculator.engine.estimate import Options, footprint, memory
from calculator.engine.kv_cache import KV_PAD
from calculator.engine.placement import Placement, fit_on, place
from calculator.engine.pools import FIT_CLASSES, RUNS, Fit, FitClass, Pool, classify
from calculator.engine.quant import PRESETS, weights_bytes
from calculator.engine.types import Architecture

__all__ = [
    "Fit", "FitClass", "Pool", "QuantPick", "best_quant", "best_quant_on", "best_quant_pick",
    "candidates", "classify", "ladder", "max_context", "total_bytes",
]  # fmt: skip

# Presets a visitor is offered on the quant ladder, best quality first (ties broken by size).
LADDER_EXCLUDED_GROUPS = ("ternary (only for ternary-trained models)",)
LADDER_EXCLUDED = ("F32",)  # never smaller or better than F16/BF16

LEGACY = ("Q4_0", "Q4_1", "Q5_0", "Q5_1")  # superseded by K-quants of about the same size
FLOAT = ("F16", "BF16")
NEVER = ("F32",)
TERNARY_GROUP = "ternary (only for ternary-trained models)"
TERNARY_DTYPES = ("ternary", "bitnet", "tq1_0", "tq2_0", "i2_s")
MXFP4_GROUP = "MXFP4"
QUALITY_LOSS_BPW = 3.0  # under this many bits per weight the loss is visible


@lru_cache(maxsize=8192)
def total_bytes(arch: Architecture, options: Options) -> int:
    """Everything the machine needs: weights, KV, compute buffer, margin and OS reserve
    (memoised: a pure function of a frozen architecture and frozen options)."""
    return memory(footprint(arch, options)[2]).total_bytes


@lru_cache(maxsize=1024)
def ladder(arch: Architecture) -> tuple[str, ...]:
    """Quant presets ordered from largest (best quality) to smallest file (memoised)."""
    names = [
        name
        for name, p in PRESETS.items()
        if p.group not in LADDER_EXCLUDED_GROUPS and name not in LADDER_EXCLUDED
    ]
    return tuple(
        sorted(names, key=lambda name: weights_bytes(arch, name).total_bytes, reverse=True)
    )


def max_context(arch: Architecture, options: Options, budget_bytes: int) -> int | None:
    """Largest context (a multiple of 256, at most the trained context) that fits, or None."""
    low, high = 0, arch.n_ctx_train // KV_PAD
    while low < high:
        mid = (low + high + 1) // 2
        if total_bytes(arch, replace(options, context=mid * KV_PAD)) <= budget_bytes:
            low = mid
        else:
            high = mid - 1
    if low == 0:
        return None
    return min(low * KV_PAD, arch.n_ctx_train)


# --- best quant ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuantPick:
    quant: str
    bits_per_weight: float
    fit: FitClass
    total_bytes: int
    placement: Placement | None = None  # on a build; None for a plain budget

    @property
    def quality_loss(self) -> bool:
        """Under 3 bits per weight: a loss of quality visitors notice."""
        return self.bits_per_weight < QUALITY_LOSS_BPW


def _allowed(arch: Architecture, name: str, allow_float: bool) -> bool:
    group = PRESETS[name].group
    if name in NEVER or (name in FLOAT and not allow_float):
        return False
    if group == TERNARY_GROUP:
        return arch.native_dtype.lower() in TERNARY_DTYPES
    if group == MXFP4_GROUP:
        return arch.native_dtype.lower() == "mxfp4"
    return True


@lru_cache(maxsize=2048)
def candidates(arch: Architecture, allow_float: bool = False) -> tuple[str, ...]:
    """Presets a recommendation may pick for ``arch``, most bits per weight first."""
    names = [n for n in PRESETS if _allowed(arch, n, allow_float)]
    return tuple(sorted(names, key=lambda n: -weights_bytes(arch, n).total_bytes))


def _bpw(arch: Architecture, name: str) -> float:
    return weights_bytes(arch, name).bits_per_weight


_RANK = {fit: len(FIT_CLASSES) - i for i, fit in enumerate(FIT_CLASSES)}


def _choose(arch: Architecture, picks: list[QuantPick]) -> QuantPick | None:
    runnable = [p for p in picks if p.fit in RUNS]
    modern = [p for p in runnable if p.quant not in LEGACY]
    allowed = [
        p for p in runnable
        if p.quant not in LEGACY
        or not any(m.total_bytes <= p.total_bytes for m in modern)
    ]  # fmt: skip
    if not allowed:
        return None
    return max(
        allowed,
        key=lambda p: (not p.quality_loss, _RANK[p.fit], p.bits_per_weight),
    )


@lru_cache(maxsize=4096)
def _with_quant(options: Options, quant: str) -> Options:
    """``options`` for another quant (memoised: a search asks it of every candidate, for
    the same few options)."""
    return replace(options, quant=quant)


def _pick_all(
    arch: Architecture,
    options: Options,
    judge: Callable[[Options], tuple[FitClass, int, Placement | None]],
    allow_float: bool,
) -> QuantPick | None:
    picks = []
    for name in candidates(arch, allow_float):
        fit, total, placement = judge(_with_quant(options, name))
        pick = QuantPick(name, _bpw(arch, name), fit, total, placement)
        picks.append(pick)
        if pick.fit == FIT_CLASSES[0] and not pick.quality_loss and name not in LEGACY:
            # Nothing later can be chosen over it (``_choose``): later candidates are
            # smaller (fewer bits, so a lower key; a tie keeps the first), and it rules
            # out every larger legacy quant. Stopping here gives the same pick.
            break
    return _choose(arch, picks)


def best_quant_on(
    arch: Architecture,
    options: Options,
    build: Build,
    *,
    tuning: Tuning | None = None,
    allow_float: bool = False,
) -> QuantPick | None:
    """The best quant for ``build`` by the rule above (offload counts as runnable).
    ``options.quant`` plays no part (every candidate is tried)."""
    return _best_quant_on(arch, replace(options, quant=ANY_QUANT), build, tuning, allow_float)


ANY_QUANT = "Q4_K_M"  # the quant the memo of best_quant_on keys on (any valid preset)


@lru_cache(maxsize=2048)  # a pick and its placement, about 8 tracked objects each
def _best_quant_on(
    arch: Architecture, options: Options, build: Build, tuning: Tuning | None, allow_float: bool
) -> QuantPick | None:
    """Memoised: architectures, options, builds and tuning are frozen (hashable) values.
    Each candidate is judged by its fit alone; only the pick is placed with its speeds."""
    installed = build.installed_bytes

    def judge(opts: Options) -> tuple[FitClass, int, Placement | None]:
        weights = weights_bytes(arch, opts.quant).total_bytes
        if weights > installed:  # no pool can be left out of a plan: it cannot run,
            return "none", weights, None  # and a pick that cannot run is never chosen
        fp = footprint(arch, opts)[2]
        return fit_on(build, fp), memory(fp).total_bytes, None

    pick = _pick_all(arch, options, judge, allow_float)
    if pick is None:
        return None
    chosen = _with_quant(options, pick.quant)
    return replace(pick, placement=place(build, footprint(arch, chosen)[2], chosen, tuning))


def best_quant_pick(
    arch: Architecture, options: Options, budget_bytes: int, *, allow_float: bool = False
) -> QuantPick | None:
    """The best quant whose whole estimate fits ``budget_bytes`` (a CPU machine's planning
    budget, :func:`~calculator.engine.hardware.machine_budget_bytes`)."""

    def judge(opts: Options) -> tuple[FitClass, int, Placement | None]:
        total = total_bytes(arch, opts)
        return ("comfortable" if total <= budget_bytes else "none"), total, None

    return _pick_all(arch, options, judge, allow_float)


def best_quant(
    arch: Architecture, options: Options, budget_bytes: int, *, allow_float: bool = False
) -> str | None:
    """The name of :func:`best_quant_pick`'s quant, or None when nothing fits."""
    pick = best_quant_pick(arch, options, budget_bytes, allow_float=allow_float)
    return pick.quant if pick else None
