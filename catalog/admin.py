from datetime import timedelta

from django.contrib import admin, messages
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from catalog import services
from catalog.models import FRESHNESS, MemoryKit, Offer, PriceSnapshot, Retailer, SyncRun


class InStockFilter(admin.SimpleListFilter):
    title = "in stock"
    parameter_name = "in_stock"

    def lookups(self, request, model_admin):
        return [("yes", "Yes (fresh offer in stock)"), ("no", "No")]

    def queryset(self, request, queryset):
        fresh = Offer.objects.fresh().in_stock()
        if queryset.model is MemoryKit:
            has = Exists(fresh.filter(kit=OuterRef("pk")))
            if self.value() == "yes":
                return queryset.filter(has)
            if self.value() == "no":
                return queryset.exclude(has)
        else:
            if self.value() == "yes":
                return queryset.filter(pk__in=fresh.values("pk"))
            if self.value() == "no":
                return queryset.exclude(pk__in=fresh.values("pk"))
        return queryset


class StaleFilter(admin.SimpleListFilter):
    title = "stale (not checked in 24 h)"
    parameter_name = "stale"

    def lookups(self, request, model_admin):
        return [("yes", "Stale"), ("no", "Fresh")]

    def queryset(self, request, queryset):
        cutoff = timezone.now() - FRESHNESS
        stale_q = Q(last_checked__isnull=True) | Q(last_checked__lt=cutoff)
        if queryset.model is MemoryKit:
            has_stale = Exists(Offer.objects.filter(stale_q, kit=OuterRef("pk")))
            if self.value() == "yes":
                return queryset.filter(has_stale)
            if self.value() == "no":
                return queryset.exclude(has_stale)
            return queryset
        if self.value() == "yes":
            return queryset.filter(stale_q)
        if self.value() == "no":
            return queryset.exclude(stale_q)
        return queryset


class CapacityFilter(admin.SimpleListFilter):
    title = "capacity"
    parameter_name = "capacity"
    BANDS = [(0, 64), (64, 128), (128, 256), (256, 512), (512, 1024), (1024, 100_000)]

    def lookups(self, request, model_admin):
        return [
            (f"{lo}-{hi}", f"{lo}–{hi - 1} GB" if hi < 100_000 else f"{lo} GB and more")
            for lo, hi in self.BANDS
        ]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        lo, hi = (int(x) for x in self.value().split("-"))
        return queryset.filter(capacity_gb__gte=lo, capacity_gb__lt=hi)


HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


class OfferInline(admin.TabularInline):
    model = Offer
    formfield_overrides = HTTPS_URLS
    extra = 0
    fields = ["retailer", "item_id", "url", "price", "currency", "availability", "last_checked"]
    readonly_fields = ["price", "availability", "last_checked"]
    show_change_link = True


@admin.register(MemoryKit)
class MemoryKitAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "brand",
        "mpn",
        "ddr_generation",
        "speed_mts",
        "modules",
        "capacity_gb",
        "form_factor",
        "ecc",
        "is_active",
    ]
    list_filter = [
        "ddr_generation",
        CapacityFilter,
        "form_factor",
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

    @admin.display(description="modules")
    def modules(self, kit: MemoryKit) -> str:
        return kit.modules_label


class PriceSnapshotInline(admin.TabularInline):
    model = PriceSnapshot
    extra = 0
    can_delete = False
    fields = ["observed_at", "price", "currency", "availability"]
    readonly_fields = fields
    ordering = ["-observed_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = [
        "kit",
        "retailer",
        "item_id",
        "price",
        "currency",
        "availability",
        "last_checked",
        "last_changed",
        "last_error",
    ]
    list_filter = ["retailer", "availability", InStockFilter, StaleFilter]
    search_fields = ["item_id", "kit__title", "kit__mpn"]
    list_select_related = ["kit", "retailer"]
    autocomplete_fields = ["kit"]
    readonly_fields = ["price", "availability", "last_checked", "last_changed", "last_error"]
    inlines = [PriceSnapshotInline]
    formfield_overrides = HTTPS_URLS


@admin.register(Retailer)
class RetailerAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "source_kind",
        "domain",
        "country",
        "currency",
        "requests_per_second",
        "is_active",
        "last_run",
    ]
    list_filter = ["source_kind", "is_active"]
    search_fields = ["name", "slug", "domain"]
    prepopulated_fields = {"slug": ["name"]}
    actions = ["sync_prices_now"]

    @admin.display(description="last sync")
    def last_run(self, retailer: Retailer) -> str:
        run = retailer.sync_runs.first()
        return f"{run.get_status_display()} {run.started_at:%Y-%m-%d %H:%M}" if run else "never"

    @admin.action(description="Sync prices now")
    def sync_prices_now(self, request, queryset):
        result = services.price_sync_enqueue(
            retailer_ids=list(queryset.values_list("pk", flat=True))
        )
        if result.queued:
            self.message_user(
                request,
                f"Queued a price sync for {', '.join(result.queued)}. "
                "Runs appear under Sync runs when a worker picks them up.",
                messages.SUCCESS,
            )
        if result.failed:
            self.message_user(
                request,
                f"Could not queue the price sync for {', '.join(result.failed)}: the task "
                f"broker is unreachable ({result.error}). Nothing was changed; try again "
                "when Redis is back, or run `manage.py sync_prices`.",
                messages.ERROR,
            )


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = [
        "retailer",
        "status",
        "started_at",
        "duration",
        "offers_checked",
        "offers_changed",
        "offers_failed",
        "first_error",
    ]
    list_filter = ["status", "retailer"]
    date_hierarchy = "started_at"
    list_select_related = ["retailer"]
    readonly_fields = [f.name for f in SyncRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="duration")
    def duration(self, run: SyncRun) -> str:
        if not run.finished_at:
            return "—"
        seconds = (run.finished_at - run.started_at) / timedelta(seconds=1)
        return f"{seconds:.1f} s"

    @admin.display(description="errors")
    def first_error(self, run: SyncRun) -> str:
        if not run.errors:
            return ""
        first = run.errors[0]
        more = f" (+{len(run.errors) - 1} more)" if len(run.errors) > 1 else ""
        return f"{first.get('item')}: {first.get('error')}{more}"
