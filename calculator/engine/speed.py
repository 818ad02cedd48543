"""Decode speed and placement on one hardware profile.

Decode is memory-bound: every generated token reads the active weights and the
KV cache once. Time per token is the sum over memory pools of
``bytes read there ÷ (efficiency × bandwidth)`` (the per-device sum used by
gpustack/gguf-parser-go and canirunthisllm.com's methodology), so a split
between VRAM and system RAM is dominated by the slow pool. Efficiency per
hardware class comes from published llama.cpp measurements
(``calculator/data/hardware.json``).

Placement follows llama.cpp: the whole model on the GPU (``-ngl 99``); for MoE
models that do not fit, attention, shared experts and KV on the GPU with the
routed experts of some layers in system RAM (``--n-cpu-moe N``); for dense
models, the first layers on the GPU and the rest on the CPU (``-ngl N``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from calculator.engine.hardware import FIT_MARGIN_BYTES, GB, OS_RESERVE_BYTES, HardwareProfile

Mode = Literal["gpu", "unified", "cpu", "expert_offload", "partial_offload", "does_not_fit"]


@dataclass(frozen=True, slots=True)
class Footprint:
    """What a model at one quant and context occupies and reads per token."""

    weights_bytes: int
    expert_bytes: int  # all routed-expert tensors
    token_embd_bytes: int  # the embedding table: stays in RAM, one row read per token
    output_bytes: int
    kv_bytes: int
    compute_bytes: int
    n_layer: int
    n_moe_layers: int
    expert_fraction_read: float  # n_expert_used / n_expert (0 for dense)
    kv_read_bytes: int  # KV bytes read per token at the chosen context

    @property
    def is_moe(self) -> bool:
        return self.n_moe_layers > 0

    @property
    def dense_read_bytes(self) -> int:
        """Non-expert weights read per token (everything but the embedding table)."""
        return self.weights_bytes - self.expert_bytes - self.token_embd_bytes

    @property
    def expert_read_bytes(self) -> float:
        return self.expert_bytes * self.expert_fraction_read

    @property
    def read_bytes_per_token(self) -> float:
        return self.dense_read_bytes + self.expert_read_bytes + self.kv_read_bytes

    @property
    def device_bytes(self) -> int:
        """Everything on one device: weights, KV, compute buffer."""
        return self.weights_bytes + self.kv_bytes + self.compute_bytes


@dataclass(frozen=True, slots=True)
class SpeedEstimate:
    hardware: HardwareProfile
    mode: Mode
    fits: bool  # the whole model fits this profile's primary memory
    tokens_per_s: float | None
    tokens_per_s_low: float | None
    tokens_per_s_high: float | None
    gpu_layers: int  # llama.cpp -ngl
    cpu_moe_layers: int  # llama.cpp --n-cpu-moe
    device_bytes: int  # needed in VRAM / unified memory / RAM of this profile
    host_bytes: int  # needed in system RAM besides (offload plans)
    formula: str
    note: str = ""


def _eta(hw: HardwareProfile, moe_penalty: float, fp: Footprint) -> tuple[float, float, float]:
    factor = moe_penalty if fp.is_moe else 1.0
    low = hw.efficiency_low if hw.efficiency_low is not None else hw.efficiency
    high = hw.efficiency_high if hw.efficiency_high is not None else hw.efficiency
    return hw.efficiency * factor, low * factor, high * factor


def _rates(
    parts: list[tuple[float, HardwareProfile]], moe_penalty: float, fp: Footprint
) -> tuple[float, float, float]:
    """tokens/s (central, low, high) for bytes read from each pool."""
    rates = []
    for pick in range(3):
        seconds = parts[0][1].overhead_ms / 1000  # the main device's fixed cost per token
        for read, hw in parts:
            eta = _eta(hw, moe_penalty, fp)[pick]
            seconds += read / (eta * hw.bandwidth_bytes)
        rates.append(1 / seconds if seconds else 0.0)
    return rates[0], rates[1], rates[2]


def _formula(fp: Footprint, hw: HardwareProfile, eta: float, tps: float) -> str:
    overhead = f" + {hw.overhead_ms:g} ms" if hw.overhead_ms else ""
    return (
        f"1 ÷ ({fp.read_bytes_per_token / GB:.2f} GB read per token ÷ "
        f"({eta:.2f} × {hw.bandwidth_gbps:g} GB/s){overhead}) ≈ {tps:.1f} tok/s"
    )


def _no_fit(hw: HardwareProfile, fp: Footprint, why: str) -> SpeedEstimate:
    return SpeedEstimate(
        hw, "does_not_fit", False, None, None, None, 0, 0, fp.device_bytes, 0, "", why
    )


def _whole(
    hw: HardwareProfile, fp: Footprint, mode: Mode, moe_penalty: float, ngl: int, note: str = ""
) -> SpeedEstimate:
    tps, low, high = _rates([(fp.read_bytes_per_token, hw)], moe_penalty, fp)
    eta = _eta(hw, moe_penalty, fp)[0]
    return SpeedEstimate(
        hw, mode, True, tps, low, high, ngl, 0, fp.device_bytes, 0,
        _formula(fp, hw, eta, tps), note,
    )  # fmt: skip


def _split(
    hw: HardwareProfile,
    host: HardwareProfile,
    fp: Footprint,
    moe_penalty: float,
    *,
    mode: Mode,
    gpu_read: float,
    host_read: float,
    gpu_bytes: int,
    host_bytes: int,
    ngl: int,
    cpu_moe: int,
    note: str,
) -> SpeedEstimate:
    if host_bytes > host.model_memory_bytes:
        return _no_fit(
            hw, fp, f"needs {host_bytes / GB:.0f} GB of system RAM beside the GPU; "
            f"a {host.name} holds at most {host.memory_gb:g} GB",
        )  # fmt: skip
    tps, low, high = _rates([(gpu_read, hw), (host_read, host)], moe_penalty, fp)
    formula = (
        f"1 ÷ ({gpu_read / GB:.2f} GB ÷ {hw.bandwidth_gbps:g} GB/s + "
        f"{host_read / GB:.2f} GB ÷ {host.bandwidth_gbps:g} GB/s), each at its efficiency "
        f"≈ {tps:.1f} tok/s"
    )
    return SpeedEstimate(
        hw, mode, False, tps, low, high, ngl, cpu_moe, gpu_bytes, host_bytes, formula, note
    )


def _gpu_plan(
    hw: HardwareProfile, host: HardwareProfile, fp: Footprint, moe_penalty: float
) -> SpeedEstimate:
    vram = hw.model_memory_bytes
    if fp.device_bytes + FIT_MARGIN_BYTES <= vram:
        return _whole(hw, fp, "gpu", moe_penalty, fp.n_layer + 1)
    fixed = fp.kv_bytes + fp.compute_bytes + FIT_MARGIN_BYTES
    if fp.is_moe:
        base = fp.weights_bytes - fp.expert_bytes - fp.token_embd_bytes + fixed
        if base <= vram:
            per_layer = fp.expert_bytes / fp.n_moe_layers
            on_gpu = min(fp.n_moe_layers, int((vram - base) // per_layer))
            cpu_layers = fp.n_moe_layers - on_gpu
            host_share = cpu_layers / fp.n_moe_layers
            return _split(
                hw, host, fp, moe_penalty, mode="expert_offload",
                gpu_read=fp.dense_read_bytes + fp.kv_read_bytes
                + fp.expert_read_bytes * (1 - host_share),
                host_read=fp.expert_read_bytes * host_share,
                gpu_bytes=int(base + per_layer * on_gpu),
                host_bytes=int(fp.expert_bytes * host_share) + fp.token_embd_bytes,
                ngl=fp.n_layer + 1, cpu_moe=cpu_layers,
                note=f"attention, shared weights and KV cache on the GPU; routed experts of "
                f"{cpu_layers} of {fp.n_moe_layers} layers in system RAM",
            )  # fmt: skip
    layers = fp.weights_bytes - fp.token_embd_bytes - fp.output_bytes
    per_layer = (layers + fp.kv_bytes) / fp.n_layer
    room = vram - fp.compute_bytes - FIT_MARGIN_BYTES - fp.output_bytes
    ngl = max(0, min(fp.n_layer, int(room // per_layer))) if room > 0 else 0
    if ngl == 0:
        cpu = _cpu_plan(host, fp, moe_penalty)
        if cpu.mode == "does_not_fit":
            return _no_fit(hw, fp, "does not fit the GPU, nor the system RAM beside it")
        return SpeedEstimate(
            hw, "cpu", False, cpu.tokens_per_s, cpu.tokens_per_s_low, cpu.tokens_per_s_high,
            0, 0, 0, cpu.device_bytes, cpu.formula,
            "too large for this GPU to help: runs from system RAM",
        )  # fmt: skip
    share = ngl / fp.n_layer
    active = fp.dense_read_bytes - fp.output_bytes + fp.expert_read_bytes
    return _split(
        hw, host, fp, moe_penalty, mode="partial_offload",
        gpu_read=active * share + fp.output_bytes + fp.kv_read_bytes * share,
        host_read=active * (1 - share) + fp.kv_read_bytes * (1 - share),
        gpu_bytes=int(per_layer * ngl + fp.output_bytes + fp.compute_bytes),
        host_bytes=int(per_layer * (fp.n_layer - ngl)) + fp.token_embd_bytes + fp.compute_bytes,
        ngl=ngl, cpu_moe=0,
        note=f"{ngl} of {fp.n_layer} layers on the GPU, the rest on the CPU",
    )  # fmt: skip


def _unified_plan(hw: HardwareProfile, fp: Footprint, moe_penalty: float) -> SpeedEstimate:
    need = fp.device_bytes + FIT_MARGIN_BYTES
    if need <= hw.model_memory_bytes:
        return _whole(hw, fp, "unified", moe_penalty, fp.n_layer + 1)
    if need <= hw.memory_bytes - OS_RESERVE_BYTES:
        limit_mb = (need + OS_RESERVE_BYTES) // 1024**2
        tip = (
            f"raise the GPU memory limit: sudo sysctl iogpu.wired_limit_mb={limit_mb}"
            if hw.kind == "apple"
            else "raise the GPU memory share in the BIOS / kernel (GTT) settings"
        )
        return _whole(hw, fp, "unified", moe_penalty, fp.n_layer + 1, tip)
    return _no_fit(hw, fp, f"needs {need / GB:.0f} GB; this machine has {hw.memory_gb:g} GB")


def _cpu_plan(hw: HardwareProfile, fp: Footprint, moe_penalty: float) -> SpeedEstimate:
    if fp.device_bytes <= hw.model_memory_bytes:
        return _whole(hw, fp, "cpu", moe_penalty, 0)
    return _no_fit(
        hw, fp, f"needs {fp.device_bytes / GB:.0f} GB of RAM plus the OS; "
        f"this platform holds at most {hw.memory_gb:g} GB",
    )  # fmt: skip


def plan(
    hw: HardwareProfile, fp: Footprint, *, host: HardwareProfile, moe_penalty: float = 1.0
) -> SpeedEstimate:
    """Where the model runs on ``hw`` (GPUs borrow ``host``'s RAM) and how fast it decodes."""
    if hw.kind == "gpu":
        return _gpu_plan(hw, host, fp, moe_penalty)
    if hw.kind in ("apple", "apu"):
        return _unified_plan(hw, fp, moe_penalty)
    return _cpu_plan(hw, fp, moe_penalty)
