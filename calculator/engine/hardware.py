"""Hardware profiles and the memory a machine really offers to a model.

Profiles themselves (bandwidth, capacity, efficiency, sources) are data:
``calculator/data/hardware.json``, loaded into the database and handed to the
engine as :class:`HardwareProfile` values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from calculator.engine.types import EngineError

GIB = 1024**3
GB = 1000**3

HardwareKind = Literal["gpu", "apple", "apu", "cpu"]
KINDS: tuple[HardwareKind, ...] = ("gpu", "apple", "apu", "cpu")

# llama.cpp keeps this much free on every device it fits onto
# (``--fit-target``, default 1024 MiB: ggml-org/llama.cpp common/arg.cpp, PR #16653).
FIT_MARGIN_BYTES = 1024 * 1024**2

# What the operating system and a desktop session keep for themselves. Ubuntu
# Desktop and Windows 11 both state 4 GB of RAM as their minimum
# (ubuntu.com/download/desktop; microsoft.com/windows/windows-11-specifications).
OS_RESERVE_BYTES = 4 * GIB

# Planning headroom: we recommend RAM so the estimate uses at most 90% of it,
# leaving room for the page cache and other programs (our policy, not a
# measurement; shown on the methodology page).
PLANNING_FILL = 0.90

# The share of unified memory macOS lets the GPU wire by default
# (``recommendedMaxWorkingSetSize``; raise it with ``sudo sysctl iogpu.wired_limit_mb=N``).
# Measured values, as (memory size in GB, fraction); a Mac uses the row of the largest
# measured size at or below its own (a conservative step, not an interpolation):
#   8 GB -> ~5.3 GB: github.com/SceneWorks/SceneWorks/pull/1552
#   16 GB -> 10.67 GB: github.com/exo-explore/exo/pull/1672 (M4, 16 GB)
#   32 GB -> 21845.34 MB: github.com/ollama/ollama/issues/434 (M2 Max 32 GB),
#     github.com/ggml-org/llama.cpp/pull/2011 (M1 Max 32 GB)
#   64 GB -> models of about 47 GB and more fail to load (48 GiB):
#     github.com/ggml-org/llama.cpp/issues/1870 (M1 Max and M2 Max 64 GB)
#   96 GB -> 73728.00 MB: github.com/ggml-org/llama.cpp/issues/3213 (M2 Max 96 GB)
#   128 GB -> 107.52 GiB: github.com/antirez/ds4/pull/893 (M5 Max 128 GB, macOS 26)
APPLE_GPU_SHARE: tuple[tuple[float, float], ...] = (
    (0, 2 / 3),
    (64, 0.75),
    (128, 0.84),
)
# Kept for callers that want the old single figure: the share of a 96 GB Mac.
APPLE_GPU_FRACTION = 0.75

# Unified-memory PCs without a profile figure: the share Windows gives Strix Halo's GPU
# (96 of 128 GB); Linux can give more through GTT, which the tight fit explains.
APU_GPU_FRACTION = 0.75

# Memory sizes a buyer can actually configure, in GB (= GiB for DRAM).
SOLD_SIZES_GB: tuple[int, ...] = (
    8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class HardwareProfile:
    slug: str
    name: str
    kind: HardwareKind
    memory_gb: float
    bandwidth_gbps: float
    efficiency: float
    efficiency_low: float | None = None
    efficiency_high: float | None = None
    overhead_ms: float = 0.0  # fixed time per generated token (kernel launches, sync)
    tier: str = ""
    gpu_memory_fraction: float | None = None
    fp16_tflops: float | None = None
    channels: int | None = None
    mt_s: int | None = None
    ddr: str | None = None
    dimm_type: str | None = None
    dimm_slots: int | None = None
    source: str = ""
    # What a streaming read really reaches whatever the DIMMs (desktop Ryzen's CCD links,
    # NUMA); decode never reads faster than this.
    read_ceiling_gbps: float | None = None
    link_gbps: float | None = None  # a GPU's host link (PCIe), for weights streamed to it
    prefill_efficiency: float | None = None  # share of fp16_tflops prompt processing reaches
    sockets: int = 1
    # Measured prompt-processing rate (effective TFLOPS fitted to this device's own pp512
    # rows) for devices whose vendor states no FP16 figure (Apple, APUs).
    prefill_tflops: float | None = None
    # Prompt time per token and MoE layer beyond the FLOPs (expert routing, gather and
    # scatter of the micro-batch's rows), fitted per backend (``prefill_moe`` in the data).
    moe_prefill_us: float = 0.0

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_gb * GIB)

    @property
    def bandwidth_bytes(self) -> float:
        return self.bandwidth_gbps * GB

    @property
    def device(self) -> DeviceKind:
        return device_kind(self.kind)

    @property
    def model_memory_bytes(self) -> int:
        """Memory a model may occupy here by default (see :class:`DeviceKind`)."""
        return self.device.model_memory_bytes(self)

    @property
    def prefill_flops_per_s(self) -> float | None:
        """Effective FLOP/s for prompts: the measured rate, else efficiency x fp16 TFLOPS."""
        if self.prefill_tflops:
            return self.prefill_tflops * 1e12
        if self.fp16_tflops and self.prefill_efficiency:
            return self.fp16_tflops * self.prefill_efficiency * 1e12
        return None

    @property
    def read_bytes_per_s(self) -> float:
        """Decode read rate: efficiency x bandwidth, never above the read ceiling."""
        rate = self.efficiency * self.bandwidth_bytes
        if self.read_ceiling_gbps is not None:
            rate = min(rate, self.read_ceiling_gbps * GB)
        return rate


# --- device kinds: behaviour per kind, registered in one table -----------------------


class DeviceKind:
    """What a kind of device does with memory. One instance per kind in :data:`DEVICE_KINDS`.

    ``accelerator`` devices (GPUs) sit beside a host and borrow its RAM; the others are
    hosts: the model runs in their memory in ``host_mode``.
    """

    key: HardwareKind = "cpu"
    label = "CPU platform"  # a build of this kind, in a verdict
    efficiency_class = "cpu_ddr"  # hardware.json class a custom device of this kind uses
    accelerator = False
    host_mode: Literal["unified", "cpu"] = "cpu"

    def model_memory_bytes(self, hw: HardwareProfile) -> int:
        """Memory a model may occupy without changing any setting."""
        return max(0, hw.memory_bytes - OS_RESERVE_BYTES)

    def stretch_memory_bytes(self, hw: HardwareProfile) -> int:
        """The most a model may occupy once the visitor raises a limit (see ``stretch_tip``)."""
        return self.model_memory_bytes(hw)

    def stretch_tip(self, hw: HardwareProfile, need_bytes: int) -> str:
        """What to do when a model needs more than ``model_memory_bytes``."""
        return ""

    def machine_phrase(self, hw: HardwareProfile) -> str:
        """How a verdict names one machine of this kind."""
        return hw.name


class CpuKind(DeviceKind):
    pass


class GpuKind(DeviceKind):
    key: HardwareKind = "gpu"
    label = "GPU rig"
    efficiency_class = "cuda"
    accelerator = True

    def model_memory_bytes(self, hw: HardwareProfile) -> int:
        return hw.memory_bytes

    def machine_phrase(self, hw: HardwareProfile) -> str:
        return f"one {hw.name} ({hw.memory_gb:g} GB)"


class AppleKind(DeviceKind):
    key: HardwareKind = "apple"
    label = "Mac"
    efficiency_class = "metal"
    host_mode = "unified"

    def model_memory_bytes(self, hw: HardwareProfile) -> int:
        fraction = hw.gpu_memory_fraction or apple_gpu_fraction(hw.memory_gb)
        return int(hw.memory_bytes * fraction)

    def stretch_memory_bytes(self, hw: HardwareProfile) -> int:
        return max(0, hw.memory_bytes - OS_RESERVE_BYTES)

    def machine_phrase(self, hw: HardwareProfile) -> str:
        return f"a {self.label} with {hw.memory_gb:g} GB"

    def stretch_tip(self, hw: HardwareProfile, need_bytes: int) -> str:
        limit_mb = -(-need_bytes // 1024**2)
        return (
            f"raise macOS's GPU memory limit first: sudo sysctl iogpu.wired_limit_mb={limit_mb} "
            f"(default about {self.model_memory_bytes(hw) / GIB:.0f} GiB; resets on reboot)"
        )


class ApuKind(AppleKind):
    key: HardwareKind = "apu"
    label = "unified-memory PC"
    efficiency_class = "apu"

    def model_memory_bytes(self, hw: HardwareProfile) -> int:
        return int(hw.memory_bytes * (hw.gpu_memory_fraction or APU_GPU_FRACTION))

    def stretch_tip(self, hw: HardwareProfile, need_bytes: int) -> str:
        return (
            f"give the GPU at least {need_bytes / GIB:.0f} GiB: raise the graphics memory "
            "share in the BIOS, or the GTT size on Linux (amdgpu / ttm kernel options)"
        )


DEVICE_KINDS: dict[str, DeviceKind] = {
    k.key: k for k in (GpuKind(), AppleKind(), ApuKind(), CpuKind())
}


def device_kind(key: str) -> DeviceKind:
    try:
        return DEVICE_KINDS[key]
    except KeyError:
        raise EngineError(
            f"unknown hardware kind '{key}'; use one of: {', '.join(DEVICE_KINDS)}", "kind"
        ) from None


def apple_gpu_fraction(memory_gb: float) -> float:
    """macOS's default GPU share for a Mac of ``memory_gb`` (see :data:`APPLE_GPU_SHARE`)."""
    fraction = APPLE_GPU_SHARE[0][1]
    for size, share in APPLE_GPU_SHARE:
        if memory_gb >= size:
            fraction = share
    return fraction


def custom_profile(
    *,
    memory_gb: float,
    bandwidth_gbps: float,
    kind: HardwareKind,
    efficiency: float,
    overhead_ms: float = 0.0,
    fp16_tflops: float | None = None,
    prefill_efficiency: float | None = None,
    sockets: int = 1,
    name: str = "",
    moe_prefill_us: float = 0.0,
) -> HardwareProfile:
    """A visitor's own machine from its memory size and bandwidth; ``efficiency`` is the
    measured value of its kind's class (``prefill_efficiency`` likewise for prompts)."""
    return HardwareProfile(
        slug="custom",
        name=name or f"Your machine ({memory_gb:g} GB, {bandwidth_gbps:g} GB/s)",
        kind=kind,
        memory_gb=memory_gb,
        bandwidth_gbps=bandwidth_gbps,
        efficiency=efficiency,
        overhead_ms=overhead_ms,
        tier="custom",
        fp16_tflops=fp16_tflops,
        prefill_efficiency=prefill_efficiency,
        sockets=sockets,
        moe_prefill_us=moe_prefill_us,
    )


def machine_budget_bytes(memory_gb: float) -> int:
    """What an estimate's total may reach on a machine with ``memory_gb`` of RAM."""
    return int(memory_gb * GIB * PLANNING_FILL)


def recommended_ram_gb(total_bytes: int) -> int | None:
    """Smallest sold memory size that holds ``total_bytes`` within the planning fill."""
    for size in SOLD_SIZES_GB:
        if total_bytes <= machine_budget_bytes(size):
            return size
    return None
