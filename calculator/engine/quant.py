"""Weight sizes of llama.cpp GGUF files: GGML block types, llama-quantize presets and
the per-tensor type rules that turn a preset name into a mix of tensor types.

Rules follow ggml-org/llama.cpp at commit 007dbbf3fd17eefe9b47fee45f48f7ba5e62b714
(``src/llama-quant.cpp``: ``tensor_allows_quantization``, ``tensor_get_category``,
``llama_tensor_get_type_impl``, ``tensor_type_fallback``, ``llama_ftype_get_default_type``,
``init_quantize_state_counters``). This is our own implementation of those rules; no
llama.cpp code is copied.

Assumptions, each mirroring what a plain ``llama-quantize model.gguf out.gguf PRESET`` does:

* The input GGUF is the one ``convert_hf_to_gguf.py`` writes: 16-bit matrices (BF16,
  F16 or F32 after the release's dtype; FP8 releases are dequantized to BF16), F32 for
  vectors, norms, biases and routers, and gpt-oss experts left in MXFP4.
* No ``--pure``, ``--tensor-type``, ``--output-tensor-type`` or ``--token-embedding-type``.
* An importance matrix is present exactly when the preset requires one, unless the caller
  says otherwise (``imatrix=True`` for the imatrix GGUFs most uploaders publish).
* Tensors already quantized in the input (gpt-oss MXFP4 experts) stay as they are:
  llama-quantize refuses to requantize them without ``--allow-requantize``, and every
  published gpt-oss GGUF keeps them in MXFP4.

Sizes are tensor data only; a GGUF file adds its metadata (vocabulary, chat template) and
32-byte alignment padding, which is not counted here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from math import ceil

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

from calculator.engine.attention import kind_of
from calculator.engine.types import Architecture, EngineError, Tensor

LLAMA_CPP_COMMIT = "007dbbf3fd17eefe9b47fee45f48f7ba5e62b714"


@dataclass(frozen=True, slots=True)
class GgmlType:
    """A GGML tensor type: ``type_size`` bytes hold ``block_size`` weights."""

    name: str
    block_size: int
    type_size: int

    @property
    def bits_per_weight(self) -> float:
        return self.type_size * 8 / self.block_size


# The types llama-quantize writes for the presets below. Block sizes come from llama.cpp's
# own gguf package (gguf.constants.GGML_QUANT_SIZES, the Python twin of the block structs
# in ggml/src/ggml-common.h), not from a hand-kept copy.
_TYPE_NAMES = (
    "F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K",
    "Q5_K", "Q6_K", "IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S",
    "IQ4_NL", "IQ4_XS", "TQ1_0", "TQ2_0", "MXFP4",
)  # fmt: skip
GGML_TYPES: dict[str, GgmlType] = {
    name: GgmlType(name, *GGML_QUANT_SIZES[GGMLQuantizationType[name]]) for name in _TYPE_NAMES
}

# Safetensors FP8 (e4m3) weight: one byte each; its float32 block scales are separate
# tensors (``weight_scale_inv``), sized by native_weights_bytes.
FP8_E4M3 = GgmlType("FP8_E4M3", 1, 1)

_FLOAT_TYPES = frozenset({"F32", "F16", "BF16"})


def _ggml_type(type_name: str) -> GgmlType:
    try:
        return GGML_TYPES[type_name]
    except KeyError:
        raise EngineError(f"unknown GGML type '{type_name}'", "quant") from None


def row_bytes(type_name: str, row_length: int) -> int:
    """Bytes of one row (ggml_row_size in ggml/src/ggml.c); rows must hold whole blocks."""
    t = _ggml_type(type_name)
    if row_length % t.block_size:
        raise EngineError(
            f"a row of {row_length} weights is not a whole number of {t.name} blocks "
            f"({t.block_size} weights each)",
            "quant",
        )
    return row_length // t.block_size * t.type_size


def tensor_bytes(tensor: Tensor, type_name: str) -> int:
    row_length = tensor.shape[0]
    return tensor.n_elements // row_length * row_bytes(type_name, row_length)


@dataclass(frozen=True, slots=True)
class Preset:
    """A llama-quantize file type (``LLAMA_FTYPE_*``) and its base tensor type."""

    name: str
    base_type: str
    group: str
    description: str
    needs_imatrix: bool = False


_K = "K-quants"
_I = "I-quants"
_I_IMATRIX = "I-quants (need an importance matrix)"
_LEGACY = "legacy"
_TERNARY = "ternary (only for ternary-trained models)"
_MXFP4 = "MXFP4"
_FLOAT = "unquantized"

# Names from tools/quantize/quantize.cpp QUANT_OPTIONS; base types from
# llama_ftype_get_default_type() in src/llama-quant.cpp; which presets cannot run without
# an imatrix from tensor_requires_imatrix() in src/llama-quant.cpp.
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "Q2_K", "Q2_K", _K, "Smallest K-quant: about 3 bits overall, clearly degraded output."
        ),
        Preset(
            "Q2_K_S",
            "Q2_K",
            _K,
            "A slightly smaller Q2_K built with an importance matrix; large quality loss.",
            needs_imatrix=True,
        ),
        Preset("Q3_K_S", "Q3_K", _K, "3-bit throughout: small, with a noticeable quality loss."),
        Preset(
            "Q3_K_M", "Q3_K", _K, "3-bit with attention and FFN-down at 4-5 bits; usable quality."
        ),
        Preset(
            "Q3_K_L",
            "Q3_K",
            _K,
            "Largest 3-bit mix; a bit better than Q3_K_M for a bit more memory.",
        ),
        Preset(
            "Q4_0",
            "Q4_0",
            _LEGACY,
            "Legacy 4-bit; fast everywhere, but Q4_K_M is better at a similar size.",
        ),
        Preset(
            "Q4_1",
            "Q4_1",
            _LEGACY,
            "Legacy 4-bit with an offset; slightly larger and better than Q4_0.",
        ),
        Preset("Q4_K_S", "Q4_K", _K, "4-bit K-quant: good quality at a compact size."),
        Preset(
            "Q4_K_M",
            "Q4_K",
            _K,
            "The usual default: 4-bit with sensitive tensors at 6 bits; good size/quality balance.",
        ),
        Preset("Q5_0", "Q5_0", _LEGACY, "Legacy 5-bit; superseded by Q5_K_S / Q5_K_M."),
        Preset(
            "Q5_1", "Q5_1", _LEGACY, "Legacy 5-bit with an offset; larger than Q5_K_M for no gain."
        ),
        Preset("Q5_K_S", "Q5_K", _K, "5-bit K-quant: close to the original quality."),
        Preset(
            "Q5_K_M",
            "Q5_K",
            _K,
            "5-bit with sensitive tensors at 6 bits: very close to the original.",
        ),
        Preset("Q6_K", "Q6_K", _K, "6-bit: practically indistinguishable from the original."),
        Preset(
            "Q8_0", "Q8_0", _LEGACY, "8-bit: essentially lossless at about half the size of 16-bit."
        ),
        Preset("F16", "F16", _FLOAT, "16-bit floats: full quality, the largest practical size."),
        Preset("BF16", "BF16", _FLOAT, "16-bit bfloat, the precision most models are released in."),
        Preset(
            "F32", "F32", _FLOAT, "32-bit floats: twice the size of 16-bit with no quality gain."
        ),
        Preset(
            "IQ1_S",
            "IQ1_S",
            _I_IMATRIX,
            "About 1.6 bits: extreme compression with heavy damage; only for the largest models.",
            needs_imatrix=True,
        ),
        Preset(
            "IQ1_M",
            "IQ1_M",
            _I_IMATRIX,
            "About 1.75 bits: a little less damaging than IQ1_S; still only for very large models.",
            needs_imatrix=True,
        ),
        Preset(
            "IQ2_XXS",
            "IQ2_XXS",
            _I_IMATRIX,
            "About 2.1 bits: very small, strongly degraded; best on big models.",
            needs_imatrix=True,
        ),
        Preset(
            "IQ2_XS",
            "IQ2_XS",
            _I_IMATRIX,
            "About 2.3 bits: very small with large quality loss.",
            needs_imatrix=True,
        ),
        Preset(
            "IQ2_S",
            "IQ2_XS",
            _I_IMATRIX,
            "About 2.5 bits: IQ2_XS with better attention and embeddings.",
            needs_imatrix=True,
        ),
        Preset(
            "IQ2_M",
            "IQ2_S",
            _I_IMATRIX,
            "About 2.7 bits: the best of the 2-bit mixes; often beats Q2_K at a smaller size.",
            needs_imatrix=True,
        ),
        Preset(
            "IQ3_XXS",
            "IQ3_XXS",
            _I_IMATRIX,
            "About 3.1 bits: smaller than Q3_K_S with similar quality.",
            needs_imatrix=True,
        ),
        Preset(
            "IQ3_XS",
            "IQ3_S",
            _I_IMATRIX,
            "About 3.3 bits: between IQ3_XXS and IQ3_S in size and quality.",
            needs_imatrix=True,
        ),
        Preset("IQ3_S", "IQ3_S", _I, "About 3.4 bits: better than Q3_K_S at the same size."),
        Preset(
            "IQ3_M",
            "IQ3_S",
            _I,
            "About 3.7 bits: IQ3_S with 4-bit attention; close to Q3_K_M quality.",
        ),
        Preset("IQ4_NL", "IQ4_NL", _I, "4.5-bit non-linear quant: Q4_0 size with better quality."),
        Preset(
            "IQ4_XS",
            "IQ4_XS",
            _I,
            "4.25-bit non-linear quant: close to Q4_K_S quality, a little smaller.",
        ),
        Preset(
            "TQ1_0",
            "TQ1_0",
            _TERNARY,
            "1.69-bit ternary: only for BitNet-style models; ruins others.",
        ),
        Preset(
            "TQ2_0",
            "TQ2_0",
            _TERNARY,
            "2.06-bit ternary: only for BitNet-style models; ruins others.",
        ),
        Preset(
            "MXFP4_MOE",
            "MXFP4",
            _MXFP4,
            "MoE experts in 4.25-bit MXFP4, everything else Q8_0; gpt-oss's native format.",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class ReleaseType:
    """A label naming a model's official GGUF release format rather than a preset: it is
    valid only for models released in ``native_dtype`` and sizes as ``preset``."""

    name: str
    native_dtype: str
    preset: str
    description: str
    source: str


# gpt-oss is released with MXFP4 experts; its official GGUFs (ggml-org/gpt-oss-20b-GGUF,
# ggml-org/gpt-oss-120b-GGUF) are llama.cpp file type MXFP4_MOE (general.file_type 38):
# experts MXFP4, the other matrices Q8_0, norms and routers F32 (the 120b log in
# ggml-org/llama.cpp#15112 counts q8_0 146, mxfp4 108, f32 433 tensors).
RELEASE_TYPES: dict[str, ReleaseType] = {
    "MXFP4": ReleaseType(
        "MXFP4",
        native_dtype="mxfp4",
        preset="MXFP4_MOE",
        description="The official MXFP4 release: experts in MXFP4 as trained, the rest Q8_0.",
        source="https://github.com/ggml-org/llama.cpp/issues/15112",
    ),
}


def canonical_quant(label: str) -> str:
    """A quant name as users write it (``q4_k_m``, `` Mxfp4``) in its canonical spelling
    (``Q4_K_M``, ``MXFP4``); an unknown name is an EngineError naming ``quant``."""
    if not isinstance(label, str):
        raise EngineError("quant must be a name such as Q4_K_M", "quant")
    name = label.strip().upper()
    if name in PRESETS or name in RELEASE_TYPES:
        return name
    valid = ", ".join([*RELEASE_TYPES, *PRESETS])
    shown = label.strip()[:40]
    raise EngineError(f"unknown quantization '{shown}'; valid: {valid}", "quant")


def get_preset(name: str) -> Preset:
    """The llama-quantize preset a quant name sizes as (case-insensitive; a release type
    such as MXFP4 gives the preset of that release, valid for the models released in it:
    see :func:`resolve_quant`)."""
    canonical = canonical_quant(name)
    release = RELEASE_TYPES.get(canonical)
    return PRESETS[release.preset if release else canonical]


def resolve_quant(arch: Architecture, label: str) -> str:
    """The preset ``label`` means for this model: a release type (MXFP4) is its release's
    preset for models released in that format and an EngineError naming ``quant`` for
    any other model."""
    canonical = canonical_quant(label)
    release = RELEASE_TYPES.get(canonical)
    if release is None:
        return canonical
    if arch.native_dtype != release.native_dtype:
        raise EngineError(
            f"{release.name} names the official {release.name} release, and this model is "
            f"released in {arch.native_dtype}; choose a llama-quantize preset such as "
            f"{release.preset} or Q4_K_M",
            "quant",
        )
    return release.preset


def default_quant(arch: Architecture) -> str:
    """The quant a page starts on: the official release type where the model was released
    quantized (MXFP4 for gpt-oss), else the usual llama-quantize default Q4_K_M."""
    for release in RELEASE_TYPES.values():
        if arch.native_dtype == release.native_dtype:
            return release.name
    return "Q4_K_M"


# --------------------------------------------------------------------------------------
# Tensor facts the rules need (src/llama-quant.cpp)
# --------------------------------------------------------------------------------------

# tensor_get_category(): first match wins. attn_qkv and attn_kv_b share the attn_v rules
# (category_is_attn_v), which run before the separate attn_qkv branch, so we fold them.
_TOKEN_EMBD = "token_embd"
_OUTPUT = "output"
_ATTN_V = "attn_v"
_ATTN_K = "attn_k"
_ATTN_Q = "attn_q"
_ATTN_OUTPUT = "attn_output"
_FFN_UP = "ffn_up"
_FFN_GATE = "ffn_gate"
_FFN_DOWN = "ffn_down"
_OTHER = ""
_CATEGORY_BY_SUBSTRING = (
    ("attn_qkv.weight", _ATTN_V),
    ("attn_kv_b.weight", _ATTN_V),
    ("attn_v.weight", _ATTN_V),
    ("attn_k.weight", _ATTN_K),
    ("attn_q.weight", _ATTN_Q),
    ("attn_output.weight", _ATTN_OUTPUT),
    ("ffn_up", _FFN_UP),
    ("ffn_gate", _FFN_GATE),
    ("ffn_down", _FFN_DOWN),
)
_FFN_CATEGORIES = frozenset({_FFN_UP, _FFN_GATE, _FFN_DOWN})


def _category(name: str) -> str:
    if name == "output.weight":
        return _OUTPUT
    if name in ("token_embd.weight", "per_layer_token_embd.weight"):
        return _TOKEN_EMBD
    for needle, category in _CATEGORY_BY_SUBSTRING:
        if needle in name:
            return category
    return _OTHER


# tensor_allows_quantization(): substrings and exact names llama-quantize leaves alone.
_KEEP_SUBSTRINGS = (
    "_norm.weight",
    "ffn_gate_inp.weight",
    "ffn_gate_tid2eid.weight",
    "altup",
    "laurel",
    "per_layer_model_proj",
    "ssm_conv1d",
    "shortconv.conv.weight",
    "indexer.k_proj.weight",
    "indexer.q_proj.weight",
    "time_mix_first.weight",
    "time_mix_w0.weight",
    "time_mix_w1.weight",
    "time_mix_w2.weight",
    "time_mix_v0.weight",
    "time_mix_v1.weight",
    "time_mix_v2.weight",
    "time_mix_a0.weight",
    "time_mix_a1.weight",
    "time_mix_a2.weight",
    "time_mix_g1.weight",
    "time_mix_g2.weight",
    "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight",
    "time_mix_lerp_fused.weight",
    "attn_rel_b.weight",
    ".position_embd",
    ".patch_embd",
    ".patch_merger",
    ".rel_pos",
)
_KEEP_NAMES = frozenset({"position_embd.weight", "token_types.weight"})

# convert_hf_to_gguf.py (ModelBase.prepare_tensors): tensors written as F32 whatever the
# output type, besides vectors, norms and anything not named "*.weight".
_F32_IN_SOURCE = (
    "ffn_gate_inp.weight",
    "ffn_gate_inp_shexp.weight",
    "position_embd.weight",
    "token_types.weight",
    "ssm_conv1d.weight",
    "shortconv.conv.weight",
    "time_mix_first.weight",
    "time_mix_w1.weight",
    "time_mix_w2.weight",
    "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight",
    "time_mix_lerp_fused.weight",
)

# The 16-bit type convert_hf_to_gguf.py writes for each release dtype (FP8 is dequantized).
# compressed-tensors INT4 (Kimi K2 Thinking / K2.5 experts) is dequantized to BF16 too
# (dequant_packed in conversion/base.py, ggml-org/llama.cpp 0c1e57098).
_SOURCE_FLOAT = {
    "bf16": "BF16", "f16": "F16", "f32": "F32", "fp8": "BF16", "mxfp4": "BF16", "int4": "BF16",
}  # fmt: skip


def _n_dims(shape: tuple[int, ...]) -> int:
    """ggml_n_dims: trailing dimensions of size 1 do not count."""
    n = len(shape)
    while n > 1 and shape[n - 1] == 1:
        n -= 1
    return n


def _block_of(name: str) -> int:
    """Layer number from ``blk.N.``, -1 outside the blocks (weight_name_comparer)."""
    if not name.startswith("blk."):
        return -1
    digits = name[4 : name.index(".", 4)]
    return int(digits) if digits.isdigit() else -1


def _native_expert_mxfp4(arch: Architecture, t: Tensor) -> bool:
    return arch.native_dtype == "mxfp4" and t.is_expert and t.name.endswith(".weight")


def _source_type(arch: Architecture, t: Tensor) -> str:
    name = t.name
    if _native_expert_mxfp4(arch, t):
        return "MXFP4"
    if (
        _n_dims(t.shape) <= 1
        or name.endswith("_norm.weight")
        or not name.endswith(".weight")
        or any(key in name for key in _F32_IN_SOURCE)
    ):
        return "F32"
    try:
        return _SOURCE_FLOAT[arch.native_dtype]
    except KeyError:
        raise EngineError(f"unknown native dtype '{arch.native_dtype}'", "native_dtype") from None


def _allows_quantization(t: Tensor) -> bool:
    name = t.name
    return (
        _n_dims(t.shape) >= 2
        and name.endswith("weight")
        and name not in _KEEP_NAMES
        and not any(key in name for key in _KEEP_SUBSTRINGS)
    )


# LLM_TYPE_70B, the only model type the rules look at: load_arch_hparams() in
# src/models/llama.cpp (80 layers, GQA, not 8 experts), qwen2.cpp and deci.cpp (80 layers),
# jais2.cpp (68 layers) of ggml-org/llama.cpp.
_LAYERS_OF_70B = {"llama": 80, "qwen2": 80, "deci": 80, "jais2": 68}


def _n_gqa(arch: Architecture) -> int:
    """hparams.n_gqa() of the first attention layer: n_head / n_head_kv.

    MLA models are stored as MQA (head_count_kv = 1, DeepseekV2Model.set_gguf_parameters
    in convert_hf_to_gguf.py). Otherwise the ratio of query rows to key rows.
    """
    if arch.mla is not None:
        return arch.n_head
    shapes = {t.name: t.shape for t in arch.tensors}
    for layer, kv in enumerate(arch.kv_layers):
        if not kind_of(kv).grows_with_context or kv.k_width == 0:
            continue
        q = shapes.get(f"blk.{layer}.attn_q.weight")
        qkv = shapes.get(f"blk.{layer}.attn_qkv.weight")
        if q is not None and len(q) >= 2:
            return q[1] // kv.k_width
        if qkv is not None and len(qkv) >= 2:
            return (qkv[1] - kv.k_width - kv.v_width) // kv.k_width
    return 0


@dataclass(frozen=True, slots=True)
class _Model:
    """The model-level facts llama_tensor_get_type_impl() reads."""

    n_expert: int
    n_gqa: int
    falcon: bool
    bailingmoe3: bool
    is_70b: bool
    tied: bool  # no output.weight: token_embd is quantized like the output


@dataclass(frozen=True, slots=True)
class _Slot:
    """Everything the rules look at for one tensor: equal slots get equal types.

    The position flags replay llama-quantize's counters. For attn_v-like tensors ``i`` is
    i_attention_wv and ``n`` n_attention_wv; for FFN tensors layer_info() gives ``i`` (the
    ffn counter, or the block number in MoE models) and ``n`` = n_layer.
    """

    category: str
    row_length: int
    stacked: bool  # ne[2] > 1
    quantizable: bool
    source: str  # type in the converted GGUF
    first_two: bool = False  # i < 2
    first_four: bool = False  # i < 4
    first_16th: bool = False  # i < n/16
    first_8th: bool = False  # i < n/8
    more_bits: bool = False  # use_more_bits(i, n)
    middle: bool = False  # n/8 <= i < 7n/8
    early_ordinal: bool = False  # IQ1/IQ2 ffn_down: i_ffn_down < n_layer/8


@dataclass(frozen=True, slots=True)
class _Prepared:
    model: _Model
    slots: tuple[_Slot, ...]  # unique slots
    slot_of: tuple[int, ...]  # per tensor (arch order): index into slots
    n_rows: tuple[int, ...]  # per tensor: elements / row length
    layer_of: tuple[int, ...]  # per tensor: block number or -1
    part_of: tuple[int, ...]  # per tensor: _EXPERT, _TOKEN_EMBD_PART, _OUTPUT_PART or _REST
    index_of: dict[str, int]  # tensor name -> position in arch.tensors
    # Per (preset, imatrix): the type of each slot, and the breakdown.
    slot_types: dict[tuple[str, bool], tuple[str, ...]] = field(default_factory=dict)
    breakdowns: dict[tuple[str, bool], WeightsBreakdown] = field(default_factory=dict)
    # The same, by the canonical (label, imatrix) a caller gave: a hit skips resolving it.
    by_label: dict[tuple[str, bool | None], WeightsBreakdown] = field(default_factory=dict)


_REST, _EXPERT, _TOKEN_EMBD_PART, _OUTPUT_PART = range(4)


def _use_more_bits(i: int, n: int) -> bool:
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def _position(i: int, n: int) -> dict[str, bool]:
    return {
        "first_two": i < 2,
        "first_four": i < 4,
        "first_16th": i < n // 16,
        "first_8th": i < n // 8,
        "more_bits": _use_more_bits(i, n),
        "middle": n // 8 <= i < 7 * n // 8,
    }


def _part(t: Tensor) -> int:
    if t.is_expert:
        return _EXPERT
    if t.name == "token_embd.weight":
        return _TOKEN_EMBD_PART
    if t.name == "output.weight":
        return _OUTPUT_PART
    return _REST


# Prepared archs by object identity. Hashing an Architecture walks all its tensors (about
# 0.1 ms for 1,000), which would cost more than the sizing it saves; the stored reference
# keeps the id from being reused while the entry lives.
_CACHE_SIZE = 256  # more than the catalog holds, so ladders over every model stay warm
_prepared: dict[int, tuple[Architecture, _Prepared]] = {}


def _prepare(arch: Architecture) -> _Prepared:
    hit = _prepared.get(id(arch))
    if hit is not None and hit[0] is arch:
        return hit[1]
    prep = _build(arch)
    if len(_prepared) >= _CACHE_SIZE:
        del _prepared[next(iter(_prepared))]
    _prepared[id(arch)] = (arch, prep)
    return prep


def _build(arch: Architecture) -> _Prepared:
    tensors = arch.tensors
    n_layer = arch.n_layer
    n_gqa = _n_gqa(arch)
    model = _Model(
        n_expert=arch.n_expert,
        n_gqa=n_gqa,
        falcon=arch.gguf_arch == "falcon",
        bailingmoe3=arch.gguf_arch == "bailingmoe3",
        is_70b=_LAYERS_OF_70B.get(arch.gguf_arch) == n_layer
        and not (arch.gguf_arch == "llama" and (arch.n_expert == 8 or n_gqa <= 1)),
        tied=all(t.name != "output.weight" for t in tensors),
    )
    # init_quantize_state_counters(): every attn_v-like name counts, quantizable or not.
    n_attention_wv = sum(1 for t in tensors if _category(t.name) == _ATTN_V)

    # llama-quantize walks tensors in weight_name_comparer order (llama-model-loader.h):
    # by block number (-1 for the rest), then by name. i_attention_wv, i_ffn_down,
    # i_ffn_gate and i_ffn_up advance in that order, once per quantizable tensor.
    layer_of = tuple(_block_of(t.name) for t in tensors)
    order = sorted(range(len(tensors)), key=lambda i: (layer_of[i], tensors[i].name))
    counters = {_ATTN_V: 0, _FFN_DOWN: 0, _FFN_GATE: 0, _FFN_UP: 0}
    slot_ids: dict[_Slot, int] = {}
    slot_of = [0] * len(tensors)
    for i in order:
        t = tensors[i]
        category = _category(t.name)
        quantizable = _allows_quantization(t)
        position: dict[str, bool] = {}
        if quantizable and category in counters:
            count = counters[category]
            counters[category] = count + 1
            if category == _ATTN_V:
                position = _position(count, n_attention_wv)
            else:
                # layer_info(): with several experts the layer comes from the name, as
                # expert, shared-expert and dense FFN tensors do not advance once a layer.
                position = _position(layer_of[i] if arch.n_expert > 1 else count, n_layer)
                if category == _FFN_DOWN:
                    position["early_ordinal"] = count < n_layer // 8
        slot = _Slot(
            category=category,
            row_length=t.shape[0],
            stacked=len(t.shape) >= 3 and t.shape[2] > 1,
            quantizable=quantizable,
            source=_source_type(arch, t),
            **position,
        )
        slot_of[i] = slot_ids.setdefault(slot, len(slot_ids))
    return _Prepared(
        model=model,
        slots=tuple(slot_ids),
        slot_of=tuple(slot_of),
        n_rows=tuple(t.n_elements // t.shape[0] for t in tensors),
        layer_of=layer_of,
        part_of=tuple(_part(t) for t in tensors),
        index_of={t.name: i for i, t in enumerate(tensors)},
    )


# --------------------------------------------------------------------------------------
# Type choice: llama_tensor_get_type_impl() and tensor_type_fallback(), src/llama-quant.cpp
# --------------------------------------------------------------------------------------

_IQ1_IQ2 = frozenset({"IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ1_S", "IQ1_M"})
_OUTPUT_Q5_K = _IQ1_IQ2 | {"IQ3_XXS"}
_MOE8_ATTN_OUTPUT_Q5_K = frozenset(
    {"Q2_K", "IQ3_XS", "IQ3_XXS", "Q3_K_S", "Q3_K_M", "IQ4_NL"}
    | {"Q4_K_S", "Q4_K_M", "IQ3_S", "IQ3_M", "IQ4_XS"}
)
_ATTN_OUTPUT_DENSE = {
    "Q2_K": "Q3_K",
    "IQ3_XXS": "IQ3_S",
    "Q3_K_M": "Q4_K",
    "Q3_K_L": "Q5_K",
    "IQ3_M": "Q4_K",
}
_ATTN_Q_K = {"IQ3_XS": "IQ3_XXS", "IQ3_XXS": "IQ2_S"}

# tensor_type_fallback(): when a row is not a whole number of blocks.
_FALLBACK = {
    "IQ1_S": "IQ4_NL",
    "IQ1_M": "IQ4_NL",
    "IQ2_XXS": "IQ4_NL",
    "IQ2_XS": "IQ4_NL",
    "IQ2_S": "IQ4_NL",
    "IQ3_XXS": "IQ4_NL",
    "IQ3_S": "IQ4_NL",
    "IQ4_XS": "IQ4_NL",
    "Q2_K": "Q4_0",
    "Q3_K": "Q4_0",
    "TQ1_0": "Q4_0",
    "TQ2_0": "Q4_0",
    "Q4_K": "Q5_0",
    "Q5_K": "Q5_1",
    "Q6_K": "Q8_0",
}


def _mixed_type(p: str, new: str, imatrix: bool, m: _Model, s: _Slot) -> str:
    """The preset's choice for one quantizable tensor, before the shape fallback."""
    category = s.category
    if category == _OUTPUT or (m.tied and category == _TOKEN_EMBD):
        if p == "MXFP4_MOE" or m.falcon or s.row_length % GGML_TYPES[new].block_size:
            return "Q8_0"
        if p in _OUTPUT_Q5_K:
            return "Q5_K"
        return new if new == "Q8_0" else "Q6_K"
    if p == "MXFP4_MOE":
        # 3-D tensors (experts, and MLA's per-head k_b / v_b) -> MXFP4, the rest Q8_0.
        if s.stacked and (not m.bailingmoe3 or category in _FFN_CATEGORIES):
            return "MXFP4"
        return "Q8_0"
    if category == _TOKEN_EMBD:
        if p in ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"):
            return "Q2_K"
        if p in ("IQ2_S", "IQ2_M", "IQ3_XXS"):
            return "IQ3_S"
        if p in ("TQ1_0", "TQ2_0"):
            return "Q4_K"
        return new
    if p in _IQ1_IQ2:
        return _iq1_iq2(p, new, m, s)
    if category == _ATTN_V:
        return _attn_v(p, new, imatrix, m, s)
    if category == _ATTN_K:
        return "Q8_0" if m.n_expert == 8 else _ATTN_Q_K.get(p, new)
    if category == _ATTN_Q:
        return _ATTN_Q_K.get(p, new)
    if category == _FFN_DOWN:
        return _ffn_down(p, new, imatrix, m, s)
    if category == _ATTN_OUTPUT:
        if m.falcon:
            return "Q4_K" if p == "Q3_K_L" else new
        if m.n_expert == 8:
            return "Q5_K" if p in _MOE8_ATTN_OUTPUT_Q5_K else new
        return _ATTN_OUTPUT_DENSE.get(p, new)
    if category in (_FFN_GATE, _FFN_UP) and p == "IQ3_XS" and s.middle:
        return "IQ3_XXS"
    return new


def _iq1_iq2(p: str, new: str, m: _Model, s: _Slot) -> str:
    """IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ2_M."""
    s_or_m = p in ("IQ2_S", "IQ2_M")
    if s.category == _ATTN_V:
        if m.n_gqa >= 4 or m.n_expert >= 4:
            return "Q4_K"
        return "IQ3_S" if s_or_m else "Q2_K"
    if s.category == _ATTN_K and m.n_expert == 8:
        return "Q4_K"
    if s.category == _FFN_DOWN:
        # Counts ffn_down-like tensors, not layers: an MoE layer with a shared expert
        # advances it twice, a dense layer once.
        if s.early_ordinal:
            return "IQ3_S" if s_or_m else "Q2_K"
        return new
    if s.category == _ATTN_OUTPUT:
        if m.n_expert == 8:
            return "Q5_K"
        if p in ("IQ1_S", "IQ1_M"):
            return "IQ2_XXS"
        if s_or_m:
            return "IQ3_S"
    return new


def _attn_v(p: str, new: str, imatrix: bool, m: _Model, s: _Slot) -> str:
    """attn_v, attn_qkv and attn_kv_b."""
    gqa4 = m.n_gqa >= 4
    if p == "Q2_K":
        new = "Q4_K" if gqa4 else "Q3_K"
    elif p == "Q2_K_S" and gqa4:
        new = "Q4_K"
    elif p == "IQ3_XXS":
        new = "Q4_K" if gqa4 else ("IQ3_XXS" if imatrix else "IQ3_S")
    elif (p in ("IQ3_XS", "IQ3_S") and gqa4) or p == "IQ3_M":
        new = "Q4_K"
    elif p == "Q3_K_M":
        new = "Q5_K" if s.first_two else "Q4_K"
    elif p == "Q3_K_L" or (p in ("IQ4_NL", "IQ4_XS") and gqa4):
        new = "Q5_K"
    elif p in ("Q4_K_M", "Q5_K_M") and s.more_bits:
        new = "Q6_K"
    elif p == "Q4_K_S" and s.first_four:
        new = "Q5_K"
    if m.is_70b and new in ("Q3_K", "Q4_K"):
        new = "Q5_K"
    if m.n_expert == 8:
        new = "Q8_0"
    return new


def _ffn_down(p: str, new: str, imatrix: bool, m: _Model, s: _Slot) -> str:
    if p == "Q2_K":
        return "Q3_K"
    if p == "Q2_K_S":
        return "Q4_K" if s.first_8th else new
    if p == "IQ3_XXS" and not imatrix:
        return "Q4_K" if s.first_8th else "Q3_K"
    if p == "Q3_K_M":
        if s.first_16th:
            return "Q5_K"
        return "Q4_K" if not m.falcon or s.more_bits else "Q3_K"
    if p == "IQ3_M" and (s.first_8th or (m.n_expert == 8 and s.more_bits)):
        return "Q4_K"
    if p == "Q3_K_L":
        return "Q4_K" if m.falcon else "Q5_K"
    if p == "Q4_K_M":
        if m.falcon:
            return "Q6_K" if s.first_16th else ("Q5_K" if s.more_bits else "Q4_K")
        return "Q6_K" if s.more_bits else new
    if s.first_8th and p in ("IQ4_NL", "IQ4_XS") and not imatrix:
        return "Q5_K"
    if p == "Q5_K_M" and s.more_bits:
        return "Q6_K"
    if p == "Q4_K_S" and not m.falcon and s.first_8th:
        return "Q5_K"
    if p in ("Q4_0", "Q5_0") and imatrix and s.first_8th:
        return "Q4_1" if p == "Q4_0" else "Q5_1"
    return new


def _fallback(type_name: str, row_length: int) -> str:
    if row_length % GGML_TYPES[type_name].block_size == 0:
        return type_name
    try:
        fallback = _FALLBACK[type_name]
    except KeyError:
        raise EngineError(
            f"llama-quantize cannot store a row of {row_length} weights as {type_name} "
            "and has no fallback for it",
            "quant",
        ) from None
    return fallback if row_length % GGML_TYPES[fallback].block_size == 0 else "F16"


def _decide(preset: Preset, imatrix: bool, m: _Model, s: _Slot) -> str:
    """llama_tensor_get_type(): the type one tensor is stored in."""
    if s.source == "MXFP4" or not s.quantizable:
        return s.source
    base = preset.base_type
    if base in _FLOAT_TYPES:
        return base
    return _fallback(_mixed_type(preset.name, base, imatrix, m, s), s.row_length)


def _slot_types(prep: _Prepared, preset_name: str, imatrix: bool) -> tuple[str, ...]:
    key = (preset_name, imatrix)
    types = prep.slot_types.get(key)
    if types is None:
        preset = PRESETS[preset_name]
        types = tuple(_decide(preset, imatrix, prep.model, s) for s in prep.slots)
        prep.slot_types[key] = types
    return types


def _resolve(arch: Architecture, preset: str, imatrix: bool | None) -> tuple[str, bool]:
    p = PRESETS[resolve_quant(arch, preset)]
    return p.name, p.needs_imatrix if imatrix is None else imatrix


def tensor_type(
    preset: str, tensor: Tensor, arch: Architecture, imatrix: bool | None = None
) -> str:
    """The GGML type llama-quantize stores ``tensor`` (one of ``arch.tensors``) in.

    ``imatrix`` says whether an importance matrix was used; ``None`` means "only if the
    preset requires one".
    """
    name, use_imatrix = _resolve(arch, preset, imatrix)
    prep = _prepare(arch)
    index = prep.index_of.get(tensor.name)
    if index is None:
        raise EngineError(f"tensor '{tensor.name}' is not part of this model", "tensor")
    return _slot_types(prep, name, use_imatrix)[prep.slot_of[index]]


# --------------------------------------------------------------------------------------
# Whole-model sizes
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WeightsBreakdown:
    """Tensor bytes of one GGUF (metadata and alignment padding excluded).

    ``layer_bytes[i]`` covers the tensors named ``blk.i.*``; token_embd, output and
    output_norm sit outside the layers. ``output_bytes`` is 0 when the output shares
    token_embd. ``expert_bytes`` counts routed experts (``*_exps``), which MoE offload
    plans keep in system RAM. ``file`` is the published GGUF these bytes are, as a
    repository path (the first part of a split file), so commands can name it; empty for
    a prediction.
    """

    preset: str
    total_bytes: int
    n_params: int
    bytes_by_type: tuple[tuple[str, int], ...]  # largest first
    expert_bytes: int
    non_expert_bytes: int
    token_embd_bytes: int
    output_bytes: int
    layer_bytes: tuple[int, ...]
    file: str = ""

    @property
    def bits_per_weight(self) -> float:
        return self.total_bytes * 8 / self.n_params if self.n_params else 0.0

    @property
    def by_type(self) -> dict[str, int]:
        return dict(self.bytes_by_type)


def weights_bytes(arch: Architecture, preset: str, imatrix: bool | None = None) -> WeightsBreakdown:
    """Size ``arch`` quantized with ``preset`` (cached per arch object and preset); any
    spelling :func:`canonical_quant` accepts, and MXFP4 for models released in it."""
    prep = _prepare(arch)
    result = prep.by_label.get((preset, imatrix))
    if result is not None:
        return result
    name, use_imatrix = _resolve(arch, preset, imatrix)
    result = prep.breakdowns.get((name, use_imatrix))
    if result is None:
        result = prep.breakdowns[name, use_imatrix] = _breakdown(arch, prep, name, use_imatrix)
    if preset == name or preset in RELEASE_TYPES:  # canonical spellings only: bounded
        prep.by_label[preset, imatrix] = result
    return result


def _breakdown(arch: Architecture, prep: _Prepared, preset: str, imatrix: bool) -> WeightsBreakdown:
    types = _slot_types(prep, preset, imatrix)
    per_row = [row_bytes(t, s.row_length) for t, s in zip(types, prep.slots, strict=True)]
    slot_bytes = [0] * len(types)
    layers = [0] * max([arch.n_layer, *(layer + 1 for layer in prep.layer_of)])
    parts = [0, 0, 0, 0]
    for slot, n_rows, layer, part in zip(
        prep.slot_of, prep.n_rows, prep.layer_of, prep.part_of, strict=True
    ):
        size = n_rows * per_row[slot]
        slot_bytes[slot] += size
        parts[part] += size
        if layer >= 0:
            layers[layer] += size
    by_type: dict[str, int] = {}
    for type_name, size in zip(types, slot_bytes, strict=True):
        by_type[type_name] = by_type.get(type_name, 0) + size
    total = sum(slot_bytes)
    return WeightsBreakdown(
        preset=preset,
        total_bytes=total,
        n_params=arch.total_params,
        bytes_by_type=tuple(sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))),
        expert_bytes=parts[_EXPERT],
        non_expert_bytes=total - parts[_EXPERT],
        token_embd_bytes=parts[_TOKEN_EMBD_PART],
        output_bytes=parts[_OUTPUT_PART],
        layer_bytes=tuple(layers),
    )


# --------------------------------------------------------------------------------------
# The release checkpoint (safetensors) before any GGUF conversion
# --------------------------------------------------------------------------------------

# FP8 releases (DeepSeek V3/R1, Kimi K2: quantization_config quant_method "fp8",
# weight_block_size [128, 128]) store every linear layer as e4m3 with one float32
# weight_scale_inv per 128x128 block, rounded up (FP8 Linear in deepseek-ai/DeepSeek-V3
# inference/model.py); embeddings, lm_head, norms and the router stay BF16, and the
# router's e_score_correction_bias (exp_probs_b) is float32.
_FP8_BLOCK = 128
_NATIVE_FLOAT_BYTES = {"bf16": 2, "f16": 2, "f32": 4, "fp8": 2, "mxfp4": 2, "int4": 2}
# compressed-tensors pack-quantized INT4, group size 32 (Kimi K2 Thinking, K2.5): eight
# 4-bit values per int32 (weight_packed) and one BF16 scale per 32 (weight_scale).
_INT4_GROUP = 32
_INT4_GROUP_BYTES = _INT4_GROUP // 2 + 2


def _is_fp8_linear(t: Tensor) -> bool:
    category = _category(t.name)
    return (
        category not in (_TOKEN_EMBD, _OUTPUT)
        and t.name.endswith(".weight")
        and _n_dims(t.shape) >= 2
        and "_norm.weight" not in t.name
        and "ffn_gate_inp" not in t.name
    )


@lru_cache(maxsize=1024)
def native_weights_bytes(arch: Architecture) -> int:
    """Bytes of the released safetensors weights (``arch.native_dtype``).

    bf16/f16: 2 bytes a parameter, f32: 4. fp8: see above. mxfp4 (gpt-oss): routed-expert
    matrices in MXFP4, 17 bytes per 32 weights (E8M0 scale included), everything else BF16.
    int4 (Kimi K2 Thinking, K2.5): routed-expert matrices in INT4 with a BF16 scale per 32
    weights (18 bytes per 32), everything else BF16 (the config ignores attention, shared
    experts, dense FFNs and lm_head).
    """
    dtype = arch.native_dtype
    try:
        float_bytes = _NATIVE_FLOAT_BYTES[dtype]
    except KeyError:
        raise EngineError(f"unknown native dtype '{dtype}'", "native_dtype") from None
    total = 0
    for t in arch.tensors:
        if dtype == "mxfp4" and _native_expert_mxfp4(arch, t):
            total += tensor_bytes(t, "MXFP4")
        elif dtype == "int4" and t.is_expert and t.name.endswith(".weight"):
            total += ceil(t.n_elements / _INT4_GROUP) * _INT4_GROUP_BYTES
        elif dtype == "fp8" and _is_fp8_linear(t):
            row_length, n_rows = t.shape[0], t.shape[1]
            stack = t.n_elements // (row_length * n_rows)
            scales = ceil(row_length / _FP8_BLOCK) * ceil(n_rows / _FP8_BLOCK) * stack
            total += t.n_elements * FP8_E4M3.type_size + 4 * scales
        elif dtype == "fp8" and t.role == "exp_probs_b":
            total += 4 * t.n_elements
        else:
            total += float_bytes * t.n_elements
    return total


# --------------------------------------------------------------------------------------
# A published file's own tensor list (parsed GGUF header)
# --------------------------------------------------------------------------------------


def file_breakdown(
    label: str, tensors: Iterable[tuple[str, str | int, tuple[int, ...]]]
) -> WeightsBreakdown:
    """The weights breakdown of a published GGUF from its tensor-info list.

    ``tensors`` is what a GGUF reader gives (gguf.GGUFReader's ``tensors``: name, type
    and shape in GGUF order); the type may be a GGML type name or its
    ``GGMLQuantizationType`` number. Sizes follow the same block sizes as predictions.
    """
    total = experts = token_embd = output = n_params = 0
    by_type: dict[str, int] = {}
    layers: dict[int, int] = {}
    for name, type_id, shape in tensors:
        try:
            ggml = GGMLQuantizationType(type_id) if isinstance(type_id, int) else None
            type_name = ggml.name if ggml is not None else str(type_id).upper()
            block, size = GGML_QUANT_SIZES[GGMLQuantizationType[type_name]]
        except (KeyError, ValueError):
            raise EngineError(f"unknown GGML type {type_id!r} for {name}", "tensor") from None
        dims = tuple(int(d) for d in shape)
        if not dims or any(d <= 0 for d in dims) or dims[0] % block:
            raise EngineError(f"tensor {name} has an impossible shape {dims}", "tensor")
        elements = 1
        for d in dims:
            elements *= d
        nbytes = elements // block * size
        n_params += elements
        total += nbytes
        by_type[type_name] = by_type.get(type_name, 0) + nbytes
        if "_exps" in name:
            experts += nbytes
        if name == "token_embd.weight":
            token_embd += nbytes
        elif name == "output.weight":
            output += nbytes
        layer = _block_of(name)
        if layer >= 0:
            layers[layer] = layers.get(layer, 0) + nbytes
    n_layers = max(layers, default=-1) + 1
    return WeightsBreakdown(
        preset=label,
        total_bytes=total,
        n_params=n_params,
        bytes_by_type=tuple(sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))),
        expert_bytes=experts,
        non_expert_bytes=total - experts,
        token_embd_bytes=token_embd,
        output_bytes=output,
        layer_bytes=tuple(layers.get(i, 0) for i in range(n_layers)),
    )


# --------------------------------------------------------------------------------------
# Labels of published files (UD-Q2_K_XL, Q4_K_L, IQ3_S-2.69bpw ...) and their weights
# --------------------------------------------------------------------------------------

# A quant label as publishers put it in file and folder names: an optional dynamic-quant
# prefix (unsloth's "UD-"), a GGML/llama-quantize core name (Q2_K_XL, Q4_0_8_8, IQ1_S,
# MXFP4, BF16 ...) and an optional effective size (byteshape's "-2.69bpw").
PUBLISHED_LABEL = re.compile(
    r"(?P<prefix>UD-)?"
    r"(?P<core>I?Q[1-8](?:_[0-9A-Z]{1,3}){0,3}|TQ[12]_0|BF16|F16|F32|MXFP4(?:_MOE)?)"
    r"(?P<bpw>-\d{1,2}(?:\.\d{1,3})?BPW)?",
    re.IGNORECASE,
)


def canonical_published_label(label: str) -> str:
    """A published file's quant label in its canonical spelling (``ud-q2_k_xl`` ->
    ``UD-Q2_K_XL``, ``iq3_s-2.69BPW`` -> ``IQ3_S-2.69bpw``); EngineError naming
    ``quant`` when the text is not such a label."""
    text = label.strip() if isinstance(label, str) else ""
    match = PUBLISHED_LABEL.fullmatch(text)
    if match is None:
        raise EngineError(f"'{text[:40]}' is not a quant label such as UD-Q2_K_XL", "quant")
    bpw = (match["bpw"] or "").upper().replace("BPW", "bpw")
    return f"{(match['prefix'] or '').upper()}{match['core'].upper()}{bpw}"


def is_standard(label: str) -> bool:
    """True for a llama-quantize preset or a release type (sized by prediction)."""
    name = label.strip().upper() if isinstance(label, str) else ""
    return name in PRESETS or name in RELEASE_TYPES


def validate_label(label: str) -> str:
    """The canonical form of any quant an estimate may carry: a preset, a release type,
    or a published file's label (whose weights the caller passes; see
    :func:`calculator.engine.estimate.footprint`)."""
    try:
        return canonical_quant(label)
    except EngineError:
        try:
            return canonical_published_label(label)
        except EngineError:
            pass
        raise


def closest_preset(arch: Architecture, total_bytes: int) -> str:
    """The standard preset whose predicted file is nearest ``total_bytes`` (K- and
    I-quants, Q8_0 and the float types; ties to the larger file)."""
    names = [
        name
        for name, p in PRESETS.items()
        if (p.group in (_K, _I, _I_IMATRIX, _FLOAT) and name != "F32")
        or name in ("Q8_0", "MXFP4_MOE")
    ]
    if arch.native_dtype != "mxfp4":
        names.remove("MXFP4_MOE")
    return min(
        names,
        key=lambda n: (abs(weights_bytes(arch, n).total_bytes - total_bytes),
                       -weights_bytes(arch, n).total_bytes),
    )  # fmt: skip


def _split(total: int, shares: Iterable[int]) -> tuple[int, ...]:
    """``total`` split in proportion to ``shares`` (whole bytes; the rounding remainder
    goes to the largest share, so the parts add up to ``total`` exactly)."""
    parts = list(shares)
    whole = sum(parts)
    if whole <= 0:
        return tuple(0 for _ in parts)
    out = [total * p // whole for p in parts]
    if out:
        biggest = max(range(len(parts)), key=lambda i: parts[i])
        out[biggest] += total - sum(out)
    return tuple(out)


def scaled_breakdown(template: WeightsBreakdown, total_bytes: int, label: str) -> WeightsBreakdown:
    """A published file of ``total_bytes`` whose tensor mix is not known: its bytes split
    in the proportions of ``template`` (the closest standard preset's prediction)."""
    if total_bytes <= 0:
        raise EngineError("a published file needs a size above 0 bytes", "quant")
    expert, embd, output, _rest = _split(
        total_bytes,
        (
            template.expert_bytes,
            template.token_embd_bytes,
            template.output_bytes,
            template.non_expert_bytes - template.token_embd_bytes - template.output_bytes,
        ),
    )
    by_type = _split(total_bytes, (size for _, size in template.bytes_by_type))
    return WeightsBreakdown(
        preset=label,
        total_bytes=total_bytes,
        n_params=template.n_params,
        bytes_by_type=tuple(
            (name, size) for (name, _), size in zip(template.bytes_by_type, by_type, strict=True)
        ),
        expert_bytes=expert,
        non_expert_bytes=total_bytes - expert,
        token_embd_bytes=embd,
        output_bytes=output,
        layer_bytes=tuple(
            size * total_bytes // (template.total_bytes or 1) for size in template.layer_bytes
        ),
    )


def measured_breakdown(
    label: str,
    *,
    total_bytes: int,
    tensors: WeightsBreakdown,
) -> WeightsBreakdown:
    """A published file whose tensor list was read (``tensors``, from
    :func:`file_breakdown`): its weights are the whole file, ``total_bytes``; what the
    tensor data leaves over (metadata, vocabulary, alignment padding) counts with the
    non-expert weights, which stay resident like it."""
    if total_bytes < tensors.total_bytes:
        raise EngineError(
            f"the file ({total_bytes:,} bytes) is smaller than its tensors "
            f"({tensors.total_bytes:,} bytes)",
            "quant",
        )
    return WeightsBreakdown(
        preset=label,
        total_bytes=total_bytes,
        n_params=tensors.n_params,
        bytes_by_type=tensors.bytes_by_type,
        expert_bytes=tensors.expert_bytes,
        non_expert_bytes=total_bytes - tensors.expert_bytes,
        token_embd_bytes=tensors.token_embd_bytes,
        output_bytes=tensors.output_bytes,
        layer_bytes=tensors.layer_bytes,
    )
