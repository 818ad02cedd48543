"""The hardware verdict: the smallest machine of each kind that runs an estimate
comfortably (the one fit rule, :func:`calculator.engine.pools.classify`).

:func:`build_verdict` works on placements over builds and takes a ``cost`` function so
the catalog can rank by real build prices; by default a build "costs" the memory it
installs (VRAM plus RAM), the smallest-looking build of each kind.
:func:`verdict` is the per-profile view the pages use today.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from calculator.engine.build import Build
from calculator.engine.placement import Placement
from calculator.engine.speed import SpeedEstimate

# Platform tiers from smallest to largest; a verdict names the first that fits.
SYSTEM_TIERS = ("desktop", "workstation", "server")
TIER_PHRASES = {
    "desktop": "a desktop PC (2 memory channels)",
    "workstation": "a workstation platform (4–8 memory channels, RDIMM)",
    "server": "a server platform (8–12+ memory channels per socket, RDIMM)",
}


@dataclass(frozen=True, slots=True)
class Option:
    label: str
    speed: SpeedEstimate


@dataclass(frozen=True, slots=True)
class Verdict:
    headline: str
    options: tuple[Option, ...]  # cheapest fitting choice of each kind, fastest first


def _smallest(speeds: list[SpeedEstimate]) -> SpeedEstimate | None:
    return min(speeds, key=lambda s: (s.hardware.memory_gb, -(s.tokens_per_s or 0)), default=None)


def verdict(speeds: tuple[SpeedEstimate, ...], recommended_ram_gb: int | None) -> Verdict:
    """Summarise where a model runs: system RAM tier, Mac, unified-memory PC, one GPU."""
    fitting = [s for s in speeds if s.fits and s.tokens_per_s]
    options: list[Option] = []
    for tier in SYSTEM_TIERS:
        pick = _smallest([s for s in fitting if s.hardware.tier == tier and s.mode == "cpu"])
        if pick:
            options.append(Option(TIER_PHRASES[tier], pick))
            break
    machines = [
        s for s in fitting if s.hardware.device.host_mode != "cpu" or s.hardware.device.accelerator
    ]
    for device in dict.fromkeys(s.hardware.device for s in machines):
        pick = _smallest([s for s in machines if s.hardware.device is device])
        if pick:
            options.append(Option(device.machine_phrase(pick.hardware), pick))
    options.sort(key=lambda o: -(o.speed.tokens_per_s or 0))
    ram = f"{recommended_ram_gb} GB" if recommended_ram_gb else "more than 2 TB"
    if not options:
        headline = f"Needs {ram} of memory: beyond every machine profile we list."
    else:
        choices = [o.label for o in options]
        joined = ", ".join(choices[:-1]) + (" or " if len(choices) > 1 else "") + choices[-1]
        headline = f"Plan for {ram} of memory: runs on {joined}."
    return Verdict(headline, tuple(options))


# --- builds ----------------------------------------------------------------------------

CostFn = Callable[[Build], float]


def installed_gb(build: Build) -> float:
    """The default cost: memory the build installs (VRAM plus RAM or unified memory)."""
    return build.vram_gb + build.memory_gb


@dataclass(frozen=True, slots=True)
class BuildOption:
    kind: str  # GPU rig / Mac / unified-memory PC / CPU platform
    placement: Placement

    @property
    def label(self) -> str:
        return f"{self.kind}: {self.placement.build.describe()}"


@dataclass(frozen=True, slots=True)
class BuildVerdict:
    headline: str
    options: tuple[BuildOption, ...]  # cheapest comfortable build of each kind, fastest first


def build_verdict(
    placements: Sequence[Placement],
    recommended_ram_gb: int | None,
    *,
    cost: CostFn = installed_gb,
) -> BuildVerdict:
    """Per kind of build, the cheapest (by ``cost``) that runs the model comfortably."""
    best: dict[str, Placement] = {}
    for p in placements:
        if not p.fits:
            continue
        kind = p.build.kind_label
        held = best.get(kind)
        key = (cost(p.build), -(p.tokens_per_s or 0.0))
        if held is None or key < (cost(held.build), -(held.tokens_per_s or 0.0)):
            best[kind] = p
    options = sorted(
        (BuildOption(kind, p) for kind, p in best.items()),
        key=lambda o: -(o.placement.tokens_per_s or 0.0),
    )
    ram = f"{recommended_ram_gb} GB" if recommended_ram_gb else "more than 2 TB"
    if not options:
        headline = f"Needs {ram} of memory: no build listed runs it comfortably."
    else:
        labels = [o.label for o in options]
        joined = ", ".join(labels[:-1]) + (" or " if len(labels) > 1 else "") + labels[-1]
        headline = f"Plan for {ram} of memory: runs comfortably on {joined}."
    return BuildVerdict(headline, tuple(options))
