"""Memory kits, the retailers that sell them, their offers and how prices were synced.

Read vocabulary lives on the QuerySets (``MemoryKit.objects.available()``,
``Offer.objects.fresh()``); state changes are model methods
(``offer.record_observation(...)``, ``run.finish(...)``); multi-step writes are in
``catalog.services``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

# A price older than this is not shown as current (and Amazon's licence allows
# caching its content for at most this long).
FRESHNESS = timedelta(hours=24)
# A snapshot is written when price/availability changed, or when this much time passed.
SNAPSHOT_HEARTBEAT = timedelta(days=1)

AMAZON_DISCLAIMER = (
    "Product prices and availability are accurate as of the date/time indicated and are "
    "subject to change. Any price and availability information displayed on the retailer's "
    "site at the time of purchase will apply to the purchase of this product."
)
SAMPLE_DISCLAIMER = (
    "Sample price from a demo feed shipped with this site, not a real offer. "
    "Check retailers for actual prices."
)

_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")
_SECRETISH = ("secret", "password", "token", "api_key", "apikey", "credential")


def host_matches_domain(url: str, domain: str) -> bool:
    """True when ``url`` is https and its host is ``domain`` or a subdomain of it."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    domain = domain.lower().strip().rstrip(".")
    return (
        parts.scheme == "https" and bool(domain) and (host == domain or host.endswith("." + domain))
    )


class Retailer(models.Model):
    class SourceKind(models.TextChoices):
        AMAZON_CREATORS = "amazon_creators", "Amazon Creators API (GetItems, OffersV2)"
        FEED = "feed", "Product feed (Google Merchant fields, JSON or CSV)"
        DEMO_FEED = "demo_feed", "Demo feed (sample prices, file in the repo)"

    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)
    domain = models.CharField(
        max_length=100, help_text="Offer links must be https URLs on this domain (or a subdomain)."
    )
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. US")
    currency = models.CharField(max_length=3, help_text="ISO 4217, e.g. USD")
    affiliate_tag = models.CharField(max_length=100, blank=True)
    source_kind = models.CharField(max_length=20, choices=SourceKind.choices)
    source_settings = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "Adapter settings. Credentials are never stored here: name the environment "
            'variables instead, e.g. {"client_id_env": "AMAZON_CREATORS_CLIENT_ID"}.'
        ),
    )
    requests_per_second = models.FloatField(
        default=1.0, help_text="Rate limit across all workers (Amazon allows about 1/s)."
    )
    disclaimer = models.TextField(blank=True, help_text="Shown next to every price from here.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        self.currency = (self.currency or "").upper()
        self.country = (self.country or "").upper()
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            errors["currency"] = "Use a three-letter ISO 4217 code such as USD."
        if self.requests_per_second is not None and self.requests_per_second <= 0:
            errors["requests_per_second"] = "Must be greater than zero."
        settings = self.source_settings
        if not isinstance(settings, dict):
            errors["source_settings"] = "Settings must be a JSON object."
        else:
            for key, value in settings.items():
                lowered = key.lower()
                if lowered.endswith("_env"):
                    if not isinstance(value, str) or not _ENV_NAME.match(value):
                        errors["source_settings"] = (
                            f"{key} must name an environment variable (A-Z, 0-9, _)."
                        )
                elif any(word in lowered for word in _SECRETISH):
                    errors["source_settings"] = (
                        f"{key} looks like a credential. Store credentials in environment "
                        f"variables and put their names here as {key}_env."
                    )
        if errors:
            raise ValidationError(errors)

    @property
    def is_sample(self) -> bool:
        return self.source_kind == self.SourceKind.DEMO_FEED

    @property
    def is_amazon(self) -> bool:
        return self.source_kind == self.SourceKind.AMAZON_CREATORS

    @property
    def keeps_price_history(self) -> bool:
        """Amazon's licence allows caching for 24 h only; feeds keep full history."""
        return not self.is_amazon

    @property
    def shown_disclaimer(self) -> str:
        if self.disclaimer:
            return self.disclaimer
        if self.is_sample:
            return SAMPLE_DISCLAIMER
        if self.is_amazon:
            return AMAZON_DISCLAIMER
        return "Prices and availability may have changed since the time shown."


class MemoryKitQuerySet(models.QuerySet):
    def active(self) -> MemoryKitQuerySet:
        return self.filter(is_active=True)

    def with_capacity_at_least(self, gb: int) -> MemoryKitQuerySet:
        return self.filter(capacity_gb__gte=gb)

    def available(self, now: datetime | None = None) -> MemoryKitQuerySet:
        """Active kits with at least one fresh, in-stock offer."""
        offers = Offer.objects.fresh(now).in_stock()
        return self.active().filter(pk__in=offers.values("kit_id"))

    def with_best_price(self, now: datetime | None = None) -> MemoryKitQuerySet:
        """Annotate ``best_price``: the cheapest fresh in-stock offer (any currency shown)."""
        best = (
            Offer.objects.fresh(now)
            .in_stock()
            .filter(kit=OuterRef("pk"))
            .order_by("price")
            .values("price")[:1]
        )
        return self.annotate(best_price=Subquery(best))

    def with_price_per_gb_at_most(self, value: Decimal) -> MemoryKitQuerySet:
        """Needs ``with_best_price()``; compares price ≤ value × capacity (no division)."""
        return self.filter(best_price__lte=F("capacity_gb") * value)


class MemoryKit(models.Model):
    class DdrGeneration(models.TextChoices):
        DDR4 = "DDR4", "DDR4"
        DDR5 = "DDR5", "DDR5"

    class FormFactor(models.TextChoices):
        UDIMM = "UDIMM", "UDIMM (unbuffered, desktop)"
        SODIMM = "SODIMM", "SO-DIMM (laptop / mini PC)"
        RDIMM = "RDIMM", "RDIMM (registered)"
        LRDIMM = "LRDIMM", "LRDIMM (load-reduced)"
        RDIMM_3DS = "3DS_RDIMM", "3DS RDIMM (stacked)"

    REGISTERED = (FormFactor.RDIMM, FormFactor.LRDIMM, FormFactor.RDIMM_3DS)

    slug = models.SlugField(max_length=120, unique=True)
    brand = models.CharField(max_length=60)
    title = models.CharField(max_length=200)
    mpn = models.CharField(
        "manufacturer part number",
        max_length=60,
        blank=True,
        help_text="Blank when the seller lists no manufacturer part number.",
    )
    ddr_generation = models.CharField(max_length=4, choices=DdrGeneration.choices)
    speed_mts = models.PositiveIntegerField("speed (MT/s)")
    module_count = models.PositiveSmallIntegerField()
    module_size_gb = models.PositiveIntegerField("module size (GB)")
    capacity_gb = models.GeneratedField(
        expression=F("module_count") * F("module_size_gb"),
        output_field=models.PositiveIntegerField(),
        db_persist=True,
        verbose_name="capacity (GB)",
    )
    ecc = models.BooleanField("ECC")
    form_factor = models.CharField(max_length=10, choices=FormFactor.choices)
    rank = models.CharField(max_length=20, blank=True, help_text="e.g. 2Rx8, 4Rx4")
    cas_latency = models.PositiveSmallIntegerField(null=True, blank=True)
    voltage = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    source_url = models.URLField(
        max_length=500, blank=True, help_text="Page where the part number and specs were read."
    )
    source_note = models.CharField(
        max_length=300, blank=True, help_text="Where the specs came from when there is no URL."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MemoryKitQuerySet.as_manager()

    class Meta:
        ordering = ["module_count", "module_size_gb", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(module_count__gte=1) & Q(module_size_gb__gte=1),
                name="memorykit_positive_modules",
            ),
            models.CheckConstraint(
                condition=Q(speed_mts__gte=800) & Q(speed_mts__lte=20000),
                name="memorykit_speed_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        # The database computes capacity_gb; read it back so the instance is current.
        self.refresh_from_db(fields=["capacity_gb"])

    def get_absolute_url(self) -> str:
        return reverse("catalog:kit-detail", kwargs={"slug": self.slug})

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.form_factor in self.REGISTERED and not self.ecc:
            errors["ecc"] = "Registered modules (RDIMM, LRDIMM, 3DS) are always ECC."
        if not self.source_url and not self.source_note:
            errors["source_url"] = "Say where the part number and specs were read."
        if self.module_count is not None and self.module_count > 32:
            errors["module_count"] = "More than 32 modules is not a kit."
        if errors:
            raise ValidationError(errors)

    @property
    def total_gb(self) -> int:
        """Capacity computed in Python (the stored ``capacity_gb`` is the same product)."""
        return self.module_count * self.module_size_gb

    @property
    def is_registered(self) -> bool:
        return self.form_factor in self.REGISTERED

    @property
    def modules_label(self) -> str:
        return f"{self.module_count}×{self.module_size_gb} GB"

    def retire(self) -> None:
        """Hide the kit from picks and lists without losing its offers and history."""
        self.is_active = False
        self.save(update_fields=["is_active", "updated_at"])


class OfferQuerySet(models.QuerySet):
    def fresh(self, now: datetime | None = None) -> OfferQuerySet:
        """Checked within 24 hours and carrying a price."""
        now = now or timezone.now()
        return self.filter(last_checked__gte=now - FRESHNESS, price__isnull=False)

    def stale(self, now: datetime | None = None) -> OfferQuerySet:
        now = now or timezone.now()
        return self.filter(Q(last_checked__isnull=True) | Q(last_checked__lt=now - FRESHNESS))

    def in_stock(self) -> OfferQuerySet:
        return self.filter(availability=Offer.Availability.IN_STOCK)

    def for_retailer(self, retailer_id: int) -> OfferQuerySet:
        return self.filter(retailer_id=retailer_id)

    def with_related(self) -> OfferQuerySet:
        return self.select_related("retailer", "kit")


class Offer(models.Model):
    class Availability(models.TextChoices):
        IN_STOCK = "in_stock", "In stock"
        OUT_OF_STOCK = "out_of_stock", "Out of stock"
        PREORDER = "preorder", "Pre-order"
        BACKORDER = "backorder", "Backorder"
        UNKNOWN = "unknown", "Unknown"

    kit = models.ForeignKey(MemoryKit, on_delete=models.CASCADE, related_name="offers")
    retailer = models.ForeignKey(Retailer, on_delete=models.CASCADE, related_name="offers")
    item_id = models.CharField(max_length=64, help_text="The retailer's id, e.g. an ASIN.")
    url = models.URLField("product URL", max_length=500)
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3)
    availability = models.CharField(
        max_length=20, choices=Availability.choices, default=Availability.UNKNOWN
    )
    last_checked = models.DateTimeField(null=True, blank=True)
    last_changed = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    objects = OfferQuerySet.as_manager()

    class Meta:
        ordering = ["price"]
        constraints = [
            models.UniqueConstraint(fields=["retailer", "item_id"], name="offer_unique_item"),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gt=0), name="offer_price_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kit} at {self.retailer}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if (
            self.retailer_id
            and self.url
            and not host_matches_domain(self.url, self.retailer.domain)
        ):
            errors["url"] = f"Use an https URL on {self.retailer.domain}."
        if self.retailer_id and self.currency and self.currency != self.retailer.currency:
            errors["currency"] = f"{self.retailer} sells in {self.retailer.currency}."
        if errors:
            raise ValidationError(errors)

    @property
    def is_sample(self) -> bool:
        return self.retailer.is_sample

    def is_fresh(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return (
            self.price is not None
            and self.last_checked is not None
            and self.last_checked >= now - FRESHNESS
        )

    @property
    def price_per_gb(self) -> Decimal | None:
        if self.price is None:
            return None
        return (self.price / self.kit.capacity_gb).quantize(Decimal("0.01"))

    @property
    def outbound_url(self) -> str:
        """The product link with the retailer's affiliate tag (Amazon: ``tag=``)."""
        if not (self.retailer.is_amazon and self.retailer.affiliate_tag):
            return self.url
        parts = urlsplit(self.url)
        query = f"{parts.query}&" if parts.query else ""
        query += urlencode({"tag": self.retailer.affiliate_tag})
        return urlunsplit(parts._replace(query=query))

    def record_observation(
        self, *, price: Decimal | None, availability: str, url: str | None, now: datetime
    ) -> bool:
        """Store a checked price; returns True when price or availability changed."""
        changed = price != self.price or availability != self.availability
        self.price = price
        self.availability = availability
        if url:
            self.url = url
        self.last_checked = now
        self.last_error = ""
        if changed:
            self.last_changed = now
        return changed

    def record_failure(self, message: str) -> None:
        """Keep the old price (it goes stale on its own after 24 h); note why."""
        self.last_error = message[:300]
        self.save(update_fields=["last_error"])

    def expire_cached_price(self) -> None:
        """Drop a price older than the retailer's caching allowance (Amazon: 24 h)."""
        self.price = None
        self.availability = self.Availability.UNKNOWN
        self.save(update_fields=["price", "availability"])


class PriceSnapshot(models.Model):
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="snapshots")
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3)
    availability = models.CharField(max_length=20, choices=Offer.Availability.choices)
    observed_at = models.DateTimeField()

    class Meta:
        ordering = ["observed_at"]
        indexes = [models.Index(fields=["offer", "observed_at"])]

    def __str__(self) -> str:
        return f"{self.offer_id} {self.price} {self.currency} at {self.observed_at:%Y-%m-%d %H:%M}"


class SyncRunQuerySet(models.QuerySet):
    def for_retailer(self, retailer_id: int) -> SyncRunQuerySet:
        return self.filter(retailer_id=retailer_id)

    def finished_ok(self) -> SyncRunQuerySet:
        return self.filter(status__in=[SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL])


class SyncRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Succeeded with rejected items"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused (another run holds the lock)"

    retailer = models.ForeignKey(Retailer, on_delete=models.CASCADE, related_name="sync_runs")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    offers_checked = models.PositiveIntegerField(default=0)
    offers_changed = models.PositiveIntegerField(default=0)
    offers_failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    objects = SyncRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["retailer", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.retailer} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    def add_error(self, item_id: str, message: str) -> None:
        self.errors.append({"item": item_id, "error": message[:300]})

    def finish(self, status: str | None = None, *, now: datetime | None = None) -> None:
        if status is None:
            status = self.Status.PARTIAL if self.offers_failed else self.Status.SUCCEEDED
        self.status = status
        self.finished_at = now or timezone.now()
        self.save()
