"""The hardware verdict: the smallest machine of each kind that runs an estimate."""

from __future__ import annotations

from dataclasses import dataclass

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
    fitting = [s for s in speeds if s.mode != "does_not_fit" and s.tokens_per_s]
    options: list[Option] = []
    for tier in SYSTEM_TIERS:
        pick = _smallest([s for s in fitting if s.hardware.tier == tier and s.mode == "cpu"])
        if pick:
            options.append(Option(TIER_PHRASES[tier], pick))
            break
    for kind, label in (("apple", "a Mac"), ("apu", "a unified-memory PC")):
        pick = _smallest([s for s in fitting if s.hardware.kind == kind])
        if pick:
            options.append(Option(f"{label} with {pick.hardware.memory_gb:g} GB", pick))
    gpu = _smallest([s for s in fitting if s.hardware.kind == "gpu" and s.fits])
    if gpu:
        options.append(Option(f"one {gpu.hardware.name} ({gpu.hardware.memory_gb:g} GB)", gpu))
    else:
        offload = _smallest([s for s in fitting if s.mode in ("expert_offload", "partial_offload")])
        if offload:
            options.append(Option(f"{offload.hardware.name} plus system RAM", offload))
    options.sort(key=lambda o: -(o.speed.tokens_per_s or 0))
    ram = f"{recommended_ram_gb} GB" if recommended_ram_gb else "more than 2 TB"
    if not options:
        headline = f"Needs {ram} of memory: beyond every machine profile we list."
    else:
        choices = [o.label for o in options]
        joined = ", ".join(choices[:-1]) + (" or " if len(choices) > 1 else "") + choices[-1]
        headline = f"Plan for {ram} of memory: runs on {joined}."
    return Verdict(headline, tuple(options))
