"""Questions and answers derived from the sizing engine.

Plain functions: each per-model answer is composed from the same engine calls the
model page makes (``services.estimate_for``, ``services.best_quant_for`` (the engine's
one best-quant rule, ``fit.best_quant_on``), ``services.estimate_on_builds`` with the
build verdict, ``quant.native_weights_bytes``), and records every figure it states as a
:class:`Figure` (metric, inputs, value, printed text). Tests recompute each
figure with the engine; the admin compares editors' overrides against them.
Nothing numeric is typed here: change the spec or the engine and the answers
follow.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from calculator import services
from calculator.engine import context as context_limits
from calculator.engine.build import Build
from calculator.engine.estimate import Estimate, Options
from calculator.engine.fit import ladder, total_bytes
from calculator.engine.hardware import GIB, OS_RESERVE_BYTES, PLANNING_FILL
from calculator.engine.quant import native_weights_bytes
from calculator.engine.speed import SpeedEstimate
from calculator.engine.types import SUPPORTED, Architecture
from calculator.engine.verdict import build_verdict
from calculator.formatting import ctx, gb, params, tps
from calculator.models import LlmModel

# --- what the answers are about ---------------------------------------------------

DEFAULT_QUANT = Options().quant  # the page's default (Q4_K_M)
DEFAULT_CONTEXT = Options().context  # 8K
POPULAR_QUANTS = ("Q4_K_M", "Q5_K_M", "Q8_0")
CONTEXT_POINTS = (8 * 1024, 32 * 1024)  # plus the model's maximum
FIT_BUDGETS_GB = (16, 24, 32, 64, 128, 192, 512)
KV_TYPES_COMPARED = ("f16", "q8_0", "q4_0")
GPU_EXAMPLE = "rtx-4090"  # "can I run X on a 4090" is the most common hardware query
MAX_LISTED = 3

# The GGUF preset that holds a release at its own precision. FP8 has no GGUF type:
# llama.cpp's converter upcasts FP8 checkpoints to BF16.
NATIVE_PRESET = {"bf16": "BF16", "f16": "F16", "f32": "F32", "fp8": "BF16", "mxfp4": "MXFP4_MOE"}
DTYPE_LABEL = {"bf16": "BF16", "f16": "FP16", "f32": "FP32", "fp8": "FP8", "mxfp4": "MXFP4"}

# Why a release ships in FP8 rather than 16-bit, by config model_type (documented facts
# about how each family was trained and released; no figures).
FP8_REASON = {
    "deepseek_v3": (
        "DeepSeek trained V3 (and R1, which is built on V3) with FP8 mixed precision, so "
        "the FP8 checkpoint is the original model, not a compressed copy."
    ),
    "kimi_k2": (
        "Kimi K2 uses DeepSeek V3's architecture, and Moonshot released it in the same "
        "block-wise FP8 format."
    ),
}
FP8_REASON_DEFAULT = "Its developers released the weights in FP8."


# --- value types ------------------------------------------------------------------

# Metrics a figure can state. Outputs are recomputed by tests; inputs are the givens
# an answer names (a budget, a context) and are only checked to appear in the text.
OUTPUT_METRICS = (
    "total_params", "active_params", "context_length", "native_bytes", "weights_bytes",
    "total_bytes", "recommended_ram_gb", "kv_bytes", "best_quant", "tokens_per_s",
)  # fmt: skip
INPUT_METRICS = ("context", "budget_gb", "hardware_memory_gb")


@dataclass(frozen=True, slots=True)
class Figure:
    """One number an answer states, with the engine inputs that produced it."""

    metric: str
    value: int | float | str | None
    text: str  # exactly as printed in the answer
    quant: str | None = None
    context: int | None = None
    kv_type: str | None = None
    budget_gb: float | None = None
    hardware: str | None = None

    @property
    def is_input(self) -> bool:
        return self.metric in INPUT_METRICS


@dataclass(frozen=True, slots=True)
class QA:
    key: str
    question: str
    answer: str  # plain text; templates escape it
    figures: tuple[Figure, ...] = ()
    source: str = "generated"  # "generated", "edited" (override) or "added" (editor's)


@dataclass(frozen=True)
class ModelFaq:
    """A model's questions in page order; iterates like a list of :class:`QA`."""

    model_slug: str
    model_name: str
    url: str
    entries: tuple[QA, ...] = field(default=())

    def __iter__(self) -> Iterator[QA]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    @property
    def figures(self) -> tuple[Figure, ...]:
        return tuple(f for qa in self.entries for f in qa.figures)


# --- formatting (the calculator page's own filters, so figures read the same) -------


def ram_text(ram_gb: int | None) -> str:
    return f"{ram_gb} GB" if ram_gb else "more than 2 TB"


def _join(items: list[str], last: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def _context_for(arch: Architecture) -> int:
    """The page's default context, or the model's whole window when that is shorter."""
    return min(DEFAULT_CONTEXT, arch.n_ctx_train)


class _Builder:
    """Collects the figures one answer states while its sentences are written."""

    def __init__(self) -> None:
        self.figures: list[Figure] = []

    def fig(self, metric: str, value: Any, text: str, **inputs: Any) -> str:
        self.figures.append(Figure(metric, value, text, **inputs))
        return text

    def qa(self, key: str, question: str, parts: list[str]) -> QA:
        return QA(key, question, " ".join(p for p in parts if p), tuple(self.figures))


# --- the engine calls, shared by all answers of one model ---------------------------


@dataclass
class _Ctx:
    model_name: str
    arch: Architecture
    hardware: services.HardwareSet
    _estimates: dict[Options, Estimate] = field(default_factory=dict)

    def estimate(self, quant: str, context: int, kv_type: str = "f16") -> Estimate:
        options = Options(quant=quant, context=context, kv_type=kv_type)
        if options not in self._estimates:
            self._estimates[options] = services.estimate_for(self.arch, options, self.hardware)
        return self._estimates[options]


def _best(c: _Ctx, options: Options, build: Build) -> str | None:
    """The one best-quant rule (``services.best_quant_for``), as every page applies it."""
    pick = services.best_quant_for(c.arch, options, build, c.hardware)
    return pick.quant if pick else None


def _speed(est: Estimate, slug: str) -> SpeedEstimate | None:
    return next((s for s in est.speeds if s.hardware.slug == slug), None)


# --- per-model answers --------------------------------------------------------------


def _quants_for(arch: Architecture) -> list[str]:
    quants = list(POPULAR_QUANTS)
    if arch.native_dtype == "mxfp4":
        quants.insert(0, "MXFP4_MOE")
    return quants


def ram_answer(c: _Ctx) -> QA:
    b, name, arch = _Builder(), c.model_name, c.arch
    context = _context_for(arch)
    first, *rest = _quants_for(arch)
    est = c.estimate(first, context)
    m = est.memory
    q = {"quant": first, "context": context, "kv_type": "f16"}
    parts = [
        f"At {first} with {b.fig('context', context, ctx(context), context=context)} context, "
        f"{name} needs {b.fig('total_bytes', m.total_bytes, gb(m.total_bytes), **q)} in total: "
        f"{b.fig('weights_bytes', m.weights_bytes, gb(m.weights_bytes), quant=first)} of weights "
        f"and {b.fig('kv_bytes', est.kv.total_bytes, gb(est.kv.total_bytes), context=context, kv_type='f16')} "  # noqa: E501
        "of KV cache, plus the compute buffer and a reserve for the runtime and the operating "
        f"system. Plan for {b.fig('recommended_ram_gb', est.recommended_ram_gb, ram_text(est.recommended_ram_gb), **q)} "  # noqa: E501
        "of RAM (or VRAM).",
    ]
    others = []
    for quant in rest:
        e = c.estimate(quant, context)
        q = {"quant": quant, "context": context, "kv_type": "f16"}
        others.append(
            f"{quant} needs {b.fig('total_bytes', e.memory.total_bytes, gb(e.memory.total_bytes), **q)}"  # noqa: E501
            f" ({b.fig('weights_bytes', e.memory.weights_bytes, gb(e.memory.weights_bytes), quant=quant)} "  # noqa: E501
            f"of weights), so plan for {b.fig('recommended_ram_gb', e.recommended_ram_gb, ram_text(e.recommended_ram_gb), **q)}"  # noqa: E501
        )
    parts.append(f"At the same context, {'; '.join(others)}.")
    parts.append(
        f"We recommend the smallest memory size the total fills to at most {PLANNING_FILL:.0%}."
    )
    return b.qa("ram", f"How much RAM does {name} need?", parts)


def native_answer(c: _Ctx) -> QA:
    b, name, arch = _Builder(), c.model_name, c.arch
    dtype = arch.native_dtype
    label = DTYPE_LABEL.get(dtype, dtype.upper())
    native = native_weights_bytes(arch)
    preset = NATIVE_PRESET.get(dtype, "BF16")
    context = _context_for(arch)
    est = c.estimate(preset, context)
    q = {"quant": preset, "context": context, "kv_type": "f16"}
    native_txt = b.fig("native_bytes", native, gb(native))
    total_txt = b.fig("total_bytes", est.memory.total_bytes, gb(est.memory.total_bytes), **q)
    ram_txt = b.fig(
        "recommended_ram_gb", est.recommended_ram_gb, ram_text(est.recommended_ram_gb), **q
    )
    ctx_txt = b.fig("context", context, ctx(context), context=context)
    if dtype == "fp8":
        q8 = c.estimate("Q8_0", context)
        q8q = {"quant": "Q8_0", "context": context, "kv_type": "f16"}
        reason = FP8_REASON.get(arch.model_type, FP8_REASON_DEFAULT)
        parts = [
            f"{name}'s native precision is FP8, not FP16 or BF16: the released weights are "
            f"8-bit floats (e4m3, with a scale for every 128×128 block), {native_txt} in all.",
            reason,
            "A 16-bit copy would be about twice the size with nothing to gain. llama.cpp has no "
            "FP8 type, so converting to GGUF upcasts the weights to BF16: "
            f"{b.fig('weights_bytes', est.memory.weights_bytes, gb(est.memory.weights_bytes), quant=preset)}"  # noqa: E501
            f" of weights, {total_txt} in total at {ctx_txt}, so plan for {ram_txt}.",
            f"Q8_0 is the practical near-lossless choice: "
            f"{b.fig('total_bytes', q8.memory.total_bytes, gb(q8.memory.total_bytes), **q8q)}, "
            f"plan for {b.fig('recommended_ram_gb', q8.recommended_ram_gb, ram_text(q8.recommended_ram_gb), **q8q)}.",  # noqa: E501
        ]
        question = f"Why is {name} released in FP8, and what does full precision need?"
    elif dtype == "mxfp4":
        parts = [
            f"{name} is released with its Mixture-of-Experts weights in MXFP4 (4-bit floats "
            "sharing a scale per block of 32) and everything else in BF16: "
            f"{native_txt} of weights. The model was post-trained with its experts in MXFP4, "
            "so this is its native precision; a 16-bit copy would be far larger with no "
            "quality to gain.",
            f"In llama.cpp the matching GGUF is {preset}: {total_txt} in total at {ctx_txt}, "
            f"so plan for {ram_txt}.",
        ]
        question = f"What is {name}'s native precision (MXFP4), and how much memory does it need?"
    else:
        parts = [
            f"{name} is released in {label} (16-bit, 2 bytes per parameter): {native_txt} of "
            f"weights. Running it unquantized as a {preset} GGUF takes {total_txt} in total at "
            f"{ctx_txt}, so plan for {ram_txt}.",
        ]
        if dtype in ("bf16", "f16"):
            q8 = c.estimate("Q8_0", context)
            q8q = {"quant": "Q8_0", "context": context, "kv_type": "f16"}
            parts.append(
                "Q8_0 roughly halves that with essentially no quality loss: "
                f"{b.fig('total_bytes', q8.memory.total_bytes, gb(q8.memory.total_bytes), **q8q)}, "  # noqa: E501
                f"plan for {b.fig('recommended_ram_gb', q8.recommended_ram_gb, ram_text(q8.recommended_ram_gb), **q8q)}."  # noqa: E501
            )
        question = f"What does {name} need at full precision ({label})?"
    return b.qa("native", question, parts)


def architecture_answer(c: _Ctx) -> QA:
    b, name, arch = _Builder(), c.model_name, c.arch
    total = b.fig("total_params", arch.total_params, params(arch.total_params))
    question = f"Is {name} dense or Mixture-of-Experts (MoE)?"
    if arch.is_moe:
        active = b.fig("active_params", arch.active_params, params(arch.active_params))
        shared = (
            f" plus {arch.n_expert_shared} shared expert{'s' if arch.n_expert_shared > 1 else ''}"
            if arch.n_expert_shared
            else ""
        )
        parts = [
            f"{name} is a Mixture-of-Experts (MoE) model: {total} parameters in all, of which "
            f"only about {active} are active for each token ({arch.n_expert_used} of "
            f"{arch.n_expert} routed experts per MoE layer{shared}).",
            f"Memory must still hold all {total}, because any expert can be picked for the next "
            f"token. Speed follows the ~{active} read per token, so it generates much faster "
            "than a dense model of the same total size, and it runs well from system RAM or "
            "with the experts offloaded from a GPU to RAM.",
        ]
    else:
        parts = [
            f"{name} is a dense model: all {total} parameters are used for every token; it "
            "has no experts.",
            "Memory and speed both scale with its full size: each generated token reads the "
            "whole set of weights from memory, so generation speed is roughly memory bandwidth "
            "divided by the size of the weights file.",
        ]
    return b.qa("architecture", question, parts)


def _attention_note(arch: Architecture) -> str:
    kinds = {layer.kind for layer in arch.kv_layers}
    notes = []
    if arch.mla is not None:
        notes.append(
            "It uses Multi-head Latent Attention (MLA), "
            "which caches one compressed latent vector per token and layer, so its KV cache is "
            "small for a model of its size."
        )
    if "sliding" in kinds:
        notes.append(
            "Some layers use sliding-window attention and cache only their window, so the "
            "cache grows more slowly than with full attention everywhere."
        )
    if "recurrent" in kinds:
        notes.append(
            "Its recurrent layers keep a fixed-size state that does not grow with context."
        )
    return " ".join(notes)


def context_answer(c: _Ctx) -> QA:
    b, name, arch = _Builder(), c.model_name, c.arch
    quant = DEFAULT_QUANT
    lim = context_limits.limits(arch)  # the documented context (Qwen3: 131,072 with YaRN)
    full = lim.extended
    points = [n for n in CONTEXT_POINTS if n < full] + [full]
    rows = []
    for n in points:
        e = c.estimate(quant, n)
        q = {"quant": quant, "context": n, "kv_type": "f16"}
        label = b.fig("context", n, ctx(n), context=n)
        if n == full:
            label = f"the full {label} ({b.fig('context_length', n, f'{n:,} tokens')})"
        rows.append(
            f"at {label} the KV cache is "
            f"{b.fig('kv_bytes', e.kv.total_bytes, gb(e.kv.total_bytes), context=n, kv_type='f16')}"
            f" and the total {b.fig('total_bytes', e.memory.total_bytes, gb(e.memory.total_bytes), **q)}"  # noqa: E501
            f" (plan for {b.fig('recommended_ram_gb', e.recommended_ram_gb, ram_text(e.recommended_ram_gb), **q)})"  # noqa: E501
        )
    parts = [
        "Context length sets the size of the KV cache (the keys and values kept for every "
        f"token in the conversation); the weights stay the same. For {name} at {quant}, "
        f"{_join(rows, 'and')}.",
        (
            f"{name} runs {lim.native:,} tokens natively; past that llama.cpp needs "
            f"{lim.method} rope scaling (factor {lim.factor:g}, as the model card documents), "
            f"which the commands here add: {' '.join(context_limits.rope_flags(arch, full))}."
            if lim.extended > lim.native and lim.factor is not None
            else ""
        ),
        _attention_note(arch),
        " ".join(arch.notes),
    ]
    return b.qa("context", f"How does context length change {name}'s memory use?", parts)


def fits_answer(c: _Ctx) -> QA:
    b, name, arch = _Builder(), c.model_name, c.arch
    context = _context_for(arch)
    options = Options(context=context)
    rows = []
    for size in FIT_BUDGETS_GB:
        pick = _best(c, options, services.ram_machine(size, c.hardware))
        budget = b.fig("budget_gb", size, f"{size} GB", budget_gb=size)
        text = b.fig("best_quant", pick, pick or "nothing", context=context, budget_gb=size)
        rows.append(f"{budget}: {text}")
    smallest = ladder(arch)[-1]
    smallest_total = total_bytes(arch, replace(options, quant=smallest))
    q = {"quant": smallest, "context": context, "kv_type": "f16"}
    parts = [
        f"The best quantization of {name} for a PC with each amount of RAM, with "
        f"{b.fig('context', context, ctx(context), context=context)} context: "
        f"{'; '.join(rows)}.",
        f"The smallest file, {smallest}, needs "
        f"{b.fig('total_bytes', smallest_total, gb(smallest_total), **q)} in total.",
        "The pick is the one every page and the API make: the highest quality that runs "
        f"(the whole estimate within {PLANNING_FILL:.0%} of the memory before a tighter fit), "
        "K- and I-quants before legacy types of the same size, and nothing under about 3 "
        "bits per weight, which loses noticeable quality, while a larger quant runs.",
    ]
    return b.qa(
        "fits",
        f"Which {name} quantization fits in {_join([f'{s} GB' for s in FIT_BUDGETS_GB], 'or')}?",
        parts,
    )


def _tps_fig(b: _Builder, s: SpeedEstimate, quant: str, context: int) -> str:
    return b.fig(
        "tokens_per_s", s.tokens_per_s, tps(s.tokens_per_s),
        hardware=s.hardware.slug, quant=quant, context=context,
    )  # fmt: skip


def _speed_text(b: _Builder, s: SpeedEstimate, quant: str, context: int, label: str) -> str:
    return f"{label} (about {_tps_fig(b, s, quant, context)} tokens/s)"


def _no_llama_cpp(c: _Ctx, key: str, question: str) -> QA | None:
    """Where mainline llama.cpp cannot load the architecture, say so instead of speeds."""
    if c.arch.llama_cpp_status == SUPPORTED:
        return None
    b, quant, context = _Builder(), DEFAULT_QUANT, _context_for(c.arch)
    est = c.estimate(quant, context)
    ram = b.fig(
        "recommended_ram_gb", est.recommended_ram_gb, ram_text(est.recommended_ram_gb),
        quant=quant, context=context, kv_type="f16",
    )  # fmt: skip
    parts = [
        f"Not with llama.cpp yet. {c.arch.llama_cpp_note}",
        f"At {quant} with {ctx(context)} context it would need {ram} of memory; we give no "
        "speeds until a runtime we measure can load it.",
    ]
    return b.qa(key, question, parts)


def hardware_answer(c: _Ctx) -> QA:
    b, name, arch = _Builder(), c.model_name, c.arch
    unsupported = _no_llama_cpp(c, "hardware", f"Which GPUs or Macs run {name}, and how fast?")
    if unsupported is not None:
        return unsupported
    quant, context = DEFAULT_QUANT, _context_for(arch)
    est = c.estimate(quant, context)
    builds = services.estimate_on_builds(arch, Options(quant=quant, context=context), c.hardware)
    ver = build_verdict(builds.placements, builds.estimate.recommended_ram_gb)
    b.fig(
        "recommended_ram_gb", est.recommended_ram_gb, ram_text(est.recommended_ram_gb),
        quant=quant, context=context, kv_type="f16",
    )  # fmt: skip
    runnable = [s for s in est.speeds if s.mode != "does_not_fit" and s.tokens_per_s]
    gpus = sorted(
        (s for s in runnable if s.hardware.kind == "gpu" and s.fits),
        key=lambda s: (s.hardware.memory_gb, -(s.tokens_per_s or 0)),
    )
    offload = sorted(
        (s for s in runnable if s.hardware.kind == "gpu" and not s.fits),
        key=lambda s: -(s.tokens_per_s or 0),
    )
    macs = sorted(
        (s for s in runnable if s.hardware.kind == "apple"),
        key=lambda s: (s.hardware.memory_gb, -(s.tokens_per_s or 0)),
    )
    parts = [f"At {quant} with {ctx(context)} context: {ver.headline}"]
    if gpus:
        listed = [_speed_text(b, s, quant, context, s.hardware.name) for s in gpus[:MAX_LISTED]]
        parts.append(f"Single GPUs that hold it whole: {_join(listed, 'or')}.")
    elif offload:
        listed = [_speed_text(b, s, quant, context, s.hardware.name) for s in offload[:2]]
        how = "the routed experts" if arch.is_moe else "some layers"
        parts.append(
            f"No single GPU we list holds it whole; with {how} in system RAM it runs on "
            f"{_join(listed, 'or')}."
        )
    else:
        parts.append("No single GPU we list runs it, even with system RAM added.")
    if macs:
        smallest = macs[0]
        fastest = max(macs, key=lambda s: s.tokens_per_s or 0)
        listed = [_speed_text(b, smallest, quant, context, smallest.hardware.name)]
        if fastest is not smallest:
            listed.append(_speed_text(b, fastest, quant, context, fastest.hardware.name))
        parts.append(
            f"On a Mac: the smallest that runs it is {listed[0]}"
            + (f"; the fastest, {listed[1]}." if len(listed) > 1 else ".")
        )
    else:
        parts.append("No Mac we list has enough unified memory for it at this quant.")
    example = _speed(est, GPU_EXAMPLE)
    if example is not None:
        card = (
            f"an {example.hardware.name} "
            f"({b.fig('hardware_memory_gb', example.hardware.memory_gb, f'{example.hardware.memory_gb:g} GB', hardware=example.hardware.slug)})"  # noqa: E501
        )
        if example.mode == "does_not_fit" or not example.tokens_per_s:
            parts.append(f"On {card}: it does not run at {quant}, even with system RAM.")
        else:
            how = (
                "it fits whole" if example.fits else "it runs with part of the model in system RAM"
            )
            parts.append(
                f"On {card}: {how}, at about {_tps_fig(b, example, quant, context)} tokens/s."
            )
    return b.qa("hardware", f"Which GPUs or Macs run {name}, and how fast?", parts)


def cpu_answer(c: _Ctx) -> QA:
    b, name, arch = _Builder(), c.model_name, c.arch
    quant, context = DEFAULT_QUANT, _context_for(arch)
    desktops = [p for p in c.hardware.profiles if p.kind == "cpu" and p.tier == "desktop"]
    question = f"Can {name} run on a CPU-only desktop PC?"
    unsupported = _no_llama_cpp(c, "cpu", question)
    if unsupported is not None:
        return unsupported
    if not desktops:
        return b.qa(question=question, key="cpu", parts=["We list no desktop PC profile."])
    est = c.estimate(quant, context)
    fitting = [s for s in est.speeds if s.hardware in desktops and s.fits and s.tokens_per_s]
    ram = b.fig(
        "recommended_ram_gb", est.recommended_ram_gb, ram_text(est.recommended_ram_gb),
        quant=quant, context=context, kv_type="f16",
    )  # fmt: skip
    if fitting:
        listed = [_speed_text(b, s, quant, context, s.hardware.name) for s in fitting]
        parts = [
            f"Yes. At {quant} with {ctx(context)} context it needs {ram} of RAM and runs "
            f"from system memory on {_join(listed, 'or')}.",
        ]
    else:
        biggest = max(desktops, key=lambda p: (p.memory_gb, p.bandwidth_gbps))
        cap = b.fig(
            "hardware_memory_gb", biggest.memory_gb, f"{biggest.memory_gb:g} GB",
            hardware=biggest.slug,
        )  # fmt: skip
        pick = _best(c, Options(context=context), services.profile_build(biggest, c.hardware))
        parts = [
            f"Not at {quant}: that needs {ram} of RAM, and a desktop platform takes at most "
            f"{cap} ({biggest.name})."
        ]
        if pick:
            e = c.estimate(pick, context)
            s = _speed(e, biggest.slug)
            pick_txt = b.fig("best_quant", pick, pick, context=context, budget_gb=biggest.memory_gb)
            if s is not None and s.tokens_per_s:
                parts.append(
                    f"The best quantization that fits {cap} is {pick_txt}, at about "
                    f"{_tps_fig(b, s, pick, context)} tokens/s on that desktop."
                )
        else:
            parts.append(
                "Not even its smallest quantization fits, so it needs a workstation or server "
                "platform with more memory channels and slots."
            )
    parts.append(
        "On a CPU, speed is set by memory bandwidth: dual-channel desktops have a fraction of "
        "the bandwidth of a GPU or a Mac, so "
        + (
            "an MoE model, which reads only its active experts per token, suits them far better "
            "than a dense model of the same size."
            if arch.is_moe
            else "dense models of this size run correspondingly slower than on a GPU."
        )
    )
    return b.qa("cpu", question, parts)


def kv_quant_answer(c: _Ctx) -> QA:
    b, name, arch = _Builder(), c.model_name, c.arch
    quant = DEFAULT_QUANT
    context = min(CONTEXT_POINTS[-1], arch.n_ctx_train)
    sizes = []
    for kv_type in KV_TYPES_COMPARED:
        e = c.estimate(quant, context, kv_type)
        sizes.append(
            f"{kv_type} {b.fig('kv_bytes', e.kv.total_bytes, gb(e.kv.total_bytes), context=context, kv_type=kv_type)}"  # noqa: E501
        )
    full = arch.n_ctx_train
    full_sizes = []
    if full != context:
        for kv_type in ("f16", "q8_0"):
            e = c.estimate(quant, full, kv_type)
            full_sizes.append(
                f"{kv_type} {b.fig('kv_bytes', e.kv.total_bytes, gb(e.kv.total_bytes), context=full, kv_type=kv_type)}"  # noqa: E501
            )
    parts = [
        "llama.cpp can store the KV cache at lower precision (-ctk and -ctv, with flash "
        f"attention on). For {name} with "
        f"{b.fig('context', context, ctx(context), context=context)} of context the cache takes "
        f"{_join(sizes, 'and')}.",
        (
            f"At the full {b.fig('context', full, ctx(full), context=full)} context: "
            f"{_join(full_sizes, 'versus')}."
            if full_sizes
            else ""
        ),
        "q8_0 is close to lossless; q4_0 costs some quality on long contexts. The weights are "
        "unchanged, so this matters most at long context.",
    ]
    return b.qa("kv-quant", f"How much memory does KV-cache quantization save for {name}?", parts)


BUILDERS = (
    ram_answer, native_answer, architecture_answer, context_answer, fits_answer,
    hardware_answer, cpu_answer, kv_quant_answer,
)  # fmt: skip
MODEL_KEYS: tuple[tuple[str, str], ...] = (
    ("ram", "RAM at popular quants"),
    ("native", "Native precision"),
    ("architecture", "Dense or MoE"),
    ("context", "Context length and memory"),
    ("fits", "Quant that fits a memory size"),
    ("hardware", "GPUs and Macs, speed"),
    ("cpu", "CPU-only desktop"),
    ("kv-quant", "KV-cache quantization"),
)


def build_model_faq(
    model: LlmModel, arch: Architecture, hardware: services.HardwareSet
) -> tuple[QA, ...]:
    """Every generated answer for ``model`` (no caching, no overrides)."""
    c = _Ctx(model.name, arch, hardware)
    return tuple(build(c) for build in BUILDERS)


# --- a model's generated answers ---------------------------------------------------


def generated_faq(model: LlmModel, hardware: services.HardwareSet | None = None) -> tuple[QA, ...]:
    """The engine's answers for ``model`` (the pages showing them are served from the
    response cache; the engine memoises the figures they repeat)."""
    hardware = hardware or services.hardware_set()
    return build_model_faq(model, services.architecture_of(model), hardware)


# --- site-wide questions (text only: no model's figures) -----------------------------


def general_faq() -> tuple[QA, ...]:
    reserve = f"{OS_RESERVE_BYTES / GIB:g} GiB"
    fill = f"{PLANNING_FILL:.0%}"
    return (
        QA(
            "quantization",
            "What is quantization?",
            "Quantization stores a model's weights with fewer bits than the 16 it was usually "
            "released in. llama.cpp's GGUF presets such as Q8_0, Q5_K_M and Q4_K_M keep the "
            "most sensitive tensors (attention, output) at higher precision and the rest at "
            "4–8 bits, so the file shrinks to a half, a third or less with a small loss in "
            "quality. Smaller files also run faster, because every generated token reads the "
            "weights from memory. Below about 3 bits per weight the loss becomes clearly "
            "noticeable, and only very large models stay useful.",
        ),
        QA(
            "kv-cache",
            "What is the KV cache?",
            "While generating, a transformer keeps the attention keys and values of every "
            "token it has seen so it does not recompute them: that is the KV cache. It grows "
            "linearly with context length (and with parallel sequences), so a long context can "
            "need as much memory as the weights. Its size depends on the architecture: grouped-"
            "query attention, sliding windows and DeepSeek's latent attention (MLA) all shrink "
            "it. llama.cpp can also store it as q8_0 or q4_0 to halve or quarter it.",
        ),
        QA(
            "bandwidth",
            "Why does memory bandwidth set generation speed?",
            "To produce each token, the runtime reads every active weight (and the KV cache) "
            "from memory once, and does comparatively little arithmetic on it. The processor "
            "spends most of its time waiting for memory, so tokens per second is roughly "
            "bandwidth divided by the bytes read per token, times an efficiency that we "
            "measured for each kind of hardware. A smaller quant or an MoE model (fewer "
            "active parameters) reads less per token and runs faster; prompt processing, by "
            "contrast, is limited by compute.",
        ),
        QA(
            "memory-types",
            "DDR4 vs DDR5 vs unified memory vs VRAM: what is the difference for LLMs?",
            "They differ mostly in bandwidth. Desktop DDR4 and DDR5 run on two memory "
            "channels, so they are cheap per gigabyte and hold large models, but are the "
            "slowest; DDR5 is faster than DDR4 per channel. Workstation and server platforms "
            "multiply the channels (4 to 12 per socket), and with them the speed. Apple "
            "silicon and AMD Strix Halo use unified memory: one pool on a wide bus that the "
            "GPU can use, faster than desktop RAM, though the GPU may only use part of it by "
            "default. GPU VRAM (GDDR or HBM) is the fastest by far but small and expensive per "
            "gigabyte; a model that does not fit spills into system RAM and slows to its "
            "speed.",
        ),
        QA(
            "moe",
            "What is a Mixture-of-Experts (MoE) model?",
            "An MoE model replaces each feed-forward block with many expert blocks and a "
            "router that picks a few of them for each token. All experts must be in memory, "
            "but only the chosen ones are read per token, so an MoE model needs memory for its "
            "total parameters and runs at the speed of its much smaller active parameters. "
            "That makes large MoE models practical on CPUs and Macs with lots of memory, and "
            "on GPUs that keep attention in VRAM and the experts in system RAM.",
        ),
        QA(
            "fits",
            "What does “fits” mean on this site?",
            "An estimate counts the weights, the KV cache, llama.cpp's compute buffer, the "
            f"free margin llama.cpp keeps on every device and a {reserve} reserve for the "
            f"operating system. A model fits a machine comfortably when that total stays "
            f"within {fill} of its memory, and the RAM we recommend is the smallest size sold "
            "that meets that rule. It fits tightly when it runs with less headroom (we say "
            "how much is left and what to change, such as macOS's GPU memory limit), runs "
            "with offload when part of it sits in slower system RAM beside the GPUs, and "
            "does not fit otherwise. GPUs use their VRAM; Macs and other unified-memory "
            "machines use the share their GPU may take. Every page, FAQ answer and API "
            "response uses this one rule.",
        ),
    )
