"""Models side by side: one estimate each, speeds on a fixed set of machines. The models
are named as visitors name them (``pick_models``): names, slugs, repository ids or
nicknames, with "did you mean" for a name that matches none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from calculator import services
from calculator.engine import hardware as hw
from calculator.engine.estimate import Estimate, Options
from calculator.engine.types import Architecture
from calculator.engine.verdict import BuildVerdict
from calculator.models import LlmModel
from front import search
from front.presenters.model_page import SpeedRow, calculation

MAX_COMPARED = 4

COMPARE_PROFILES = (
    "desktop-ddr5-5600-2ch",
    "wrx90-ddr5-6400-8ch",
    "epyc-turin-1p-12ch-ddr5-6400",
    "apple-m4-max-40c",
    "apple-m3-ultra-512",
    "strix-halo-395-128",
    "rtx-4090",
    "rtx-5090",
    "h100-sxm",
)


@dataclass(frozen=True)
class Compared:
    model: LlmModel
    arch: Architecture
    estimate: Estimate
    verdict: BuildVerdict  # the model page's: the cheapest preset build of each kind
    speeds: tuple[SpeedRow, ...]  # on the comparison profiles, in order


def compare(
    models: Sequence[LlmModel], options: Options, hardware: services.HardwareSet
) -> tuple[list[Compared], list[hw.HardwareProfile]]:
    picked = [p for p in (hardware.get(s) for s in COMPARE_PROFILES) if p is not None]
    out = []
    for m in models:
        calc = calculation(m, options, hardware)
        by_slug = {r.speed.hardware.slug: r for r in calc.speed_rows}
        out.append(
            Compared(
                m, calc.arch, calc.estimate, calc.builds.verdict,
                tuple(by_slug[p.slug] for p in picked if p.slug in by_slug),
            )
        )  # fmt: skip
    return out, picked


@dataclass(frozen=True)
class Unknown:
    term: str  # as the visitor typed it
    suggestions: tuple[LlmModel, ...]  # the closest models, best first


@dataclass(frozen=True)
class Picked:
    models: tuple[LlmModel, ...]
    unknown: tuple[Unknown, ...]

    @property
    def text(self) -> str:
        """The models box's value: the names found, then what matched nothing."""
        return ", ".join([m.name for m in self.models] + [u.term for u in self.unknown])

    def models_param(self, extra: LlmModel) -> str:
        """The ``models`` query value with ``extra`` added (a "did you mean" link)."""
        slugs = dict.fromkeys([*(m.slug for m in self.models), extra.slug])
        return ",".join(list(slugs)[:MAX_COMPARED])


def pick_models(terms: Sequence[str], catalog: Sequence[LlmModel]) -> Picked:
    """The models ``terms`` name exactly (any of their names), in order, at most
    ``MAX_COMPARED``; the rest with suggestions. A term of several words that is not
    a name but whose words each are (``deepseek-r1 qwen3-32b``, the old space-separated
    form) stands for each of them."""
    models: list[LlmModel] = []
    unknown = []
    for term in terms:
        found = search.resolve(term, catalog)
        words = [search.resolve(w, catalog) for w in term.split()] if found is None else []
        if found is not None:
            models.append(found)
        elif len(words) > 1 and all(words):
            models.extend(w for w in words if w is not None)
        else:
            unknown.append(Unknown(term, tuple(search.suggest(term, catalog))))
    return Picked(tuple(dict.fromkeys(models))[:MAX_COMPARED], tuple(unknown))
