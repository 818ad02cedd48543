"""What the FAQ pages show: the generated answers (``faq.builders``) merged with the
editors' published wording (``faq.models.FaqEntry``).

Builders know the engine and nothing of the database; the rows know the builders (to
check an override's numbers); this module reads the rows and merges, so imports point
one way: builders <- models <- selectors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from django.urls import reverse

from calculator import services
from calculator.models import LlmModel
from faq.builders import QA, ModelFaq, general_faq, generated_faq
from faq.models import FaqEntry


def model_faq(model: LlmModel) -> ModelFaq:
    """What a page shows: generated answers, published editor wording whose numbers
    agree with the engine, then editors' extra questions."""
    entries = list(FaqEntry.objects.published().for_model(model))
    merged = _with_editor_entries(generated_faq(model, services.hardware_set()), entries)
    return ModelFaq(model.slug, model.name, reverse("faq:model-faq", args=[model.slug]), merged)


def site_faq() -> tuple[QA, ...]:
    """/faq/: the general answers (editors' wording when it states no number), then
    editors' site-wide questions."""
    return _with_editor_entries(general_faq(), list(FaqEntry.objects.published().general()))


def _with_editor_entries(generated: Iterable[QA], entries: list[FaqEntry]) -> tuple[QA, ...]:
    """Editors' wording replaces a generated answer unless its numbers drift from the
    engine's; editors' added questions follow the generated ones."""
    overrides = {e.key: e for e in entries if e.key}
    out = []
    for qa in generated:
        entry = overrides.get(qa.key)
        if entry is not None and not entry.drift_against(qa.figures):
            qa = replace(
                qa, question=entry.question or qa.question, answer=entry.answer, source="edited"
            )
        out.append(qa)
    out += [QA(f"added-{e.pk}", e.question, e.answer, source="added") for e in entries if not e.key]
    return tuple(out)
