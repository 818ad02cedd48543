"""Predicted versus published: the reference set the tests and the methodology page share.

Each CSV in ``calculator/data/reference/`` carries one published measurement per
row with its source. This module predicts each row with the engine and reports
the relative error; the test suite asserts the bounds, the methodology page
shows the same table.
"""

from __future__ import annotations

import csv
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from calculator.engine.estimate import Options, footprint
from calculator.engine.hardware import HardwareProfile
from calculator.engine.kv_cache import kv_cache
from calculator.engine.quant import weights_bytes
from calculator.engine.speed import Footprint, plan
from calculator.engine.types import Architecture

REFERENCE_DIR = Path(__file__).resolve().parent / "data" / "reference"
EXCLUDED_MARK = "EXCLUDED:"


@dataclass(frozen=True, slots=True)
class Row:
    kind: str  # "file_size", "params", "kv_cache", "decode_speed"
    model_slug: str
    label: str
    published: float
    predicted: float | None  # None: the model is not in the catalog
    source: str
    note: str = ""

    @property
    def error(self) -> float | None:
        if self.predicted is None or not self.published:
            return None
        return (self.predicted - self.published) / self.published


@dataclass(frozen=True, slots=True)
class Summary:
    kind: str
    rows: int
    median_abs_error: float
    p90_abs_error: float
    max_abs_error: float


def read_reference(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def included(record: dict[str, str]) -> bool:
    return not record.get("notes", "").startswith(EXCLUDED_MARK)


def file_size_rows(archs: Mapping[str, Architecture]) -> list[Row]:
    rows = []
    for r in filter(included, read_reference("gguf_file_sizes.csv")):
        arch = archs.get(r["model_slug"])
        predicted = weights_bytes(arch, r["quant"]).total_bytes if arch else None
        rows.append(
            Row("file_size", r["model_slug"], r["quant"], float(r["file_bytes"]), predicted,
                r["source"], f"{r['publisher_repo']} {r['size_as_published']}")
        )  # fmt: skip
    return rows


def param_rows(archs: Mapping[str, Architecture]) -> list[Row]:
    rows = []
    for r in filter(included, read_reference("param_counts.csv")):
        arch = archs.get(r["model_slug"])
        rows.append(
            Row("params", r["model_slug"], "total", float(r["total_params"]),
                arch.total_params if arch else None, r["source"])
        )  # fmt: skip
        if r["active_params"]:
            rows.append(
                Row("active_params", r["model_slug"], "active", float(r["active_params"]),
                    arch.active_params if arch else None, r["source"])
            )  # fmt: skip
    return rows


def kv_rows(archs: Mapping[str, Architecture]) -> list[Row]:
    rows = []
    for r in filter(included, read_reference("kv_cache_sizes.csv")):
        arch = archs.get(r["model_slug"])
        context, n_seq = int(r["context"]), int(r["n_seq"] or 1)
        predicted = (
            kv_cache(arch, context // n_seq, r["kv_type"], n_seq).total_bytes if arch else None
        )
        rows.append(
            Row("kv_cache", r["model_slug"], f"{context:,} cells {r['kv_type']}",
                float(r["kv_bytes"]), predicted, r["source"])
        )  # fmt: skip
    return rows


def measured_footprint(arch: Architecture, record: Mapping[str, str]) -> Footprint:
    """What the measured run read per token: its quant, at the middle of a tg128 run
    from the recorded depth."""
    context = int(record["context"] or 0) + 64
    return footprint(arch, Options(quant=record["quant"], context=context))[2]


def speed_rows(
    archs: Mapping[str, Architecture],
    profiles: Mapping[str, HardwareProfile],
    *,
    moe_penalty: float,
) -> list[Row]:
    rows = []
    for r in filter(included, read_reference("decode_speeds.csv")):
        arch, hw = archs.get(r["model_slug"]), profiles.get(r["hardware"])
        predicted = None
        if arch and hw:
            speed = plan(hw, measured_footprint(arch, r), host=hw, moe_penalty=moe_penalty)
            predicted = speed.tokens_per_s
        rows.append(
            Row("decode_speed", r["model_slug"], f"{r['quant']} on {r['hardware']}",
                float(r["tokens_per_s"]), predicted, r["source"], r.get("notes", ""))
        )  # fmt: skip
    return rows


def all_rows(
    archs: Mapping[str, Architecture],
    profiles: Mapping[str, HardwareProfile],
    *,
    moe_penalty: float,
) -> list[Row]:
    builders: list[Callable[[], list[Row]]] = [
        lambda: file_size_rows(archs),
        lambda: param_rows(archs),
        lambda: kv_rows(archs),
        lambda: speed_rows(archs, profiles, moe_penalty=moe_penalty),
    ]
    return [row for build in builders for row in build()]


def summarize(rows: list[Row]) -> list[Summary]:
    summaries = []
    for kind in dict.fromkeys(r.kind for r in rows):
        errors = sorted(abs(r.error) for r in rows if r.kind == kind and r.error is not None)
        if not errors:
            continue
        p90 = errors[min(len(errors) - 1, int(round(0.9 * (len(errors) - 1))))]
        summaries.append(Summary(kind, len(errors), statistics.median(errors), p90, errors[-1]))
    return summaries
