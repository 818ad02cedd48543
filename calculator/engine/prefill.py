"""Prompt processing: FLOPs per token and the time a prompt takes.

Prefill is compute-bound: a batch of prompt tokens multiplies every active weight
matrix once per token (2 FLOPs per weight: multiply and add), and each token attends
to the tokens before it:

* full attention: ``2 x q_width`` FLOPs per earlier token for Q·K and as much for the
  weighted sum of V (``q_width`` = heads x head size, from the layer's ``attn_q``);
* sliding-window layers attend to at most ``window`` earlier tokens;
* MLA (DeepSeek, Kimi) attends in the cached latent: ``2 x heads x (kv_lora_rank +
  rope)`` for Q·K and ``2 x heads x kv_lora_rank`` for V (llama.cpp's absorbed MLA);
* recurrent / linear-attention layers cost a fixed amount per token (in their weights).

Time = FLOPs ÷ (efficiency x fp16 TFLOPS), the efficiency per hardware class fitted to
published llama-bench pp512 rows (``hardware.json`` ``prefill``). Plans that keep
weights in system RAM beside a CUDA GPU stream them to the GPU for every micro-batch of
at least 32 tokens (ggml's op offload: ``ggml_backend_cuda_device_offload_op``,
``op_offload_min_batch_size`` 32, github:ggml-org/ggml src/ggml-cuda/ggml-cuda.cu
@d99724f2b141fed9e1a9f402213506c081433465); for MoE tensors only the experts the
micro-batch routes to are copied (``ggml_backend_sched_compute_splits``, src/ggml-backend.cpp
at the same commit), which for a 512-token micro-batch is nearly all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from calculator.engine.kv_cache import DEFAULT_UBATCH
from calculator.engine.types import Architecture

PP_TOKENS = 512  # llama-bench's pp512


@dataclass(frozen=True, slots=True)
class PrefillCost:
    """FLOPs a model spends per prompt token: weights, plus attention by depth."""

    matmul_flops: float  # per token: 2 x active weights in matrices
    attention: tuple[tuple[float, int | None], ...]  # (FLOPs per earlier token, window)
    expert_fraction: float  # n_expert_used / n_expert (0 for dense)

    def flops(self, tokens: int, start: int = 0) -> float:
        """FLOPs for ``tokens`` prompt tokens after ``start`` tokens already cached."""
        total = self.matmul_flops * tokens
        for per_token, window in self.attention:
            total += per_token * (_span(start + tokens, window) - _span(start, window))
        return total

    def experts_touched(self, batch: int = DEFAULT_UBATCH) -> float:
        """Share of a layer's experts a micro-batch of ``batch`` tokens routes to."""
        if not self.expert_fraction:
            return 0.0
        return 1 - (1 - self.expert_fraction) ** batch


def _span(n: int, window: int | None) -> float:
    """Sum over the first ``n`` tokens of how many earlier tokens each attends to."""
    if window is None or n <= window:
        return n * (n - 1) / 2
    return window * (window - 1) / 2 + (n - window) * window


def _q_width(arch: Architecture, layer: int) -> int:
    for t in arch.tensors:
        if t.layer == layer and t.role in ("attn_q", "attn_q_b") and len(t.shape) == 2:
            return t.shape[1]
    for t in arch.tensors:
        if t.layer == layer and t.role == "attn_qkv" and len(t.shape) == 2:
            kv = arch.kv_layers[layer]
            return t.shape[1] - kv.k_width - kv.v_width
    return arch.n_embd


@lru_cache(maxsize=1024)
def prefill_cost(arch: Architecture) -> PrefillCost:
    first_mtp = arch.n_layer - arch.n_mtp_layers
    matmul = 0.0
    tied = True
    for t in arch.tensors:
        if t.layer is not None and t.layer >= first_mtp:
            continue
        if t.role == "output":
            tied = False
        if t.is_vector or t.role == "token_embd":
            continue
        share = arch.n_expert_used / arch.n_expert if t.is_expert and arch.n_expert else 1.0
        matmul += 2 * t.n_elements * share
    if tied:  # the output projection reuses the embedding table
        matmul += 2 * arch.n_embd * arch.n_vocab
    groups: dict[int | None, float] = {}
    for i, kv in enumerate(arch.kv_layers[:first_mtp]):
        if kv.kind == "recurrent":
            continue
        if kv.kind == "mla" and arch.mla:
            rank = arch.mla.kv_lora_rank
            per = 2.0 * arch.n_head * (rank + arch.mla.qk_rope_head_dim) + 2 * arch.n_head * rank
        else:
            q = _q_width(arch, i)
            v_share = kv.v_width / kv.k_width if kv.k_width else 1.0
            per = 2 * q + 2 * q * v_share
        window = kv.window if kv.kind == "sliding" else None
        groups[window] = groups.get(window, 0.0) + per
    fraction = arch.n_expert_used / arch.n_expert if arch.n_expert else 0.0
    return PrefillCost(matmul, tuple((per, w) for w, per in groups.items()), fraction)


def seconds(flops: float, tflops: float, efficiency: float) -> float:
    return flops / (tflops * 1e12 * efficiency)
