"""Decode speed on one hardware profile: the per-profile view of :mod:`placement`.

A profile is planned as the build it stands for (:func:`~calculator.engine.build.device_build`:
a GPU beside its host, or the machine alone), so this module and the build API give the
same figures and the same fit. Time per token is the sum over memory pools of
``bytes read there ÷ (efficiency × bandwidth)`` plus a fixed per-token overhead, so a split
between VRAM and system RAM is dominated by the slow pool. Efficiency per hardware class
comes from published llama.cpp measurements (``calculator/data/hardware.json``).

Engines: the figures are mainline llama.cpp's. Another engine with its own calibration is an
:class:`Engine` (``hardware.json`` ``engines``: ik_llama.cpp, fitted to its own published
GPU + system RAM runs); :func:`place_engines` plans one build under several, e.g. llama.cpp
against ik_llama.cpp for a MoE model whose experts sit in system RAM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from calculator.engine.build import Build, Tuning, device_build
from calculator.engine.footprint import Footprint
from calculator.engine.hardware import HardwareProfile
from calculator.engine.options import Options
from calculator.engine.placement import Placement, place
from calculator.engine.pools import FitClass

__all__ = [
    "LLAMA_CPP", "Engine", "Footprint", "Mode", "SpeedEstimate", "engines_from_data",
    "from_placement", "place_engines", "plan",
]  # fmt: skip

Mode = Literal[
    "gpu", "multi_gpu", "unified", "cpu", "expert_offload", "partial_offload", "does_not_fit"
]


@dataclass(frozen=True, slots=True)
class SpeedEstimate:
    hardware: HardwareProfile
    mode: Mode
    fits: bool  # fits comfortably: the machine has the recommended memory (``fit``)
    tokens_per_s: float | None
    tokens_per_s_low: float | None
    tokens_per_s_high: float | None
    gpu_layers: int  # llama.cpp -ngl
    cpu_moe_layers: int  # MoE layers whose routed experts sit in system RAM
    device_bytes: int  # needed in VRAM / unified memory / RAM of this profile
    host_bytes: int  # needed in system RAM besides (offload plans)
    note: str = ""
    fit: FitClass = "none"  # comfortable / tight / offload / none (pools.classify)
    prefill_tokens_per_s: float | None = None  # pp512
    time_to_first_token_s: float | None = None
    placement: Placement | None = None

    @property
    def formula(self) -> str:
        return self.placement.formula if self.placement else ""

    @property
    def llama_cpp_command(self) -> str:
        return self.placement.llama_cpp_command if self.placement else ""


def from_placement(hw: HardwareProfile, p: Placement, fp: Footprint) -> SpeedEstimate:
    if p.build.gpus:
        device = sum(p.gpu_bytes) if p.runs else fp.device_bytes
        host = p.host_bytes
    else:
        device, host = (p.host_bytes if p.runs else fp.device_bytes), 0
    return SpeedEstimate(
        hardware=hw,
        mode=p.mode,
        fits=p.fits,
        tokens_per_s=p.tokens_per_s,
        tokens_per_s_low=p.tokens_per_s_low,
        tokens_per_s_high=p.tokens_per_s_high,
        gpu_layers=p.gpu_layers,
        cpu_moe_layers=p.cpu_moe_layers,
        device_bytes=device,
        host_bytes=host,
        note=p.note,
        fit=p.fit,
        prefill_tokens_per_s=p.prefill_tokens_per_s,
        time_to_first_token_s=p.time_to_first_token_s,
        placement=p,
    )


def plan(
    hw: HardwareProfile,
    fp: Footprint,
    *,
    host: HardwareProfile,
    moe_penalty: float = 1.0,
    options: Options | None = None,
    tuning: Tuning | None = None,
) -> SpeedEstimate:
    """Where the model runs on ``hw`` (GPUs borrow ``host``'s RAM) and how fast it decodes."""
    tuning = tuning or Tuning(moe_penalty=moe_penalty)
    placement = place(device_build(hw, host), fp, options or Options(context=fp.context or 1),
                      tuning)  # fmt: skip
    return from_placement(hw, placement, fp)


# --- engines ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Engine:
    """An inference engine with its own calibration. ``host_moe_factor`` scales the rate
    at which it reads routed experts from system RAM against llama.cpp's (its CPU MoE
    kernels); everything else is planned as llama.cpp places it."""

    key: str
    label: str
    host_moe_factor: float = 1.0

    def tuning(self, base: Tuning) -> Tuning:
        return replace(base, host_moe_factor=self.host_moe_factor)


LLAMA_CPP = Engine("llama.cpp", "llama.cpp")


def engines_from_data(data: Mapping[str, Any]) -> dict[str, Engine]:
    """``hardware.json``'s ``engines`` section, with llama.cpp itself first."""
    engines = {LLAMA_CPP.key: LLAMA_CPP}
    for key, entry in data.get("engines", {}).items():
        engines[key] = Engine(key, str(entry.get("label") or key),
                              float(entry.get("host_moe_factor", 1.0)))  # fmt: skip
    return engines


def place_engines(
    build: Build,
    fp: Footprint,
    options: Options,
    engines: Sequence[Engine],
    tuning: Tuning | None = None,
) -> tuple[tuple[Engine, Placement], ...]:
    """The same model on the same build under each engine (same placement, each engine's
    own decode rate for experts in system RAM)."""
    base = tuning or Tuning()
    return tuple((e, place(build, fp, options, e.tuning(base))) for e in engines)
