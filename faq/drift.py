"""Do the numbers an editor typed agree with the engine?

An override is plain text. We pull out every quantity with a unit ("512 GB",
"1.3 TB", "37B", "160K", "19.9 tokens/s") and look for an engine figure of the same
dimension that it rounds to. A stated number with no such figure is drift.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from calculator.engine.hardware import GB
from faq.builders import Figure

# dimension of each figure metric, and the factor that turns its value into that unit
_FIGURE_DIMENSION: dict[str, tuple[str, float]] = {
    "native_bytes": ("GB", 1 / GB),
    "weights_bytes": ("GB", 1 / GB),
    "total_bytes": ("GB", 1 / GB),
    "kv_bytes": ("GB", 1 / GB),
    "recommended_ram_gb": ("GB", 1.0),
    "budget_gb": ("GB", 1.0),
    "hardware_memory_gb": ("GB", 1.0),
    "total_params": ("params", 1.0),
    "active_params": ("params", 1.0),
    "context_length": ("tokens", 1.0),
    "context": ("tokens", 1.0),
    "tokens_per_s": ("tok/s", 1.0),
}

_NUMBER = r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?"
_QUANTITY = re.compile(
    _NUMBER + r"\s*(TB|GB|GiB|MB|tokens?\s*/\s*s|tok/s|t/s|tokens|T|B|M|K|k)(?![\w])"
)
_UNITS: dict[str, tuple[str, float]] = {
    "TB": ("GB", 1000.0),
    "GB": ("GB", 1.0),
    "GiB": ("GB", 1.073741824),
    "MB": ("GB", 0.001),
    "T": ("params", 1e12),
    "B": ("params", 1e9),
    "tokens": ("tokens", 1.0),
    "K": ("tokens", 1024.0),
    "k": ("tokens", 1024.0),
    "tok/s": ("tok/s", 1.0),
}
RELATIVE_TOLERANCE = 0.03


@dataclass(frozen=True, slots=True)
class Stated:
    text: str
    dimension: str
    value: float
    resolution: float  # half a unit of the last digit typed, in the dimension's unit


@dataclass(frozen=True, slots=True)
class Drift:
    stated: str
    nearest: str | None  # the engine figure's text closest to it, if any

    def __str__(self) -> str:
        if self.nearest is None:
            return f"“{self.stated}” matches no engine figure"
        return f"“{self.stated}” but the engine says {self.nearest}"


def parse_quantities(text: str) -> list[Stated]:
    found = []
    for match in _QUANTITY.finditer(text):
        whole, frac, unit = match.group(1), match.group(2) or "", match.group(3)
        if unit.startswith("tok") and "/" in unit or unit == "t/s":
            unit = "tok/s"
        if unit == "M":
            after = text[match.end() : match.end() + 16].lower()
            dimension, factor = (
                ("tokens", 1024.0 * 1024) if "token" in after or "context" in after
                else ("params", 1e6)
            )  # fmt: skip
        elif unit == "token" or unit == "tokens":
            dimension, factor = _UNITS["tokens"]
        else:
            dimension, factor = _UNITS[unit]
        number = float(whole.replace(",", "") + frac)
        step = 10.0 ** -(len(frac) - 1) if frac else 1.0
        found.append(Stated(match.group(0), dimension, number * factor, step / 2 * factor))
    return found


def _candidates(figures: Iterable[Figure], dimension: str) -> list[tuple[float, str]]:
    out = []
    for f in figures:
        dim = _FIGURE_DIMENSION.get(f.metric)
        if dim and dim[0] == dimension and isinstance(f.value, int | float):
            out.append((float(f.value) * dim[1], f.text))
    return out


def _matches(stated: Stated, value: float) -> bool:
    return abs(stated.value - value) <= max(
        RELATIVE_TOLERANCE * abs(value), stated.resolution * 1.0001
    )


def drift(text: str, figures: Iterable[Figure]) -> list[Drift]:
    """Numbers in ``text`` that no figure of the same dimension supports."""
    figures = list(figures)
    problems = []
    for stated in parse_quantities(text):
        options = _candidates(figures, stated.dimension)
        if any(_matches(stated, value) for value, _ in options):
            continue
        nearest = min(options, key=lambda o: abs(o[0] - stated.value), default=None)
        problems.append(Drift(stated.text, nearest[1] if nearest else None))
    return problems
