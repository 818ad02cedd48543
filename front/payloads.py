"""Plain-dict views of engine results: the API's JSON and the CLI's output share them."""

from __future__ import annotations

from typing import Any

from calculator.engine import hardware as hw
from calculator.engine.estimate import Estimate, speed_command
from calculator.engine.types import Architecture
from calculator.models import LlmModel


def model_payload(model: LlmModel | None, arch: Architecture, name: str = "") -> dict[str, Any]:
    return {
        "slug": model.slug if model else None,
        "name": model.name if model else name,
        "hf_repo": model.hf_repo if model else None,
        "family": model.family if model else None,
        "architecture": "moe" if arch.is_moe else "dense",
        "model_type": arch.model_type,
        "total_params": arch.total_params,
        "active_params": arch.active_params,
        "context_length": arch.n_ctx_train,
        "native_dtype": arch.native_dtype,
    }


def estimate_payload(
    est: Estimate, model_out: dict[str, Any], profiles: tuple[hw.HardwareProfile, ...]
) -> dict[str, Any]:
    opts, mem = est.options, est.memory
    return {
        "model": model_out,
        "quant": opts.quant,
        "context": opts.context,
        "kv_type": opts.kv_type,
        "parallel": opts.parallel,
        "flash_attention": opts.flash_attention,
        "memory": {
            "weights_bytes": mem.weights_bytes,
            "kv_cache_bytes": mem.kv_cache_bytes,
            "compute_buffer_bytes": mem.compute_buffer_bytes,
            "overhead_bytes": mem.overhead_bytes,
            "fit_margin_bytes": mem.fit_margin_bytes,
            "os_reserve_bytes": mem.os_reserve_bytes,
            "total_bytes": mem.total_bytes,
        },
        "bits_per_weight": round(est.weights.bits_per_weight, 3),
        "weights_by_type": est.weights.by_type,
        "recommended_ram_gb": est.recommended_ram_gb,
        "speeds": [
            {
                "hardware": s.hardware.slug,
                "name": s.hardware.name,
                "kind": s.hardware.kind,
                "memory_gb": s.hardware.memory_gb,
                "bandwidth_gbps": s.hardware.bandwidth_gbps,
                "fits": s.fits,
                "mode": s.mode,
                "tokens_per_s": _round(s.tokens_per_s),
                "tokens_per_s_low": _round(s.tokens_per_s_low),
                "tokens_per_s_high": _round(s.tokens_per_s_high),
                "gpu_layers": s.gpu_layers,
                "cpu_moe_layers": s.cpu_moe_layers,
                "device_bytes": s.device_bytes,
                "host_bytes": s.host_bytes,
                "formula": s.formula,
                "note": s.note,
                "llama_cpp_command": None if s.mode == "does_not_fit" else speed_command(opts, s),
            }
            for s in est.speeds
        ],
        "llama_cpp_command": est.llama_cpp_command,
        "ollama_num_ctx": est.ollama_num_ctx,
        "notes": list(est.notes),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
