"""Hardware profiles and the memory a machine really offers to a model.

Profiles themselves (bandwidth, capacity, efficiency, sources) are data:
``calculator/data/hardware.json``, loaded into the database and handed to the
engine as :class:`HardwareProfile` values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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

# macOS lets the GPU wire about 75% of unified memory by default
# (recommendedMaxWorkingSetSize; AlexsJones/llmfit PR #754, Andyyyy64/whichllm #152).
APPLE_GPU_FRACTION = 0.75

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

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_gb * GIB)

    @property
    def bandwidth_bytes(self) -> float:
        return self.bandwidth_gbps * GB

    @property
    def model_memory_bytes(self) -> int:
        """Memory a model may occupy here: VRAM, the GPU's share of unified memory,
        or system RAM less the OS reserve."""
        if self.kind == "gpu":
            return self.memory_bytes
        if self.kind in ("apple", "apu"):
            fraction = self.gpu_memory_fraction or APPLE_GPU_FRACTION
            return int(self.memory_bytes * fraction)
        return max(0, self.memory_bytes - OS_RESERVE_BYTES)


def custom_profile(
    *,
    memory_gb: float,
    bandwidth_gbps: float,
    kind: HardwareKind,
    efficiency: float,
    overhead_ms: float = 0.0,
) -> HardwareProfile:
    """A visitor's own machine from its memory size and bandwidth; ``efficiency`` is the
    measured value of its kind's class."""
    return HardwareProfile(
        slug="custom",
        name=f"Your machine ({memory_gb:g} GB, {bandwidth_gbps:g} GB/s)",
        kind=kind,
        memory_gb=memory_gb,
        bandwidth_gbps=bandwidth_gbps,
        efficiency=efficiency,
        overhead_ms=overhead_ms,
        tier="custom",
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
