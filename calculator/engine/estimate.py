"""One estimate: memory breakdown, RAM to buy, speeds, verdict and launch commands.

This is the single entry point that pages, the API, the CLI, the FAQ and the kit
picks call; nothing else computes a figure a visitor sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from calculator.engine import context as context_limits
from calculator.engine import quant
from calculator.engine.build import Build, Tuning
from calculator.engine.command import llama_cpp_command
from calculator.engine.footprint import Footprint, footprint
from calculator.engine.hardware import (
    FIT_MARGIN_BYTES,
    OS_RESERVE_BYTES,
    HardwareProfile,
    recommended_ram_gb,
)
from calculator.engine.kv_cache import KvCache
from calculator.engine.options import MAX_CONTEXT, MAX_PARALLEL, Options
from calculator.engine.placement import Placement, place
from calculator.engine.speed import SpeedEstimate, plan
from calculator.engine.types import SUPPORTED, Architecture

__all__ = [
    "MAX_CONTEXT", "MAX_PARALLEL", "BuildsEstimate", "Estimate", "Footprint", "Memory",
    "Options", "estimate", "estimate_builds", "footprint", "llama_cpp_command", "memory",
    "speed_command",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Memory:
    weights_bytes: int
    kv_cache_bytes: int
    compute_buffer_bytes: int
    fit_margin_bytes: int
    os_reserve_bytes: int

    @property
    def overhead_bytes(self) -> int:
        return self.fit_margin_bytes + self.os_reserve_bytes

    @property
    def total_bytes(self) -> int:
        return (
            self.weights_bytes + self.kv_cache_bytes + self.compute_buffer_bytes
            + self.overhead_bytes
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Estimate:
    arch: Architecture
    options: Options
    weights: quant.WeightsBreakdown
    kv: KvCache
    memory: Memory
    footprint: Footprint
    recommended_ram_gb: int | None
    speeds: tuple[SpeedEstimate, ...]
    beyond_trained_context: bool  # past the longest *documented* context (context.py)

    @property
    def runs_in_llama_cpp(self) -> bool:
        """False where mainline llama.cpp has no loader for the architecture: memory
        figures stand, speeds and commands are not offered."""
        return self.arch.llama_cpp_status == SUPPORTED

    @property
    def llama_cpp_command(self) -> str:
        return llama_cpp_command(
            self.options,
            gpu_layers=None,
            model_file=self.footprint.model_file,
            rope_flags=self.footprint.rope_flags,
        )

    @property
    def ollama_num_ctx(self) -> int:
        return self.options.context

    @property
    def notes(self) -> tuple[str, ...]:
        """The architecture's caveats, plus what the context needs: rope scaling past the
        native context, a warning past the longest documented one."""
        lim = context_limits.limits(self.arch)
        notes = list(self.arch.notes)
        if not self.runs_in_llama_cpp:
            notes.append(self.arch.llama_cpp_note)
        if self.footprint.rope_flags:
            notes.append(
                f"Past {lim.native:,} tokens llama.cpp needs {lim.method} rope scaling "
                f"(factor {lim.factor:g}, as the model card documents); the command "
                "includes the flags."
            )
        if self.beyond_trained_context:
            notes.append(
                f"{self.options.context:,} tokens is beyond the longest context the model "
                f"is documented to handle ({lim.extended:,}); quality may suffer."
            )
        return tuple(notes)


def memory(fp: Footprint) -> Memory:
    return Memory(
        weights_bytes=fp.weights_bytes,
        kv_cache_bytes=fp.kv_bytes,
        compute_buffer_bytes=fp.compute_bytes,
        fit_margin_bytes=FIT_MARGIN_BYTES,
        os_reserve_bytes=OS_RESERVE_BYTES,
    )


def estimate(
    arch: Architecture,
    options: Options,
    hardware: Sequence[HardwareProfile] = (),
    *,
    host: HardwareProfile | None = None,
    moe_penalty: float = 1.0,
    extra_gpu_ms: float = 0.0,
    link_efficiency: float = 1.0,
    weights: quant.WeightsBreakdown | None = None,
    model_file: str = "",
) -> Estimate:
    """Size ``arch`` under ``options`` and plan it on every profile in ``hardware``.

    GPUs that cannot hold the model borrow ``host``'s system RAM (a desktop by
    default: the first CPU profile given). ``weights``: a published file's own
    weights instead of the preset's prediction; ``model_file``: the published file the
    commands load (both: see :func:`footprint`).

    Memoised for the preset's weights (``weights`` None): every argument is a frozen
    value, and a model's FAQ asks the same few estimates on every page render.
    """
    if weights is None:
        return _estimate(
            arch, options, tuple(hardware), host, moe_penalty, extra_gpu_ms, link_efficiency,
            model_file,
        )  # fmt: skip
    return _estimate_now(
        arch, options, hardware, host, moe_penalty, extra_gpu_ms, link_efficiency, weights,
        model_file,
    )  # fmt: skip


# Each kept estimate is about 130 objects the garbage collector tracks (its speeds on
# every profile), and a full collection walks all of a worker's: 4,096 of them made the
# collections a cold-render load triggers grow to a quarter of a second. 512 hold every
# model's default estimate and the states being asked now; a state asked again later is
# the response cache's to answer.
@lru_cache(maxsize=512)
def _estimate(
    arch: Architecture,
    options: Options,
    hardware: tuple[HardwareProfile, ...],
    host: HardwareProfile | None,
    moe_penalty: float,
    extra_gpu_ms: float,
    link_efficiency: float,
    model_file: str,
) -> Estimate:
    return _estimate_now(
        arch, options, hardware, host, moe_penalty, extra_gpu_ms, link_efficiency, None,
        model_file,
    )  # fmt: skip


def _estimate_now(
    arch: Architecture,
    options: Options,
    hardware: Sequence[HardwareProfile],
    host: HardwareProfile | None,
    moe_penalty: float,
    extra_gpu_ms: float,
    link_efficiency: float,
    weights: quant.WeightsBreakdown | None,
    model_file: str,
) -> Estimate:
    weights, kv, fp = footprint(arch, options, weights, model_file=model_file)
    mem = memory(fp)
    if host is None:
        host = next((hw for hw in hardware if _is_system_host(hw)), None)
    tuning = Tuning(moe_penalty, extra_gpu_ms, link_efficiency)
    speeds = tuple(plan(hw, fp, host=host or hw, options=options, tuning=tuning) for hw in hardware)
    return Estimate(
        arch=arch,
        options=options,
        weights=weights,
        kv=kv,
        memory=mem,
        footprint=fp,
        recommended_ram_gb=recommended_ram_gb(mem.total_bytes),
        speeds=speeds,
        beyond_trained_context=context_limits.beyond_documented(arch, options.context),
    )


def _is_system_host(hw: HardwareProfile) -> bool:
    return hw.device.host_mode == "cpu" and not hw.device.accelerator


def speed_command(options: Options, speed: SpeedEstimate, model_file: str = "") -> str:
    """The ``llama-server`` line of one planned profile (its placement names the file the
    estimate was given; ``model_file`` names it when there is no placement)."""
    if speed.llama_cpp_command:
        return speed.llama_cpp_command
    return llama_cpp_command(
        options,
        gpu_layers=speed.gpu_layers,
        cpu_moe_layers=speed.cpu_moe_layers,
        model_file=model_file,
    )


@dataclass(frozen=True, slots=True)
class BuildsEstimate:
    """One model on several builds, fastest first (those that do not run last)."""

    estimate: Estimate
    placements: tuple[Placement, ...]


def _speed_key(p: Placement) -> tuple[bool, float]:
    return (not p.runs, -(p.tokens_per_s or 0.0))


def estimate_builds(
    arch: Architecture,
    options: Options,
    builds: Sequence[Build],
    *,
    tuning: Tuning | None = None,
    weights: quant.WeightsBreakdown | None = None,
    model_file: str = "",
) -> BuildsEstimate:
    """Size ``arch`` under ``options`` (``weights``, ``model_file``: a published file's,
    see :func:`footprint`) and place it on every build, fastest first."""
    est = estimate(arch, options, weights=weights, model_file=model_file)
    tuning = tuning or Tuning()
    placed = [place(b, est.footprint, options, tuning) for b in builds]
    return BuildsEstimate(est, tuple(sorted(placed, key=_speed_key)))
