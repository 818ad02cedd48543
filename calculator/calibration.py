"""Fit each hardware class's decode efficiency and per-token overhead to the published
measurements in ``data/reference/decode_speeds.csv``.

Model: ``seconds per token = bytes read ÷ (eta × bandwidth) + overhead``. The fixed
term is why doubling bandwidth does not double speed for small models
(canirunthisllm.com/methodology/); ``eta`` is capped at 0.9 because read probes
reach about 85% of peak (antirez/ds4 #773 on DGX Spark). The fit minimises
squared log error per class on a grid; ``python manage.py calibrate_speed``
prints it, with a leave-one-out check, and ``--write`` stores it in
``hardware.json`` with its derivation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from calculator.engine.types import Architecture
from calculator.validation import included, measured_footprint, read_reference

ETA_GRID = [i / 100 for i in range(30, 91)]
OVERHEAD_GRID_MS = [i / 10 for i in range(0, 81)]
MIN_ROWS = 4


@dataclass(frozen=True, slots=True)
class Point:
    efficiency_class: str
    seconds_at_full_bandwidth: float  # bytes per token ÷ bandwidth
    measured_tps: float
    moe: bool
    label: str


@dataclass(frozen=True, slots=True)
class Fit:
    efficiency_class: str
    eta: float
    overhead_ms: float
    low: float  # measured ÷ predicted, worst below
    high: float  # measured ÷ predicted, best above
    rows: int
    within_30: int
    loo_within_30: int  # leave-one-out: each row predicted by a fit without it


def _predict(eta: float, overhead_ms: float, p: Point, moe_penalty: float) -> float:
    factor = moe_penalty if p.moe else 1.0
    return 1 / (p.seconds_at_full_bandwidth / (eta * factor) + overhead_ms / 1000)


def _best(points: list[Point], moe_penalty: float) -> tuple[float, float]:
    best: tuple[float, float, float] | None = None
    for eta in ETA_GRID:
        for overhead in OVERHEAD_GRID_MS:
            loss = sum(
                math.log(_predict(eta, overhead, p, moe_penalty) / p.measured_tps) ** 2
                for p in points
            )
            if best is None or loss < best[0]:
                best = (loss, eta, overhead)
    assert best is not None
    return best[1], best[2]


def points(
    archs: Mapping[str, Architecture], profiles: Mapping[str, dict[str, object]]
) -> list[Point]:
    found = []
    for r in filter(included, read_reference("decode_speeds.csv")):
        arch, hw = archs.get(r["model_slug"]), profiles.get(r["hardware"])
        if arch is None or hw is None:
            continue
        fp = measured_footprint(arch, r)
        bandwidth = float(hw["bandwidth_gbps"]) * 1e9  # type: ignore[arg-type]
        found.append(
            Point(str(hw["efficiency_class"]), fp.read_bytes_per_token / bandwidth,
                  float(r["tokens_per_s"]), fp.is_moe,
                  f"{r['model_slug']} {r['quant']} on {r['hardware']}")
        )  # fmt: skip
    return found


def fit(all_points: list[Point], moe_penalty: float) -> list[Fit]:
    fits = []
    for cls in sorted({p.efficiency_class for p in all_points}):
        pts = [p for p in all_points if p.efficiency_class == cls]
        if len(pts) < MIN_ROWS:
            continue
        eta, overhead = _best(pts, moe_penalty)
        ratios = [p.measured_tps / _predict(eta, overhead, p, moe_penalty) for p in pts]
        loo = 0
        for i, held in enumerate(pts):
            e, o = _best(pts[:i] + pts[i + 1 :], moe_penalty)
            loo += abs(_predict(e, o, held, moe_penalty) / held.measured_tps - 1) <= 0.3
        fits.append(
            Fit(cls, eta, overhead, min(ratios), max(ratios), len(pts),
                sum(abs(1 / r - 1) <= 0.3 for r in ratios), loo)
        )  # fmt: skip
    return fits
