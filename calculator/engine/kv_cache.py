"""KV cache as llama.cpp allocates it.

Rules (ggml-org/llama.cpp ``src/llama-kv-cache.cpp``, ``src/llama-kv-cache-iswa.cpp``,
``src/llama-context.cpp``, ``src/llama-hparams.cpp``):

* the context is padded to a multiple of 256 cells;
* each full-attention layer stores ``k_width`` + ``v_width`` elements per cell,
  as rows of the cache type (q8_0 = 34 bytes per 32 values, q4_0 = 18 per 32);
* sliding-window layers keep ``min(context, window + n_ubatch)`` cells, padded to 256;
* MLA layers (DeepSeek, Kimi) keep the 576-wide latent as K and no V since
  PR #19067 (January 2026); ``legacy_mla`` sizes GGUFs converted before
  PR #12801 (April 2025), which cache full per-head K and V;
* DeepSeek sparse attention layers add a K-only lightning-indexer key per cell
  (``src/llama-kv-cache-dsa.cpp`` at ggml-org/llama.cpp 0c1e57098);
* recurrent / linear-attention layers keep a fixed f32 state per sequence;
* multi-token-prediction layers get no cell in the main context (the trunk never
  attends them; ``llama_model::create_memory`` in ``src/llama-model.cpp``);
* with ``parallel`` sequences (llama-server ``-np``) each sequence gets its own cells.

What each kind of layer holds and reads is the behaviour of its attention kind
(:mod:`calculator.engine.attention`); this module only turns elements into bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from calculator.engine.attention import KV_PAD, kind_of, pad
from calculator.engine.types import Architecture, EngineError

__all__ = ["DEFAULT_UBATCH", "KV_PAD", "KV_TYPES", "KvCache", "kv_cache", "kv_read_bytes", "pad"]

DEFAULT_UBATCH = 512

# cache type → (values per block, bytes per block), from ggml/src/ggml-common.h
KV_TYPES: dict[str, tuple[int, int]] = {
    "f32": (1, 4),
    "f16": (1, 2),
    "bf16": (1, 2),
    "q8_0": (32, 34),
    "q5_1": (32, 24),
    "q5_0": (32, 22),
    "q4_1": (32, 20),
    "q4_0": (32, 18),
    "iq4_nl": (32, 18),
}


def row_bytes(kv_type: str, width: int) -> int:
    try:
        block, size = KV_TYPES[kv_type]
    except KeyError:
        raise EngineError(
            f"unknown KV cache type '{kv_type}'; use one of: {', '.join(KV_TYPES)}", "kv_type"
        ) from None
    if width % block:
        raise EngineError(
            f"KV width {width} is not a multiple of {kv_type}'s block {block}", "kv_type"
        )
    return width // block * size


@dataclass(frozen=True, slots=True)
class KvCache:
    cells: int  # padded cells per sequence on full-attention layers
    k_bytes: int
    v_bytes: int
    state_bytes: int  # recurrent layers' fixed state

    @property
    def total_bytes(self) -> int:
        return self.k_bytes + self.v_bytes + self.state_bytes


@lru_cache(maxsize=4096)
def kv_cache(
    arch: Architecture,
    context: int,
    kv_type: str = "f16",
    parallel: int = 1,
    *,
    n_ubatch: int = DEFAULT_UBATCH,
    legacy_mla: bool = False,
) -> KvCache:
    """KV cache for ``parallel`` sequences of ``context`` tokens each."""
    if context <= 0:
        raise EngineError("context must be a positive number of tokens", "context")
    if parallel <= 0:
        raise EngineError("parallel must be at least 1", "parallel")
    row_bytes(kv_type, 0)  # an unknown cache type fails even for a cache-less model
    cells = pad(context)
    k = v = state = 0
    for layer in arch.kv_layers:
        kind = kind_of(layer)
        state += kind.state_elements(layer) * 4 * parallel
        n = kind.cells(layer, cells, n_ubatch) * parallel
        k_width, v_width = kind.widths(layer, arch.mla, arch.n_head, legacy_mla)
        k += row_bytes(kv_type, k_width) * n
        v += row_bytes(kv_type, v_width) * n
    return KvCache(cells, k, v, state)


@lru_cache(maxsize=4096)
def kv_read_bytes(arch: Architecture, context: int, kv_type: str = "f16") -> int:
    """Bytes of KV cache one decode step reads at ``context`` tokens of history."""
    total = 0
    for layer in arch.kv_layers:
        kind = kind_of(layer)
        total += kind.state_elements(layer) * 4
        total += sum(row_bytes(kv_type, w) * rows for w, rows in kind.read_widths(layer, context))
    return total
