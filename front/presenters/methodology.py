"""The methodology page's live table: predicted versus published, per reference row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from calculator import services, validation
from calculator.models import LlmModel


@dataclass(frozen=True)
class ValidationReport:
    rows: tuple[validation.Row, ...]
    summaries: tuple[validation.Summary, ...]

    def rows_by_kind(self) -> dict[str, list[validation.Row]]:
        by_kind: dict[str, list[validation.Row]] = {}
        for row in self.rows:
            by_kind.setdefault(row.kind, []).append(row)
        return by_kind


def validation_report(
    models: Iterable[LlmModel], hardware: services.HardwareSet
) -> ValidationReport:
    """Predicted versus published for the reference set (the page is served from the
    response cache; the engine memoises the per-model work)."""
    archs = {m.slug: services.architecture_of(m) for m in models}
    profiles = {p.slug: p for p in hardware.profiles}
    rows = validation.all_rows(archs, profiles, moe_penalty=hardware.moe_penalty)
    return ValidationReport(tuple(rows), tuple(validation.summarize(rows)))
