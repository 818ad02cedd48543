from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from calculator.engine import hardware as hw
from calculator.engine.kv_cache import DEFAULT_UBATCH


@dataclass(frozen=True)
class EngineFacts:
    """The engine's fixed allowances, for the prose that explains them."""

    fit_margin_gib: float = hw.FIT_MARGIN_BYTES / hw.GIB
    os_reserve_gib: float = hw.OS_RESERVE_BYTES / hw.GIB
    planning_fill_pct: int = round(hw.PLANNING_FILL * 100)
    headroom_pct: int = round((1 - hw.PLANNING_FILL) * 100)
    ubatch: int = DEFAULT_UBATCH


ENGINE_FACTS = EngineFacts()


def engine_facts(request: HttpRequest) -> dict[str, EngineFacts]:
    """The engine's fixed allowances (fit margin, OS reserve, planning fill, micro-batch) for
    every template that explains them, so prose never restates a number by hand."""
    return {"facts": ENGINE_FACTS}
