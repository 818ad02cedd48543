"""Memory kits next to models: the kits that hold a model, the models a kit runs, each
with the decode speed the kit's platform channels give (the engine's bandwidth model)."""

from __future__ import annotations

from dataclasses import dataclass

from calculator import selectors as calculator_selectors
from calculator import services
from calculator.engine.estimate import Options
from calculator.engine.speed import plan
from calculator.options import DEFAULTS
from catalog.models import MemoryKit
from catalog.selectors import KitPick, Platform, PlatformPicks
from catalog.selectors import kit_picks as select_picks
from front.presenters.lists import RunRow, runs_in_budget
from front.presenters.model_page import Calculation


@dataclass(frozen=True)
class KitRow:
    pick: KitPick
    tokens_per_s: float | None  # this model on the platform's channels at the kit's speed


@dataclass(frozen=True)
class PlatformRows:
    platform: PlatformPicks
    rows: tuple[KitRow, ...]


def kit_picks(calc: Calculation, hardware: services.HardwareSet) -> tuple[PlatformRows, ...]:
    """The "memory allocation sizer": cheapest kits that hold the recommended RAM, each with
    the decode speed its platform's channels give this model."""
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


@dataclass(frozen=True)
class KitRuns:
    runs: list[RunRow]
    options: Options  # the options every row is sized at
    channels: int | None  # memory channels the kit fills on its platform


def models_on_kit(kit: MemoryKit, platform: Platform | None) -> KitRuns:
    """Every model with the best quant that fits this kit's capacity, at the default
    options, and its speed on the channels the kit fills at its rated speed."""
    hardware = services.hardware_set()
    if platform is None or "cpu" not in hardware.efficiency_by_kind:
        return KitRuns([], DEFAULTS, None)
    channels = min(platform.channels, kit.module_count)
    machine = services.custom_hardware(
        hardware,
        memory_gb=float(kit.capacity_gb),
        bandwidth_gbps=channels * kit.speed_mts * 8 / 1000,
        kind="cpu",
    )
    runs = runs_in_budget(calculator_selectors.models(), machine, hardware, DEFAULTS)
    return KitRuns(runs, DEFAULTS, channels)
