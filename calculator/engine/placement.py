"""Where llama.cpp puts a model on a build, how fast it decodes and reads a prompt, and
the ``llama-server`` line that does it.

Placement follows llama.cpp's defaults:

* **GPUs** (one or several): layer split (``-sm layer``, the default), each GPU's share
  proportional to its free VRAM (what llama.cpp does when ``-ts`` is not given; the
  command spells ``-ts`` out for mixed cards). Every token passes through the GPUs in
  turn, so decode time is the sum over devices of the bytes read there ÷ their rate.
  Row and tensor split are not modelled (no measurements to check them against).
* **MoE that does not fit the VRAM**: attention, shared experts, dense layers and the KV
  cache on the GPU(s), routed experts of as few layers as possible in system RAM
  (``--n-cpu-moe N``; ``-ot exps=CPU`` when none fit).
* **Dense models that do not fit**: the first layers in system RAM, ``-ngl N`` on the
  GPU(s); none on the GPU when no layer fits (the GPU still reads prompts).
* **Unified memory** (Mac, APU): everything in the GPU's share of memory.
* **CPU only**: everything in system RAM; two sockets per the platform's NUMA rule.

Decode: ``seconds/token = overhead + sum(bytes read in a pool ÷ (efficiency x bandwidth,
capped by the pool's read ceiling))``, MoE at ``moe_penalty`` of the dense efficiency,
plus ``extra_gpu_ms`` for each GPU after the first; routed experts in system RAM read at
the engine's CPU expert rate (``Tuning.host_moe_factor``, 1 for llama.cpp). Prefill:
:mod:`prefill`, plus the weights kept in system RAM copied to the first GPU for every
micro-batch at ``Tuning.link_efficiency`` of its PCIe link; :func:`prompt_seconds_on` times
any prompt length, depth and ``-ub`` on a plan. Fit: :func:`~calculator.engine.pools.classify`,
the one rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

from calculator.engine.build import Build, Tuning
from calculator.engine.command import llama_cpp_command
from calculator.engine.footprint import Footprint
from calculator.engine.hardware import FIT_MARGIN_BYTES, GB, HardwareProfile
from calculator.engine.kv_cache import DEFAULT_UBATCH
from calculator.engine.options import Options
from calculator.engine.pools import Fit, FitClass, Pool, classify, fit_class, host_pool, vram_pool
from calculator.engine.prefill import PP_TOKENS, MoeWeights, prompt_seconds

PlacementMode = Literal[
    "gpu", "multi_gpu", "unified", "cpu", "expert_offload", "partial_offload", "does_not_fit"
]


@dataclass(frozen=True, slots=True)
class Placement:
    """One model on one build."""

    build: Build
    fit: FitClass
    mode: PlacementMode
    tokens_per_s: float | None
    tokens_per_s_low: float | None
    tokens_per_s_high: float | None
    prefill_tokens_per_s: float | None  # pp512
    time_to_first_token_s: float | None  # the whole context as the prompt
    gpu_bytes: tuple[int, ...]  # per GPU, as llama.cpp numbers them
    host_bytes: int  # system RAM (or unified memory) the model needs
    gpu_layers: int  # -ngl
    cpu_moe_layers: int  # MoE layers whose routed experts sit in system RAM
    note: str
    short_bytes: int = 0  # does not fit: how much is missing, over all pools
    left_bytes: int = 0  # headroom before the tightest pool's hard limit
    basis: _Basis | None = None  # what the command and formula are written from

    @property
    def llama_cpp_command(self) -> str:
        """The ``llama-server`` line (empty when the model does not fit)."""
        if self.basis is None or not self.runs:
            return ""
        b = self.basis
        return _command(self.build, b.layout, b.fp, b.options)

    @property
    def formula(self) -> str:
        if self.basis is None or self.tokens_per_s is None:
            return ""
        b = self.basis
        return _formula(self.build, b.layout, b.fp, self.tokens_per_s, b.tuning)

    @property
    def fits(self) -> bool:
        """Comfortable: the machine has the recommended memory for this plan."""
        return self.fit == "comfortable"

    @property
    def runs(self) -> bool:
        return self.fit != "none"


class _Layout(NamedTuple):
    """Where the bytes sit and what each token reads from them."""

    mode: PlacementMode
    gpu_resident: int  # model bytes over all GPUs (compute buffers aside)
    gpu_read: float
    host_resident: int
    host_read: float
    stream_bytes: float  # host weights op offload copies to GPU 0 per micro-batch
    gpu_layers: int
    cpu_moe_layers: int
    note: str = ""
    stream_experts: float = 0.0  # host routed experts: only those a micro-batch routes to


class _Basis(NamedTuple):
    layout: _Layout
    fp: Footprint
    options: Options
    tuning: Tuning


def _shares(gpus: tuple[HardwareProfile, ...], compute: int) -> tuple[list[float], int]:
    """Each GPU's share of the layers (proportional to free VRAM) and the room in all."""
    free = [max(0, g.memory_bytes - FIT_MARGIN_BYTES - compute) for g in gpus]
    room = sum(free)
    return [f / room if room else 0.0 for f in free], room


def _gpu_layout(fp: Footprint, room: int) -> _Layout | None:
    whole = fp.weights_bytes + fp.kv_bytes
    read = fp.read_bytes_per_token
    if whole <= room:
        return _Layout("gpu", whole, read, 0, 0.0, 0.0, fp.n_layer + 1, 0)
    if fp.is_moe:
        base = fp.weights_bytes - fp.expert_bytes - fp.token_embd_bytes + fp.kv_bytes
        if base <= room:
            per_layer = fp.expert_bytes / fp.n_moe_layers
            on_gpu = min(fp.n_moe_layers, int((room - base) // per_layer))
            cpu = fp.n_moe_layers - on_gpu
            host_share = cpu / fp.n_moe_layers
            host_experts = fp.expert_bytes * host_share
            return _Layout(
                "expert_offload",
                int(base + per_layer * on_gpu),
                fp.dense_read_bytes + fp.kv_read_bytes + fp.expert_read_bytes * (1 - host_share),
                int(host_experts) + fp.token_embd_bytes,
                fp.expert_read_bytes * host_share,
                0.0,
                fp.n_layer + 1,
                cpu,
                f"attention, shared weights and KV cache on the GPU; routed experts of "
                f"{cpu} of {fp.n_moe_layers} layers in system RAM",
                host_experts,
            )
    layers = fp.weights_bytes - fp.token_embd_bytes - fp.output_bytes
    per_layer = (layers + fp.kv_bytes) / fp.n_layer
    space = room - fp.output_bytes
    ngl = max(0, min(fp.n_layer, int(space // per_layer))) if space > 0 else 0
    share = ngl / fp.n_layer
    active = fp.dense_read_bytes - fp.output_bytes + fp.expert_read_bytes
    host_layers = per_layer * (fp.n_layer - ngl)
    host_experts = fp.expert_bytes * (1 - share)
    if ngl == 0:
        return _Layout(
            "cpu", 0, 0.0, fp.device_bytes, fp.read_bytes_per_token,
            fp.weights_bytes - fp.expert_bytes, 0, 0,
            "too large for the GPU to help decode: runs from system RAM (the GPU still "
            "reads prompts)", fp.expert_bytes,
        )  # fmt: skip
    return _Layout(
        "partial_offload",
        int(per_layer * ngl + fp.output_bytes),
        active * share + fp.output_bytes + fp.kv_read_bytes * share,
        int(host_layers) + fp.token_embd_bytes + fp.compute_bytes,
        active * (1 - share) + fp.kv_read_bytes * (1 - share),
        host_layers - host_experts,
        ngl,
        0,
        f"{ngl} of {fp.n_layer} layers on the GPU, the rest on the CPU",
        host_experts,
    )


def _rates(hw: HardwareProfile, factor: float) -> tuple[float, float, float]:
    """Bytes per second a pool streams at: central, low and high efficiency."""
    cap = hw.read_ceiling_gbps * GB * factor if hw.read_ceiling_gbps is not None else math.inf
    scale = factor * hw.bandwidth_bytes
    eta = hw.efficiency
    low = eta if hw.efficiency_low is None else hw.efficiency_low
    high = eta if hw.efficiency_high is None else hw.efficiency_high
    return min(eta * scale, cap), min(low * scale, cap), min(high * scale, cap)


def _host_factor(fp: Footprint, tuning: Tuning) -> float:
    """System RAM's share of its class efficiency: MoE reads there run at the engine's own
    CPU expert rate (``host_moe_factor``: 1 for llama.cpp)."""
    return tuning.moe_penalty * tuning.host_moe_factor if fp.is_moe else 1.0


def _decode(
    build: Build, lay: _Layout, shares: list[float], fp: Footprint, tuning: Tuning
) -> tuple[float, float, float]:
    """tokens/s (central, low, high): overhead plus each pool's bytes over its rate."""
    factor = tuning.moe_penalty if fp.is_moe else 1.0
    gpus = build.devices if lay.gpu_read else ()
    main = gpus[0] if gpus else build.host.profile
    fixed = main.overhead_ms / 1000 + max(0, len(gpus) - 1) * tuning.extra_gpu_ms / 1000
    seconds = [fixed, fixed, fixed]
    parts = [(lay.gpu_read * share, gpu, factor) for gpu, share in zip(gpus, shares, strict=False)]
    if lay.host_read:
        parts.append((lay.host_read, build.host.profile, _host_factor(fp, tuning)))
    for read, hw, pool_factor in parts:
        for pick, rate in enumerate(_rates(hw, pool_factor)):
            seconds[pick] += read / rate
    return 1 / seconds[0], 1 / seconds[1], 1 / seconds[2]


def _prefill_seconds(
    build: Build,
    lay: _Layout,
    shares: list[float],
    fp: Footprint,
    tokens: int,
    tuning: Tuning,
    *,
    start: int = 0,
    ubatch: int = DEFAULT_UBATCH,
) -> float | None:
    """Seconds to read a prompt of ``tokens`` after ``start`` cached tokens in micro-batches
    of ``ubatch``, or None when a device that computes has no FLOPS figure."""
    cost = fp.prefill
    if cost is None:
        return None
    moe = MoeWeights(fp.n_moe_layers, fp.expert_bytes) if fp.is_moe else None
    gpus = build.devices
    if not gpus:
        return prompt_seconds(cost, tokens, build.host.profile, start=start, moe=moe,
                              ubatch=ubatch)  # fmt: skip
    total_read = lay.gpu_read + lay.host_read
    offloaded = lay.host_read / total_read if total_read else 0.0
    on_gpus = shares if lay.gpu_read else [1.0] + [0.0] * (len(gpus) - 1)
    seconds = 0.0
    for i, (gpu, share) in enumerate(zip(gpus, on_gpus, strict=False)):
        part = (1 - offloaded) * share + (offloaded if i == 0 else 0.0)
        if not part:
            continue
        spent = prompt_seconds(cost, tokens, gpu, start=start, share=part, moe=moe,
                               ubatch=ubatch)  # fmt: skip
        if spent is None:
            return None
        seconds += spent
    if lay.stream_bytes or lay.stream_experts:
        link = gpus[0].link_gbps
        if not link:
            return None
        batch = max(1, min(tokens, ubatch))
        routed = cost.experts_touched(batch) if cost.expert_fraction else 1.0
        copied = lay.stream_bytes + lay.stream_experts * routed
        seconds += math.ceil(tokens / batch) * copied / (link * GB * tuning.link_efficiency)
    return seconds


def prompt_seconds_on(
    placement: Placement, tokens: int, *, start: int = 0, ubatch: int = DEFAULT_UBATCH
) -> float | None:
    """Seconds the plan's build spends reading a prompt of ``tokens`` after ``start``
    tokens already cached, in micro-batches of ``ubatch`` (llama.cpp's ``-ub``); None when
    the model does not run or a device that computes has no FLOPS figure. Plans with
    weights in system RAM copy them to the first GPU for every micro-batch (op offload),
    so a larger ``-ub`` reads long prompts faster there."""
    b = placement.basis
    if b is None or not placement.runs:
        return None
    shares = _shares(placement.build.devices, b.fp.compute_bytes)[0]
    return _prefill_seconds(placement.build, b.layout, shares, b.fp, tokens, b.tuning,
                            start=start, ubatch=ubatch)  # fmt: skip


def _formula(build: Build, lay: _Layout, fp: Footprint, tps: float, tuning: Tuning) -> str:
    factor = tuning.moe_penalty if fp.is_moe else 1.0
    parts = []
    if lay.gpu_read:
        gpus = build.devices
        names = build.describe().split(" + ")[0] if len(build.gpus) == 1 else "the GPUs"
        eta = gpus[0].efficiency * factor
        parts.append(f"{lay.gpu_read / GB:.2f} GB ÷ ({eta:.2f} × {gpus[0].bandwidth_gbps:g} "
                     f"GB/s) on {names}")  # fmt: skip
    if lay.host_read:
        host = build.host.profile
        where = "system RAM" if build.gpus else host.name
        cap = f", at most {host.read_ceiling_gbps:g} GB/s" if host.read_ceiling_gbps else ""
        host_eta = host.efficiency * _host_factor(fp, tuning)
        parts.append(f"{lay.host_read / GB:.2f} GB ÷ ({host_eta:.2f} × "
                     f"{host.bandwidth_gbps:g} GB/s{cap}) in {where}")  # fmt: skip
    main = build.devices[0] if lay.gpu_read else build.host.profile
    overhead = f" + {main.overhead_ms:g} ms" if main.overhead_ms else ""
    return f"1 ÷ ({' + '.join(parts)}{overhead}) ≈ {tps:.1f} tok/s"


def _command(build: Build, lay: _Layout, fp: Footprint, options: Options) -> str:
    split: tuple[float, ...] = ()
    if len({g.memory_gb for g in build.devices}) > 1:
        split = tuple(g.memory_gb for g in build.devices)
    all_cpu = lay.cpu_moe_layers == fp.n_moe_layers and lay.cpu_moe_layers > 0
    return llama_cpp_command(
        options,
        gpu_layers=lay.gpu_layers,
        cpu_moe_layers=fp.first_moe_layer + lay.cpu_moe_layers if lay.cpu_moe_layers else 0,
        all_experts_on_cpu=all_cpu,
        tensor_split=split,
        rope_flags=fp.rope_flags,
        model_file=fp.model_file,
    )


def _host_layout(build: Build, fp: Footprint) -> _Layout:
    host = build.host.profile
    mode: PlacementMode = host.device.host_mode
    gpu_layers = fp.n_layer + 1 if mode == "unified" else 0
    return _Layout(mode, 0, 0.0, fp.device_bytes, fp.read_bytes_per_token, 0.0, gpu_layers, 0)


def _pools(build: Build, lay: _Layout, shares: list[float], fp: Footprint) -> list[Pool]:
    pools = []
    if lay.gpu_resident:
        for i, (gpu, share) in enumerate(zip(build.devices, shares, strict=True)):
            name = f"GPU {i} ({gpu.name}) VRAM" if build.gpu_count > 1 else f"{gpu.name} VRAM"
            pools.append(vram_pool(gpu, int(lay.gpu_resident * share) + fp.compute_bytes, name))
    if lay.host_resident:
        pools.append(host_pool(build.host.profile, lay.host_resident))
    return pools


def _layout(build: Build, fp: Footprint) -> tuple[list[float], _Layout]:
    """Where the bytes go: each GPU's share, and the layout."""
    shares, room = _shares(build.devices, fp.compute_bytes)
    lay = _gpu_layout(fp, room) if build.gpus else None
    lay = lay or _host_layout(build, fp)
    if lay.mode == "gpu" and build.gpu_count > 1:
        lay = _Layout("multi_gpu", lay.gpu_resident, lay.gpu_read, 0, 0.0, 0.0,
                      lay.gpu_layers, 0, f"layer split over {build.gpu_count} GPUs")  # fmt: skip
    return shares, lay


def _plan(build: Build, fp: Footprint) -> tuple[list[float], _Layout, Fit]:
    """Where the bytes go and the fit that gives."""
    shares, lay = _layout(build, fp)
    return shares, lay, classify(_pools(build, lay, shares, fp), offload=lay.mode in _OFFLOAD)


def fit_on(build: Build, fp: Footprint) -> FitClass:
    """``place(build, fp, …).fit`` without working out the speeds or the fit's note:
    what a search over quants asks of every candidate before it places the one it picks."""
    shares, lay = _layout(build, fp)
    return fit_class(_pools(build, lay, shares, fp), offload=lay.mode in _OFFLOAD)


def place(build: Build, fp: Footprint, options: Options, tuning: Tuning | None = None) -> Placement:
    """Where the model sized by ``fp`` runs on ``build``, how fast, and whether it fits."""
    shares, lay, fit = _plan(build, fp)
    return _placement(build, lay, shares, fp, options, tuning or Tuning(), fit)


_OFFLOAD = ("expert_offload", "partial_offload")


def _placement(
    build: Build,
    lay: _Layout,
    shares: list[float],
    fp: Footprint,
    options: Options,
    tuning: Tuning,
    fit: Fit,
) -> Placement:
    gpu_bytes = tuple(
        int(lay.gpu_resident * s) + fp.compute_bytes if lay.gpu_resident else 0 for s in shares
    )
    notes = [n for n in (lay.note, fit.note) if n]
    if build.host.setup and build.host.setup.notes and not build.gpus:
        notes.append("two sockets: decode sees about one socket's bandwidth by default; "
                     "try --numa distribute")  # fmt: skip
    if not fit.runs:
        return Placement(
            build, "none", "does_not_fit", None, None, None, None, None, gpu_bytes,
            lay.host_resident, 0, 0, "; ".join(notes), fit.short_bytes, fit.left_bytes,
        )  # fmt: skip
    tps, low, high = _decode(build, lay, shares, fp, tuning)
    pp = _prefill_seconds(build, lay, shares, fp, PP_TOKENS, tuning)
    ttft = (
        _prefill_seconds(build, lay, shares, fp, fp.context, tuning) if pp and fp.context else None
    )
    return Placement(
        build=build,
        fit=fit.fit,
        mode=lay.mode,
        tokens_per_s=tps,
        tokens_per_s_low=low,
        tokens_per_s_high=high,
        prefill_tokens_per_s=PP_TOKENS / pp if pp else None,
        time_to_first_token_s=ttft,
        gpu_bytes=gpu_bytes,
        host_bytes=lay.host_resident,
        gpu_layers=lay.gpu_layers,
        cpu_moe_layers=lay.cpu_moe_layers,
        note="; ".join(notes),
        short_bytes=0,
        left_bytes=fit.left_bytes,
        basis=_Basis(lay, fp, options, tuning),
    )
