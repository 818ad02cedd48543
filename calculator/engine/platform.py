"""CPU platforms and the DIMMs installed in them: the memory a build really has.

A :class:`Platform` (data: ``calculator/data/platforms.json``, each fact with its source)
names a CPU family and its memory controller: sockets, channels per socket, DIMM slots
per channel, DDR generation, DIMM types, the largest DIMM, the MT/s it supports by
DIMMs per channel (DPC) and ranks, and any read ceiling measured whatever the DIMMs.
A :class:`Dimms` population is ``count x size`` at a rated MT/s, ranks and type.

Rules (one function each):

* :func:`dimm_speed`: MT/s = min(rated, the platform's limit for the DPC and ranks
  installed). Every channel runs at the speed of the most loaded one: the memory clock
  is set once per controller.
* :func:`populate`: DIMMs spread evenly over the sockets, then round-robin over each
  socket's channels, as board manuals order them. Bandwidth per channel = MT/s x 8 bytes
  (64 data bits per DIMM channel, DDR4 and DDR5 alike). With unequal capacity per
  channel (16 DIMMs on 12 channels) the address space interleaves over all channels only
  up to the smallest channel's capacity and the rest over the fuller channels; a model
  spread over the whole memory reads each region at its own width, so the effective
  width is the capacity-weighted harmonic mean (:func:`interleaved_channels`).
* Sockets: llama.cpp's threads and pages spread over both sockets by default and
  published runs gain little or lose against one socket, so decode sees one socket's
  bandwidth times the measured dual-socket factor (``NUMA_SPEEDUP`` in the data); both
  sockets' capacity counts. ``--numa`` options are explained in :data:`NUMA_NOTES`.
* :func:`standard_dimms`: the RAM to buy: the smallest balanced population (every
  channel of every socket filled alike, 1 DPC before 2 DPC) holding ``memory_gb``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from calculator.engine.types import EngineError

BYTES_PER_TRANSFER = 8  # a DIMM channel carries 64 data bits (DDR5: two 32-bit subchannels)
DIMM_TYPES = ("UDIMM", "CUDIMM", "SODIMM", "CSODIMM", "RDIMM", "LRDIMM", "3DS", "MRDIMM")
DEFAULT_RANKS = 2  # unstated ranks: dual rank, the slower case where platforms differ

NUMA_NOTES = (
    "llama.cpp spreads its threads over both sockets by default; memory pages land on "
    "the node that first touched them, so most reads cross the socket link.",
    "--numa distribute spreads threads evenly over the nodes; drop the page cache first "
    "(echo 3 | sudo tee /proc/sys/vm/drop_caches) so the model's pages are spread too.",
    "--numa isolate keeps every thread on the node llama.cpp started on: one socket's "
    "bandwidth, and only that socket's RAM is local.",
    "--numa numactl uses the CPU map numactl gives it, e.g. numactl --interleave=all "
    "llama-server ... --numa numactl.",
)


@dataclass(frozen=True, slots=True)
class SpeedRule:
    """The platform's MT/s for ``dpc`` DIMMs per channel of at most ``ranks`` ranks."""

    dpc: int
    ranks: int
    mt_s: int
    dimm_types: tuple[str, ...] = ()  # empty: every type the platform takes


@dataclass(frozen=True, slots=True)
class Platform:
    slug: str
    name: str
    cpu_family: str
    tier: str  # desktop / workstation / server
    sockets: int
    channels: int  # per socket
    slots_per_channel: int | None  # None: not published; only DPCs with a speed rule run
    ddr: str
    dimm_types: tuple[str, ...]  # empty: not published (any type accepted)
    max_dimm_gb: int | None  # None: not published
    speeds: tuple[SpeedRule, ...]
    dimm_sizes_gb: tuple[int, ...]  # DIMM sizes sold for this platform, smallest first
    max_memory_gb: int | None = None  # per socket, as the vendor states it
    read_ceiling_gbps: float | None = None  # per socket, measured whatever the DIMMs
    numa_speedup: float = 1.0  # decode bandwidth on all sockets / one socket's
    sources: tuple[tuple[str, str], ...] = field(default=())  # (fact, source)

    @property
    def max_dpc(self) -> int:
        """DIMMs per channel we can model: the board's slots, at most the DPCs whose
        speed is published."""
        published = max((r.dpc for r in self.speeds), default=1)
        return min(self.slots_per_channel or published, published)

    @property
    def slots(self) -> int:
        return self.sockets * self.channels * self.max_dpc

    @property
    def largest_dimm_gb(self) -> int | None:
        if self.max_dimm_gb is not None:
            return self.max_dimm_gb
        if self.max_memory_gb is not None and self.slots_per_channel:
            return self.max_memory_gb // (self.channels * self.slots_per_channel)
        return None

    @property
    def capacity_limit_gb(self) -> int | None:
        """The most memory this platform holds, over all sockets (None: not published)."""
        limits = []
        if self.largest_dimm_gb is not None:
            limits.append(self.slots * self.largest_dimm_gb)
        if self.max_memory_gb is not None:
            limits.append(self.max_memory_gb * self.sockets)
        return min(limits) if limits else None

    @property
    def all_channels(self) -> int:
        return self.sockets * self.channels


@dataclass(frozen=True, slots=True)
class Dimms:
    count: int
    size_gb: int
    mt_s: int | None = None  # rated; None: the platform's best for this population
    ranks: int = DEFAULT_RANKS
    dimm_type: str | None = None  # None: the platform's first type

    @property
    def capacity_gb(self) -> int:
        return self.count * self.size_gb

    def describe(self) -> str:
        speed = f" at {self.mt_s} MT/s" if self.mt_s else ""
        return f"{self.count} x {self.size_gb} GB{speed}"


@dataclass(frozen=True, slots=True)
class MemorySetup:
    """What a platform does with a population: the memory a build really has."""

    platform: Platform
    dimms: Dimms
    dimm_type: str
    sockets_used: int
    channels_filled: int  # over all sockets
    dimms_per_channel: int  # the most loaded channel
    balanced: bool
    mt_s: int
    capacity_gb: int
    theoretical_gbps: float  # every filled channel at ``mt_s``
    interleaved_gbps: float  # after unequal channels
    socket_gbps: float  # one socket's share
    effective_gbps: float  # what decode streams from, before the read ceiling
    read_ceiling_gbps: float | None
    warnings: tuple[str, ...]
    notes: tuple[str, ...]

    def describe(self) -> str:
        return (
            f"{self.dimms.count} x {self.dimms.size_gb} GB {self.dimm_type} at "
            f"{self.mt_s} MT/s on {self.channels_filled} of {self.platform.all_channels} "
            f"channels ({self.effective_gbps:.0f} GB/s)"
        )


# --- reading the data file ----------------------------------------------------------


def _speed_rule(data: Mapping[str, Any]) -> SpeedRule:
    return SpeedRule(
        dpc=int(data["dpc"]),
        ranks=int(data["ranks"]),
        mt_s=int(data["mt_s"]),
        dimm_types=tuple(data.get("dimm_types", ())),
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def platform_from_dict(data: Mapping[str, Any]) -> Platform:
    """One entry of ``platforms.json``; a malformed entry names its field."""
    slug = str(data.get("slug", "?"))
    try:
        types = tuple(data["dimm_types"])
        unknown = [t for t in types if t not in DIMM_TYPES]
        if unknown:
            raise EngineError(f"{slug}: unknown DIMM type {unknown[0]}", "dimm_types")
        sources = data.get("sources", {})
        platform = Platform(
            slug=slug,
            name=str(data["name"]),
            cpu_family=str(data["cpu_family"]),
            tier=str(data["tier"]),
            sockets=int(data["sockets"]),
            channels=int(data["channels"]),
            slots_per_channel=_optional_int(data["slots_per_channel"]),
            ddr=str(data["ddr"]),
            dimm_types=types,
            max_dimm_gb=_optional_int(data["max_dimm_gb"]),
            speeds=tuple(_speed_rule(s) for s in data["speeds"]),
            dimm_sizes_gb=tuple(sorted(int(s) for s in data["dimm_sizes_gb"])),
            max_memory_gb=_optional_int(data.get("max_memory_gb")),
            read_ceiling_gbps=data.get("read_ceiling_gbps"),
            numa_speedup=float(data.get("numa_speedup", 1.0)),
            sources=tuple((str(k), str(v)) for k, v in sources.items()),
        )
    except KeyError as missing:
        raise EngineError(f"{slug}: missing {missing.args[0]}", str(missing.args[0])) from None
    if not 1 <= platform.sockets <= 2:
        raise EngineError(f"{slug}: sockets must be 1 or 2", "sockets")
    return platform


def platforms_from_data(data: Mapping[str, Any]) -> dict[str, Platform]:
    return {p.slug: p for p in (platform_from_dict(d) for d in data["platforms"])}


# --- rules --------------------------------------------------------------------------


def dimm_speed(platform: Platform, dimm_type: str, dpc: int, ranks: int, rated: int | None) -> int:
    """MT/s the platform runs ``dpc`` DIMMs per channel of ``ranks`` ranks at: the
    fastest rule that covers them, never above the DIMMs' rating."""
    fits = [
        r.mt_s
        for r in platform.speeds
        if r.dpc == dpc and r.ranks >= ranks and (not r.dimm_types or dimm_type in r.dimm_types)
    ]
    if not fits:
        raise EngineError(
            f"{platform.name} has no supported speed for {dpc} {ranks}-rank {dimm_type} "
            "DIMMs per channel",
            "dimms",
        )
    limit = max(fits)
    return limit if rated is None else min(rated, limit)


def interleaved_channels(per_channel_dimms: Sequence[int]) -> float:
    """Effective channel count when channels hold unequal numbers of equal DIMMs.

    The k-th DIMM of every channel that has one forms an address region interleaved over
    those channels: a region of ``w`` DIMMs is read over ``w`` channels, so every region
    takes the same time per DIMM-size of bytes. Reading a model spread over all of them
    therefore goes at ``DIMMs / regions`` channels: 16 DIMMs on 12 channels read like 8
    channels (12 in the first region, 4 in the second), 24 like 12."""
    filled = [n for n in per_channel_dimms if n > 0]
    if not filled:
        return 0.0
    return sum(filled) / max(filled)


def _check(platform: Platform, dimms: Dimms, field_prefix: str) -> str:
    if dimms.count < 1:
        raise EngineError("install at least one DIMM", f"{field_prefix}.count")
    if dimms.count > platform.slots:
        dpc = platform.max_dpc
        raise EngineError(
            f"{platform.name} takes {platform.slots} DIMMs ({dpc} per channel"
            f"{' with a published speed' if platform.slots_per_channel != dpc else ''}); "
            f"{dimms.count} do not fit",
            f"{field_prefix}.count",
        )
    largest = platform.largest_dimm_gb
    if dimms.size_gb < 1 or (largest is not None and dimms.size_gb > largest):
        raise EngineError(
            f"{platform.name} takes DIMMs of at most {largest} GB", f"{field_prefix}.size_gb"
        )
    limit = platform.capacity_limit_gb
    if limit is not None and dimms.capacity_gb > limit:
        raise EngineError(f"{platform.name} holds at most {limit:,} GB", f"{field_prefix}.size_gb")
    dimm_type = dimms.dimm_type or (platform.dimm_types[0] if platform.dimm_types else "RDIMM")
    if platform.dimm_types and dimm_type not in platform.dimm_types:
        raise EngineError(
            f"{platform.name} takes {', '.join(platform.dimm_types)}, not {dimm_type}",
            f"{field_prefix}.type",
        )
    if not 1 <= dimms.ranks <= 8:
        raise EngineError("ranks must be between 1 and 8", f"{field_prefix}.ranks")
    return dimm_type


def populate(platform: Platform, dimms: Dimms, *, field_prefix: str = "dimms") -> MemorySetup:
    """The memory ``dimms`` give on ``platform`` (errors name ``field_prefix``.x)."""
    dimm_type = _check(platform, dimms, field_prefix)
    sockets_used = min(platform.sockets, dimms.count)
    per_socket = [dimms.count // sockets_used + (i < dimms.count % sockets_used)
                  for i in range(sockets_used)]  # fmt: skip
    per_channel = [
        n // platform.channels + (c < n % platform.channels)
        for n in per_socket
        for c in range(platform.channels)
    ]
    dpc = max(per_channel)
    mt_s = dimm_speed(platform, dimm_type, dpc, dimms.ranks, dimms.mt_s)
    channel_gbps = mt_s * BYTES_PER_TRANSFER / 1000
    filled = sum(1 for n in per_channel if n)
    width = interleaved_channels(per_channel)
    socket_width = interleaved_channels(per_channel[: platform.channels])
    balanced = len(set(per_channel)) == 1
    socket_gbps = socket_width * channel_gbps
    numa = platform.numa_speedup if sockets_used > 1 else 1.0
    effective = socket_gbps * numa
    ceiling = platform.read_ceiling_gbps * numa if platform.read_ceiling_gbps else None
    warnings = _warnings(platform, dimms, mt_s, dpc, filled, balanced, width, ceiling, effective)
    notes = NUMA_NOTES if sockets_used > 1 else ()
    return MemorySetup(
        platform=platform,
        dimms=dimms,
        dimm_type=dimm_type,
        sockets_used=sockets_used,
        channels_filled=filled,
        dimms_per_channel=dpc,
        balanced=balanced,
        mt_s=mt_s,
        capacity_gb=dimms.capacity_gb,
        theoretical_gbps=filled * channel_gbps,
        interleaved_gbps=width * channel_gbps,
        socket_gbps=socket_gbps,
        effective_gbps=effective,
        read_ceiling_gbps=ceiling,
        warnings=warnings,
        notes=notes,
    )


def _warnings(
    platform: Platform,
    dimms: Dimms,
    mt_s: int,
    dpc: int,
    filled: int,
    balanced: bool,
    width: float,
    ceiling: float | None,
    effective: float,
) -> tuple[str, ...]:
    out = []
    if dimms.mt_s and mt_s < dimms.mt_s:
        out.append(
            f"{dpc} DIMM{'s' if dpc > 1 else ''} per channel run at {mt_s} MT/s on "
            f"{platform.name}, not the {dimms.mt_s} MT/s on the label"
        )
    if filled < platform.all_channels:
        out.append(
            f"only {filled} of {platform.all_channels} memory channels filled: bandwidth "
            f"drops with every empty channel"
        )
    if not balanced and filled == platform.all_channels:
        out.append(
            f"channels hold unequal numbers of DIMMs: the memory reads like {width:.1f} "
            "channels, not all of them"
        )
    if ceiling is not None and ceiling < effective:
        out.append(
            f"this CPU reads at most about {ceiling:.0f} GB/s whatever the DIMMs "
            f"(the DIMMs could give {effective:.0f} GB/s)"
        )
    if platform.sockets > 1 and dimms.count < platform.sockets * platform.channels:
        out.append("fill every channel of both sockets: each socket reads its own DIMMs")
    return tuple(out)


def standard_dimms(platform: Platform, memory_gb: float, *, field: str = "memory_gb") -> Dimms:
    """The RAM to buy: the smallest balanced population holding ``memory_gb``, one DIMM
    per channel before two (every channel of every socket filled alike)."""
    per_fill = platform.all_channels
    largest = platform.largest_dimm_gb
    best: tuple[int, int, int] | None = None  # (capacity, dpc, size)
    for dpc in range(1, platform.max_dpc + 1):
        for size in platform.dimm_sizes_gb:
            if largest is not None and size > largest:
                continue
            capacity = per_fill * dpc * size
            if capacity >= memory_gb and (best is None or (capacity, dpc) < best[:2]):
                best = (capacity, dpc, size)
    if best is None:
        top = max(platform.dimm_sizes_gb, default=0) * platform.slots
        raise EngineError(
            f"{platform.name} holds at most {top:,} GB in DIMMs we can model "
            f"({platform.slots} x {max(platform.dimm_sizes_gb, default=0)} GB)",
            field,
        )
    _, dpc, size = best
    return Dimms(count=per_fill * dpc, size_gb=size)
