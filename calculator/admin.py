from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from calculator.models import EfficiencyClass, HardwareProfile, LlmModel, SlugRedirect


class SlugRedirectInline(admin.TabularInline):
    model = SlugRedirect
    extra = 0


@admin.register(LlmModel)
class LlmModelAdmin(admin.ModelAdmin):
    """An editor adds a model by pasting its config.json; the engine validates it on save
    (``LlmModel.clean``) and the derived figures are shown read-only."""

    list_display = (
        "name", "family", "architecture", "total_params_b", "active_params_b",
        "context_length", "native_dtype", "popular", "published", "edited",
    )  # fmt: skip
    list_filter = ("family", "architecture", "popular", "published", "native_dtype")
    search_fields = ("name", "slug", "hf_repo")
    readonly_fields = (
        "model_type", "architecture", "total_params", "active_params", "context_length",
        "native_dtype", "updated_at",
    )  # fmt: skip
    fieldsets = (
        (
            None,
            {"fields": ("name", "slug", "family", "hf_repo", "summary", "popular", "published")},
        ),
        ("Release", {"fields": ("release_date", "release_date_source")}),
        ("config.json", {"fields": ("config", "source")}),
        ("Derived by the engine", {"fields": readonly_fields}),
        ("FAQ", {"fields": ("faq_overrides",)}),
    )
    inlines = [SlugRedirectInline]

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "faq_overrides")

    @admin.display(description="FAQ overrides")
    def faq_overrides(self, obj: LlmModel) -> str:
        """Links by URL name only: the FAQ app depends on this one, not the other way."""
        if obj.pk is None:
            return "Save the model first; then reword its generated FAQ answers here."
        changelist = reverse("admin:faq_faqentry_changelist") + f"?model__id__exact={obj.pk}"
        add = reverse("admin:faq_faqentry_add") + f"?model={obj.pk}"
        count = obj.faq_entries.count()
        return format_html(
            '<a href="{}">{} override{} of this model\'s FAQ</a> · <a href="{}">add one</a>',
            changelist,
            count,
            "" if count == 1 else "s",
            add,
        )

    @admin.display(description="total (B)", ordering="total_params")
    def total_params_b(self, obj: LlmModel) -> str:
        return f"{obj.total_params / 1e9:.1f}"

    @admin.display(description="active (B)", ordering="active_params")
    def active_params_b(self, obj: LlmModel) -> str:
        return f"{obj.active_params / 1e9:.1f}"

    @admin.display(description="edited in admin", boolean=True)
    def edited(self, obj: LlmModel) -> bool:
        return obj.edited_since_seed


@admin.register(HardwareProfile)
class HardwareProfileAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "tier", "memory_gb", "bandwidth_gbps", "efficiency_class")
    list_filter = ("kind", "tier", "efficiency_class")
    search_fields = ("name", "slug")
    list_select_related = ("efficiency_class",)


@admin.register(EfficiencyClass)
class EfficiencyClassAdmin(admin.ModelAdmin):
    list_display = ("key", "eta", "low", "high")
