"""llama.cpp's compute buffer and the fixed reserves around it.

The compute buffer holds the f32 intermediates of one micro-batch
(``n_ubatch`` = 512 tokens by default). Its largest terms
(ggml-org/llama.cpp ``src/llama-graph.cpp``; sizes confirmed in
ikawrakow/ik_llama.cpp PR #237 and gpustack/gguf-parser-go
``file_estimate__llamacpp.go``):

* logits: ``n_vocab × n_ubatch × 4`` bytes;
* attention scores without flash attention: ``cells × n_ubatch × n_head × 4`` bytes
  (40+ GiB for DeepSeek R1 at 160K), ``cells`` being the most any layer's attention
  kind scores (sliding layers their window, DSA layers their top-k, recurrent layers
  none; :mod:`calculator.engine.attention`); with flash attention this term vanishes;
* FFN intermediates: ``n_ubatch × width × 4`` for gate and up (MoE: the experts used);
* a handful of ``n_embd``-wide activations.

The buffer is allocated once per device that holds layers and does not grow
with the number of layers offloaded (ggml-org/llama.cpp #27953).
"""

from __future__ import annotations

from functools import lru_cache

from calculator.engine.attention import kind_of
from calculator.engine.kv_cache import DEFAULT_UBATCH, pad
from calculator.engine.types import Architecture

F32 = 4
EMBD_ACTIVATIONS = 6  # residual, norm output, attention output, q/k/v slices kept live


@lru_cache(maxsize=1024)
def _ffn_width(arch: Architecture) -> int:
    widest = 0
    for t in arch.tensors:
        if t.role in ("ffn_up", "ffn_up_shexp") and len(t.shape) == 2:
            widest = max(widest, t.shape[1])
        elif t.role == "ffn_up_exps" and arch.n_expert:
            widest = max(widest, t.shape[1] * arch.n_expert_used)
    return widest


@lru_cache(maxsize=4096)
def compute_buffer_bytes(
    arch: Architecture,
    context: int,
    *,
    flash_attention: bool = True,
    n_ubatch: int = DEFAULT_UBATCH,
) -> int:
    """Compute buffer of one device at ``context`` cells of attention per sequence."""
    logits = arch.n_vocab * n_ubatch * F32
    ffn = 2 * _ffn_width(arch) * n_ubatch * F32
    attention = 0
    if not flash_attention:
        cells = pad(context)
        scored = max(
            (kind_of(layer).score_cells(layer, cells, n_ubatch) for layer in arch.kv_layers),
            default=cells,
        )
        attention = scored * n_ubatch * arch.n_head * F32
    activations = EMBD_ACTIVATIONS * arch.n_embd * n_ubatch * F32
    return max(logits, ffn + attention) + activations
