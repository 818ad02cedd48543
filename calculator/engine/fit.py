"""Fit solvers: the largest context that fits a memory budget at a quant, and the
best quant that fits a budget at a context."""

from __future__ import annotations

from dataclasses import replace

from calculator.engine.estimate import Options, footprint, memory
from calculator.engine.kv_cache import KV_PAD
from calculator.engine.quant import PRESETS, weights_bytes
from calculator.engine.types import Architecture

# Presets a visitor is offered, best quality first (ties broken by size).
LADDER_EXCLUDED_GROUPS = ("ternary (only for ternary-trained models)",)
LADDER_EXCLUDED = ("F32",)  # never smaller or better than F16/BF16


def total_bytes(arch: Architecture, options: Options) -> int:
    """Everything the machine needs: weights, KV, compute buffer, margin and OS reserve."""
    return memory(footprint(arch, options)[2]).total_bytes


def ladder(arch: Architecture) -> list[str]:
    """Quant presets ordered from largest (best quality) to smallest file."""
    names = [
        name
        for name, p in PRESETS.items()
        if p.group not in LADDER_EXCLUDED_GROUPS and name not in LADDER_EXCLUDED
    ]
    return sorted(names, key=lambda name: weights_bytes(arch, name).total_bytes, reverse=True)


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


# Presets a recommendation skips: the legacy types are superseded by K-quants of about
# the same size and better quality (Q4_0/Q4_1 by Q4_K_M, Q5_0/Q5_1 by Q5_K_M).
NOT_RECOMMENDED_GROUPS = ("legacy",)


def best_quant(arch: Architecture, options: Options, budget_bytes: int) -> str | None:
    """The largest (best quality) recommended preset whose whole footprint fits."""
    for name in ladder(arch):
        if PRESETS[name].group in NOT_RECOMMENDED_GROUPS:
            continue
        if total_bytes(arch, replace(options, quant=name)) <= budget_bytes:
            return name
    return None
