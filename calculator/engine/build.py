"""Builds: a host (a CPU platform with its DIMMs, a unified-memory machine, or a custom
host) plus 0-8 GPUs, any mix.

Public API:

* :func:`platform_host` / :func:`profile_host` / :func:`custom_host`: the three hosts;
* :func:`custom_gpu`: a visitor's own GPU from its memory, bandwidth and optional TFLOPS;
* :func:`make_build`: a validated build (0..8 GPUs, counts 1..8, GPUs need a CPU host);
* :func:`build_from_spec`: the API-shaped dict ``{"host": {...}, "gpus": [...]}`` resolved
  against an :class:`Inventory`, every error an ``EngineError`` naming its field
  (``build.host.memory_gb``, ``build.gpus[0].count`` ...);
* :func:`device_build`: the one-device build the older per-profile API plans on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from calculator.engine.hardware import (
    DeviceKind,
    HardwareProfile,
    custom_profile,
    device_kind,
)
from calculator.engine.platform import Dimms, MemorySetup, Platform, populate, standard_dimms
from calculator.engine.types import EngineError

MAX_GPUS = 8
MAX_GB = 100_000.0  # any memory or bandwidth figure above this is a typo
MAX_TFLOPS = 100_000.0


@dataclass(frozen=True, slots=True)
class Efficiency:
    """A hardware class's fitted coefficients (``hardware.json`` ``efficiency``)."""

    eta: float
    low: float
    high: float
    overhead_ms: float = 0.0
    prefill_eta: float | None = None
    moe_prefill_us: float = 0.0  # prompt time per token and MoE layer (its backend's)


@dataclass(frozen=True, slots=True)
class Tuning:
    """Coefficients every plan shares (``hardware.json``, fitted by ``calibrate_speed``)."""

    moe_penalty: float = 1.0  # MoE decode reaches this share of a dense model's efficiency
    extra_gpu_ms: float = 0.0  # per token, for each GPU after the first in a layer split
    link_efficiency: float = 1.0  # share of a GPU's PCIe link weight copies to it reach
    host_moe_factor: float = 1.0  # the engine's CPU expert reads vs llama.cpp's (speed.Engine)


@dataclass(frozen=True)
class Inventory:
    """Everything a build may name: profiles, platforms, class coefficients."""

    profiles: Mapping[str, HardwareProfile]
    platforms: Mapping[str, Platform]
    efficiency: Mapping[str, Efficiency]
    memory_options_gb: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    tuning: Tuning = Tuning()

    def efficiency_of(self, device: DeviceKind) -> Efficiency:
        try:
            return self.efficiency[device.efficiency_class]
        except KeyError:
            raise EngineError(
                f"no measured efficiency for {device.label} devices", "kind"
            ) from None


@dataclass(frozen=True, slots=True)
class Host:
    """The machine the GPUs sit in, or the whole machine when there are none."""

    profile: HardwareProfile  # as a device: kind, installed memory, effective bandwidth
    setup: MemorySetup | None = None  # a platform host's DIMM story
    platform: Platform | None = None


@dataclass(frozen=True, slots=True)
class GpuGroup:
    profile: HardwareProfile
    count: int = 1


@dataclass(frozen=True, slots=True)
class Build:
    host: Host
    gpus: tuple[GpuGroup, ...] = ()
    slug: str = ""
    name: str = ""
    sources: tuple[str, ...] = ()

    @property
    def devices(self) -> tuple[HardwareProfile, ...]:
        """Every GPU, one entry per card, in the order llama.cpp numbers them."""
        if len(self.gpus) == 1 and self.gpus[0].count == 1:
            return (self.gpus[0].profile,)
        return tuple(g.profile for g in self.gpus for _ in range(g.count))

    @property
    def gpu_count(self) -> int:
        return sum(g.count for g in self.gpus)

    @property
    def vram_gb(self) -> float:
        return sum(g.profile.memory_gb * g.count for g in self.gpus)

    @property
    def memory_gb(self) -> float:
        """What the build installs besides VRAM: its RAM or unified memory."""
        return self.host.profile.memory_gb

    @property
    def installed_bytes(self) -> int:
        """Every byte of memory the build has, VRAM and RAM: no plan holds more."""
        return self.host.profile.memory_bytes + sum(d.memory_bytes for d in self.devices)

    @property
    def kind_label(self) -> str:
        """GPU rig / Mac / unified-memory PC / CPU platform: the verdict's groups."""
        if self.gpus:
            return self.gpus[0].profile.device.label
        return self.host.profile.device.label

    def describe(self) -> str:
        if self.name:
            return self.name
        parts = [f"{g.count} x {g.profile.name}" if g.count > 1 else g.profile.name
                 for g in self.gpus]  # fmt: skip
        host = self.host.profile
        parts.append(f"{host.name}" if not self.gpus else f"{host.memory_gb:g} GB {host.name}")
        return " + ".join(parts)


# --- hosts ---------------------------------------------------------------------------


def platform_host(
    platform: Platform,
    efficiency: Efficiency,
    *,
    dimms: Dimms | None = None,
    memory_gb: float | None = None,
    field_prefix: str = "build.host",
) -> Host:
    """A CPU platform with ``dimms`` installed, or the standard balanced population for
    ``memory_gb`` (:func:`~calculator.engine.platform.standard_dimms`)."""
    if dimms is None:
        if memory_gb is None:
            raise EngineError("give the memory to install (memory_gb or dimms)",
                              f"{field_prefix}.memory_gb")  # fmt: skip
        _check_positive(memory_gb, f"{field_prefix}.memory_gb")
        dimms = standard_dimms(platform, memory_gb, field=f"{field_prefix}.memory_gb")
    setup = populate(platform, dimms, field_prefix=f"{field_prefix}.dimms")
    if memory_gb is not None and setup.capacity_gb < memory_gb:
        raise EngineError(
            f"{dimms.count} x {dimms.size_gb} GB is {setup.capacity_gb} GB, less than "
            f"{memory_gb:g} GB",
            f"{field_prefix}.memory_gb",
        )
    profile = HardwareProfile(
        slug=platform.slug,
        name=platform.name,
        kind="cpu",
        memory_gb=setup.capacity_gb,
        bandwidth_gbps=round(setup.effective_gbps, 1),
        efficiency=efficiency.eta,
        efficiency_low=efficiency.low,
        efficiency_high=efficiency.high,
        overhead_ms=efficiency.overhead_ms,
        tier=platform.tier,
        channels=setup.channels_filled,
        mt_s=setup.mt_s,
        ddr=platform.ddr,
        dimm_type=setup.dimm_type,
        dimm_slots=platform.slots,
        read_ceiling_gbps=setup.read_ceiling_gbps,
        prefill_efficiency=efficiency.prefill_eta,
        moe_prefill_us=efficiency.moe_prefill_us,
        sockets=setup.sockets_used,
    )
    return Host(profile, setup, platform)


def profile_host(
    profile: HardwareProfile,
    *,
    memory_gb: float | None = None,
    memory_options_gb: Sequence[int] = (),
    field_prefix: str = "build.host",
) -> Host:
    """A listed machine (a Mac, an APU, a fixed CPU profile) as a host; ``memory_gb``
    picks another size that machine is sold with."""
    if profile.device.accelerator:
        raise EngineError(f"{profile.name} is a GPU, not a host", f"{field_prefix}.profile")
    if memory_gb is None or memory_gb == profile.memory_gb:
        return Host(profile)
    if memory_gb not in memory_options_gb:
        sizes = ", ".join(f"{s} GB" for s in memory_options_gb) or f"{profile.memory_gb:g} GB"
        raise EngineError(f"{profile.name} is sold with {sizes}", f"{field_prefix}.memory_gb")
    name = profile.name.replace(f"{profile.memory_gb:g} GB", f"{memory_gb:g} GB")
    return Host(replace(profile, memory_gb=float(memory_gb), name=name))


def _check_positive(value: float, name: str, top: float = MAX_GB) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= top:
        raise EngineError(f"must be a number above 0 and at most {top:,.0f}", name)


def custom_host(
    *,
    kind: str,
    bandwidth_gbps: float,
    memory_gb: float,
    efficiency: Efficiency,
    sockets: int = 1,
    fp16_tflops: float | None = None,
    field_prefix: str = "build.host",
) -> Host:
    """A visitor's own host: cpu, apple or apu, from its bandwidth and memory."""
    device = device_kind_field(kind, f"{field_prefix}.kind")
    if device.accelerator:
        raise EngineError("a host is cpu, apple or apu", f"{field_prefix}.kind")
    _check_positive(bandwidth_gbps, f"{field_prefix}.bandwidth_gbps")
    _check_positive(memory_gb, f"{field_prefix}.memory_gb")
    if fp16_tflops is not None:
        _check_positive(fp16_tflops, f"{field_prefix}.fp16_tflops", MAX_TFLOPS)
    if sockets not in (1, 2):
        raise EngineError("sockets must be 1 or 2", f"{field_prefix}.sockets")
    profile = custom_profile(
        memory_gb=memory_gb,
        bandwidth_gbps=bandwidth_gbps,
        kind=device.key,
        efficiency=efficiency.eta,
        overhead_ms=efficiency.overhead_ms,
        fp16_tflops=fp16_tflops,
        prefill_efficiency=efficiency.prefill_eta,
        moe_prefill_us=efficiency.moe_prefill_us,
        sockets=sockets,
        name=f"your {device.label} ({memory_gb:g} GB, {bandwidth_gbps:g} GB/s)",
    )
    return Host(replace(profile, efficiency_low=efficiency.low, efficiency_high=efficiency.high))


def custom_gpu(
    *,
    bandwidth_gbps: float,
    memory_gb: float,
    efficiency: Efficiency,
    fp16_tflops: float | None = None,
    link_gbps: float | None = None,
    field_prefix: str = "build.gpus[0]",
) -> HardwareProfile:
    _check_positive(bandwidth_gbps, f"{field_prefix}.bandwidth_gbps")
    _check_positive(memory_gb, f"{field_prefix}.memory_gb")
    if fp16_tflops is not None:
        _check_positive(fp16_tflops, f"{field_prefix}.fp16_tflops", MAX_TFLOPS)
    profile = custom_profile(
        memory_gb=memory_gb,
        bandwidth_gbps=bandwidth_gbps,
        kind="gpu",
        efficiency=efficiency.eta,
        overhead_ms=efficiency.overhead_ms,
        fp16_tflops=fp16_tflops,
        prefill_efficiency=efficiency.prefill_eta,
        moe_prefill_us=efficiency.moe_prefill_us,
        name=f"your GPU ({memory_gb:g} GB, {bandwidth_gbps:g} GB/s)",
    )
    return replace(
        profile, efficiency_low=efficiency.low, efficiency_high=efficiency.high,
        link_gbps=link_gbps,
    )  # fmt: skip


def device_kind_field(kind: str, name: str) -> DeviceKind:
    try:
        return device_kind(kind)
    except EngineError as err:
        raise EngineError(str(err), name) from None


# --- builds --------------------------------------------------------------------------


def make_build(
    host: Host,
    gpus: Sequence[GpuGroup] = (),
    *,
    slug: str = "",
    name: str = "",
    sources: Sequence[str] = (),
) -> Build:
    """A validated build: 0..8 GPUs in all, each group 1..8 cards, beside a CPU host."""
    for i, group in enumerate(gpus):
        if isinstance(group.count, bool) or not isinstance(group.count, int):
            raise EngineError("count must be a whole number", f"build.gpus[{i}].count")
        if not 1 <= group.count <= MAX_GPUS:
            raise EngineError(f"count must be between 1 and {MAX_GPUS}", f"build.gpus[{i}].count")
        if not group.profile.device.accelerator:
            raise EngineError(f"{group.profile.name} is not a GPU", f"build.gpus[{i}].profile")
    total = sum(g.count for g in gpus)
    if total > MAX_GPUS:
        raise EngineError(f"a build holds at most {MAX_GPUS} GPUs, not {total}", "build.gpus")
    if gpus and host.profile.device.host_mode != "cpu":
        raise EngineError(
            f"GPUs need a PC host; {host.profile.name} has unified memory", "build.gpus"
        )
    return Build(host, tuple(gpus), slug, name, tuple(sources))


def device_build(hw: HardwareProfile, host: HardwareProfile) -> Build:
    """The build the per-profile API means: a GPU beside ``host``, or ``hw`` alone."""
    if hw.device.accelerator:
        return Build(Host(host), (GpuGroup(hw, 1),), hw.slug, hw.name)
    return Build(Host(hw), (), hw.slug, hw.name)


# --- the API-shaped spec ----------------------------------------------------------------


def _number(data: Mapping[str, Any], key: str, name: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EngineError("must be a number", name)
    return float(value)


def _dimms(data: Any, name: str) -> Dimms:
    if not isinstance(data, Mapping):
        raise EngineError("dimms is {count, size_gb, mt_s, ranks, type}", name)
    values = {}
    for key in ("count", "size_gb", "mt_s", "ranks"):
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise EngineError("must be a whole number", f"{name}.{key}")
        values[key] = value
    if values["count"] is None or values["size_gb"] is None:
        raise EngineError("dimms needs count and size_gb", f"{name}.count")
    kind = data.get("type")
    return Dimms(
        count=values["count"],
        size_gb=values["size_gb"],
        mt_s=values["mt_s"],
        ranks=values["ranks"] or 2,
        dimm_type=str(kind).upper() if kind else None,
    )


def _host(spec: Any, inv: Inventory) -> Host:
    name = "build.host"
    if not isinstance(spec, Mapping):
        raise EngineError("host is {profile, memory_gb} or {kind, bandwidth_gbps, memory_gb}",
                          name)  # fmt: skip
    memory_gb = _number(spec, "memory_gb", f"{name}.memory_gb")
    slug = spec.get("profile")
    if slug is not None:
        slug = str(slug)
        if slug in inv.platforms:
            platform = inv.platforms[slug]
            dimms = _dimms(spec["dimms"], f"{name}.dimms") if spec.get("dimms") else None
            return platform_host(platform, inv.efficiency["cpu_ddr"], dimms=dimms,
                                 memory_gb=memory_gb)  # fmt: skip
        if slug in inv.profiles:
            return profile_host(inv.profiles[slug], memory_gb=memory_gb,
                                memory_options_gb=inv.memory_options_gb.get(slug, ()))  # fmt: skip
        raise EngineError(f"unknown host profile '{slug}'", f"{name}.profile")
    kind = str(spec.get("kind") or "")
    device = device_kind_field(kind, f"{name}.kind")
    bandwidth = _number(spec, "bandwidth_gbps", f"{name}.bandwidth_gbps")
    if bandwidth is None or memory_gb is None:
        raise EngineError(
            "a custom host needs bandwidth_gbps and memory_gb",
            f"{name}.bandwidth_gbps" if bandwidth is None else f"{name}.memory_gb",
        )
    sockets = spec.get("sockets", 1)
    if isinstance(sockets, bool) or not isinstance(sockets, int):
        raise EngineError("sockets must be 1 or 2", f"{name}.sockets")
    return custom_host(
        kind=kind, bandwidth_gbps=bandwidth, memory_gb=memory_gb,
        efficiency=inv.efficiency_of(device), sockets=sockets,
        fp16_tflops=_number(spec, "fp16_tflops", f"{name}.fp16_tflops"),
    )  # fmt: skip


def _gpu_group(i: int, spec: Any, inv: Inventory) -> GpuGroup:
    name = f"build.gpus[{i}]"
    if not isinstance(spec, Mapping):
        raise EngineError("a GPU is {profile, count} or {bandwidth_gbps, memory_gb, count}",
                          name)  # fmt: skip
    count = spec.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int):
        raise EngineError("count must be a whole number", f"{name}.count")
    slug = spec.get("profile")
    if slug is not None:
        profile = inv.profiles.get(str(slug))
        if profile is None or not profile.device.accelerator:
            raise EngineError(f"unknown GPU profile '{slug}'", f"{name}.profile")
        return GpuGroup(profile, count)
    bandwidth = _number(spec, "bandwidth_gbps", f"{name}.bandwidth_gbps")
    memory_gb = _number(spec, "memory_gb", f"{name}.memory_gb")
    if bandwidth is None or memory_gb is None:
        raise EngineError(
            "a custom GPU needs bandwidth_gbps and memory_gb",
            f"{name}.bandwidth_gbps" if bandwidth is None else f"{name}.memory_gb",
        )
    gpu = custom_gpu(
        bandwidth_gbps=bandwidth, memory_gb=memory_gb,
        efficiency=inv.efficiency_of(device_kind("gpu")),
        fp16_tflops=_number(spec, "fp16_tflops", f"{name}.fp16_tflops"),
        link_gbps=_number(spec, "link_gbps", f"{name}.link_gbps"),
        field_prefix=name,
    )  # fmt: skip
    return GpuGroup(gpu, count)


def build_from_spec(spec: Any, inv: Inventory, *, slug: str = "", name: str = "") -> Build:
    """``{"host": {...}, "gpus": [...]}`` (the API's ``build``) as a validated build."""
    if not isinstance(spec, Mapping):
        raise EngineError("build is {host, gpus}", "build")
    gpus_spec = spec.get("gpus") or []
    if not isinstance(gpus_spec, list):
        raise EngineError("gpus is a list", "build.gpus")
    if len(gpus_spec) > MAX_GPUS:
        raise EngineError(f"a build holds at most {MAX_GPUS} GPUs", "build.gpus")
    if "host" not in spec:
        raise EngineError("a build needs a host", "build.host")
    host = _host(spec["host"], inv)
    groups = [_gpu_group(i, g, inv) for i, g in enumerate(gpus_spec)]
    sources = spec.get("sources") or ()
    return make_build(host, groups, slug=slug, name=name or str(spec.get("name") or ""),
                      sources=[str(s) for s in sources])  # fmt: skip
