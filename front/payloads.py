"""Plain-dict views of engine results: the API's JSON and the CLI's output share them."""

from __future__ import annotations

from typing import Any

from calculator.engine import context
from calculator.engine import hardware as hw
from calculator.engine.estimate import Estimate, speed_command
from calculator.engine.placement import Placement
from calculator.engine.quant import default_quant
from calculator.engine.types import Architecture
from calculator.models import LlmModel
from catalog.gguf_selectors import PublishedWeights
from catalog.models import GgufFile


def model_payload(model: LlmModel | None, arch: Architecture, name: str = "") -> dict[str, Any]:
    limits = context.limits(arch)
    return {
        "slug": model.slug if model else None,
        "name": model.name if model else name,
        "hf_repo": model.hf_repo if model else None,
        "family": model.family if model else None,
        "architecture": "moe" if arch.is_moe else "dense",
        "model_type": arch.model_type,
        "total_params": arch.total_params,
        "active_params": arch.active_params,
        "context_length": limits.extended,  # the longest documented context
        "native_context": limits.native,  # without rope-scaling flags
        "native_dtype": arch.native_dtype,
        "default_quant": model.default_quant if model else default_quant(arch),
        "llama_cpp_status": arch.llama_cpp_status,
        "llama_cpp_note": arch.llama_cpp_note,
    }


def file_payload(gguf: GgufFile) -> dict[str, Any]:
    """A published GGUF file as the API shows it."""
    return {
        "repository": gguf.repository.repo_id,
        "quant": gguf.label,
        "path": gguf.path,
        "parts": gguf.part_count,
        "total_bytes": gguf.total_bytes,
        "size_precision": gguf.size_precision,
        "commit": gguf.commit or None,
        "url": gguf.url,
    }


def estimate_payload(
    est: Estimate,
    model_out: dict[str, Any],
    profiles: tuple[hw.HardwareProfile, ...],
    published: PublishedWeights | None = None,
    build: Placement | None = None,
) -> dict[str, Any]:
    """``published``: the file whose real weights the estimate used (its note joins the
    notes, the file is described under ``file``); ``build``: the model placed on the
    build the client asked about."""
    opts, mem = est.options, est.memory
    runs = est.runs_in_llama_cpp
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
                "tokens_per_s": _round(s.tokens_per_s) if runs else None,
                "tokens_per_s_low": _round(s.tokens_per_s_low) if runs else None,
                "tokens_per_s_high": _round(s.tokens_per_s_high) if runs else None,
                "gpu_layers": s.gpu_layers,
                "cpu_moe_layers": s.cpu_moe_layers,
                "device_bytes": s.device_bytes,
                "host_bytes": s.host_bytes,
                "formula": s.formula,
                "note": s.note if runs else est.arch.llama_cpp_note,
                "llama_cpp_command": (
                    speed_command(opts, s) if runs and s.mode != "does_not_fit" else None
                ),
                "fit": s.fit,
                "prefill_tokens_per_s": _round(s.prefill_tokens_per_s) if runs else None,
                "time_to_first_token_s": _round(s.time_to_first_token_s) if runs else None,
            }
            for s in est.speeds
        ],
        "llama_cpp_command": est.llama_cpp_command,
        "ollama_num_ctx": est.ollama_num_ctx,
        "notes": [*est.notes, *((published.note,) if published else ())],
        "file": file_payload(published.file) if published else None,
        "build": build_payload(build, runs) if build else None,
    }


def build_payload(p: Placement, runs: bool = True) -> dict[str, Any]:
    """One model on the build a client asked about (``runs``: llama.cpp loads it)."""
    speeds = runs and p.runs
    return {
        "name": p.build.describe(),
        "fit": p.fit,
        "mode": p.mode,
        "tokens_per_s": _round(p.tokens_per_s) if speeds else None,
        "tokens_per_s_low": _round(p.tokens_per_s_low) if speeds else None,
        "tokens_per_s_high": _round(p.tokens_per_s_high) if speeds else None,
        "prefill_tokens_per_s": _round(p.prefill_tokens_per_s) if speeds else None,
        "time_to_first_token_s": _round(p.time_to_first_token_s) if speeds else None,
        "gpu_bytes": list(p.gpu_bytes),
        "host_bytes": p.host_bytes,
        "llama_cpp_command": (p.llama_cpp_command or None) if runs else None,
        "note": p.note,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
