"""Hugging Face ``config.json`` → :class:`Architecture` with llama.cpp's tensor list.

Each family builder lists the tensors that ``convert_hf_to_gguf.py`` writes for
that architecture (names and GGUF shapes, row length first), so parameter
counts and file sizes are summed tensor by tensor, never estimated from a
headline parameter count. Facts from ggml-org/llama.cpp (``convert_hf_to_gguf.py``
and ``conversion/*.py``, ``src/models/*.cpp``, ``src/llama-arch.cpp``) carry over;
its code does not. Families added for DeepSeek V3.2, GLM-5, MiniMax-M2, Mistral 3
and Qwen3.5 follow the tree at commit 0c1e57098 (vendored by
abetlen/llama-cpp-python 0.3.36, whose CHANGELOG names that commit).

Every number read from a config is bounded (:data:`LIMITS`, :data:`DEFAULT_LIMIT`)
and a config's total size is capped (:data:`MAX_TOTAL_PARAMS`, :data:`MAX_TENSORS`),
so a pasted config can neither overflow an estimate nor make the engine work for
long: anything past the bounds is an :class:`EngineError` naming the field.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from math import isfinite
from typing import Any

from calculator.engine.types import (
    SUPPORTED,
    UNSUPPORTED,
    Architecture,
    EngineError,
    KvLayer,
    MlaDims,
    RopeScaling,
    Tensor,
)

Config = Mapping[str, Any]


# Sanity bounds far beyond any released model: a pasted config past them is a typo or
# an attack, and sizing it would only burn CPU. Keys not listed get DEFAULT_LIMIT.
LIMITS: dict[str, int] = {
    "num_hidden_layers": 1024,
    "hidden_size": 65536,
    "intermediate_size": 1 << 20,
    "moe_intermediate_size": 1 << 20,
    "intermediate_size_mlp": 1 << 20,
    "shared_expert_intermediate_size": 1 << 20,
    "vocab_size": 1 << 22,
    "num_attention_heads": 4096,
    "num_key_value_heads": 4096,
    "head_dim": 4096,
    "num_local_experts": 4096,
    "num_experts": 4096,
    "n_routed_experts": 4096,
    "n_shared_experts": 64,
    "num_experts_per_tok": 4096,
    "experts_per_token": 4096,
    "max_position_embeddings": 1 << 26,
    "kv_lora_rank": 65536,
    "q_lora_rank": 65536,
    "qk_nope_head_dim": 4096,
    "qk_rope_head_dim": 4096,
    "v_head_dim": 4096,
    "index_n_heads": 4096,
    "index_head_dim": 4096,
    "index_topk": 1 << 26,
    "first_k_dense_replace": 1024,
    "moe_layer_freq": 1024,
    "decoder_sparse_step": 1024,
    "interleave_moe_layer_step": 1024,
    "full_attention_interval": 1024,
    "num_nextn_predict_layers": 16,
    "mtp_num_hidden_layers": 16,
    "sliding_window": 1 << 26,
    "sliding_window_pattern": 1024,
    "attention_chunk_size": 1 << 26,
    "linear_num_key_heads": 4096,
    "linear_num_value_heads": 4096,
    "linear_key_head_dim": 4096,
    "linear_value_head_dim": 4096,
    "linear_conv_kernel_dim": 64,
    "rotary_dim": 4096,
}
DEFAULT_LIMIT = 1 << 24
# Lists a config may carry (layer_types, moe_layers, ...) never need more entries than
# layers; MAX_LIST bounds them before the layer count is known.
MAX_LIST = LIMITS["num_hidden_layers"] + 16
# The largest released models hold about 2.4 trillion parameters and a few tens of
# thousands of tensors; a config past these is refused before any sizing.
MAX_TOTAL_PARAMS = 10**14
MAX_TENSORS = 200_000


class _Cfg:
    """Typed, bounded, error-naming access to a config dict."""

    def __init__(self, raw: Config, prefix: str = "config") -> None:
        self.raw = raw
        self.prefix = prefix

    def int(self, key: str, default: builtins.int | None = None) -> builtins.int:
        value = self.raw.get(key)
        if value is None:
            if default is None:
                raise EngineError(f"config.json lacks '{key}', needed to size this model", key)
            return default
        return _whole(value, key, LIMITS.get(key, DEFAULT_LIMIT))

    def pos(self, key: str, default: builtins.int | None = None) -> builtins.int:
        value = self.int(key, default)
        if value <= 0:
            raise EngineError(f"config '{key}' must be positive, got {value!r}", key)
        return value

    def opt_int(self, key: str) -> builtins.int | None:
        return None if self.raw.get(key) is None else self.int(key)

    def bool(self, key: str, default: builtins.bool) -> builtins.bool:
        value = self.raw.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise EngineError(f"config '{key}' must be true or false, got {value!r}", key)
        return value

    def list(self, key: str) -> builtins.list[Any] | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise EngineError(f"config '{key}' must be a list, got {type(value).__name__}", key)
        if len(value) > MAX_LIST:
            raise EngineError(
                f"config '{key}' lists {len(value):,} entries; no model has more than "
                f"{MAX_LIST - 16:,} layers",
                key,
            )
        return value

    def layer_set(self, key: str, n_layer: builtins.int) -> frozenset[builtins.int] | None:
        """A list of layer numbers (``moe_layers``, ``mlp_only_layers``), each checked."""
        values = self.list(key)
        if values is None:
            return None
        layers = frozenset(_whole(v, key, n_layer - 1) for v in values)
        return layers

    def flags(self, key: str) -> builtins.list[builtins.int] | None:
        """A per-layer list of 0/1 (or booleans), such as ``no_rope_layers``."""
        values = self.list(key)
        if values is None:
            return None
        return [_whole(v, key, 1) for v in values]


def _whole(value: Any, key: str, limit: int) -> int:
    """``value`` as a whole number in ``0..limit``, or an EngineError naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EngineError(f"config '{key}' must be a whole number, got {value!r}", key)
    if isinstance(value, float) and (not isfinite(value) or value != int(value)):
        raise EngineError(f"config '{key}' must be a whole number, got {value!r}", key)
    if value < 0:
        raise EngineError(f"config '{key}' must not be negative, got {value!r}", key)
    if value > limit:
        raise EngineError(f"config '{key}' = {value} is beyond any real model", key)
    return int(value)


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
    """Accumulates tensors in GGUF naming, within the work budget."""

    def __init__(self) -> None:
        self.tensors: list[Tensor] = []
        self.n_params = 0

    def add(self, name: str, *shape: int, layer: int | None = None) -> None:
        if layer is not None:
            name = f"blk.{layer}.{name}"
        if any(d <= 0 for d in shape):
            raise EngineError(
                f"this config gives tensor {name} a zero dimension {tuple(shape)}", "config"
            )
        tensor = Tensor(name, tuple(shape), layer)
        self.n_params += tensor.n_elements
        if self.n_params > MAX_TOTAL_PARAMS:
            raise EngineError(
                f"this config describes more than {MAX_TOTAL_PARAMS:.0e} parameters "
                f"(reached at tensor {name}); no real model is that large",
                "config",
            )
        if len(self.tensors) >= MAX_TENSORS:
            raise EngineError(
                f"this config describes more than {MAX_TENSORS:,} tensors; no real model "
                "has that many",
                "num_hidden_layers",
            )
        self.tensors.append(tensor)

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
    """Multimodal configs (Gemma 3, Llama 4, Mistral 3, Qwen3.5, Kimi K2.5) keep the LLM
    under ``text_config``; the release-wide keys are carried over when it lacks them."""
    text = config.get("text_config")
    if isinstance(text, Mapping):
        merged = dict(text)
        for key in ("torch_dtype", "dtype", "quantization_config", "tie_word_embeddings"):
            if key not in merged and key in config:
                merged[key] = config[key]
        return merged
    return config


def _is_int4_pack(quant: Mapping[str, Any]) -> bool:
    """compressed-tensors "pack-quantized" 4-bit integer weights (Kimi K2 Thinking and
    K2.5 release their routed experts this way, quantization-aware trained)."""
    if str(quant.get("quant_method", "")).lower() != "compressed-tensors":
        return False
    if quant.get("format") != "pack-quantized":
        return False
    groups = quant.get("config_groups")
    if not isinstance(groups, Mapping):
        return False
    for group in groups.values():
        weights = group.get("weights") if isinstance(group, Mapping) else None
        if not isinstance(weights, Mapping):
            return False
        if weights.get("num_bits") != 4 or weights.get("type", "int") != "int":
            return False
    return bool(groups)


def native_dtype(cfg: Config) -> str:
    quant = cfg.get("quantization_config")
    if isinstance(quant, Mapping):
        method = str(quant.get("quant_method", "")).lower()
        if method == "fp8":
            return "fp8"
        if method == "mxfp4":
            return "mxfp4"
        if _is_int4_pack(quant):
            return "int4"
    dtype = str(cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16").lower()
    return {"bfloat16": "bf16", "float16": "f16", "float32": "f32"}.get(dtype, "bf16")


def rope_scaling(c: _Cfg) -> RopeScaling | None:
    """The config's rope scaling (``rope_scaling`` or transformers 5's ``rope_parameters``),
    which the converter writes into the GGUF; ``None`` when absent or the default."""
    raw = c.raw.get("rope_scaling")
    if not isinstance(raw, Mapping):
        raw = c.raw.get("rope_parameters")
    if not isinstance(raw, Mapping):
        return None
    method = str(raw.get("rope_type") or raw.get("type") or "default").lower()
    if method == "default":
        return None
    factor = raw.get("factor", 1.0)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not isfinite(factor):
        raise EngineError(
            f"config rope_scaling factor must be a number, got {factor!r}", "rope_scaling"
        )
    if not 0 < factor <= 4096:
        raise EngineError(
            f"config rope_scaling factor {factor} is beyond any real model", "rope_scaling"
        )
    original = raw.get("original_max_position_embeddings")
    original_context = (
        _whole(original, "rope_scaling", LIMITS["max_position_embeddings"]) or None
        if original is not None
        else None
    )
    return RopeScaling(method, float(factor), original_context)


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
    if head_dim <= 0:
        raise EngineError(
            f"hidden_size ({n_embd}) is smaller than num_attention_heads ({n_head}) and no "
            "head_dim is given",
            "head_dim",
        )
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
    status, note = llama_cpp_support(gguf_arch)
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
        rope_scaling=rope_scaling(c),
        llama_cpp_status=status,
        llama_cpp_note=note,
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


def _qwen3_vl(c: _Cfg) -> Architecture:
    """Qwen3-VL's language model: Qwen3's tensors under llama.cpp's "qwen3vl" architecture
    (conversion/qwen3vl.py ``Qwen3VLTextModel``, src/models/qwen3vl.cpp at 0c1e57098); the
    vision tower and its deepstack mergers ship in the mmproj file."""
    arch = _llama_like(c, "qwen3vl", qk_norm=True)
    vision = "Vision tower ships as a separate mmproj file and is not counted."
    return replace(arch, notes=(*arch.notes, vision))


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


# Gemma 3's multimodal configs (4B, 12B, 27B) list only what differs from transformers'
# Gemma3TextConfig; the converter reads them through AutoConfig (conversion/base.py
# load_hparams at ggml-org/llama.cpp 0c1e57098), so the gaps take these defaults
# (transformers 5.24.0, models/gemma3/configuration_gemma3.py).
_GEMMA3_DEFAULTS: dict[str, Any] = {
    "vocab_size": 262_208, "num_attention_heads": 8, "num_key_value_heads": 4,
    "head_dim": 256, "max_position_embeddings": 131_072, "sliding_window": 4096,
}  # fmt: skip


def _gemma3(c: _Cfg) -> Architecture:
    given = {k: v for k, v in c.raw.items() if v is not None}
    return _gemma(_Cfg({**_GEMMA3_DEFAULTS, **given}, c.prefix), "gemma3", qk_norm=True)


def _gemma4(c: _Cfg) -> Architecture:
    """Gemma 4 ("gemma4"): sliding layers (``head_dim``, ``num_key_value_heads``) between
    global ones (``global_head_dim``, ``num_global_key_value_heads``; with
    ``attention_k_eq_v`` a global layer has no v_proj and caches its K as V), q/k norms,
    a per-layer output scale and a dense MLP in every layer; the MoE sizes add a routed
    block beside it (router with its own scale, fused ``ffn_gate_up_exps``, a per-expert
    down scale and three more norms). One ``rope_freqs`` tensor carries the global
    layers' proportional rope. Shapes: ``src/models/gemma4.cpp``, conversion:
    ``conversion/gemma.py`` ``Gemma4Model`` (ggml-org/llama.cpp 0c1e57098); which layers
    lack v_proj: transformers ``Gemma4TextAttention`` (5.24.0)."""
    for key in ("hidden_size_per_layer_input", "num_kv_shared_layers"):
        if c.int(key, 0):
            raise EngineError(
                f"Gemma 4 with per-layer inputs or shared KV layers ('{key}', the E2B/E4B "
                "sizes) is not sized yet",
                key,
            )
    n_embd = c.pos("hidden_size")
    n_layer = c.pos("num_hidden_layers")
    n_vocab = c.pos("vocab_size")
    n_ff = c.pos("intermediate_size")
    local = _attn(c, n_embd, qk_norm=True)
    global_dim = c.pos("global_head_dim", local.head_dim_k)
    global_kv = c.pos("num_global_key_value_heads", local.n_head_kv)
    if local.n_head % global_kv:
        raise EngineError(
            f"num_attention_heads ({local.n_head}) is not a multiple of "
            f"num_global_key_value_heads ({global_kv})",
            "num_global_key_value_heads",
        )
    wide = _Attn(local.n_head, global_kv, global_dim, global_dim, qk_norm=True)
    k_is_v = c.bool("attention_k_eq_v", False)
    window = c.pos("sliding_window")
    types = _layer_types(c, n_layer) or [
        "full_attention" if (il + 1) % 6 == 0 else "sliding_attention" for il in range(n_layer)
    ]
    moe = c.bool("enable_moe_block", False)
    n_expert = c.pos("num_experts") if moe else 0
    n_used = c.pos("top_k_experts") if moe else 0
    n_ff_exp = c.int("moe_intermediate_size", 0) or c.pos("expert_intermediate_size") if moe else 0
    tied = c.bool("tie_word_embeddings", True)
    b = _Builder()
    b.embeddings(n_embd, n_vocab, tied)
    if "full_attention" in types:
        b.add("rope_freqs.weight", global_dim // 2)
    kv: list[KvLayer] = []
    for il in range(n_layer):
        sliding = types[il] == "sliding_attention"
        a = local if sliding else wide
        b.norm("attn_norm", n_embd, il)
        b.linear("attn_q", n_embd, a.n_head * a.head_dim_k, il)
        b.linear("attn_k", n_embd, a.n_head_kv * a.head_dim_k, il)
        if sliding or not k_is_v:
            b.linear("attn_v", n_embd, a.n_head_kv * a.head_dim_v, il)
        b.linear("attn_output", a.n_head * a.head_dim_v, n_embd, il)
        b.norm("attn_q_norm", a.head_dim_k, il)
        b.norm("attn_k_norm", a.head_dim_k, il)
        b.norm("post_attention_norm", n_embd, il)
        b.add("layer_output_scale.weight", 1, layer=il)
        b.norm("ffn_norm", n_embd, il)
        b.dense_ffn(il, n_embd, n_ff)
        b.norm("post_ffw_norm", n_embd, il)
        if moe:
            b.add("ffn_gate_inp.weight", n_embd, n_expert, layer=il)
            b.add("ffn_gate_inp.scale", n_embd, layer=il)
            for norm in ("pre_ffw_norm_2", "post_ffw_norm_1", "post_ffw_norm_2"):
                b.norm(norm, n_embd, il)
            b.add("ffn_gate_up_exps.weight", n_embd, 2 * n_ff_exp, n_expert, layer=il)
            b.add("ffn_down_exps.weight", n_ff_exp, n_embd, n_expert, layer=il)
            b.add("ffn_down_exps.scale", n_expert, layer=il)
        kv.append(_sliding(a, window) if sliding else _full(a))
    return _finish(
        c, b, gguf_arch="gemma4", n_layer=n_layer, n_embd=n_embd, n_vocab=n_vocab,
        n_head=local.n_head, kv_layers=kv, tied=tied, n_expert=n_expert,
        n_expert_used=n_used, n_expert_shared=1 if moe else 0,
        n_moe_layers=n_layer if moe else 0,
        notes=("Vision and audio towers ship as a separate mmproj file and are not counted.",),
    )  # fmt: skip


# --- MoE families ---------------------------------------------------------------


def _qwen_moe(c: _Cfg, gguf_arch: str) -> Architecture:
    """Qwen1.5/2-MoE (shared expert, qkv bias) and Qwen3-MoE / Qwen3-VL-MoE (qk-norm, no
    shared expert)."""
    qwen3 = gguf_arch in ("qwen3moe", "qwen3vlmoe")
    n_embd = c.pos("hidden_size")
    n_layer = c.pos("num_hidden_layers")
    n_vocab = c.pos("vocab_size")
    n_expert = c.pos("num_experts")
    n_used = c.pos("num_experts_per_tok")
    n_ff_exp = c.pos("moe_intermediate_size")
    n_ff_shexp = 0 if qwen3 else c.int("shared_expert_intermediate_size", 0)
    step = c.pos("decoder_sparse_step", 1)
    dense_layers = c.layer_set("mlp_only_layers", n_layer) or frozenset()
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


def _qwen3_vl_moe(c: _Cfg) -> Architecture:
    """Qwen3-VL-MoE's language model: Qwen3-MoE's tensors as llama.cpp "qwen3vlmoe"."""
    arch = _qwen_moe(c, "qwen3vlmoe")
    vision = "Vision tower ships as a separate mmproj file and is not counted."
    return replace(arch, notes=(*arch.notes, vision))


def _nextn(b: _Builder, il: int, n_embd: int, n_vocab: int, *, own_head: bool) -> None:
    """A multi-token-prediction block's own tensors (``model.layers.N.eh_proj`` ...);
    ``own_head``: the checkpoint also stores the block's copy of the embedding table and
    output head (DeepSeek V3's MTP module does), which the converter writes too."""
    b.linear("nextn.eh_proj", 2 * n_embd, n_embd, il)
    for norm in ("nextn.enorm", "nextn.hnorm", "nextn.shared_head_norm"):
        b.norm(norm, n_embd, il)
    if own_head:
        b.add("nextn.embed_tokens.weight", n_embd, n_vocab, layer=il)
        b.add("nextn.shared_head_head.weight", n_embd, n_vocab, layer=il)


def _deepseek(c: _Cfg) -> Architecture:
    """DeepSeek V2/V3/R1, Kimi K2 (llama.cpp "deepseek2"), DeepSeek V3.2 ("deepseek32") and
    GLM-5 ("glm-dsa"): MLA + shared/routed experts, plus the DSA lightning indexer on V3.2
    and GLM-5.

    The MLA up-projection is stored split as ``attn_k_b``/``attn_v_b`` (llama.cpp
    PR #12801, April 2025); the KV cache holds the 576-wide latent, K only
    (PR #19067). "deepseek2" converts without the multi-token-prediction layer
    (``skip_mtp`` in conversion/deepseek.py); "deepseek32" and "glm-dsa" keep it
    (``DeepseekV32Model``, conversion/glm.py ``GlmMoeDsaModel``) but give it no KV cells
    in the main context. Indexer tensors: ``src/models/deepseek32.cpp`` and
    ``src/models/glm-dsa.cpp``; indexer key cache: ``src/llama-kv-cache-dsa.cpp``
    (ggml-org/llama.cpp 0c1e57098).
    """
    n_embd = c.pos("hidden_size")
    n_layer_main = c.pos("num_hidden_layers")
    n_vocab = c.pos("vocab_size")
    n_head = c.pos("num_attention_heads")
    model_type = str(c.raw.get("model_type", ""))
    glm_dsa = model_type == "glm_moe_dsa"
    dsa = glm_dsa or model_type == "deepseek_v32" or "index_topk" in c.raw
    gguf_arch = "glm-dsa" if glm_dsa else ("deepseek32" if dsa else "deepseek2")
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
    n_nextn = c.int("num_nextn_predict_layers", 0) if dsa else 0
    n_layer = n_layer_main + n_nextn
    index_heads = c.pos("index_n_heads") if dsa else 0
    index_dim = c.pos("index_head_dim") if dsa else 0
    index_topk = c.pos("index_topk") if dsa else 0
    # GLM-5.2 keeps a lightning indexer only on its "full" layers; "shared" layers reuse
    # the previous top-k and carry neither indexer tensors nor indexer keys
    # (conversion/glm.py writes indexer_types; src/llama-model.cpp filters the indexer
    # cache by is_indexer_full). The MTP block shares the trunk's index
    # ("index_share_for_mtp_iteration"), so it gets no indexer either.
    kinds = c.list("indexer_types") if dsa else None
    if kinds is not None and len(kinds) < n_layer_main:
        raise EngineError(
            f"indexer_types lists {len(kinds)} layers but num_hidden_layers is {n_layer_main}",
            "indexer_types",
        )
    full_index = [str(t) == "full" for t in kinds] if kinds is not None else []
    q_dim = n_head * (mla.qk_nope_head_dim + mla.qk_rope_head_dim)
    q_lora = mla.q_lora_rank or 0
    if dsa and not q_lora:
        raise EngineError(
            "the DSA indexer reads the q_lora latent: set 'q_lora_rank'", "q_lora_rank"
        )
    tied = c.bool("tie_word_embeddings", False)
    b = _Builder()
    b.embeddings(n_embd, n_vocab, tied)
    n_moe = 0
    for il in range(n_layer):
        b.norm("attn_norm", n_embd, il)
        if q_lora:
            b.linear("attn_q_a", n_embd, q_lora, il)
            b.norm("attn_q_a_norm", q_lora, il)
            b.linear("attn_q_b", q_lora, q_dim, il)
        else:
            b.linear("attn_q", n_embd, q_dim, il)
        b.linear("attn_kv_a_mqa", n_embd, mla.kv_lora_rank + mla.qk_rope_head_dim, il)
        b.norm("attn_kv_a_norm", mla.kv_lora_rank, il)
        b.add("attn_k_b.weight", mla.qk_nope_head_dim, mla.kv_lora_rank, n_head, layer=il)
        b.add("attn_v_b.weight", mla.kv_lora_rank, mla.v_head_dim, n_head, layer=il)
        b.linear("attn_output", n_head * mla.v_head_dim, n_embd, il)
        b.norm("ffn_norm", n_embd, il)
        if dsa and (full_index[il] if kinds is not None and il < n_layer_main else kinds is None):
            b.norm("indexer.k_norm", index_dim, il)
            b.add("indexer.k_norm.bias", index_dim, layer=il)
            b.linear("indexer.proj", n_embd, index_heads, il)
            b.linear("indexer.attn_k", n_embd, index_dim, il)
            b.linear("indexer.attn_q_b", q_lora, index_heads * index_dim, il)
        if not n_expert or il < first_dense or il % freq:
            b.dense_ffn(il, n_embd, c.pos("intermediate_size"))
        else:
            n_moe += 1
            b.experts(il, n_embd, n_ff_exp, n_expert)
            if has_bias:
                b.add("exp_probs_b.bias", n_expert, layer=il)
            if n_shared:
                b.shared_expert(il, n_embd, n_ff_exp * n_shared)
        if il >= n_layer_main:
            _nextn(b, il, n_embd, n_vocab, own_head=not glm_dsa)
    latent = mla.kv_lora_rank + mla.qk_rope_head_dim
    kv = (
        [
            KvLayer(
                "dsa", latent, 0,
                index_width=index_dim if kinds is None or full_index[il] else 0,
                top_k=index_topk,
            )
            for il in range(n_layer_main)
        ]
        if dsa
        else [KvLayer("mla", latent, 0)] * n_layer_main
    )  # fmt: skip
    notes = [
        "KV cache: current llama.cpp caches only the MLA latent (K, 576 wide); GGUFs "
        "converted before April 2025 cache full K/V and need far more.",
    ]
    if dsa:
        notes.append(
            "DeepSeek sparse attention: each token also caches a lightning-indexer key and "
            f"attends only the top {index_topk:,} earlier tokens."
        )
    if n_nextn:
        notes.append(
            "The multi-token-prediction layer is stored in the GGUF and counted in its "
            "size, not in the parameter count."
        )
    return _finish(
        c, b, gguf_arch=gguf_arch, n_layer=n_layer, n_embd=n_embd, n_vocab=n_vocab,
        n_head=n_head, kv_layers=kv, tied=tied, n_expert=n_expert, n_expert_used=n_used,
        n_expert_shared=n_shared, n_moe_layers=n_moe, mla=mla, n_mtp_layers=n_nextn,
        notes=tuple(notes),
    )  # fmt: skip


def _glm4_moe(c: _Cfg) -> Architecture:
    """GLM-4.5/4.6/4.7: GQA with qkv bias, first dense layers, shared + routed experts,
    MTP layer kept (without KV cells in the main context)."""
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
        # GLM4-MoE names its pre-FFN norm post_attention_norm (src/models/glm4-moe.cpp)
        b.norm("post_attention_norm", n_embd, il)
        if il < first_dense:
            b.dense_ffn(il, n_embd, c.pos("intermediate_size"))
        else:
            n_moe += 1
            b.experts(il, n_embd, n_ff_exp, n_expert)
            b.add("exp_probs_b.bias", n_expert, layer=il)
            if n_shared:
                b.shared_expert(il, n_embd, n_ff_exp * n_shared)
        if il >= n_layer_main:  # multi-token-prediction head, kept by the converter
            _nextn(b, il, n_embd, n_vocab, own_head=False)
    return _finish(
        c, b, gguf_arch="glm4moe", n_layer=n_layer, n_embd=n_embd, n_vocab=n_vocab,
        n_head=a.n_head, kv_layers=[_full(a)] * n_layer_main, tied=tied, n_expert=n_expert,
        n_expert_used=n_used, n_expert_shared=n_shared, n_moe_layers=n_moe,
        n_mtp_layers=n_nextn,
        notes=(
            "The multi-token-prediction layer is stored in the GGUF and counted in its "
            "size, not in the parameter count.",
        ),
    )  # fmt: skip


def _minimax_m2(c: _Cfg) -> Architecture:
    """MiniMax-M2 ("minimax-m2"): GQA with full-width q/k norms, 256 routed experts with a
    routing bias and no shared expert (``src/models/minimax-m2.cpp``,
    ``conversion/minimax.py`` ``MiniMaxM2Model`` at ggml-org/llama.cpp 0c1e57098)."""
    n_embd = c.pos("hidden_size")
    n_layer = c.pos("num_hidden_layers")
    n_vocab = c.pos("vocab_size")
    n_expert = c.pos("num_local_experts")
    n_used = c.pos("num_experts_per_tok")
    n_ff_exp = c.pos("intermediate_size")
    a = _attn(c, n_embd)
    tied = c.bool("tie_word_embeddings", False)
    b = _Builder()
    b.embeddings(n_embd, n_vocab, tied)
    for il in range(n_layer):
        b.attention(il, n_embd, a)
        b.norm("attn_q_norm", a.n_head * a.head_dim_k, il)
        b.norm("attn_k_norm", a.n_head_kv * a.head_dim_k, il)
        b.norm("ffn_norm", n_embd, il)
        b.experts(il, n_embd, n_ff_exp, n_expert)
        b.add("exp_probs_b.bias", n_expert, layer=il)
    return _finish(
        c, b, gguf_arch="minimax-m2", n_layer=n_layer, n_embd=n_embd, n_vocab=n_vocab,
        n_head=a.n_head, kv_layers=[_full(a)] * n_layer, tied=tied, n_expert=n_expert,
        n_expert_used=n_used, n_moe_layers=n_layer,
    )  # fmt: skip


def _mistral3(c: _Cfg) -> Architecture:
    """Mistral Small 3.1/3.2, Devstral Small 2 (``Mistral3ForConditionalGeneration``): the
    text part converts to llama.cpp's "mistral3" architecture with llama's tensors
    (``conversion/mistral3.py`` ``Ministral3Model``, ``src/models/mistral3.cpp``); the
    Pixtral vision tower ships as a separate mmproj file."""
    arch = _llama_like(c, "mistral3")
    vision = "Vision tower ships as a separate mmproj file and is not counted."
    return replace(arch, notes=(*arch.notes, vision))


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
    moe_layers = c.layer_set("moe_layers", n_layer) or frozenset(range(step - 1, n_layer, step))
    chunk = c.pos("attention_chunk_size", 8192)
    no_rope = c.flags("no_rope_layers")
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
    """Qwen3-Next ("qwen3next") and Qwen3.5 ("qwen35", "qwen35moe"): one gated
    full-attention layer in every ``full_attention_interval`` (or as ``layer_types``
    says), the rest Gated DeltaNet linear attention with a fixed f32 state; MoE with a
    shared expert, or a dense FFN (Qwen3.5 dense). Linear layers are written as
    ``attn_qkv`` + ``attn_gate`` (conversion/qwen.py ``Qwen3NextModel``); the
    multi-token-prediction layer is kept (``_QwenMtpMixin``): Qwen3.5 configs count it
    in ``mtp_num_hidden_layers``, Qwen3-Next checkpoints ship one without saying so in
    the config. Tensor shapes: ``src/models/qwen3next.cpp``, ``qwen35.cpp``,
    ``qwen35moe.cpp`` (ggml-org/llama.cpp 0c1e57098).
    """
    model_type = str(c.raw.get("model_type", ""))
    qwen35 = model_type.startswith("qwen3_5")
    n_embd = c.pos("hidden_size")
    n_layer_main = c.pos("num_hidden_layers")
    n_vocab = c.pos("vocab_size")
    moe = not qwen35 or "num_experts" in c.raw
    n_expert = c.pos("num_experts") if moe else 0
    n_used = c.pos("num_experts_per_tok") if moe else 0
    n_ff_exp = c.pos("moe_intermediate_size") if moe else 0
    n_ff_shexp = c.int("shared_expert_intermediate_size", 0) if moe else 0
    n_ff = 0 if moe else c.pos("intermediate_size")
    interval = c.pos("full_attention_interval", 4)
    types = _layer_types(c, n_layer_main) or [
        "full_attention" if (il + 1) % interval == 0 else "linear_attention"
        for il in range(n_layer_main)
    ]
    n_nextn = c.int("mtp_num_hidden_layers", 0 if qwen35 else 1)
    n_layer = n_layer_main + n_nextn
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
        if il >= n_layer_main or types[il] != "linear_attention":
            # gated attention: q_proj also emits the output gate (2 × heads × head_dim)
            b.linear("attn_q", n_embd, 2 * a.n_head * a.head_dim_k, il)
            b.linear("attn_k", n_embd, a.n_head_kv * a.head_dim_k, il)
            b.linear("attn_v", n_embd, a.n_head_kv * a.head_dim_v, il)
            b.linear("attn_output", a.n_head * a.head_dim_v, n_embd, il)
            b.norm("attn_q_norm", a.head_dim_k, il)
            b.norm("attn_k_norm", a.head_dim_k, il)
            if il < n_layer_main:
                kv.append(_full(a))
        else:
            b.linear("attn_qkv", n_embd, conv_dim, il)
            b.linear("attn_gate", n_embd, value_width, il)
            if qwen35:
                b.linear("ssm_beta", n_embd, v_heads, il)
                b.linear("ssm_alpha", n_embd, v_heads, il)
            else:
                b.linear("ssm_ba", n_embd, 2 * v_heads, il)  # LLM_TENSOR_SSM_BETA_ALPHA
            b.add("ssm_conv1d.weight", conv_kernel, conv_dim, layer=il)
            b.add("ssm_dt.bias", v_heads, layer=il)
            b.add("ssm_a", v_heads, layer=il)
            b.norm("ssm_norm", v_dim, il)
            b.linear("ssm_out", value_width, n_embd, il)
            state = (conv_kernel - 1) * conv_dim + v_heads * k_dim * v_dim
            kv.append(KvLayer("recurrent", 0, 0, state_elements=state))
        b.norm("post_attention_norm", n_embd, il)
        if moe:
            b.experts(il, n_embd, n_ff_exp, n_expert)
            if n_ff_shexp:
                b.add("ffn_gate_inp_shexp.weight", n_embd, layer=il)
                b.shared_expert(il, n_embd, n_ff_shexp)
        else:
            b.dense_ffn(il, n_embd, n_ff)
        if il >= n_layer_main:
            _nextn(b, il, n_embd, n_vocab, own_head=False)
    gguf_arch = ("qwen35moe" if moe else "qwen35") if qwen35 else "qwen3next"
    notes = ["Linear-attention layers keep a fixed-size state instead of a growing KV cache."]
    if qwen35:
        notes.append("Vision tower (if any) ships as a separate mmproj file and is not counted.")
    if n_nextn:
        notes.append(
            "The multi-token-prediction layer is stored in the GGUF and counted in its "
            "size, not in the parameter count."
        )
    return _finish(
        c, b, gguf_arch=gguf_arch, n_layer=n_layer, n_embd=n_embd, n_vocab=n_vocab,
        n_head=a.n_head, kv_layers=kv, tied=tied, n_expert=n_expert, n_expert_used=n_used,
        n_expert_shared=1 if n_ff_shexp else 0, n_moe_layers=n_layer_main if moe else 0,
        n_mtp_layers=n_nextn, notes=tuple(notes),
    )  # fmt: skip


# Nemotron-H layer letters (hybrid_override_pattern) and names (layers_block_type).
_NEMOTRON_LAYERS = {
    "M": "mamba", "*": "attention", "E": "moe", "-": "mlp",
    "mamba": "mamba", "linear_attention": "mamba", "attention": "attention",
    "full_attention": "attention", "moe": "moe", "mlp": "mlp",
}  # fmt: skip


def _nemotron_layers(c: _Cfg) -> list[str]:
    raw = c.raw.get("hybrid_override_pattern")
    if isinstance(raw, str):
        if len(raw) > MAX_LIST:
            raise EngineError(
                f"hybrid_override_pattern has {len(raw):,} layers", "hybrid_override_pattern"
            )
        names, field = list(raw), "hybrid_override_pattern"
        if len(names) != c.pos("num_hidden_layers"):
            raise EngineError(
                f"hybrid_override_pattern describes {len(names)} layers but "
                f"num_hidden_layers is {c.pos('num_hidden_layers')}",
                field,
            )
    else:
        names, field = [str(n) for n in c.list("layers_block_type") or []], "layers_block_type"
    if not names:
        raise EngineError("config.json lacks 'hybrid_override_pattern'", "hybrid_override_pattern")
    unknown = sorted({n for n in names if n not in _NEMOTRON_LAYERS})
    if unknown:
        raise EngineError(f"{field} has unknown layer kinds {unknown[:5]}", field)
    return [_NEMOTRON_LAYERS[n] for n in names]


def _nemotron_h(c: _Cfg) -> Architecture:
    """Nemotron-H ("nemotron_h") and its MoE form ("nemotron_h_moe": Nemotron 3 Nano,
    Super, Ultra): every layer is one of Mamba-2 (a fixed state), GQA attention, a
    ReLU² MLP or a MoE (routed up/down experts without a gate, optionally through a
    latent projection, plus a shared expert). The converter pads the vocabulary to a
    multiple of 8 and keeps the MoE models' multi-token-prediction block (attention +
    MoE). Shapes: ``src/models/nemotron-h.cpp``; conversion: ``conversion/nemotron.py``
    ``NemotronHModel`` and ``conversion/granite.py`` (d_inner = mamba_num_heads ×
    mamba_head_dim); state: ``src/llama-hparams.cpp`` ``n_embd_r``/``n_embd_s``
    (ggml-org/llama.cpp 0c1e57098)."""
    kinds = _nemotron_layers(c)
    n_layer_main = len(kinds)
    moe = c.raw.get("num_experts_per_tok") is not None  # the converter's test for MoE
    n_embd = c.pos("hidden_size")
    n_vocab = -(-c.pos("vocab_size") // 8) * 8
    a = _attn(c, n_embd, qk_norm=False)
    n_ssm_head = c.pos("mamba_num_heads")
    d_inner = n_ssm_head * c.pos("mamba_head_dim")
    n_group = c.pos("n_groups", 1)
    d_state = c.pos("ssm_state_size")
    d_conv = c.pos("conv_kernel", 4)
    xbc = d_inner + 2 * n_group * d_state
    if d_inner % n_group:
        raise EngineError(
            f"mamba_num_heads × mamba_head_dim ({d_inner}) is not a multiple of n_groups "
            f"({n_group})",
            "n_groups",
        )
    n_expert = c.pos("n_routed_experts") if moe else 0
    n_used = c.pos("num_experts_per_tok") if moe else 0
    n_ff_exp = c.pos("moe_intermediate_size") if moe else 0
    n_ff_shexp = c.int("moe_shared_expert_intermediate_size", 0) if moe else 0
    latent = c.int("moe_latent_size", 0) if moe else 0
    n_nextn = c.int("num_nextn_predict_layers", 0) if moe else 0
    n_layer = n_layer_main + n_nextn
    tied = c.bool("tie_word_embeddings", False)
    b = _Builder()
    b.embeddings(n_embd, n_vocab, tied)

    def attention(il: int) -> None:
        b.linear("attn_q", n_embd, a.n_head * a.head_dim_k, il)
        b.linear("attn_k", n_embd, a.n_head_kv * a.head_dim_k, il)
        b.linear("attn_v", n_embd, a.n_head_kv * a.head_dim_v, il)
        b.linear("attn_output", a.n_head * a.head_dim_v, n_embd, il)

    def experts(il: int) -> None:
        width = latent or n_embd
        b.add("ffn_gate_inp.weight", n_embd, n_expert, layer=il)
        b.add("exp_probs_b.bias", n_expert, layer=il)
        if latent:
            b.linear("ffn_latent_down", n_embd, latent, il)
            b.linear("ffn_latent_up", latent, n_embd, il)
        b.add("ffn_up_exps.weight", width, n_ff_exp, n_expert, layer=il)
        b.add("ffn_down_exps.weight", n_ff_exp, width, n_expert, layer=il)
        if n_ff_shexp:
            b.linear("ffn_up_shexp", n_embd, n_ff_shexp, il)
            b.linear("ffn_down_shexp", n_ff_shexp, n_embd, il)

    kv: list[KvLayer] = []
    nothing = KvLayer("recurrent", 0, 0)  # an MLP or MoE layer caches nothing
    n_moe = 0
    for il, kind in enumerate(kinds):
        b.norm("attn_norm", n_embd, il)
        if kind == "mamba":
            b.linear("ssm_in", n_embd, 2 * d_inner + 2 * n_group * d_state + n_ssm_head, il)
            b.add("ssm_conv1d.weight", d_conv, xbc, layer=il)
            if c.bool("use_conv_bias", True):
                b.add("ssm_conv1d.bias", xbc, layer=il)
            b.add("ssm_dt.bias", n_ssm_head, layer=il)
            b.add("ssm_a", 1, n_ssm_head, layer=il)
            b.add("ssm_d", 1, n_ssm_head, layer=il)
            b.add("ssm_norm.weight", d_inner // n_group, n_group, layer=il)
            b.linear("ssm_out", d_inner, n_embd, il)
            state = (d_conv - 1) * xbc + d_state * d_inner
            kv.append(KvLayer("recurrent", 0, 0, state_elements=state))
        elif kind == "attention":
            attention(il)
            kv.append(_full(a))
        elif kind == "moe" and moe:
            experts(il)
            n_moe += 1
            kv.append(nothing)
        else:
            n_ff = c.pos("intermediate_size")
            b.linear("ffn_up", n_embd, n_ff, il)
            b.linear("ffn_down", n_ff, n_embd, il)
            kv.append(nothing)
    for il in range(n_layer_main, n_layer):
        for norm in ("nextn.enorm", "nextn.hnorm", "nextn.shared_head_norm", "attn_norm"):
            b.norm(norm, n_embd, il)
        b.linear("nextn.eh_proj", 2 * n_embd, n_embd, il)
        attention(il)
        b.norm("post_attention_norm", n_embd, il)
        experts(il)
    notes = ["Mamba-2 layers keep a fixed-size state instead of a growing KV cache."]
    if n_nextn:
        notes.append(
            "The multi-token-prediction layer is stored in the GGUF and counted in its "
            "size, not in the parameter count."
        )
    return _finish(
        c, b, gguf_arch="nemotron_h_moe" if moe else "nemotron_h", n_layer=n_layer,
        n_embd=n_embd, n_vocab=n_vocab, n_head=a.n_head, kv_layers=kv, tied=tied,
        n_expert=n_expert, n_expert_used=n_used, n_expert_shared=1 if n_ff_shexp else 0,
        n_moe_layers=n_moe, n_mtp_layers=n_nextn, notes=tuple(notes),
    )  # fmt: skip


_BUILDERS: dict[str, Callable[[_Cfg], Architecture]] = {
    "llama": _llama,
    "mistral": _llama,
    "mixtral": _llama,
    "mistral3": _mistral3,
    "qwen2": _qwen2,
    "qwen3": _qwen3,
    "qwen2_moe": _qwen2_moe,
    "qwen3_moe": _qwen3_moe,
    "qwen3_vl": _qwen3_vl,
    "qwen3_vl_text": _qwen3_vl,
    "qwen3_vl_moe": _qwen3_vl_moe,
    "qwen3_vl_moe_text": _qwen3_vl_moe,
    "qwen3_next": _qwen3_next,
    "qwen3_5": _qwen3_next,
    "qwen3_5_text": _qwen3_next,
    "qwen3_5_moe": _qwen3_next,
    "qwen3_5_moe_text": _qwen3_next,
    "gemma2": _gemma2,
    "gemma3": _gemma3,
    "gemma3_text": _gemma3,
    "gemma4": _gemma4,
    "gemma4_text": _gemma4,
    "phi3": _phi3,
    "deepseek_v2": _deepseek,
    "deepseek_v3": _deepseek,
    "deepseek_v32": _deepseek,
    "kimi_k2": _deepseek,
    "kimi_k25": _deepseek,
    "glm_moe_dsa": _deepseek,
    "gpt_oss": _gpt_oss,
    "llama4": _llama4,
    "llama4_text": _llama4,
    "glm4_moe": _glm4_moe,
    "minimax_m2": _minimax_m2,
    "nemotron_h": _nemotron_h,
}

SUPPORTED_MODEL_TYPES = tuple(sorted(_BUILDERS))

# llama.cpp architecture names the engine builds -> (status, note with its source).
# Each is registered in src/llama-arch.cpp (LLM_ARCH_NAMES) of ggml-org/llama.cpp at
# commit 0c1e57098 and converted by convert_hf_to_gguf.py at that commit; a builder for
# an architecture missing there gets UNSUPPORTED and _NOT_IN_LLAMA_CPP.
_LLAMA_CPP_TREE = "github:ggml-org/llama.cpp src/llama-arch.cpp @0c1e57098"
_NOT_IN_LLAMA_CPP = (
    "Mainline llama.cpp has no loader for this architecture "
    f"({_LLAMA_CPP_TREE}); the figures are what a GGUF would need once it does."
)
LLAMA_CPP_SUPPORT: dict[str, tuple[str, str]] = {
    name: (SUPPORTED, f"Loaded by mainline llama.cpp as '{name}' ({_LLAMA_CPP_TREE}).")
    for name in (
        "llama", "mistral3", "qwen2", "qwen3", "qwen2moe", "qwen3moe", "qwen3vl", "qwen3vlmoe",
        "qwen3next", "qwen35",
        "qwen35moe", "gemma2", "gemma3", "gemma4", "phi3", "deepseek2", "deepseek32", "glm-dsa",
        "gpt-oss", "llama4", "glm4moe", "minimax-m2", "nemotron_h", "nemotron_h_moe",
    )
}  # fmt: skip


def llama_cpp_support(gguf_arch: str) -> tuple[str, str]:
    """(status, note with source) for a llama.cpp architecture name."""
    return LLAMA_CPP_SUPPORT.get(gguf_arch, (UNSUPPORTED, _NOT_IN_LLAMA_CPP))


def _builder_for(model_type: Any, cfg: Config) -> Callable[[_Cfg], Architecture]:
    if not isinstance(model_type, str) or not model_type:
        raise EngineError("config.json has no 'model_type'", "model_type")
    builder = _BUILDERS.get(model_type)
    if builder is None:
        # Kimi K2 and other DeepSeek-V3 derivatives may carry their own model_type.
        architectures = cfg.get("architectures")
        if isinstance(architectures, list) and "DeepseekV3ForCausalLM" in architectures:
            return _deepseek
        raise EngineError(
            f"model_type '{model_type[:80]}' is not supported; supported: "
            + ", ".join(SUPPORTED_MODEL_TYPES),
            "model_type",
        )
    return builder


def parse_config(config: Config) -> Architecture:
    """Build the :class:`Architecture` of a Hugging Face ``config.json`` (already parsed).

    Multimodal wrappers (``gemma3``, ``mistral3``, ``qwen3_5_moe``, ``kimi_k25``,
    ``llama4``) are sized from their ``text_config`` by the wrapper's family; the vision
    tower is a separate mmproj file.
    """
    if not isinstance(config, Mapping):
        raise EngineError("config must be a JSON object", "config")
    if "text_config" in config and not isinstance(config["text_config"], Mapping | None):
        raise EngineError("config 'text_config' must be a JSON object", "text_config")
    text = _text_config(config)
    outer = config.get("model_type")
    inner = text.get("model_type") if text is not config else None
    if isinstance(outer, str) and outer in _BUILDERS:
        builder = _BUILDERS[outer]
    else:
        builder = _builder_for(inner if inner is not None else outer, text)
    # The wrapper's family decides how the text model converts; the text model's own
    # type (qwen3_5_moe_text, kimi_k2 ...) tells the family which variant it is.
    model_type = inner if isinstance(inner, str) and inner in _BUILDERS else outer
    arch = builder(_Cfg({**text, "model_type": model_type}))
    if isinstance(outer, str) and outer and arch.model_type != outer:
        arch = replace(arch, model_type=outer)
    return arch
