"""Lists of models: the RAM each needs, and what runs on a machine or within a budget."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from calculator import services
from calculator.engine import hardware as hw
from calculator.engine.estimate import Options
from calculator.engine.hardware import machine_budget_bytes, recommended_ram_gb
from calculator.engine.speed import SpeedEstimate
from calculator.engine.types import Architecture
from calculator.models import LlmModel
from front import memo
from front.presenters.labels import fit_status, mode_label


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
        total = memo.total(arch, options)
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
        quant, speed = memo.memo(
            arch,
            ("on-profile", profile, options, memo.hardware_key(hardware)),
            lambda arch=arch: _best_on_profile(arch, profile, hardware, options),
        )
        total = memo.total(arch, replace(options, quant=quant)) if quant else None
        status = fit_status(speed) if speed else "nofit"
        rows.append(RunRow(m, arch, quant, total, speed, status))
    return _sorted_runs(rows)


def _best_on_profile(
    arch: Architecture,
    profile: hw.HardwareProfile,
    hardware: services.HardwareSet,
    options: Options,
) -> tuple[str | None, SpeedEstimate | None]:
    names = memo.quant_ladder(arch)

    def speed(name: str) -> SpeedEstimate:
        return memo.estimate(arch, replace(options, quant=name), hardware, (profile,)).speeds[0]

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
        quant = memo.best(arch, options, budget)
        speed = None
        if quant:
            est = memo.estimate(arch, replace(options, quant=quant), hardware, (machine,))
            speed = est.speeds[0]
        total = memo.total(arch, replace(options, quant=quant)) if quant else None
        status = "nofit" if quant is None else (fit_status(speed) if speed else "fits")
        rows.append(RunRow(m, arch, quant, total, speed, status))
    return _sorted_runs(rows)


def _sorted_runs(rows: list[RunRow]) -> list[RunRow]:
    """Runnable models first, largest (most capable) first; then the rest by size."""
    order = {"fits": 0, "partial": 1, "nofit": 2}
    return sorted(rows, key=lambda r: (order[r.status], -r.model.total_params))
