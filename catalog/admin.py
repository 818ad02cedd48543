"""Admin for editors: kits, components, retailers (settings checked on save), offers
(manual prices with who and when), held prices (approve / reject), price bands, and
sync runs (pending until a worker takes them, stale after a while, with reasons).

Bad filter values in the address are refused with a message, never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.db import models
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from catalog import gguf_services, services
from catalog.models import (
    Component,
    GgufFile,
    GgufRepository,
    GgufSyncRun,
    HeldPrice,
    HeldPriceQuerySet,
    MemoryKit,
    Offer,
    PriceBand,
    PriceSnapshot,
    Retailer,
    SyncRun,
)
from catalog.sources import SOURCES, Deadline

HTTPS_URLS: Mapping[type[models.Field[Any, Any]], Mapping[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}


# ── Filters that refuse values they do not know ────────────────────────────────


class RefuseBadFiltersMixin:
    """A filter value the changelist cannot use is refused with a message (Django then
    shows every row under ``?e=1``) instead of failing the request."""

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        try:
            return super().get_changelist_instance(request)  # type: ignore[misc]
        except IncorrectLookupParameters as exc:
            if ERROR_FLAG not in request.GET:
                detail = str(exc.args[0] if exc.args else exc).strip("[]'\"")[:200]
                self.message_user(  # type: ignore[attr-defined]
                    request,
                    f"Filter not applied: {detail or 'a value in the address is not valid'}. "
                    "Showing every row.",
                    messages.ERROR,
                )
            raise


class ChoiceListFilter(admin.SimpleListFilter):
    """A list filter that accepts only the values it offers."""

    def __init__(self, request: HttpRequest, params: Any, model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        value = self.value()
        if value is not None and value not in {str(key) for key, _ in self.lookup_choices}:
            raise IncorrectLookupParameters(f"{self.parameter_name}={value[:40]!r} is not a choice")


class InStockFilter(ChoiceListFilter):
    title = "in stock"
    parameter_name = "in_stock"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes (fresh offer in stock)"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        fresh = Offer.objects.fresh().in_stock()
        if queryset.model is MemoryKit:
            has = Exists(fresh.filter(kit=OuterRef("pk")))
            return queryset.filter(has) if self.value() == "yes" else queryset.exclude(has)
        ids = fresh.values("pk")
        return (
            queryset.filter(pk__in=ids) if self.value() == "yes" else queryset.exclude(pk__in=ids)
        )


class StaleFilter(ChoiceListFilter):
    title = "stale (not checked within its source's window)"
    parameter_name = "stale"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Stale"), ("no", "Fresh")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        stale = Offer.objects.stale()
        if queryset.model is MemoryKit:
            has = Exists(stale.filter(kit=OuterRef("pk")))
            return queryset.filter(has) if self.value() == "yes" else queryset.exclude(has)
        ids = stale.values("pk")
        return (
            queryset.filter(pk__in=ids) if self.value() == "yes" else queryset.exclude(pk__in=ids)
        )


class CapacityFilter(ChoiceListFilter):
    title = "capacity"
    parameter_name = "capacity"
    BANDS = [(0, 64), (64, 128), (128, 256), (256, 512), (512, 1024), (1024, 100_000)]

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            (f"{lo}-{hi}", f"{lo}–{hi - 1} GB" if hi < 100_000 else f"{lo} GB and more")
            for lo, hi in self.BANDS
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        lo, hi = (int(x) for x in value.split("-"))
        return queryset.filter(capacity_gb__gte=lo, capacity_gb__lt=hi)


class ItemKindFilter(ChoiceListFilter):
    title = "prices"
    parameter_name = "item"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("kit", "Memory kits"), ("component", "Components")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "kit":
            return queryset.filter(kit__isnull=False)
        if self.value() == "component":
            return queryset.filter(component__isnull=False)
        return queryset


# ── Offers ──────────────────────────────────────────────────────────────────────


def price_text(offer: Offer) -> str:
    if offer.price is None:
        return "no price"
    label = f" ({offer.price_label})" if offer.price_label else ""
    checked = f", {offer.last_checked:%Y-%m-%d}" if offer.last_checked else ""
    return f"{offer.currency} {offer.price}{label}{checked}"


class OfferInline(admin.TabularInline):
    """Short columns so a kit's page fits a 1366 px screen: currency comes from the
    retailer, availability and dates are in the price column."""

    model = Offer
    fk_name = "kit"
    extra = 0
    fields = ["retailer", "item_id", "url", "shown_price"]
    readonly_fields = ["shown_price"]
    show_change_link = True
    formfield_overrides = {
        models.URLField: {"assume_scheme": "https", "widget": forms.URLInput(attrs={"size": 28})},
        models.CharField: {"widget": forms.TextInput(attrs={"size": 12})},
    }

    @admin.display(description="price")
    def shown_price(self, offer: Offer) -> str:
        return price_text(offer) if offer.pk else "—"


class ComponentOfferInline(OfferInline):
    fk_name = "component"


class PriceSnapshotInline(admin.TabularInline):
    model = PriceSnapshot
    extra = 0
    can_delete = False
    readonly_fields = fields = (
        "observed_at",
        "price",
        "currency",
        "availability",
        "recorded_by",
        "note",
    )
    ordering = ["-observed_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OfferAdminForm(forms.ModelForm):
    """Prices are typed only on offers of a manual-price retailer; each typed price is
    recorded as a snapshot with the editor and the date."""

    price_date = forms.DateTimeField(
        required=False, help_text="When the price was seen (blank: now)."
    )
    price_source_url = forms.URLField(
        required=False, assume_scheme="https", help_text="Where the price was read."
    )
    price_note = forms.CharField(required=False, max_length=300)

    class Meta:
        model = Offer
        fields = [
            "kit",
            "component",
            "retailer",
            "item_id",
            "title",
            "url",
            "condition",
            "currency",
            "price",
            "availability",
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm.clean returns cleaned_data (typed Optional in django-stubs)
        data = self.cleaned_data
        retailer = data.get("retailer")
        typed = "price" in self.fields and "price" in self.changed_data
        if (
            typed
            and data.get("price") is not None
            and retailer is not None
            and not retailer.source.accepts_manual_prices
        ):
            self.add_error(
                "price",
                f"Prices for {retailer} come from its sync; type prices only on offers "
                "of a retailer whose source is manual prices.",
            )
        return data


@admin.register(Offer)
class OfferAdmin(RefuseBadFiltersMixin, admin.ModelAdmin):
    form = OfferAdminForm
    list_display = ["item", "retailer", "item_id", "shown_price", "availability", "state"]
    list_filter = [ItemKindFilter, "retailer", "availability", InStockFilter, StaleFilter]
    search_fields = ["item_id", "title", "kit__title", "kit__mpn", "component__name"]
    list_select_related = ["kit", "component", "retailer"]
    autocomplete_fields = ["kit", "component"]
    inlines = [PriceSnapshotInline]
    formfield_overrides = HTTPS_URLS
    SYNCED = ["price", "availability", "last_checked", "last_changed", "last_error"]
    ALWAYS_READONLY = ["missed_runs", "delisted_at", "last_changed", "last_error", "sync_note"]

    @admin.display(description="price", ordering="price")
    def shown_price(self, offer: Offer) -> str:
        return price_text(offer)

    @admin.display(description="state")
    def state(self, offer: Offer) -> str:
        if offer.delisted_at:
            return f"gone since {offer.delisted_at:%Y-%m-%d}"
        return offer.last_error or ("used" if offer.condition == Offer.Condition.USED else "")

    def get_readonly_fields(self, request: HttpRequest, obj: Offer | None = None) -> list[str]:
        if obj is not None and not obj.retailer.source.accepts_manual_prices:
            return [*self.ALWAYS_READONLY, "price", "availability", "last_checked"]
        return [*self.ALWAYS_READONLY, "last_checked"]

    def get_fields(self, request: HttpRequest, obj: Offer | None = None) -> tuple[str, ...]:
        fields = ["kit", "component", "retailer", "item_id", "title", "url", "condition"]
        fields += ["currency", "sync_note", "price", "availability"]
        if obj is None or obj.retailer.source.accepts_manual_prices:
            fields += ["price_date", "price_source_url", "price_note"]
        return (*fields, "last_checked", "last_changed", "last_error", "missed_runs", "delisted_at")

    @admin.display(description="where the price comes from")
    def sync_note(self, offer: Offer) -> str:
        if offer.pk is None:
            return "Pick the retailer; prices can be typed only for manual-price retailers."
        if offer.retailer.source.accepts_manual_prices:
            return "Typed by editors: each price you save is recorded with your name and date."
        return (
            f"Set by the price sync of {offer.retailer} ({offer.retailer.source.label}); "
            "it cannot be typed here. Use “Sync prices now” on the retailer."
        )

    def save_model(self, request: HttpRequest, obj: Offer, form: Any, change: bool) -> None:
        typed = "price" in form.changed_data or "availability" in form.changed_data
        price = form.cleaned_data.get("price")
        if not (typed and price is not None and obj.retailer.source.accepts_manual_prices):
            super().save_model(request, obj, form, change)
            return
        availability = form.cleaned_data.get("availability") or Offer.Availability.UNKNOWN
        if change:
            old = Offer.objects.get(pk=obj.pk)
            obj.price, obj.availability = old.price, old.availability
        else:
            obj.price, obj.availability = None, Offer.Availability.UNKNOWN
        super().save_model(request, obj, form, change)
        services.offer_record_manual_price(
            offer=obj,
            price=Decimal(price),
            availability=availability,
            recorded_by=request.user,
            observed_at=form.cleaned_data.get("price_date"),
            source_url=form.cleaned_data.get("price_source_url") or "",
            note=form.cleaned_data.get("price_note") or "",
        )


# ── Kits and components ─────────────────────────────────────────────────────────


@admin.register(MemoryKit)
class MemoryKitAdmin(RefuseBadFiltersMixin, admin.ModelAdmin):
    list_display = ["title", "mpn", "kind", "modules", "ecc"]
    list_filter = [
        "ddr_generation",
        CapacityFilter,
        "form_factor",
        "ranks",
        "ecc",
        ("offers__retailer", admin.RelatedOnlyFieldListFilter),
        InStockFilter,
        StaleFilter,
        "is_active",
    ]
    search_fields = ["title", "brand", "mpn", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["capacity_gb", "created_at", "updated_at"]
    inlines = [OfferInline]
    formfield_overrides = HTTPS_URLS

    @admin.display(description="modules", ordering="capacity_gb")
    def modules(self, kit: MemoryKit) -> str:
        return f"{kit.modules_label} = {kit.capacity_gb} GB"

    @admin.display(description="type", ordering="ddr_generation")
    def kind(self, kit: MemoryKit) -> str:
        ranks = f" {kit.ranks}R" if kit.ranks else ""
        return f"{kit.ddr_generation}-{kit.speed_mts} {kit.form_factor}{ranks}"


@admin.register(Component)
class ComponentAdmin(RefuseBadFiltersMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "profile_slug", "memory_gb", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "slug", "profile_slug", "mpn", "brand"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ComponentOfferInline]
    formfield_overrides = HTTPS_URLS


# ── Retailers and syncs ─────────────────────────────────────────────────────────


def settings_examples() -> str:
    return " ".join(f"{source.label}: {source.example_text()}." for source in SOURCES.values())


class RetailerAdminForm(forms.ModelForm):
    class Meta:
        model = Retailer
        fields = [
            "name",
            "slug",
            "source_kind",
            "source_settings",
            "domain",
            "country",
            "currency",
            "affiliate_tag",
            "requests_per_second",
            "disclaimer",
            "is_active",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "source_settings" in self.fields:
            self.fields["source_settings"].help_text += " Examples: " + settings_examples()


@admin.register(Retailer)
class RetailerAdmin(RefuseBadFiltersMixin, admin.ModelAdmin):
    form = RetailerAdminForm
    list_display = ["name", "source_kind", "domain", "currency", "is_active", "last_run"]
    list_filter = ["source_kind", "is_active"]
    search_fields = ["name", "slug", "domain"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["sync_lease_until", "sync_lease_holder"]
    actions = ["sync_prices_now"]
    formfield_overrides = HTTPS_URLS

    @admin.display(description="last sync")
    def last_run(self, retailer: Retailer) -> str:
        run = retailer.sync_runs.order_by("-requested_at").first()
        return f"{run.get_status_display()} {run.requested_at:%Y-%m-%d %H:%M}" if run else "never"

    @admin.action(description="Sync prices now")
    def sync_prices_now(self, request: HttpRequest, queryset: QuerySet[Retailer]) -> None:
        result = services.price_sync_request(
            retailer_ids=list(queryset.values_list("pk", flat=True)),
            requested_by=request.user,
        )
        if result.queued:
            names = ", ".join(f"{r.retailer} (run #{r.pk})" for r in result.queued)
            self.message_user(
                request,
                f"Queued a price sync for {names}. Each run shows as pending under Sync runs "
                "until a worker takes it.",
                messages.SUCCESS,
            )
        if result.ran_here:
            names = ", ".join(r.retailer.name for r in result.ran_here)
            intro = (
                f"Could not queue the price sync for {names}: the task broker is unreachable "
                f"({result.broker_error}). Ran it in this process instead: "
                if result.broker_error
                else f"Ran the price sync for {names} in this process: "
            )
            outcomes = "; ".join(
                f"{r.retailer}: {r.get_status_display()}, {r.offers_checked} checked, "
                f"{r.offers_changed} changed, {r.offers_failed} rejected, {r.offers_held} held"
                + (f" ({r.reason})" if r.reason else "")
                for r in result.ran_here
            )
            failed = any(
                r.status in (SyncRun.Status.FAILED, SyncRun.Status.REFUSED) for r in result.ran_here
            )
            self.message_user(
                request, intro + outcomes + ".", messages.WARNING if failed else messages.SUCCESS
            )
        if result.not_syncing:
            self.message_user(
                request,
                f"Nothing to sync for {', '.join(result.not_syncing)}: its prices are typed by "
                "editors on its offers.",
                messages.INFO,
            )


@admin.register(SyncRun)
class SyncRunAdmin(RefuseBadFiltersMixin, admin.ModelAdmin):
    list_display = ["retailer", "status", "requested_at", "duration", "counts", "summary"]
    list_filter = ["status", "runner", "retailer"]
    date_hierarchy = "requested_at"
    list_select_related = ["retailer"]
    readonly_fields = [f.name for f in SyncRun._meta.fields]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        services.sync_runs_expire()  # a pending run nobody took says so, worker or not
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="duration")
    def duration(self, run: SyncRun) -> str:
        if not run.finished_at or run.status == SyncRun.Status.STALE:
            return "—"
        seconds = (run.finished_at - run.started_at) / timedelta(seconds=1)
        return f"{seconds:.1f} s"

    @admin.display(description="items")
    def counts(self, run: SyncRun) -> str:
        return (
            f"{run.items_seen} seen, {run.offers_checked} checked, {run.offers_changed} "
            f"changed, {run.offers_failed} rejected, {run.offers_held} held"
        )

    @admin.display(description="reason / errors")
    def summary(self, run: SyncRun) -> str:
        if run.reason:
            return run.reason
        if not run.errors:
            return ""
        first = run.errors[0]
        more = f" (+{len(run.errors) - 1} more)" if len(run.errors) > 1 else ""
        return f"{first.get('item')}: {first.get('error')}{more}"


# ── Price sanity ────────────────────────────────────────────────────────────────


class HeldStatusFilter(ChoiceListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(HeldPrice.Status.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(status=self.value()) if self.value() else queryset


@admin.register(HeldPrice)
class HeldPriceAdmin(RefuseBadFiltersMixin, admin.ModelAdmin):
    """Prices the sync did not publish because they failed a sanity check."""

    list_display = [
        "offer",
        "held_price",
        "accepted_price",
        "reason",
        "observed_at",
        "status",
        "decided_by",
    ]
    list_filter = [HeldStatusFilter, "offer__retailer"]
    list_select_related = ["offer__retailer", "offer__kit", "offer__component", "decided_by"]
    search_fields = ["offer__item_id", "offer__kit__title", "offer__component__name", "reason"]
    readonly_fields = [f.name for f in HeldPrice._meta.fields]
    actions = ["approve", "reject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None  # actions only; a decision is never edited

    @admin.display(description="held price")
    def held_price(self, held: HeldPrice) -> str:
        return f"{held.currency} {held.price}"

    @admin.display(description="accepted price")
    def accepted_price(self, held: HeldPrice) -> str:
        price = held.offer.price
        return f"{held.offer.currency} {price}" if price is not None else "—"

    def _decide(self, request: HttpRequest, queryset: HeldPriceQuerySet, approve: bool) -> None:
        done, not_current = 0, []
        for held in queryset.pending().select_related("offer"):
            if approve:
                if not services.held_price_approve(held=held, user=request.user):
                    not_current.append(str(held.offer))
            else:
                services.held_price_reject(held=held, user=request.user)
            done += 1
        verb = "Approved" if approve else "Rejected"
        self.message_user(request, f"{verb} {done} held price{'s' if done != 1 else ''}.")
        if not_current:
            self.message_user(
                request,
                "Kept as history only (a newer price was accepted since): "
                + ", ".join(not_current),
                messages.WARNING,
            )

    @admin.action(description="Approve: publish these prices")
    def approve(self, request: HttpRequest, queryset: HeldPriceQuerySet) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description="Reject: keep the accepted prices")
    def reject(self, request: HttpRequest, queryset: HeldPriceQuerySet) -> None:
        self._decide(request, queryset, approve=False)


@admin.register(PriceBand)
class PriceBandAdmin(RefuseBadFiltersMixin, admin.ModelAdmin):
    list_display = ["__str__", "source", "source_date"]
    list_filter = ["ddr_generation", "form_factor", "currency"]
    formfield_overrides = HTTPS_URLS

    @admin.display(description="source")
    def source(self, band: PriceBand) -> str:
        return format_html('<a href="{}" rel="noopener">{}</a>', band.source_url, "source")


# ── GGUF repositories (catalog.gguf_services) ───────────────────────────────────


class GgufFileInline(admin.TabularInline):
    model = GgufFile
    extra = 0
    can_delete = False
    fields = (
        "label",
        "path",
        "part_count",
        "total_bytes",
        "size_precision",
        "last_seen",
        "gone_at",
    )
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # files come from the Hub sync (or the reviewed snapshot)


@admin.register(GgufRepository)
class GgufRepositoryAdmin(RefuseBadFiltersMixin, admin.ModelAdmin):
    list_display = ("repo_id", "model", "publisher", "position", "is_active", "last_synced_at")
    list_filter = ("is_active",)
    list_select_related = ("model",)
    search_fields = ("repo_id", "model__name", "model__slug")
    autocomplete_fields = ("model",)
    readonly_fields = ("last_commit", "last_synced_at")
    inlines = [GgufFileInline]
    actions = ["sync_now"]

    @admin.action(description="List files from the Hugging Face Hub now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[GgufRepository]) -> None:
        """Runs here, bounded in time (a worker does the same every day)."""
        budget = Deadline(25)
        for repository in queryset.order_by("repo_id")[:5]:
            outcome = gguf_services.gguf_sync_run(
                repository_id=repository.pk,
                runner=SyncRun.Runner.IN_PROCESS,
                deadline=budget.sooner(15),
            )
            run = outcome.run
            level = messages.SUCCESS if run.status in GgufSyncRun.COMPLETED else messages.WARNING
            self.message_user(
                request,
                f"{repository}: {run.get_status_display()}, {run.files_seen} files "
                f"({run.files_added} new, {run.files_changed} changed). {run.reason}",
                level,
            )


@admin.register(GgufFile)
class GgufFileAdmin(RefuseBadFiltersMixin, admin.ModelAdmin):
    list_display = ("label", "repository", "total_bytes", "size_precision", "part_count", "gone_at")
    list_filter = ("size_precision", "standard_mix")
    list_select_related = ("repository",)
    search_fields = ("label", "path", "repository__repo_id")
    fields = (
        "repository", "label", "path", "part_count", "parts", "total_bytes", "size_precision",
        "commit", "source", "standard_mix", "note", "tensor_bytes", "expert_bytes",
        "non_expert_bytes", "embedding_bytes", "output_bytes", "bytes_by_type",
        "header_read_at", "first_seen", "last_seen", "missed_runs", "gone_at",
    )  # fmt: skip
    readonly_fields = (
        "tensor_bytes", "expert_bytes", "non_expert_bytes", "embedding_bytes", "output_bytes",
        "bytes_by_type", "header_read_at", "missed_runs", "gone_at",
    )  # fmt: skip


@admin.register(GgufSyncRun)
class GgufSyncRunAdmin(RefuseBadFiltersMixin, admin.ModelAdmin):
    list_display = ("repository", "status", "started_at", "files_seen", "files_added", "reason")
    list_filter = ("status",)
    list_select_related = ("repository",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
