"""Hugging Face ``config.json`` → :class:`Architecture` with llama.cpp's tensor list.

Each family builder lists the tensors that ``convert_hf_to_gguf.py`` writes for
that architecture (names and GGUF shapes, row length first), so parameter
counts and file sizes are summed tensor by tensor, never estimated from a
headline parameter count. Facts from ggml-org/llama.cpp (``convert_hf_to_gguf.py``,
``src/llama-model.cpp``, ``src/llama-arch.cpp``) carry over; its code does not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from calculator.engine.types import Architecture, EngineError, KvLayer, MlaDims, Tensor

Config = Mapping[str, Any]


# Sanity bounds far beyond any released model: a pasted config past them is a typo or
# an attack, and sizing it would only burn CPU.
LIMITS: dict[str, int] = {
    "num_hidden_layers": 1024,
    "hidden_size": 65536,
    "intermediate_size": 1 << 20,
    "moe_intermediate_size": 1 << 20,
    "vocab_size": 1 << 22,
    "num_attention_heads": 4096,
    "num_key_value_heads": 4096,
    "head_dim": 4096,
    "num_local_experts": 4096,
    "num_experts": 4096,
    "n_routed_experts": 4096,
    "max_position_embeddings": 1 << 26,
}


class _Cfg:
    """Typed, error-naming access to a config dict."""

    def __init__(self, raw: Config, prefix: str = "config") -> None:
        self.raw = raw
        self.prefix = prefix

    def int(self, key: str, default: int | None = None) -> int:
        value = self.raw.get(key)
        if value is None:
            if default is None:
                raise EngineError(f"config.json lacks '{key}', needed to size this model", key)
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise EngineError(f"config '{key}' must be a whole number, got {value!r}", key)
        if value < 0:
            raise EngineError(f"config '{key}' must not be negative, got {value!r}", key)
        if key in LIMITS and value > LIMITS[key]:
            raise EngineError(f"config '{key}' = {value} is beyond any real model", key)
        return int(value)

    def pos(self, key: str, default: int | None = None) -> int:
        value = self.int(key, default)
        if value <= 0:
            raise EngineError(f"config '{key}' must be positive, got {value!r}", key)
        return value

    def opt_int(self, key: str) -> int | None:
        return None if self.raw.get(key) is None else self.int(key)

    def bool(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise EngineError(f"config '{key}' must be true or false, got {value!r}", key)
        return value

    def list(self, key: str) -> list[Any] | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise EngineError(f"config '{key}' must be a list, got {type(value).__name__}", key)
        return value


@dataclass(frozen=True, slots=True)
class _Attn:
    n_head: int
    n_head_kv: int
    head_dim_k: int
    head_dim_v: int
    q_bias: bool = False
    kv_bias: bool = False
    o_bias: bool = False
    qk_norm: bool = False


class _Builder:
    """Accumulates tensors in GGUF naming."""

    def __init__(self) -> None:
        self.tensors: list[Tensor] = []

    def add(self, name: str, *shape: int, layer: int | None = None) -> None:
        if layer is not None:
            name = f"blk.{layer}.{name}"
        self.tensors.append(Tensor(name, tuple(shape), layer))

    def norm(self, name: str, width: int, layer: int | None = None) -> None:
        self.add(f"{name}.weight", width, layer=layer)

    def linear(
        self, name: str, n_in: int, n_out: int, layer: int | None, bias: bool = False
    ) -> None:
        self.add(f"{name}.weight", n_in, n_out, layer=layer)
        if bias:
            self.add(f"{name}.bias", n_out, layer=layer)

    def embeddings(self, n_embd: int, n_vocab: int, tied: bool) -> None:
        self.add("token_embd.weight", n_embd, n_vocab)
        self.norm("output_norm", n_embd)
        if not tied:
            self.add("output.weight", n_embd, n_vocab)

    def attention(self, il: int, n_embd: int, a: _Attn) -> None:
        self.norm("attn_norm", n_embd, il)
        self.linear("attn_q", n_embd, a.n_head * a.head_dim_k, il, a.q_bias)
        self.linear("attn_k", n_embd, a.n_head_kv * a.head_dim_k, il, a.kv_bias)
        self.linear("attn_v", n_embd, a.n_head_kv * a.head_dim_v, il, a.kv_bias)
        self.linear("attn_output", a.n_head * a.head_dim_v, n_embd, il, a.o_bias)
        if a.qk_norm:
            self.norm("attn_q_norm", a.head_dim_k, il)
            self.norm("attn_k_norm", a.head_dim_k, il)

    def dense_ffn(self, il: int, n_embd: int, n_ff: int, bias: bool = False) -> None:
        self.linear("ffn_gate", n_embd, n_ff, il, bias)
        self.linear("ffn_up", n_embd, n_ff, il, bias)
        self.linear("ffn_down", n_ff, n_embd, il, bias)

    def experts(
        self, il: int, n_embd: int, n_ff_exp: int, n_expert: int, bias: bool = False
    ) -> None:
        self.add("ffn_gate_inp.weight", n_embd, n_expert, layer=il)
        if bias:
            self.add("ffn_gate_inp.bias", n_expert, layer=il)
        for part, n_in, n_out in (
            ("ffn_gate_exps", n_embd, n_ff_exp),
            ("ffn_up_exps", n_embd, n_ff_exp),
            ("ffn_down_exps", n_ff_exp, n_embd),
        ):
            self.add(f"{part}.weight", n_in, n_out, n_expert, layer=il)
            if bias:
                self.add(f"{part}.bias", n_out, n_expert, layer=il)

    def shared_expert(self, il: int, n_embd: int, n_ff_shexp: int) -> None:
        self.linear("ffn_gate_shexp", n_embd, n_ff_shexp, il)
        self.linear("ffn_up_shexp", n_embd, n_ff_shexp, il)
        self.linear("ffn_down_shexp", n_ff_shexp, n_embd, il)


def _text_config(config: Config) -> Config:
    """Multimodal configs (Gemma 3, Llama 4, Mistral 3) keep the LLM under ``text_config``."""
    text = config.get("text_config")
    if isinstance(text, Mapping):
        merged = dict(text)
        for key in ("torch_dtype", "quantization_config", "tie_word_embeddings"):
            if key not in merged and key in config:
                merged[key] = config[key]
        return merged
    return config


def native_dtype(cfg: Config) -> str:
    quant = cfg.get("quantization_config")
    if isinstance(quant, Mapping):
        method = str(quant.get("quant_method", "")).lower()
        if method == "fp8":
            return "fp8"
        if method == "mxfp4":
            return "mxfp4"
    dtype = str(cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16").lower()
    return {"bfloat16": "bf16", "float16": "f16", "float32": "f32"}.get(dtype, "bf16")


def _attn(c: _Cfg, n_embd: int, **flags: bool) -> _Attn:
    n_head = c.pos("num_attention_heads")
    n_head_kv = c.pos("num_key_value_heads", n_head)
    if n_head % n_head_kv:
        raise EngineError(
            f"num_attention_heads ({n_head}) is not a multiple of "
            f"num_key_value_heads ({n_head_kv})",
            "num_key_value_heads",
        )
    head_dim = c.opt_int("head_dim") or n_embd // n_head
    return _Attn(n_head, n_head_kv, head_dim, head_dim, **flags)


def _full(a: _Attn) -> KvLayer:
    return KvLayer("full", a.n_head_kv * a.head_dim_k, a.n_head_kv * a.head_dim_v)


def _sliding(a: _Attn, window: int) -> KvLayer:
    return KvLayer("sliding", a.n_head_kv * a.head_dim_k, a.n_head_kv * a.head_dim_v, window)


def _layer_types(c: _Cfg, n_layer: int) -> list[str] | None:
    types = c.list("layer_types")
    if types is None:
        return None
    if len(types) < n_layer:
        raise EngineError(
            f"layer_types lists {len(types)} layers but num_hidden_layers is {n_layer}",
            "layer_types",
        )
    return [str(t) for t in types[:n_layer]]


def _finish(
    c: _Cfg,
    b: _Builder,
    *,
    gguf_arch: str,
    n_layer: int,
    n_embd: int,
    n_vocab: int,
    n_head: int,
    kv_layers: list[KvLayer],
    tied: bool,
    n_expert: int = 0,
    n_expert_used: int = 0,
    n_expert_shared: int = 0,
    n_moe_layers: int = 0,
    mla: MlaDims | None = None,
    n_mtp_layers: int = 0,
    notes: tuple[str, ...] = (),
) -> Architecture:
    if n_expert_used > n_expert:
        raise EngineError(
            f"{n_expert_used} experts per token but only {n_expert} experts",
            "num_experts_per_tok",
        )
    return Architecture(
        model_type=str(c.raw.get("model_type", "")),
        gguf_arch=gguf_arch,
        n_layer=n_layer,
        n_embd=n_embd,
        n_vocab=n_vocab,
        n_head=n_head,
        n_ctx_train=c.pos("max_position_embeddings"),
        kv_layers=tuple(kv_layers),
        tensors=tuple(b.tensors),
        native_dtype=native_dtype(c.raw),
        n_expert=n_expert,
        n_expert_used=n_expert_used,
        n_expert_shared=n_expert_shared,
        n_moe_layers=n_moe_layers,
        tie_word_embeddings=tied,
        mla=mla,
        n_mtp_layers=n_mtp_layers,
        notes=notes,
    )


# --- dense llama-like families -------------------------------------------------


def _llama_like(
    c: _Cfg,
    gguf_arch: str,
    *,
    bias: bool = False,
    qk_norm: bool = False,
    tied_default: bool = False,
) -> Architecture:
    n_embd = c.pos("hidden_size")
    n_layer = c.pos("num_hidden_layers")
    n_vocab = c.pos("vocab_size")
    n_ff = c.pos("intermediate_size")
    attn_bias = bias or c.bool("attention_bias", False)
    a = _attn(c, n_embd, q_bias=attn_bias, kv_bias=attn_bias, qk_norm=qk_norm)
    tied = c.bool("tie_word_embeddings", tied_default)
    b = _Builder()
    b.embeddings(n_embd, n_vocab, tied)
    n_expert = c.int("num_local_experts", 0)
    n_used = c.int("num_experts_per_tok", 0) if n_expert else 0
    for il in range(n_layer):
        b.attention(il, n_embd, a)
        b.norm("ffn_norm", n_embd, il)
        if n_expert:
            b.experts(il, n_embd, n_ff, n_expert)
        else:
            b.dense_ffn(il, n_embd, n_ff, c.bool("mlp_bias", False))
    return _finish(
        c,
        b,
        gguf_arch=gguf_arch,
        n_layer=n_layer,
        n_embd=n_embd,
        n_vocab=n_vocab,
        n_head=a.n_head,
        kv_layers=[_full(a)] * n_layer,
        tied=tied,
        n_expert=n_expert,
        n_expert_used=n_used,
        n_moe_layers=n_layer if n_expert else 0,
    )


def _llama(c: _Cfg) -> Architecture:
    # Mistral and Mixtral convert to llama.cpp's "llama" architecture; llama.cpp
    # ignores Mistral's sliding_window there and caches the full context.
    return _llama_like(c, "llama")


def _qwen2(c: _Cfg) -> Architecture:
    return _llama_like(c, "qwen2", bias=True)


def _qwen3(c: _Cfg) -> Architecture:
    return _llama_like(c, "qwen3", qk_norm=True)


def _phi3(c: _Cfg) -> Architecture:
    """Phi-3/Phi-4: fused ``attn_qkv`` and a fused gate+up ``ffn_up`` of 2 × n_ff rows."""
    n_embd = c.pos("hidden_size")
    n_layer = c.pos("num_hidden_layers")
    n_vocab = c.pos("vocab_size")
    n_ff = c.pos("intermediate_size")
    a = _attn(c, n_embd)
    tied = c.bool("tie_word_embeddings", False)
    b = _Builder()
    b.embeddings(n_embd, n_vocab, tied)
    qkv = (a.n_head + 2 * a.n_head_kv) * a.head_dim_k
    for il in range(n_layer):
        b.norm("attn_norm", n_embd, il)
        b.linear("attn_qkv", n_embd, qkv, il)
        b.linear("attn_output", a.n_head * a.head_dim_v, n_embd, il)
        b.norm("ffn_norm", n_embd, il)
        b.linear("ffn_up", n_embd, 2 * n_ff, il)
        b.linear("ffn_down", n_ff, n_embd, il)
    window = c.opt_int("sliding_window")
    max_pos = c.pos("max_position_embeddings")
    kv = [_sliding(a, window)] * n_layer if window and window < max_pos else [_full(a)] * n_layer
    return _finish(
        c, b, gguf_arch="phi3", n_layer=n_layer, n_embd=n_embd, n_vocab=n_vocab,
        n_head=a.n_head, kv_layers=kv, tied=tied,
    )  # fmt: skip


def _gemma(c: _Cfg, gguf_arch: str, qk_norm: bool) -> Architecture:
    """Gemma 2/3: tied embeddings, four norms per layer, interleaved sliding windows."""
    n_embd = c.pos("hidden_size")
    n_layer = c.pos("num_hidden_layers")
    n_vocab = c.pos("vocab_size")
    n_ff = c.pos("intermediate_size")
    a = _attn(c, n_embd, qk_norm=qk_norm)
    window = c.pos("sliding_window")
    types = _layer_types(c, n_layer)
    if types is None:
        # Gemma 2 alternates local/global starting with local; Gemma 3 has one global
        # layer in every ``sliding_window_pattern`` (6) layers.
        pattern = 2 if gguf_arch == "gemma2" else c.pos("sliding_window_pattern", 6)
        types = [
            "full_attention" if (il + 1) % pattern == 0 else "sliding_attention"
            for il in range(n_layer)
        ]
    b = _Builder()
    b.embeddings(n_embd, n_vocab, tied=True)
    kv: list[KvLayer] = []
    for il in range(n_layer):
        b.attention(il, n_embd, a)
        b.norm("post_attention_norm", n_embd, il)
        b.norm("ffn_norm", n_embd, il)
        b.dense_ffn(il, n_embd, n_ff)
        b.norm("post_ffw_norm", n_embd, il)
        kv.append(_sliding(a, window) if types[il] == "sliding_attention" else _full(a))
    return _finish(
        c, b, gguf_arch=gguf_arch, n_layer=n_layer, n_embd=n_embd, n_vocab=n_vocab,
        n_head=a.n_head, kv_layers=kv, tied=True,
        notes=("Vision tower (if any) ships as a separate mmproj file and is not counted.",),
    )  # fmt: skip


def _gemma2(c: _Cfg) -> Architecture:
    return _gemma(c, "gemma2", qk_norm=False)


def _gemma3(c: _Cfg) -> Architecture:
    return _gemma(c, "gemma3", qk_norm=True)


# --- MoE families ---------------------------------------------------------------


def _qwen_moe(c: _Cfg, gguf_arch: str) -> Architecture:
    """Qwen1.5/2-MoE (shared expert, qkv bias) and Qwen3-MoE (qk-norm, no shared expert)."""
    qwen3 = gguf_arch == "qwen3moe"
    n_embd = c.pos("hidden_size")
    n_layer = c.pos("num_hidden_layers")
    n_vocab = c.pos("vocab_size")
    n_expert = c.pos("num_experts")
    n_used = c.pos("num_experts_per_tok")
    n_ff_exp = c.pos("moe_intermediate_size")
    n_ff_shexp = 0 if qwen3 else c.int("shared_expert_intermediate_size", 0)
    step = c.pos("decoder_sparse_step", 1)
    dense_layers = set(c.list("mlp_only_layers") or [])
    a = _attn(c, n_embd, q_bias=not qwen3, kv_bias=not qwen3, qk_norm=qwen3)
    tied = c.bool("tie_word_embeddings", False)
    b = _Builder()
    b.embeddings(n_embd, n_vocab, tied)
    n_moe = 0
    for il in range(n_layer):
        b.attention(il, n_embd, a)
        b.norm("ffn_norm", n_embd, il)
        if il in dense_layers or (il + 1) % step:
            b.dense_ffn(il, n_embd, c.pos("intermediate_size"))
            continue
        n_moe += 1
        b.experts(il, n_embd, n_ff_exp, n_expert)
        if n_ff_shexp:
            b.add("ffn_gate_inp_shexp.weight", n_embd, layer=il)
            b.shared_expert(il, n_embd, n_ff_shexp)
    return _finish(
        c, b, gguf_arch=gguf_arch, n_layer=n_layer, n_embd=n_embd, n_vocab=n_vocab,
        n_head=a.n_head, kv_layers=[_full(a)] * n_layer, tied=tied, n_expert=n_expert,
        n_expert_used=n_used, n_expert_shared=1 if n_ff_shexp else 0, n_moe_layers=n_moe,
    )  # fmt: skip


def _qwen2_moe(c: _Cfg) -> Architecture:
    return _qwen_moe(c, "qwen2moe")


def _qwen3_moe(c: _Cfg) -> Architecture:
    return _qwen_moe(c, "qwen3moe")


def _deepseek(c: _Cfg) -> Architecture:
    """DeepSeek V2/V3/R1 and Kimi K2 (llama.cpp "deepseek2"): MLA + shared/routed experts.

    The MLA up-projection is stored split as ``attn_k_b``/``attn_v_b`` (llama.cpp
    PR #12801, April 2025); the KV cache holds the 576-wide latent, K only
    (PR #19067). Multi-token-prediction layers are not converted.
    """
    n_embd = c.pos("hidden_size")
    n_layer = c.pos("num_hidden_layers")
    n_vocab = c.pos("vocab_size")
    n_head = c.pos("num_attention_heads")
    mla = MlaDims(
        q_lora_rank=c.opt_int("q_lora_rank"),
        kv_lora_rank=c.pos("kv_lora_rank"),
        qk_nope_head_dim=c.pos("qk_nope_head_dim"),
        qk_rope_head_dim=c.pos("qk_rope_head_dim"),
        v_head_dim=c.pos("v_head_dim"),
    )
    n_expert = c.int("n_routed_experts", 0)
    n_used = c.pos("num_experts_per_tok") if n_expert else 0
    n_shared = c.int("n_shared_experts", 0)
    n_ff_exp = c.pos("moe_intermediate_size") if n_expert else 0
    first_dense = c.int("first_k_dense_replace", 0)
    freq = c.pos("moe_layer_freq", 1)
    has_bias = c.raw.get("topk_method") == "noaux_tc"  # V3: e_score_correction_bias
    q_dim = n_head * (mla.qk_nope_head_dim + mla.qk_rope_head_dim)
    tied = c.bool("tie_word_embeddings", False)
    b = _Builder()
    b.embeddings(n_embd, n_vocab, tied)
    n_moe = 0
    for il in range(n_layer):
        b.norm("attn_norm", n_embd, il)
        if mla.q_lora_rank:
            b.linear("attn_q_a", n_embd, mla.q_lora_rank, il)
            b.norm("attn_q_a_norm", mla.q_lora_rank, il)
            b.linear("attn_q_b", mla.q_lora_rank, q_dim, il)
        else:
            b.linear("attn_q", n_embd, q_dim, il)
        b.linear("attn_kv_a_mqa", n_embd, mla.kv_lora_rank + mla.qk_rope_head_dim, il)
        b.norm("attn_kv_a_norm", mla.kv_lora_rank, il)
        b.add("attn_k_b.weight", mla.qk_nope_head_dim, mla.kv_lora_rank, n_head, layer=il)
        b.add("attn_v_b.weight", mla.kv_lora_rank, mla.v_head_dim, n_head, layer=il)
        b.linear("attn_output", n_head * mla.v_head_dim, n_embd, il)
        b.norm("ffn_norm", n_embd, il)
        if not n_expert or il < first_dense or il % freq:
            b.dense_ffn(il, n_embd, c.pos("intermediate_size"))
            continue
        n_moe += 1
        b.experts(il, n_embd, n_ff_exp, n_expert)
        if has_bias:
            b.add("exp_probs_b.bias", n_expert, layer=il)
        if n_shared:
            b.shared_expert(il, n_embd, n_ff_exp * n_shared)
    kv = [KvLayer("mla", mla.kv_lora_rank + mla.qk_rope_head_dim, 0)] * n_layer
    return _finish(
        c, b, gguf_arch="deepseek2", n_layer=n_layer, n_embd=n_embd, n_vocab=n_vocab,
        n_head=n_head, kv_layers=kv, tied=tied, n_expert=n_expert, n_expert_used=n_used,
        n_expert_shared=n_shared, n_moe_layers=n_moe, mla=mla,
        notes=(
            "KV cache: current llama.cpp caches only the MLA latent (K, 576 wide); GGUFs "
            "converted before April 2025 cache full K/V and need far more.",
        ),
    )  # fmt: skip


def _glm4_moe(c: _Cfg) -> Architecture:
    """GLM-4.5: GQA with qkv bias, first dense layers, shared + routed experts, MTP layer kept."""
    n_embd = c.pos("hidden_size")
    n_vocab = c.pos("vocab_size")
    n_layer_main = c.pos("num_hidden_layers")
    n_nextn = c.int("num_nextn_predict_layers", 0)
    n_layer = n_layer_main + n_nextn
    n_expert = c.pos("n_routed_experts")
    n_used = c.pos("num_experts_per_tok")
    n_shared = c.int("n_shared_experts", 0)
    n_ff_exp = c.pos("moe_intermediate_size")
    first_dense = c.int("first_k_dense_replace", 0)
    a = _attn(
        c, n_embd, q_bias=c.bool("attention_bias", True), kv_bias=c.bool("attention_bias", True),
        qk_norm=c.bool("use_qk_norm", False),
    )  # fmt: skip
    tied = c.bool("tie_word_embeddings", False)
    b = _Builder()
    b.embeddings(n_embd, n_vocab, tied)
    n_moe = 0
    for il in range(n_layer):
        b.attention(il, n_embd, a)
        b.norm("ffn_norm", n_embd, il)
        if il < first_dense:
            b.dense_ffn(il, n_embd, c.pos("intermediate_size"))
        else:
            n_moe += 1
            b.experts(il, n_embd, n_ff_exp, n_expert)
            b.add("exp_probs_b.bias", n_expert, layer=il)
            if n_shared:
                b.shared_expert(il, n_embd, n_ff_exp * n_shared)
        if il >= n_layer_main:  # multi-token-prediction head, kept by the converter
            b.linear("nextn.eh_proj", 2 * n_embd, n_embd, il)
            for norm in ("nextn.enorm", "nextn.hnorm", "nextn.shared_head_norm"):
                b.norm(norm, n_embd, il)
    return _finish(
        c, b, gguf_arch="glm4moe", n_layer=n_layer, n_embd=n_embd, n_vocab=n_vocab,
        n_head=a.n_head, kv_layers=[_full(a)] * n_layer, tied=tied, n_expert=n_expert,
        n_expert_used=n_used, n_expert_shared=n_shared, n_moe_layers=n_moe,
        n_mtp_layers=n_nextn,
        notes=(
            "The multi-token-prediction layer is stored in the GGUF and counted in its "
            "size, not in the parameter count.",
        ),
    )  # fmt: skip


def _gpt_oss(c: _Cfg) -> Architecture:
    """gpt-oss: biased attention with sinks, alternating 128-token windows, MXFP4 experts."""
    n_embd = c.pos("hidden_size")
    n_layer = c.pos("num_hidden_layers")
    n_vocab = c.pos("vocab_size")
    n_expert = c.pos("num_local_experts")
    n_used = c.pos("num_experts_per_tok", c.int("experts_per_token", 0) or None)
    n_ff_exp = c.pos("intermediate_size")
    window = c.pos("sliding_window")
    a = _attn(c, n_embd, q_bias=True, kv_bias=True, o_bias=True)
    types = _layer_types(c, n_layer) or [
        "sliding_attention" if il % 2 == 0 else "full_attention" for il in range(n_layer)
    ]
    tied = c.bool("tie_word_embeddings", False)
    b = _Builder()
    b.embeddings(n_embd, n_vocab, tied)
    kv: list[KvLayer] = []
    for il in range(n_layer):
        b.attention(il, n_embd, a)
        b.add("attn_sinks.weight", a.n_head, layer=il)
        b.norm("post_attention_norm", n_embd, il)
        b.experts(il, n_embd, n_ff_exp, n_expert, bias=True)
        kv.append(_sliding(a, window) if types[il] == "sliding_attention" else _full(a))
    return _finish(
        c, b, gguf_arch="gpt-oss", n_layer=n_layer, n_embd=n_embd, n_vocab=n_vocab,
        n_head=a.n_head, kv_layers=kv, tied=tied, n_expert=n_expert, n_expert_used=n_used,
        n_moe_layers=n_layer,
        notes=("Routed experts are released in MXFP4 and stay MXFP4 in every GGUF quant.",),
    )  # fmt: skip


def _llama4(c: _Cfg) -> Architecture:
    """Llama 4: MoE every ``interleave_moe_layer_step`` layers with a shared expert;
    chunked local attention (``attention_chunk_size``) on three of every four layers."""
    n_embd = c.pos("hidden_size")
    n_layer = c.pos("num_hidden_layers")
    n_vocab = c.pos("vocab_size")
    n_expert = c.pos("num_local_experts")
    n_used = c.pos("num_experts_per_tok")
    n_ff_exp = c.pos("intermediate_size")
    n_ff_dense = c.pos("intermediate_size_mlp")
    step = c.pos("interleave_moe_layer_step", 1)
    moe_layers = c.list("moe_layers") or list(range(step - 1, n_layer, step))
    chunk = c.pos("attention_chunk_size", 8192)
    no_rope = c.list("no_rope_layers")
    a = _attn(c, n_embd, q_bias=c.bool("attention_bias", False))
    tied = c.bool("tie_word_embeddings", False)
    b = _Builder()
    b.embeddings(n_embd, n_vocab, tied)
    kv: list[KvLayer] = []
    for il in range(n_layer):
        b.attention(il, n_embd, a)
        b.norm("ffn_norm", n_embd, il)
        if il in moe_layers:
            b.experts(il, n_embd, n_ff_exp, n_expert)
            b.shared_expert(il, n_embd, n_ff_exp)
        else:
            b.dense_ffn(il, n_embd, n_ff_dense)
        # no_rope_layers[il] == 0 marks the global (NoPE) layers; the rest are chunked.
        is_global = (not no_rope[il]) if no_rope and len(no_rope) > il else (il + 1) % 4 == 0
        kv.append(_full(a) if is_global else _sliding(a, chunk))
    return _finish(
        c, b, gguf_arch="llama4", n_layer=n_layer, n_embd=n_embd, n_vocab=n_vocab,
        n_head=a.n_head, kv_layers=kv, tied=tied, n_expert=n_expert, n_expert_used=n_used,
        n_expert_shared=1, n_moe_layers=len(moe_layers),
        notes=("Vision tower ships as a separate mmproj file and is not counted.",),
    )  # fmt: skip


def _qwen3_next(c: _Cfg) -> Architecture:
    """Qwen3-Next: one gated full-attention layer in every ``full_attention_interval``,
    the rest Gated DeltaNet linear attention with a fixed f32 state; 512 experts + shared."""
    n_embd = c.pos("hidden_size")
    n_layer = c.pos("num_hidden_layers")
    n_vocab = c.pos("vocab_size")
    n_expert = c.pos("num_experts")
    n_used = c.pos("num_experts_per_tok")
    n_ff_exp = c.pos("moe_intermediate_size")
    n_ff_shexp = c.int("shared_expert_intermediate_size", 0)
    interval = c.pos("full_attention_interval", 4)
    a = _attn(c, n_embd, qk_norm=True)
    k_heads = c.pos("linear_num_key_heads")
    v_heads = c.pos("linear_num_value_heads")
    k_dim = c.pos("linear_key_head_dim")
    v_dim = c.pos("linear_value_head_dim")
    conv_kernel = c.pos("linear_conv_kernel_dim")
    key_width, value_width = k_heads * k_dim, v_heads * v_dim
    conv_dim = 2 * key_width + value_width
    tied = c.bool("tie_word_embeddings", False)
    b = _Builder()
    b.embeddings(n_embd, n_vocab, tied)
    kv: list[KvLayer] = []
    for il in range(n_layer):
        b.norm("attn_norm", n_embd, il)
        if (il + 1) % interval == 0:
            # gated attention: q_proj also emits the output gate (2 × heads × head_dim)
            b.linear("attn_q", n_embd, 2 * a.n_head * a.head_dim_k, il)
            b.linear("attn_k", n_embd, a.n_head_kv * a.head_dim_k, il)
            b.linear("attn_v", n_embd, a.n_head_kv * a.head_dim_v, il)
            b.linear("attn_output", a.n_head * a.head_dim_v, n_embd, il)
            b.norm("attn_q_norm", a.head_dim_k, il)
            b.norm("attn_k_norm", a.head_dim_k, il)
            kv.append(_full(a))
        else:
            b.linear("ssm_in", n_embd, conv_dim + value_width, il)
            b.linear("ssm_beta_alpha", n_embd, 2 * v_heads, il)
            b.add("ssm_conv1d.weight", conv_kernel, conv_dim, layer=il)
            b.add("ssm_dt.bias", v_heads, layer=il)
            b.add("ssm_a", v_heads, layer=il)
            b.norm("ssm_norm", v_dim, il)
            b.linear("ssm_out", value_width, n_embd, il)
            state = (conv_kernel - 1) * conv_dim + v_heads * k_dim * v_dim
            kv.append(KvLayer("recurrent", 0, 0, state_elements=state))
        b.norm("post_attention_norm", n_embd, il)
        b.experts(il, n_embd, n_ff_exp, n_expert)
        if n_ff_shexp:
            b.add("ffn_gate_inp_shexp.weight", n_embd, layer=il)
            b.shared_expert(il, n_embd, n_ff_shexp)
    return _finish(
        c, b, gguf_arch="qwen3next", n_layer=n_layer, n_embd=n_embd, n_vocab=n_vocab,
        n_head=a.n_head, kv_layers=kv, tied=tied, n_expert=n_expert, n_expert_used=n_used,
        n_expert_shared=1 if n_ff_shexp else 0, n_moe_layers=n_layer,
        notes=("Linear-attention layers keep a fixed-size state instead of a growing KV cache.",),
    )  # fmt: skip


_BUILDERS: dict[str, Callable[[_Cfg], Architecture]] = {
    "llama": _llama,
    "mistral": _llama,
    "mixtral": _llama,
    "qwen2": _qwen2,
    "qwen3": _qwen3,
    "qwen2_moe": _qwen2_moe,
    "qwen3_moe": _qwen3_moe,
    "qwen3_next": _qwen3_next,
    "gemma2": _gemma2,
    "gemma3": _gemma3,
    "gemma3_text": _gemma3,
    "phi3": _phi3,
    "deepseek_v2": _deepseek,
    "deepseek_v3": _deepseek,
    "kimi_k2": _deepseek,
    "gpt_oss": _gpt_oss,
    "llama4": _llama4,
    "llama4_text": _llama4,
    "glm4_moe": _glm4_moe,
}

SUPPORTED_MODEL_TYPES = tuple(sorted(_BUILDERS))


def _builder_for(cfg: Config) -> Callable[[_Cfg], Architecture]:
    model_type = cfg.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise EngineError("config.json has no 'model_type'", "model_type")
    builder = _BUILDERS.get(model_type)
    if builder is None:
        # Kimi K2 and other DeepSeek-V3 derivatives may carry their own model_type.
        if "DeepseekV3ForCausalLM" in (cfg.get("architectures") or []):
            return _deepseek
        raise EngineError(
            f"model_type '{model_type}' is not supported; supported: "
            + ", ".join(SUPPORTED_MODEL_TYPES),
            "model_type",
        )
    return builder


def parse_config(config: Config) -> Architecture:
    """Build the :class:`Architecture` of a Hugging Face ``config.json`` (already parsed)."""
    if not isinstance(config, Mapping):
        raise EngineError("config must be a JSON object", "config")
    text = _text_config(config)
    if "model_type" not in text and "model_type" in config:
        text = {**text, "model_type": config["model_type"]}
    builder = _builder_for(text)
    arch = builder(_Cfg(text))
    if config.get("model_type") and arch.model_type != config["model_type"]:
        arch = replace(arch, model_type=str(config["model_type"]))
    return arch
