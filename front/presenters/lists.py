"""Lists of models: the RAM each needs, and what runs on a machine or within a budget."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from calculator import services
from calculator.engine import hardware as hw
from calculator.engine.estimate import Options
from calculator.engine.fit import total_bytes
from calculator.engine.hardware import recommended_ram_gb
from calculator.engine.speed import SpeedEstimate
from calculator.engine.types import Architecture
from calculator.models import LlmModel
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
        total = total_bytes(arch, options)
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
        quant, speed = _best_on_profile(arch, profile, hardware, options)
        total = total_bytes(arch, replace(options, quant=quant)) if quant else None
        status = fit_status(speed) if speed else "nofit"
        rows.append(RunRow(m, arch, quant, total, speed, status))
    return _sorted_runs(rows)


def _best_on_profile(
    arch: Architecture,
    profile: hw.HardwareProfile,
    hardware: services.HardwareSet,
    options: Options,
) -> tuple[str | None, SpeedEstimate | None]:
    """The one best-quant rule (``services.best_quant_for``) on the build the profile
    stands for, and the profile's speed at that quant."""
    pick = services.best_quant_for(arch, options, services.profile_build(profile, hardware),
                                   hardware)  # fmt: skip
    if pick is None:
        return None, None
    speed = services.estimate_for(arch, replace(options, quant=pick.quant), hardware, (profile,))
    return pick.quant, speed.speeds[0]


def runs_in_budget(
    models: Iterable[LlmModel],
    machine: hw.HardwareProfile,
    hardware: services.HardwareSet,
    options: Options,
) -> list[RunRow]:
    """Per model: the best quant on ``machine`` by the one rule (as on a listed
    profile's page), with the speed the engine plans on that machine."""
    rows = []
    for m in models:
        arch = services.architecture_of(m)
        quant, speed = _best_on_profile(arch, machine, hardware, options)
        total = total_bytes(arch, replace(options, quant=quant)) if quant else None
        status = fit_status(speed) if speed else "nofit"
        rows.append(RunRow(m, arch, quant, total, speed, status))
    return _sorted_runs(rows)


def _sorted_runs(rows: list[RunRow]) -> list[RunRow]:
    """Runnable models first, largest (most capable) first; then the rest by size."""
    order = {"fits": 0, "partial": 1, "nofit": 2}
    return sorted(rows, key=lambda r: (order[r.status], -r.model.total_params))
