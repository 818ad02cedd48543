"""Frozen value types shared by every engine module.

The engine describes a model the way llama.cpp stores it: a list of named
tensors in GGUF order (``shape[0]`` is the row length, ``shape[1]`` the number
of rows, ``shape[2]`` the number of experts for stacked expert tensors), plus
the per-layer attention facts the KV cache needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from math import prod
from typing import Literal

# Names registered in calculator.engine.attention.KINDS, whose objects carry the behaviour.
KindName = Literal["full", "sliding", "mla", "dsa", "recurrent"]


class EngineError(ValueError):
    """Input the engine cannot size honestly; ``field`` names the culprit."""

    def __init__(self, message: str, field: str = "config") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Tensor:
    """One weight tensor as llama.cpp names and shapes it.

    ``name`` is the GGUF tensor name (``token_embd.weight``,
    ``blk.3.attn_v.weight``, ``blk.7.ffn_down_exps.weight``,
    ``blk.0.attn_norm.weight``, ``blk.0.attn_q.bias`` ...).
    ``shape`` is in GGUF order: ``(row_length, n_rows)`` for matrices,
    ``(row_length, n_rows, n_expert)`` for stacked experts, ``(n,)`` for
    vectors.
    """

    name: str
    shape: tuple[int, ...]
    layer: int | None = None
    # Name without ``blk.N.`` and the ``.weight``/``.bias`` suffix: ``attn_v``. Worked
    # out once, when the tensor is listed: the sizing rules ask for it at every turn.
    role: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        base = self.name
        if base.startswith("blk."):
            base = base.split(".", 2)[2]
        object.__setattr__(self, "role", base.rsplit(".", 1)[0])

    @property
    def n_elements(self) -> int:
        return prod(self.shape)

    @property
    def is_bias(self) -> bool:
        return self.name.endswith(".bias")

    @property
    def is_expert(self) -> bool:
        """Routed-expert tensor (``ffn_*_exps``); shared experts are not."""
        return "_exps" in self.name

    @property
    def is_vector(self) -> bool:
        return len(self.shape) == 1


@dataclass(frozen=True, slots=True)
class KvLayer:
    """What one layer keeps per token of context (elements, before the KV type).

    ``k_width``/``v_width`` are ``n_head_kv * head_dim`` (MLA: the latent
    ``kv_lora_rank + qk_rope_head_dim`` for K and no V in current llama.cpp).
    Sliding layers cap their cells at ``window`` (+ micro-batch). Recurrent
    layers hold ``state_elements`` f32 values regardless of context. DeepSeek
    sparse attention (``dsa``) also keeps an ``index_width`` indexer key per cell
    and attends ``top_k`` latents per token. The behaviour of each ``kind`` lives
    in :mod:`calculator.engine.attention`.
    """

    kind: KindName
    k_width: int
    v_width: int
    window: int | None = None
    state_elements: int = 0
    index_width: int = 0
    top_k: int = 0


@dataclass(frozen=True, slots=True)
class MlaDims:
    q_lora_rank: int | None
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int


@dataclass(frozen=True, slots=True)
class RopeScaling:
    """The config's ``rope_scaling`` as the converter writes it into the GGUF: llama.cpp
    applies it without any flag (``method`` "yarn", "linear", "llama3", "longrope" ...)."""

    method: str
    factor: float
    original_context: int | None = None


@dataclass(frozen=True, slots=True)
class ContextLimits:
    """How long a context the model runs at, as released.

    ``native``: tokens it handles with no extra flag (the GGUF carries any rope scaling
    in the config). ``extended``: the longest context its publisher documents, reached
    with ``method`` rope scaling by ``factor`` (flags llama.cpp needs above ``native``;
    :func:`calculator.engine.context.rope_flags`). ``source`` cites the documentation.
    """

    native: int
    extended: int
    method: str | None = None
    factor: float | None = None
    source: str = ""


SUPPORTED = "supported"
UNSUPPORTED = "unsupported"


@dataclass(frozen=True, slots=True, eq=False)
class Architecture:
    """A model as the engine sees it: hyper-parameters plus its tensor list.

    Compared and hashed by identity (``eq=False``): engine caches key on the object,
    and hashing a thousand tensors on every lookup would cost more than the work.
    """

    model_type: str  # the config's model_type (e.g. "deepseek_v3", "kimi_k2")
    gguf_arch: str  # llama.cpp's architecture name (e.g. "deepseek2", "qwen3moe")
    n_layer: int
    n_embd: int
    n_vocab: int
    n_head: int
    n_ctx_train: int
    kv_layers: tuple[KvLayer, ...]
    tensors: tuple[Tensor, ...]
    native_dtype: str  # "bf16", "f16", "f32", "fp8", "mxfp4"
    n_expert: int = 0  # routed experts per MoE layer (0 = dense)
    n_expert_used: int = 0
    n_expert_shared: int = 0
    n_moe_layers: int = 0
    tie_word_embeddings: bool = False
    mla: MlaDims | None = None
    n_mtp_layers: int = 0  # trailing multi-token-prediction layers stored in the GGUF
    notes: tuple[str, ...] = field(default=())
    rope_scaling: RopeScaling | None = None
    documented_context: ContextLimits | None = None  # from the model card (context.py)
    # Whether mainline llama.cpp can load this architecture, with the note (and its
    # source) a page shows instead of inventing numbers when it cannot.
    llama_cpp_status: str = SUPPORTED
    llama_cpp_note: str = ""

    @property
    def is_moe(self) -> bool:
        return self.n_expert > 0

    @property
    def total_params(self) -> int:
        return _param_counts(self)[0]

    @property
    def active_params(self) -> int:
        """Parameters a token computes with: routed experts count ``n_expert_used/n_expert``;
        the input embedding table does not count (a token reads one row of it) unless it
        doubles as the output matrix.

        This is how OpenAI's gpt-oss model card (5.13B active for gpt-oss-120b: MLP,
        attention and the unembedding) and DeepSeek's README_WEIGHTS (36.6B activated for
        V3, "including 0.9B for the output Head") count. Mistral's Mixtral figure (12.9B)
        also counts the embedding table, 0.13B more than this count.
        """
        return _param_counts(self)[1]


@lru_cache(maxsize=1024)
def _param_counts(arch: Architecture) -> tuple[int, int]:
    """(total, active) over the language model proper: published parameter counts leave
    out multi-token-prediction layers, although GGUF files store them."""
    first_mtp = arch.n_layer - arch.n_mtp_layers
    tied = not any(t.name == "output.weight" for t in arch.tensors)
    total = active = 0
    for t in arch.tensors:
        if t.layer is not None and t.layer >= first_mtp:
            continue
        total += t.n_elements
        if t.is_expert and arch.n_expert:
            active += t.n_elements * arch.n_expert_used // arch.n_expert
        elif t.name != "token_embd.weight" or tied:
            active += t.n_elements
    return total, active
