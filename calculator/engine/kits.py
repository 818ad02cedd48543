"""Which memory kits a platform takes, and what the population runs at.

A :class:`KitSpec` is a boxed set of DIMMs as sold (DDR generation, DIMM type, module
count and size, rated MT/s, ranks). :func:`kit_fit` decides, from the platform's data
(:mod:`calculator.engine.platform`), whether the kit is electrically compatible and fills
every channel alike, and how many such kits that takes:

* the DDR generation must match, the DIMM type must be one the platform names, and the
  module no larger than its largest DIMM;
* a population is offered only when every channel of every socket holds the same
  number of DIMMs (8 DIMMs on 12 channels, or 16 on 12, are refused: see
  :func:`~calculator.engine.platform.interleaved_channels` for what they would cost);
  a kit smaller than one DIMM per channel is bought as many times as it takes
  (3 x a 4-DIMM kit on 12 channels), never beyond the slots;
* the speed is what :func:`~calculator.engine.platform.dimm_speed` gives for the DIMMs
  per channel and ranks installed, never above the kit's rating.

A platform whose DIMM types are not published (``dimm_types`` empty) takes the types of
its tier's :data:`UNPUBLISHED_TYPES` entry, and the fit says so in ``caveats``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from calculator.engine.platform import (
    DEFAULT_RANKS,
    Dimms,
    MemorySetup,
    Platform,
    dimm_speed,
    populate,
)
from calculator.engine.types import EngineError

MAX_KITS = 8  # never suggest more boxes than this for one build

# DIMM types assumed where a platform's data names none: the module family every
# published build of that tier installs (desktop boards take unbuffered DIMMs,
# workstation and server boards registered ones). Shown to the reader as a caveat.
UNPUBLISHED_TYPES: dict[str, tuple[str, ...]] = {
    "desktop": ("UDIMM",),
    "workstation": ("RDIMM",),
    "server": ("RDIMM",),
}


@dataclass(frozen=True, slots=True)
class KitSpec:
    """A kit as sold: ``count`` modules of ``size_gb`` each."""

    ddr: str
    dimm_type: str  # one of platform.DIMM_TYPES
    count: int
    size_gb: int
    mt_s: int
    ranks: int | None = None  # None: not stated (modelled as DEFAULT_RANKS)

    @property
    def capacity_gb(self) -> int:
        return self.count * self.size_gb


@dataclass(frozen=True, slots=True)
class KitFit:
    """A kit on a platform: ``ok`` with the population, or the reason it is refused."""

    platform: Platform
    kit: KitSpec
    ok: bool
    reason: str = ""
    kits: int = 0  # boxes to buy
    setup: MemorySetup | None = None
    caveats: tuple[str, ...] = ()

    @property
    def dimms(self) -> Dimms:
        return Dimms(
            count=self.kit.count * self.kits,
            size_gb=self.kit.size_gb,
            mt_s=self.kit.mt_s,
            ranks=self.kit.ranks or DEFAULT_RANKS,
            dimm_type=self.kit.dimm_type,
        )

    @property
    def capacity_gb(self) -> int:
        return self.kit.capacity_gb * self.kits

    @property
    def mt_s(self) -> int | None:
        return self.setup.mt_s if self.setup else None

    @property
    def dimms_per_channel(self) -> int | None:
        return self.setup.dimms_per_channel if self.setup else None


def accepted_types(platform: Platform) -> tuple[tuple[str, ...], bool]:
    """The DIMM types ``platform`` takes, and whether its data publishes them."""
    if platform.dimm_types:
        return platform.dimm_types, True
    return UNPUBLISHED_TYPES.get(platform.tier, ()), False


def _refuse(platform: Platform, kit: KitSpec, reason: str) -> KitFit:
    return KitFit(platform, kit, ok=False, reason=reason)


def kits_to_fill(platform: Platform, count: int) -> int | None:
    """How many kits of ``count`` DIMMs fill every channel alike (None: none do)."""
    channels = platform.all_channels
    for kits in range(1, MAX_KITS + 1):
        dimms = kits * count
        if dimms > platform.slots:
            return None
        if dimms % channels == 0:
            return kits
    return None


@lru_cache(maxsize=8192)
def kit_fit(platform: Platform, kit: KitSpec) -> KitFit:
    """Whether ``kit`` runs on ``platform`` with every channel filled alike, how many
    kits that takes, and the speed the population runs at (memoised: a model page asks
    it of every kit on every platform)."""
    if kit.ddr != platform.ddr:
        return _refuse(platform, kit, f"{platform.name} takes {platform.ddr}, not {kit.ddr}")
    types, published = accepted_types(platform)
    if kit.dimm_type not in types:
        return _refuse(
            platform, kit, f"{platform.name} takes {', '.join(types) or 'no listed'} DIMMs, "
            f"not {kit.dimm_type}",
        )  # fmt: skip
    largest = platform.largest_dimm_gb
    if largest is not None and kit.size_gb > largest:
        return _refuse(
            platform, kit, f"{platform.name} takes DIMMs of at most {largest} GB, not "
            f"{kit.size_gb} GB",
        )  # fmt: skip
    kits = kits_to_fill(platform, kit.count)
    if kits is None:
        return _refuse(
            platform, kit, f"{kit.count} DIMMs cannot fill {platform.all_channels} channels "
            f"alike in {platform.slots} slots",
        )  # fmt: skip
    ranks = kit.ranks or DEFAULT_RANKS
    dpc = kits * kit.count // platform.all_channels
    try:
        dimm_speed(platform, kit.dimm_type, dpc, ranks, kit.mt_s)
        fit = KitFit(platform, kit, ok=True, kits=kits)
        setup = populate(platform, fit.dimms)
    except EngineError as err:
        return _refuse(platform, kit, str(err))
    caveats = []
    if not published:
        caveats.append(
            f"{platform.name}: DIMM types not published in our sources; "
            f"{', '.join(types)} assumed for a {platform.tier} platform"
        )
    if kit.ranks is None:
        caveats.append(f"ranks not stated: speed as for {DEFAULT_RANKS}-rank DIMMs")
    return KitFit(platform, kit, ok=True, kits=kits, setup=setup, caveats=tuple(caveats))


def fitting_platforms(platforms: list[Platform], kit: KitSpec) -> list[KitFit]:
    """Every platform ``kit`` fits, in the order given."""
    return [f for f in (kit_fit(p, kit) for p in platforms) if f.ok]
