"""Models side by side: one estimate each, speeds on a fixed set of machines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from calculator import services
from calculator.engine import hardware as hw
from calculator.engine.estimate import Estimate, Options
from calculator.engine.types import Architecture
from calculator.engine.verdict import Verdict
from calculator.models import LlmModel
from front.presenters.model_page import SpeedRow, calculation

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


@dataclass(frozen=True)
class Compared:
    model: LlmModel
    arch: Architecture
    estimate: Estimate
    verdict: Verdict
    speeds: tuple[SpeedRow, ...]  # on the comparison profiles, in order


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
