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
published llama-bench pp512 rows of dense models (``hardware.json`` ``prefill``).

Mixture-of-Experts models cost more than their FLOPs (:func:`prompt_seconds`). Each
expert's matrix multiplication sees only the micro-batch's tokens routed to it
(``n_ubatch x n_expert_used / n_expert``: 16 for gpt-oss-120b at the default 512), so:

* every micro-batch reads the weights of every expert it routes to (nearly all of them)
  at the device's decode read rate: large on a 256 GB/s APU, small on a GPU;
* every token pays a fixed time per MoE layer for routing (top-k, sorting the rows by
  expert, gather and scatter), fitted per backend to MoE llama-bench rows
  (``hardware.json`` ``prefill_moe``). On CUDA it is the larger share of gpt-oss prompt
  time: an RTX 4080 SUPER and an RTX 4090 read gpt-oss-20b prompts at the same ~8,000
  tokens/s, and 2048 or 4096 tokens per micro-batch change nothing
  (github.com/ggml-org/llama.cpp/discussions/15396); on Metal it is lost in the FLOPs
  model's noise. Plans that keep
weights in system RAM beside a CUDA GPU stream them to the GPU for every micro-batch of
at least 32 tokens (ggml's op offload: ``ggml_backend_cuda_device_offload_op``,
``op_offload_min_batch_size`` 32, github:ggml-org/ggml src/ggml-cuda/ggml-cuda.cu
@d99724f2b141fed9e1a9f402213506c081433465); for MoE tensors only the experts the
micro-batch routes to are copied (``ggml_backend_sched_compute_splits``, src/ggml-backend.cpp
at the same commit), which for a 512-token micro-batch is nearly all of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from calculator.engine.hardware import HardwareProfile
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


def _q_widths(arch: Architecture) -> dict[int, int]:
    """Each layer's query width: its ``attn_q`` (or MLA ``attn_q_b``) rows, else a fused
    ``attn_qkv``'s rows less K and V; layers with neither use ``n_embd``."""
    widths: dict[int, int] = {}
    fused: dict[int, int] = {}
    for t in arch.tensors:
        if t.layer is None or len(t.shape) != 2:
            continue
        if t.role in ("attn_q", "attn_q_b"):
            widths.setdefault(t.layer, t.shape[1])
        elif t.role == "attn_qkv":
            kv = arch.kv_layers[t.layer]
            fused.setdefault(t.layer, t.shape[1] - kv.k_width - kv.v_width)
    return {**fused, **widths}


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
    q_widths = _q_widths(arch)
    for i, kv in enumerate(arch.kv_layers[:first_mtp]):
        if kv.kind == "recurrent":
            continue
        if kv.kind == "mla" and arch.mla:
            rank = arch.mla.kv_lora_rank
            per = 2.0 * arch.n_head * (rank + arch.mla.qk_rope_head_dim) + 2 * arch.n_head * rank
        else:
            q = q_widths.get(i, arch.n_embd)
            v_share = kv.v_width / kv.k_width if kv.k_width else 1.0
            per = 2 * q + 2 * q * v_share
        window = kv.window if kv.kind == "sliding" else None
        groups[window] = groups.get(window, 0.0) + per
    fraction = arch.n_expert_used / arch.n_expert if arch.n_expert else 0.0
    return PrefillCost(matmul, tuple((per, w) for w, per in groups.items()), fraction)


def seconds(flops: float, tflops: float, efficiency: float) -> float:
    return flops / (tflops * 1e12 * efficiency)


@dataclass(frozen=True, slots=True)
class MoeWeights:
    """The routed experts a prompt multiplies: MoE layers and the experts' bytes."""

    n_moe_layers: int
    expert_bytes: float


def prompt_seconds(
    cost: PrefillCost,
    tokens: int,
    device: HardwareProfile,
    *,
    start: int = 0,
    share: float = 1.0,
    moe: MoeWeights | None = None,
    ubatch: int = DEFAULT_UBATCH,
    routing_us: float | None = None,
) -> float | None:
    """Seconds ``device`` spends on ``share`` of the layers for a prompt of ``tokens``
    after ``start`` cached tokens (None: no prompt rate for it).

    FLOPs at the device's prompt rate; for a MoE model (``moe``), each micro-batch of
    ``ubatch`` tokens also reads the experts it routes to at the device's read rate, and
    every token pays ``routing_us`` (default: the device's backend figure) per MoE layer.
    """
    rate = device.prefill_flops_per_s
    if not rate:
        return None
    total = cost.flops(tokens, start) * share / rate
    if moe is None or not moe.n_moe_layers or not cost.expert_fraction:
        return total
    batch = max(1, min(tokens, ubatch))
    touched = moe.expert_bytes * cost.experts_touched(batch)
    total += share * math.ceil(tokens / batch) * touched / device.read_bytes_per_s
    us = device.moe_prefill_us if routing_us is None else routing_us
    return total + share * tokens * moe.n_moe_layers * us * 1e-6
