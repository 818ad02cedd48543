"""The options an estimate runs under (quant, context, KV type, parallel sequences)."""

from __future__ import annotations

from dataclasses import dataclass

from calculator.engine import quant
from calculator.engine.kv_cache import KV_TYPES
from calculator.engine.types import EngineError

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
        quant.validate_label(self.quant)  # a published file's label too (its weights given)
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
