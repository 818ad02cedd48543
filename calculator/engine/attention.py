"""Attention kinds as behaviour: what each kind of layer keeps and reads per token.

Every :class:`~calculator.engine.types.KvLayer` names its kind (``layer.kind``); the
objects registered in :data:`KINDS` answer the questions the KV cache, the decode
read and the compute buffer ask of a layer, so no module branches on the name.

Facts from ggml-org/llama.cpp at commit 0c1e57098 (the tree vendored by
abetlen/llama-cpp-python 0.3.36): ``src/llama-kv-cache.cpp`` (K and V per cell;
MLA layers keep K only), ``src/llama-kv-cache-iswa.cpp`` (sliding layers hold
``window + n_ubatch`` cells, padded to 256), ``src/llama-kv-cache-dsa.cpp``
(DeepSeek sparse attention adds a K-only cache of ``index_head_dim`` per cell for
the lightning indexer), ``src/llama-memory-recurrent.cpp`` (a fixed f32 state).
"""

from __future__ import annotations

from dataclasses import dataclass

from calculator.engine.types import KvLayer, MlaDims

KV_PAD = 256


def pad(n: int, multiple: int = KV_PAD) -> int:
    return -(-n // multiple) * multiple


@dataclass(frozen=True, slots=True)
class AttentionKind:
    """Plain softmax attention over every cached token (GQA/MQA/MHA)."""

    name: str
    label: str
    description: str

    @property
    def grows_with_context(self) -> bool:
        return True

    def cells(self, layer: KvLayer, cells: int, n_ubatch: int) -> int:
        """Cells one sequence holds in this layer when the context is ``cells`` (padded)."""
        return cells

    def widths(
        self, layer: KvLayer, mla: MlaDims | None, n_head: int, legacy_mla: bool
    ) -> tuple[int, int]:
        """(K, V) elements per cell this layer caches."""
        return layer.k_width, layer.v_width

    def read_widths(self, layer: KvLayer, context: int) -> tuple[tuple[int, int], ...]:
        """(row width, rows read) for one decode step at ``context`` tokens of history."""
        return tuple((w, context) for w in (layer.k_width, layer.v_width) if w)

    def state_elements(self, layer: KvLayer) -> int:
        """f32 values of fixed state per sequence (recurrent layers only)."""
        return 0

    def score_cells(self, layer: KvLayer, cells: int, n_ubatch: int) -> int:
        """Cells whose attention scores one head materialises without flash attention."""
        return self.cells(layer, cells, n_ubatch)


@dataclass(frozen=True, slots=True)
class SlidingWindow(AttentionKind):
    """Local attention: only the last ``window`` tokens (plus a micro-batch) are kept."""

    def cells(self, layer: KvLayer, cells: int, n_ubatch: int) -> int:
        if not layer.window:
            return cells
        return min(cells, pad(layer.window + n_ubatch))

    def read_widths(self, layer: KvLayer, context: int) -> tuple[tuple[int, int], ...]:
        span = min(context, layer.window) if layer.window else context
        return tuple((w, span) for w in (layer.k_width, layer.v_width) if w)


@dataclass(frozen=True, slots=True)
class LatentAttention(AttentionKind):
    """Multi-head latent attention: one ``kv_lora_rank + rope`` latent per token, as K only.

    ``legacy_mla`` sizes GGUFs converted before llama.cpp PR #12801 (April 2025), which
    cache full per-head K (``qk_nope + qk_rope``) and V (``v_head_dim``).
    """

    def widths(
        self, layer: KvLayer, mla: MlaDims | None, n_head: int, legacy_mla: bool
    ) -> tuple[int, int]:
        if legacy_mla and mla is not None:
            return (
                n_head * (mla.qk_nope_head_dim + mla.qk_rope_head_dim),
                n_head * mla.v_head_dim,
            )
        # V-less latent cache; DSA's indexer keys are a second K-only cache.
        return layer.k_width + layer.index_width, layer.v_width


@dataclass(frozen=True, slots=True)
class SparseLatentAttention(LatentAttention):
    """DeepSeek sparse attention (DSA): the MLA latent plus a K-only lightning-indexer key
    per token; each decode step scores every indexer key and attends ``top_k`` latents."""

    def read_widths(self, layer: KvLayer, context: int) -> tuple[tuple[int, int], ...]:
        attended = min(context, layer.top_k) if layer.top_k else context
        reads = [(w, attended) for w in (layer.k_width, layer.v_width) if w]
        if layer.index_width:
            reads.append((layer.index_width, context))
        return tuple(reads)

    def score_cells(self, layer: KvLayer, cells: int, n_ubatch: int) -> int:
        return min(cells, layer.top_k) if layer.top_k else cells


@dataclass(frozen=True, slots=True)
class Recurrent(AttentionKind):
    """Linear attention / state-space layer: a fixed-size f32 state, no per-token cache."""

    @property
    def grows_with_context(self) -> bool:
        return False

    def cells(self, layer: KvLayer, cells: int, n_ubatch: int) -> int:
        return 0

    def widths(
        self, layer: KvLayer, mla: MlaDims | None, n_head: int, legacy_mla: bool
    ) -> tuple[int, int]:
        return 0, 0

    def read_widths(self, layer: KvLayer, context: int) -> tuple[tuple[int, int], ...]:
        return ()

    def state_elements(self, layer: KvLayer) -> int:
        return layer.state_elements

    def score_cells(self, layer: KvLayer, cells: int, n_ubatch: int) -> int:
        return 0


KINDS: dict[str, AttentionKind] = {
    k.name: k
    for k in (
        AttentionKind(
            "full",
            "full attention",
            "Keeps a key and a value for every token of the context, so its cache grows "
            "linearly with the context length.",
        ),
        SlidingWindow(
            "sliding",
            "sliding-window attention",
            "Looks back only a fixed window of tokens, so its cache stops growing once the "
            "context passes the window (plus one micro-batch).",
        ),
        LatentAttention(
            "mla",
            "multi-head latent attention",
            "Caches one compressed latent per token (K only, 576 values for DeepSeek-style "
            "models) instead of full keys and values for every head.",
        ),
        SparseLatentAttention(
            "dsa",
            "DeepSeek sparse attention",
            "Caches the latent plus a small lightning-indexer key per token; each new token "
            "scores all indexer keys but attends only the top-k (2,048) latents.",
        ),
        Recurrent(
            "recurrent",
            "linear attention / recurrent state",
            "Keeps a fixed-size state instead of a per-token cache, so its memory does not "
            "grow with the context.",
        ),
    )
}


def kind_of(layer: KvLayer) -> AttentionKind:
    """The behaviour registered for ``layer.kind`` (unknown names fail loudly)."""
    return KINDS[layer.kind]
