"""One estimate: memory breakdown, RAM to buy, speeds, verdict and launch commands.

This is the single entry point that pages, the API, the CLI, the FAQ and the kit
picks call; nothing else computes a figure a visitor sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from calculator.engine import quant
from calculator.engine.compute import compute_buffer_bytes
from calculator.engine.hardware import (
    FIT_MARGIN_BYTES,
    OS_RESERVE_BYTES,
    HardwareProfile,
    recommended_ram_gb,
)
from calculator.engine.kv_cache import KV_TYPES, KvCache, kv_cache, kv_read_bytes
from calculator.engine.speed import Footprint, SpeedEstimate, plan
from calculator.engine.types import Architecture, EngineError

# No runtime allocates more than this; anything larger is a typo, not a plan.
MAX_CONTEXT = 16 * 1024 * 1024
MAX_PARALLEL = 256


@dataclass(frozen=True, slots=True)
class Options:
    quant: str = "Q4_K_M"
    context: int = 8192
    kv_type: str = "f16"
    parallel: int = 1
    flash_attention: bool = True

    def validate(self) -> None:
        quant.get_preset(self.quant)
        if not isinstance(self.context, int) or isinstance(self.context, bool):
            raise EngineError("context must be a whole number of tokens", "context")
        if not 0 < self.context <= MAX_CONTEXT:
            raise EngineError(f"context must be between 1 and {MAX_CONTEXT:,} tokens", "context")
        if self.kv_type not in KV_TYPES:
            raise EngineError(
                f"unknown kv_type '{self.kv_type}'; use one of: {', '.join(KV_TYPES)}", "kv_type"
            )
        if not 0 < self.parallel <= MAX_PARALLEL:
            raise EngineError(f"parallel must be between 1 and {MAX_PARALLEL}", "parallel")
        if self.kv_type not in ("f16", "bf16", "f32") and not self.flash_attention:
            raise EngineError("a quantized KV cache needs flash attention in llama.cpp", "kv_type")


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
    beyond_trained_context: bool

    @property
    def llama_cpp_command(self) -> str:
        return llama_cpp_command(self.options, gpu_layers=None)

    @property
    def ollama_num_ctx(self) -> int:
        return self.options.context

    @property
    def notes(self) -> tuple[str, ...]:
        """The architecture's caveats, plus a warning past the trained context."""
        if not self.beyond_trained_context:
            return self.arch.notes
        return (
            *self.arch.notes,
            f"{self.options.context:,} tokens is beyond the model's trained context "
            f"({self.arch.n_ctx_train:,}); quality may suffer.",
        )


def footprint(arch: Architecture, options: Options) -> tuple[
    quant.WeightsBreakdown, KvCache, Footprint
]:  # fmt: skip
    options.validate()
    weights = quant.weights_bytes(arch, options.quant)
    kv = kv_cache(arch, options.context, options.kv_type, options.parallel)
    compute = compute_buffer_bytes(arch, options.context, flash_attention=options.flash_attention)
    fp = Footprint(
        weights_bytes=weights.total_bytes,
        expert_bytes=weights.expert_bytes,
        token_embd_bytes=weights.token_embd_bytes,
        output_bytes=weights.output_bytes,
        kv_bytes=kv.total_bytes,
        compute_bytes=compute,
        n_layer=arch.n_layer,
        n_moe_layers=arch.n_moe_layers,
        expert_fraction_read=arch.n_expert_used / arch.n_expert if arch.n_expert else 0.0,
        kv_read_bytes=kv_read_bytes(arch, options.context, options.kv_type),
    )
    return weights, kv, fp


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
) -> Estimate:
    """Size ``arch`` under ``options`` and plan it on every profile in ``hardware``.

    GPUs that cannot hold the model borrow ``host``'s system RAM (a desktop by
    default: the first CPU profile given).
    """
    weights, kv, fp = footprint(arch, options)
    mem = memory(fp)
    if host is None:
        host = next((hw for hw in hardware if hw.kind == "cpu"), None)
    speeds = tuple(plan(hw, fp, host=host or hw, moe_penalty=moe_penalty) for hw in hardware)
    return Estimate(
        arch=arch,
        options=options,
        weights=weights,
        kv=kv,
        memory=mem,
        footprint=fp,
        recommended_ram_gb=recommended_ram_gb(mem.total_bytes),
        speeds=speeds,
        beyond_trained_context=options.context > arch.n_ctx_train,
    )


def llama_cpp_command(
    options: Options, *, gpu_layers: int | None, cpu_moe_layers: int = 0, model_file: str = ""
) -> str:
    """The ``llama-server`` line that realises an estimate."""
    parts = ["llama-server", "-m", model_file or f"model-{options.quant}.gguf"]
    parts += ["-c", str(options.context * options.parallel)]
    if options.parallel > 1:
        parts += ["-np", str(options.parallel)]
    parts += ["-fa", "on" if options.flash_attention else "off"]
    parts += ["-ngl", str(99 if gpu_layers is None else gpu_layers)]
    if cpu_moe_layers:
        parts += ["--n-cpu-moe", str(cpu_moe_layers)]
    if options.kv_type != "f16":
        parts += ["-ctk", options.kv_type, "-ctv", options.kv_type]
    return " ".join(parts)


def speed_command(options: Options, speed: SpeedEstimate) -> str:
    return llama_cpp_command(
        options, gpu_layers=speed.gpu_layers, cpu_moe_layers=speed.cpu_moe_layers
    )
