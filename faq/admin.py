from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from faq.builders import MODEL_KEYS, general_faq, generated_faq
from faq.models import FaqEntry


class DriftFilter(admin.SimpleListFilter):
    title = "numbers vs engine"
    parameter_name = "drift"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Drifted"), ("no", "Agree")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[FaqEntry]) -> QuerySet[FaqEntry]:
        if self.value() not in ("yes", "no"):
            return queryset
        drifted = [e.pk for e in queryset.select_related("model") if e.drift()]
        if self.value() == "yes":
            return queryset.filter(pk__in=drifted)
        return queryset.exclude(pk__in=drifted)


@admin.register(FaqEntry)
class FaqEntryAdmin(admin.ModelAdmin):
    """Editors reword a generated answer or add a question. Numbers they type are
    compared with the engine's: drift is flagged here and a drifted rewording is not
    shown on the site (the generated answer is)."""

    list_display = ("label", "model", "key", "is_published", "drift_flag", "updated_at")
    list_filter = (DriftFilter, "is_published", "key", "model__family")
    list_select_related = ("model",)
    search_fields = ("question", "answer", "model__name", "model__slug")
    readonly_fields = ("generated_answer", "engine_check", "created_at", "updated_at")
    fields = (
        "model", "key", "question", "answer", "position", "is_published",
        "generated_answer", "engine_check", "created_at", "updated_at",
    )  # fmt: skip

    @admin.display(description="question")
    def label(self, obj: FaqEntry) -> str:
        return obj.question or dict(MODEL_KEYS).get(obj.key) or obj.key

    @admin.display(description="numbers")
    def drift_flag(self, obj: FaqEntry) -> str:
        problems = obj.drift()
        if not problems:
            return format_html('<span title="{}">✓ agree</span>', "Every number matches")
        return format_html(
            '<strong style="color:#b00" title="{}">⚠ {} drifted</strong>',
            "; ".join(str(p) for p in problems),
            len(problems),
        )

    @admin.display(description="generated answer (from the engine)")
    def generated_answer(self, obj: FaqEntry) -> str:
        if not obj.key:
            return "–"
        model = obj.model  # None (no query) for a site-wide entry
        if model is None:
            qa = next((qa for qa in general_faq() if qa.key == obj.key), None)
        else:
            qa = next((qa for qa in generated_faq(model) if qa.key == obj.key), None)
        if qa is None:
            return "–"
        return format_html("<strong>{}</strong><br>{}", qa.question, qa.answer)

    @admin.display(description="engine check")
    def engine_check(self, obj: FaqEntry) -> str:
        if obj.pk is None:
            return "Saved entries are checked against the engine."
        problems = obj.drift()
        if not problems:
            return "Every number with a unit matches an engine figure."
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((str(p),) for p in problems))
        )

    def save_model(self, request: HttpRequest, obj: FaqEntry, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        problems = obj.drift()
        if problems:
            hidden = " It is not shown; the generated answer is." if obj.key else ""
            self.message_user(
                request,
                "Numbers that disagree with the engine: "
                + "; ".join(str(p) for p in problems)
                + "."
                + hidden,
                level=messages.WARNING,
            )
