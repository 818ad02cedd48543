"""The one rule for "fits": the memory pools a plan uses, and how comfortably it uses them.

A plan puts bytes in pools: each GPU's VRAM, a Mac's or APU's unified memory, the host's
system RAM. Each pool has a capacity, the bytes the plan needs there, and fixed reserves
(llama.cpp's fit margin on every device it fills; the operating system's share of RAM).

* **comfortable**: every pool holds its need plus reserves within the planning fill
  (:data:`~calculator.engine.hardware.PLANNING_FILL`) without changing a setting. On a
  CPU machine this is exactly "the machine has at least the recommended RAM"
  (:func:`~calculator.engine.hardware.recommended_ram_gb` uses the same budget).
* **tight**: it runs (every need fits what the pool can give, after raising a limit
  such as macOS's GPU wired limit), with less headroom than the planning fill.
* **offload**: it runs only with part of the model in slower memory (system RAM beside
  the GPUs).
* **none**: a pool is short; the result says which and by how much.

:func:`classify` is the only place these words are decided; :mod:`~calculator.engine.fit`
re-exports it for the pages, and every plan's ``fit`` comes from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

from calculator.engine.hardware import (
    FIT_MARGIN_BYTES,
    GB,
    OS_RESERVE_BYTES,
    PLANNING_FILL,
    HardwareProfile,
)

FitClass = Literal["comfortable", "tight", "offload", "none"]
FIT_CLASSES: tuple[FitClass, ...] = ("comfortable", "tight", "offload", "none")
RUNS: tuple[FitClass, ...] = ("comfortable", "tight", "offload")


class Pool(NamedTuple):
    """One memory a plan puts bytes in (a NamedTuple: plans build several per estimate)."""

    name: str
    capacity_bytes: int  # installed
    need_bytes: int  # the model's bytes placed here (weights, KV, compute buffer)
    reserve_bytes: int  # fixed reserves that live here (fit margin, OS)
    limit_bytes: int  # the most need + reserve may reach without changing a setting
    stretch_bytes: int  # ... once the visitor raises a limit (``tip`` says how)
    owner: HardwareProfile | None = None  # whose limit it is (for the tip)

    @property
    def tip(self) -> str:
        """What to do to go past ``limit_bytes`` (raise a GPU memory limit)."""
        if self.owner is None:
            return ""
        return self.owner.device.stretch_tip(self.owner, self.need_bytes + FIT_MARGIN_BYTES)

    @property
    def used_bytes(self) -> int:
        return self.need_bytes + self.reserve_bytes

    @property
    def comfortable(self) -> bool:
        return self.used_bytes <= min(int(self.capacity_bytes * PLANNING_FILL), self.limit_bytes)

    @property
    def runs(self) -> bool:
        return self.used_bytes <= self.stretch_bytes

    @property
    def short_bytes(self) -> int:
        return max(0, self.used_bytes - self.stretch_bytes)

    @property
    def left_bytes(self) -> int:
        """What is left before the pool's hard limit."""
        return self.stretch_bytes - self.used_bytes


def vram_pool(gpu: HardwareProfile, need_bytes: int, name: str = "") -> Pool:
    """A GPU's VRAM: llama.cpp keeps ``FIT_MARGIN_BYTES`` free on it."""
    vram = gpu.memory_bytes
    return Pool(name or f"{gpu.name} VRAM", vram, need_bytes, FIT_MARGIN_BYTES, vram, vram)


def host_pool(host: HardwareProfile, need_bytes: int, *, with_margin: bool = True) -> Pool:
    """A host's own memory: system RAM less the OS, or unified memory whose GPU share
    has a default limit (``DeviceKind.model_memory_bytes``) the visitor may raise."""
    device = host.device
    margin = FIT_MARGIN_BYTES if with_margin else 0
    limit = device.model_memory_bytes(host) + OS_RESERVE_BYTES
    stretch = device.stretch_memory_bytes(host) + OS_RESERVE_BYTES
    name = "unified memory" if device.host_mode == "unified" else "system RAM"
    return Pool(
        name, host.memory_bytes, need_bytes, OS_RESERVE_BYTES + margin, limit, stretch, host
    )


class Fit(NamedTuple):
    """The verdict of :func:`classify` with what the visitor must know."""

    fit: FitClass
    pools: tuple[Pool, ...]
    note: str

    @property
    def runs(self) -> bool:
        return self.fit in RUNS

    @property
    def short_bytes(self) -> int:
        return sum(p.short_bytes for p in self.pools)

    @property
    def left_bytes(self) -> int:
        """Headroom before the tightest pool's hard limit (negative when short)."""
        return min((p.left_bytes for p in self.pools), default=0)


def _gb(n: int) -> str:
    return f"{n / GB:,.1f} GB"


def fit_class(pools: Sequence[Pool], *, offload: bool) -> FitClass:
    """The class alone of :func:`classify` (what a quant search asks of each candidate)."""
    if not all(p.runs for p in pools):
        return "none"
    if offload:
        return "offload"
    return "comfortable" if all(p.comfortable for p in pools) else "tight"


def classify(pools: Sequence[Pool], *, offload: bool) -> Fit:
    """Comfortable, tight, offload or none, for a plan that fills ``pools``.

    ``offload`` says the plan keeps part of the model in memory slower than the device
    that computes it (routed experts or layers in system RAM beside the GPUs).
    """
    pools = tuple(pools)
    fit = fit_class(pools, offload=offload)
    if fit == "none":
        what = "; ".join(f"{p.name} is {_gb(p.short_bytes)} short" for p in pools if not p.runs)
        return Fit("none", pools, f"does not fit: {what}")
    if fit != "tight":
        return Fit(fit, pools, "")
    tight = [p for p in pools if not p.comfortable]
    tips = [p.tip for p in tight if p.used_bytes > p.limit_bytes]
    left = "; ".join(f"{_gb(p.left_bytes)} of {p.name} left" for p in tight)
    note = f"tight: {left}" + (f"; {tips[0]}" if tips and tips[0] else "")
    return Fit("tight", pools, note)
