"""Memory kits and reference components, the retailers that sell them, offers and syncs.

Read vocabulary lives on the QuerySets (``MemoryKit.objects.available()``,
``Offer.objects.fresh()``); state changes are model methods
(``offer.record_observation(...)``, ``run.finish(...)``, ``held.approve(...)``);
multi-step writes are in ``catalog.services``.

What differs between retailers is behaviour of their price-source class
(``retailer.source``, from the one table in ``catalog.sources``); models only ask it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from catalog.sources import (
    SOURCES,
    PriceSource,
    SettingsError,
    SourceError,
    SourceSettings,
    source_choices,
    source_class,
)

# A live price older than this is not shown as current (and Amazon's licence allows
# caching its content for at most this long). Each source class has its own window
# (``PriceSource.fresh_for``); this is the one for retailers' live prices.
FRESHNESS = timedelta(hours=24)
# A snapshot is written when price/availability changed, or when this much time passed.
SNAPSHOT_HEARTBEAT = timedelta(days=1)

# "2Rx8" → 2; "2S2Rx4" (3DS: 2-high stacks, 2 ranks) → 2; "QR" / "DR" / "SR" → 4 / 2 / 1.
_RANK = re.compile(r"^(?:\d+S)?(?P<ranks>[1248])R|^(?P<letter>[SDQ])R\b", re.IGNORECASE)
_RANK_LETTERS = {"S": 1, "D": 2, "Q": 4}


def ranks_from_text(text: str) -> int | None:
    """Ranks per module from a rank label, or None when the label does not say."""
    match = _RANK.match(text.strip())
    if match is None:
        return None
    if match["ranks"]:
        return int(match["ranks"])
    return _RANK_LETTERS[match["letter"].upper()]


def host_matches_domain(url: str, domain: str) -> bool:
    """True when ``url`` is https and its host is ``domain`` or a subdomain of it."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    domain = domain.lower().strip().rstrip(".")
    return (
        parts.scheme == "https" and bool(domain) and (host == domain or host.endswith("." + domain))
    )


def _is_https(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.hostname)


# ── Retailers ───────────────────────────────────────────────────────────────────


class RetailerQuerySet(models.QuerySet):
    def active(self) -> RetailerQuerySet:
        return self.filter(is_active=True)

    def syncing(self) -> RetailerQuerySet:
        """Retailers whose source has something to fetch (not manual prices)."""
        return self.filter(source_kind__in=[k for k, s in SOURCES.items() if s.syncs])

    def acquire_sync_lease(
        self, *, retailer_id: int, holder: str, seconds: float, now: datetime
    ) -> bool:
        """Claim the retailer's sync lease (a conditional UPDATE: one winner).

        Free when never taken, expired, or already held by ``holder`` (the same task
        redelivered after its worker died). The lease expires on its own after
        ``seconds`` (the task's hard time limit), so a dead holder cannot keep it.
        """
        claimable = (
            Q(sync_lease_until__isnull=True)
            | Q(sync_lease_until__lte=now)
            | Q(sync_lease_holder=holder)
        )
        return bool(
            self.filter(claimable, pk=retailer_id).update(
                sync_lease_until=now + timedelta(seconds=seconds), sync_lease_holder=holder
            )
        )

    def release_sync_lease(self, *, retailer_id: int, holder: str) -> bool:
        return bool(
            self.filter(pk=retailer_id, sync_lease_holder=holder).update(
                sync_lease_until=None, sync_lease_holder=""
            )
        )


class Retailer(models.Model):
    # The registered kinds by name (``Retailer.SourceKind.FEED``), for code and tests
    # that name one; the table itself is ``catalog.sources.SOURCES``. django-stubs does not
    # model the functional Choices API (typeddjango/django-stubs#729), hence the ignore.
    SourceKind = models.TextChoices(  # type: ignore[call-overload]
        "SourceKind", [(kind.upper(), (kind, source.label)) for kind, source in SOURCES.items()]
    )

    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)
    domain = models.CharField(
        max_length=100,
        blank=True,
        help_text=(
            "Offer links must be https URLs on this domain (or a subdomain). Blank only for "
            "manual prices, whose links may be on any https site."
        ),
    )
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. US")
    currency = models.CharField(max_length=3, help_text="ISO 4217, e.g. USD")
    affiliate_tag = models.CharField(
        max_length=100,
        blank=True,
        help_text="Added to product links (blank: the CATALOG_AFFILIATE_TAGS setting, if any).",
    )
    source_kind = models.CharField(max_length=20, choices=source_choices)
    source_settings = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "Settings for the source kind (checked when you save). Credentials are never "
            'stored here: name the environment variables instead, e.g. {"client_id_env": '
            '"AMAZON_CREATORS_CLIENT_ID"}.'
        ),
    )
    requests_per_second = models.FloatField(
        default=1.0, help_text="Rate limit across all workers (Amazon allows about 1/s)."
    )
    disclaimer = models.TextField(
        blank=True, help_text="Shown next to every price from here (blank: the source's own)."
    )
    is_active = models.BooleanField(default=True)
    # The sync lease (see RetailerQuerySet.acquire_sync_lease): who syncs now, until when.
    sync_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    sync_lease_holder = models.CharField(max_length=64, blank=True, editable=False)

    objects = RetailerQuerySet.as_manager()

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
        try:
            source = self.source
        except SourceError:
            errors["source_kind"] = "Pick a source kind."
        else:
            try:
                source.parse_settings(self.source_settings)
            except SettingsError as exc:
                errors["source_settings"] = str(exc)
            if source.requires_domain and not self.domain.strip():
                errors["domain"] = "Say which domain this retailer's product links are on."
            errors.update(
                source.retailer_problems(
                    affiliate_tag=self.affiliate_tag_in_use, is_active=self.is_active
                )
            )
        if errors:
            raise ValidationError(errors)

    # ── Behaviour of the source kind ────────────────────────────────────────────

    @property
    def source(self) -> type[PriceSource]:
        return source_class(self.source_kind)

    @cached_property
    def settings_parsed(self) -> SourceSettings:
        return self.source.parse_settings(self.source_settings)

    @property
    def affiliate_tag_in_use(self) -> str:
        tags = getattr(settings, "CATALOG_AFFILIATE_TAGS", {}) or {}
        return self.affiliate_tag or str(tags.get(self.slug, ""))

    @property
    def is_sample(self) -> bool:
        return self.source.is_sample

    @property
    def is_live(self) -> bool:
        return self.source.is_live

    @property
    def price_label(self) -> str:
        return self.source.price_label

    @property
    def keeps_price_history(self) -> bool:
        return self.source.keeps_price_history

    @property
    def history_note(self) -> str:
        """Why there is no price-history chart (e.g. Amazon's 24-hour terms), or ""."""
        return self.source.history_note

    @property
    def shown_disclaimer(self) -> str:
        return self.disclaimer or self.source.disclaimer

    @property
    def fresh_for(self) -> timedelta:
        return self.source.fresh_for

    def accepts_link(self, url: str) -> bool:
        if self.domain.strip():
            return host_matches_domain(url, self.domain)
        return not self.source.requires_domain and _is_https(url)

    def link_rule(self) -> str:
        return f"an https URL on {self.domain}" if self.domain.strip() else "an https URL"

    def outbound_url(self, url: str) -> str:
        """The product link with this retailer's affiliate tag, in its source's parameter."""
        try:
            parsed = self.settings_parsed
        except SettingsError:
            parsed = None
        return self.source.outbound_url(url, tag=self.affiliate_tag_in_use, settings=parsed)


# ── Things with prices: memory kits and reference components ───────────────────


class MemoryKitQuerySet(models.QuerySet["MemoryKit"]):
    def active(self) -> MemoryKitQuerySet:
        return self.filter(is_active=True)

    def with_capacity_at_least(self, gb: int) -> MemoryKitQuerySet:
        return self.filter(capacity_gb__gte=gb)

    def available(self, now: datetime | None = None) -> MemoryKitQuerySet:
        """Active kits with at least one fresh, in-stock offer."""
        offers = Offer.objects.fresh(now).in_stock().filter(kit__isnull=False)
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
        # best_price is with_best_price()'s annotation; the django-stubs plugin resolves lookups
        # against model fields only, as this QuerySet type does not carry annotations.
        return self.filter(best_price__lte=F("capacity_gb") * value)  # type: ignore[misc]


class MemoryKit(models.Model):
    class DdrGeneration(models.TextChoices):
        DDR4 = "DDR4", "DDR4"
        DDR5 = "DDR5", "DDR5"

    class FormFactor(models.TextChoices):
        UDIMM = "UDIMM", "UDIMM (unbuffered, desktop)"
        CUDIMM = "CUDIMM", "CUDIMM (unbuffered with clock driver, desktop)"
        SODIMM = "SODIMM", "SO-DIMM (laptop / mini PC)"
        RDIMM = "RDIMM", "RDIMM (registered)"
        LRDIMM = "LRDIMM", "LRDIMM (load-reduced)"
        RDIMM_3DS = "3DS_RDIMM", "3DS RDIMM (stacked)"
        MRDIMM = "MRDIMM", "MRDIMM (multiplexed rank)"

    class Ranks(models.IntegerChoices):
        SINGLE = 1, "1R (single rank)"
        DUAL = 2, "2R (dual rank)"
        QUAD = 4, "4R (quad rank)"
        OCTAL = 8, "8R (octal rank)"

    REGISTERED = (
        FormFactor.RDIMM,
        FormFactor.LRDIMM,
        FormFactor.RDIMM_3DS,
        FormFactor.MRDIMM,
    )

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
    ranks = models.PositiveSmallIntegerField(
        "ranks per module",
        choices=Ranks.choices,
        null=True,
        blank=True,
        help_text="Blank when unknown; filled from the rank text (2Rx8 → 2) when that is set.",
    )
    rank = models.CharField(
        "rank organisation", max_length=20, blank=True, help_text="e.g. 2Rx8, 4Rx4"
    )
    cas_latency = models.PositiveSmallIntegerField(null=True, blank=True)
    voltage = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    source_url = models.URLField(
        max_length=500, blank=True, help_text="Page where the part number and specs were read."
    )
    source_note = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Where the specs came from (and how sure they are); required without a URL.",
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
            errors["ecc"] = "Registered modules (RDIMM, LRDIMM, 3DS, MRDIMM) are always ECC."
        if not self.source_url and not self.source_note:
            errors["source_url"] = "Say where the part number and specs were read."
        if self.module_count is not None and self.module_count > 32:
            errors["module_count"] = "More than 32 modules is not a kit."
        if (stated := ranks_from_text(self.rank or "")) is not None:
            if self.ranks is None:
                self.ranks = stated
            elif self.ranks != stated:
                errors["ranks"] = f"The rank text {self.rank!r} says {stated} ranks."
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


class ComponentQuerySet(models.QuerySet):
    def active(self) -> ComponentQuerySet:
        return self.filter(is_active=True)

    def of_kind(self, kind: str) -> ComponentQuerySet:
        return self.filter(kind=kind)

    def for_profile(self, profile_slug: str) -> ComponentQuerySet:
        return self.filter(profile_slug=profile_slug)


class Component(models.Model):
    """A priced item for build costs: a platform's CPU and board (or a bundle of both), a
    GPU, or a whole system. ``profile_slug`` ties it to the engine's profile."""

    class Kind(models.TextChoices):
        PLATFORM = "platform", "Platform bundle (CPU + board)"
        CPU = "cpu", "CPU (of a platform)"
        BOARD = "board", "Board (of a platform)"
        GPU = "gpu", "GPU"
        SYSTEM = "system", "System (Mac, mini PC, DGX Spark…)"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    slug = models.SlugField(max_length=120, unique=True)
    profile_slug = models.CharField(
        "engine profile slug",
        max_length=80,
        blank=True,
        db_index=True,
        help_text=(
            "The engine's platform, build or hardware profile this prices, e.g. "
            "epyc-genoa-1p-12ch-ddr5-4800, rtx-4090, apple-m3-ultra-512."
        ),
    )
    name = models.CharField(max_length=200)
    brand = models.CharField(max_length=60, blank=True)
    mpn = models.CharField(
        "model / part number",
        max_length=120,
        blank=True,
        help_text="Manufacturer part or model number(s), e.g. 100-000000790 + H13SSL-N.",
    )
    covers = models.CharField(
        "price covers",
        max_length=200,
        blank=True,
        help_text="What one price buys, e.g. 'EPYC 9124 CPU + Supermicro H13SSL-N board'.",
    )
    memory_gb = models.PositiveIntegerField(
        "memory (GB)",
        null=True,
        blank=True,
        help_text="Memory the item brings (GPU VRAM, a system's memory); blank for platforms.",
    )
    source_url = models.URLField(
        max_length=500, blank=True, help_text="Page where the model number and specs were read."
    )
    source_note = models.CharField(max_length=1000, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ComponentQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.source_url and not self.source_note:
            raise ValidationError({"source_url": "Say where the model number and specs were read."})


# ── Offers, prices and their history ───────────────────────────────────────────


def _checked_within_window(now: datetime) -> Q:
    """Checked within its source's freshness window (24 h live, 180 days manual…)."""
    kinds_by_window: dict[timedelta, list[str]] = defaultdict(list)
    for kind, source in SOURCES.items():
        kinds_by_window[source.fresh_for].append(kind)
    q = Q(pk__in=[])
    for window, kinds in kinds_by_window.items():
        q |= Q(retailer__source_kind__in=kinds, last_checked__gte=now - window)
    return q


class OfferQuerySet(models.QuerySet):
    def fresh(self, now: datetime | None = None) -> OfferQuerySet:
        """Carrying a price checked within its source's window, and still listed."""
        now = now or timezone.now()
        return self.filter(
            _checked_within_window(now), price__isnull=False, delisted_at__isnull=True
        )

    def stale(self, now: datetime | None = None) -> OfferQuerySet:
        now = now or timezone.now()
        return self.filter(Q(last_checked__isnull=True) | ~_checked_within_window(now))

    def in_stock(self) -> OfferQuerySet:
        return self.filter(availability=Offer.Availability.IN_STOCK)

    def for_retailer(self, retailer_id: int) -> OfferQuerySet:
        return self.filter(retailer_id=retailer_id)

    def for_kits(self) -> OfferQuerySet:
        return self.filter(kit__isnull=False)

    def for_components(self) -> OfferQuerySet:
        return self.filter(component__isnull=False)

    def with_related(self) -> OfferQuerySet:
        return self.select_related("retailer", "kit", "component")

    def count_missed_run(self) -> int:
        """These offers were absent from a completed sync: one more missed run each."""
        return self.update(missed_runs=F("missed_runs") + 1)

    def delist_missing(self, *, runs: int, now: datetime) -> int:
        """Offers absent from ``runs`` syncs in a row are marked gone (not deleted)."""
        return self.filter(missed_runs__gte=runs, delisted_at__isnull=True).update(delisted_at=now)


class Offer(models.Model):
    class Availability(models.TextChoices):
        IN_STOCK = "in_stock", "In stock"
        OUT_OF_STOCK = "out_of_stock", "Out of stock"
        PREORDER = "preorder", "Pre-order"
        BACKORDER = "backorder", "Backorder"
        UNKNOWN = "unknown", "Unknown"

    kit = models.ForeignKey(
        MemoryKit, on_delete=models.CASCADE, related_name="offers", null=True, blank=True
    )
    component = models.ForeignKey(
        Component, on_delete=models.CASCADE, related_name="offers", null=True, blank=True
    )
    retailer = models.ForeignKey(Retailer, on_delete=models.CASCADE, related_name="offers")

    class Condition(models.TextChoices):
        NEW = "new", "New"
        USED = "used", "Used"
        REFURBISHED = "refurbished", "Refurbished"

    item_id = models.CharField(max_length=64, help_text="The retailer's id, e.g. an ASIN.")
    title = models.CharField(
        max_length=200, blank=True, help_text="What the retailer calls it (from its feed)."
    )
    url = models.URLField("product URL", max_length=500)
    condition = models.CharField(max_length=12, choices=Condition.choices, default=Condition.NEW)
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, help_text="Blank: the retailer's.")
    availability = models.CharField(
        max_length=20, choices=Availability.choices, default=Availability.UNKNOWN
    )
    last_checked = models.DateTimeField(null=True, blank=True)
    last_changed = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    missed_runs = models.PositiveSmallIntegerField(
        default=0, help_text="Completed syncs in a row that did not list this item."
    )
    delisted_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when enough syncs in a row agree the item is gone."
    )

    objects = OfferQuerySet.as_manager()

    class Meta:
        ordering = ["price"]
        constraints = [
            models.UniqueConstraint(fields=["retailer", "item_id"], name="offer_unique_item"),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gt=0), name="offer_price_positive"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kit__isnull=False, component__isnull=True)
                    | Q(kit__isnull=True, component__isnull=False)
                ),
                name="offer_prices_one_thing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} at {self.retailer}"

    def save(self, *args, **kwargs) -> None:
        if not self.currency and self.retailer_id:
            self.currency = self.retailer.currency
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if (self.kit_id is None) == (self.component_id is None):
            errors["kit"] = "An offer prices exactly one thing: a memory kit or a component."
        if self.retailer_id:
            if not self.currency:
                self.currency = self.retailer.currency
            if self.url and not self.retailer.accepts_link(self.url):
                errors["url"] = f"Use {self.retailer.link_rule()}."
            if self.currency != self.retailer.currency:
                errors["currency"] = f"{self.retailer} sells in {self.retailer.currency}."
        if errors:
            raise ValidationError(errors)

    @property
    def item(self) -> MemoryKit | Component | None:
        return self.kit if self.kit_id else self.component

    # Behaviour of the retailer's source kind, for templates and selectors.

    @property
    def is_sample(self) -> bool:
        return self.retailer.is_sample

    @property
    def is_live(self) -> bool:
        return self.retailer.is_live

    @property
    def price_label(self) -> str:
        """ "sample price", "editor's price" or "" (a retailer's live price)."""
        return self.retailer.price_label

    @property
    def history_note(self) -> str:
        return self.retailer.history_note

    @property
    def outbound_url(self) -> str:
        """The product link with the retailer's affiliate tag (Amazon: ``tag=``).

        Render it with ``rel="sponsored nofollow noopener"`` (``link_rel``).
        """
        return self.retailer.outbound_url(self.url)

    @property
    def product_url(self) -> str:
        """The retailer's product page with the affiliate tag, or "" when the source's
        links are not product pages (the demo feed)."""
        return self.outbound_url if self.retailer.source.links_to_product else ""

    @property
    def link_rel(self) -> str:
        return "sponsored nofollow noopener"

    def is_fresh(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return (
            self.price is not None
            and self.last_checked is not None
            and self.delisted_at is None
            and self.last_checked >= now - self.retailer.fresh_for
        )

    @property
    def price_per_gb(self) -> Decimal | None:
        if self.price is None or self.kit is None:
            return None
        return (self.price / self.kit.capacity_gb).quantize(Decimal("0.01"))

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
        self.missed_runs = 0
        self.delisted_at = None
        if changed:
            self.last_changed = now
        return changed

    def record_failure(self, message: str) -> None:
        """Keep the old price (it goes stale on its own); note why."""
        self.last_error = message[:300]
        self.save(update_fields=["last_error"])

    def expire_cached_price(self) -> None:
        """Drop a price older than the source's caching allowance (Amazon: 24 h)."""
        self.price = None
        self.availability = self.Availability.UNKNOWN
        self.save(update_fields=["price", "availability"])


class PriceSnapshot(models.Model):
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="snapshots")
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3)
    availability = models.CharField(max_length=20, choices=Offer.Availability.choices)
    observed_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The editor who typed or approved this price (blank: the sync).",
    )
    source_url = models.URLField(max_length=500, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["observed_at"]
        indexes = [models.Index(fields=["offer", "observed_at"])]

    def __str__(self) -> str:
        return f"{self.offer_id} {self.price} {self.currency} at {self.observed_at:%Y-%m-%d %H:%M}"


# ── Price sanity: bands and held prices ────────────────────────────────────────


class PriceBand(models.Model):
    """The plausible price per GB for one kind of memory; prices outside are held."""

    ddr_generation = models.CharField(max_length=4, choices=MemoryKit.DdrGeneration.choices)
    form_factor = models.CharField(max_length=10, choices=MemoryKit.FormFactor.choices)
    currency = models.CharField(max_length=3, default="USD")
    min_per_gb = models.DecimalField("lowest plausible per GB", max_digits=8, decimal_places=2)
    max_per_gb = models.DecimalField("highest plausible per GB", max_digits=8, decimal_places=2)
    source_url = models.URLField(
        max_length=500, help_text="Public page with the typical price per GB this band widens."
    )
    source_date = models.DateField(help_text="When the source's prices were observed.")
    note = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["ddr_generation", "form_factor"]
        constraints = [
            models.UniqueConstraint(
                fields=["ddr_generation", "form_factor", "currency"], name="one_band_per_type"
            ),
            models.CheckConstraint(
                condition=Q(min_per_gb__gt=0) & Q(max_per_gb__gt=F("min_per_gb")),
                name="band_min_below_max",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.ddr_generation} {self.form_factor}: {self.currency} "
            f"{self.min_per_gb}–{self.max_per_gb}/GB"
        )


class HeldPriceQuerySet(models.QuerySet["HeldPrice"]):
    def pending(self) -> HeldPriceQuerySet:
        return self.filter(status=HeldPrice.Status.PENDING)


class HeldPrice(models.Model):
    """A synced price that failed a sanity check: not published until an editor decides."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for an editor"
        APPROVED = "approved", "Approved (published)"
        REJECTED = "rejected", "Rejected"

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="held_prices")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    availability = models.CharField(max_length=20, choices=Offer.Availability.choices)
    url = models.URLField(max_length=500, blank=True)
    observed_at = models.DateTimeField()
    reason = models.CharField(max_length=300)
    run = models.ForeignKey(
        "SyncRun", on_delete=models.SET_NULL, null=True, blank=True, related_name="held_prices"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = HeldPriceQuerySet.as_manager()

    class Meta:
        ordering = ["-observed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["offer"], condition=Q(status="pending"), name="one_pending_hold_per_offer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.offer}: {self.currency} {self.price} ({self.get_status_display()})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    def see_again(
        self,
        *,
        price: Decimal,
        availability: str,
        url: str,
        reason: str,
        run_id: int,
        now: datetime,
    ) -> None:
        """The sync saw a held price again (maybe a new one): keep one pending hold."""
        self.price, self.availability, self.url = price, availability, url
        self.reason, self.run_id, self.observed_at = reason[:300], run_id, now
        self.save(update_fields=["price", "availability", "url", "reason", "run", "observed_at"])

    def decide(self, *, approved: bool, user: object, now: datetime) -> None:
        self.status = self.Status.APPROVED if approved else self.Status.REJECTED
        self.decided_by = user  # type: ignore[assignment]
        self.decided_at = now
        self.save(update_fields=["status", "decided_by", "decided_at"])


# ── Sync runs ───────────────────────────────────────────────────────────────────


class SyncRunQuerySet(models.QuerySet):
    def for_retailer(self, retailer_id: int) -> SyncRunQuerySet:
        return self.filter(retailer_id=retailer_id)

    def finished_ok(self) -> SyncRunQuerySet:
        return self.filter(status__in=SyncRun.COMPLETED)

    def open(self) -> SyncRunQuerySet:
        return self.filter(status__in=[SyncRun.Status.PENDING, SyncRun.Status.RUNNING])

    def claim(self, *, run_id: int, task_id: str, runner: str, now: datetime) -> bool:
        """A worker takes a pending run (a conditional UPDATE: only one can)."""
        return bool(
            self.filter(pk=run_id, status=SyncRun.Status.PENDING).update(
                status=SyncRun.Status.RUNNING, started_at=now, task_id=task_id[:64], runner=runner
            )
        )

    def expire(self, *, pending_after: timedelta, running_after: timedelta, now: datetime) -> int:
        """Close runs nobody will finish: pending too long (no worker), running past the
        hard time limit (the worker died). Returns how many were closed."""
        stale = self.filter(status=SyncRun.Status.PENDING, requested_at__lt=now - pending_after)
        minutes = round(pending_after.total_seconds() / 60)
        closed = stale.update(
            status=SyncRun.Status.STALE,
            finished_at=now,
            reason=(
                f"No worker started this run within {minutes} minutes. Is a Celery worker "
                "running (make worker)? You can also run manage.py sync_prices."
            ),
        )
        lost = self.filter(status=SyncRun.Status.RUNNING, started_at__lt=now - running_after)
        closed += lost.update(
            status=SyncRun.Status.FAILED,
            finished_at=now,
            reason=(
                "The worker stopped without finishing this run (killed, out of memory or "
                "lost); earlier prices were kept."
            ),
        )
        return closed


class SyncRun(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending (waiting for a worker)"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Succeeded with rejected or held items"
        WARNING = "warning", "Finished with a warning"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused (another run holds the lock)"
        STALE = "stale", "Never started (no worker took it)"

    class Runner(models.TextChoices):
        WORKER = "worker", "Celery worker"
        IN_PROCESS = "in_process", "In the web process (no broker)"
        COMMAND = "command", "Management command"

    COMPLETED = (Status.SUCCEEDED, Status.PARTIAL, Status.WARNING)

    retailer = models.ForeignKey(Retailer, on_delete=models.CASCADE, related_name="sync_runs")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    requested_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    runner = models.CharField(max_length=12, choices=Runner.choices, default=Runner.WORKER)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    items_seen = models.PositiveIntegerField(
        default=0, help_text="Items the source listed (priced or rejected)."
    )
    offers_checked = models.PositiveIntegerField(default=0)
    offers_changed = models.PositiveIntegerField(default=0)
    offers_failed = models.PositiveIntegerField(default=0)
    offers_held = models.PositiveIntegerField(default=0)
    reason = models.CharField(
        max_length=300, blank=True, help_text="Why the run failed or finished with a warning."
    )
    errors = models.JSONField(default=list, blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    objects = SyncRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["retailer", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.retailer} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.RUNNING)

    def add_error(self, item_id: str, message: str) -> None:
        self.errors.append({"item": _printable(item_id)[:64], "error": _printable(message)[:300]})

    def warn(self, reason: str) -> None:
        """Finish with a warning instead of "succeeded" (e.g. the feed shrank)."""
        self.status = self.Status.WARNING
        self.reason = _printable(reason)[:300]

    def finish(self, *, now: datetime | None = None) -> None:
        if self.status != self.Status.WARNING:
            rejected = self.offers_failed or self.offers_held
            self.status = self.Status.PARTIAL if rejected else self.Status.SUCCEEDED
        self.finished_at = now or timezone.now()
        self.save()

    def fail(self, reason: str, *, now: datetime | None = None) -> None:
        self.status = self.Status.FAILED
        self.reason = _printable(reason)[:300]
        self.add_error("*", reason)
        self.finished_at = now or timezone.now()
        self.save()

    def refuse(self, reason: str, *, now: datetime | None = None) -> None:
        self.status = self.Status.REFUSED
        self.reason = _printable(reason)[:300]
        self.add_error("*", reason)
        self.finished_at = now or timezone.now()
        self.save()


def _printable(text: str) -> str:
    """Text safe for any database: control characters (NUL included) become spaces."""
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", str(text))


# ── GGUF repositories and the files they publish ───────────────────────────────
#
# Editors register Hugging Face repositories per model; the Hub sync
# (``catalog.gguf_services.gguf_sync_run``) lists each one's files and keeps one row per
# quant label. A reviewed snapshot (``catalog/data/gguf_listings.json``) seeds them so
# the site shows real files with no network.

HF_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
HUB_URL = "https://huggingface.co"


class GgufRepositoryQuerySet(models.QuerySet):
    def active(self) -> GgufRepositoryQuerySet:
        return self.filter(is_active=True)

    def for_model(self, model_id: int) -> GgufRepositoryQuerySet:
        return self.filter(model_id=model_id)

    def acquire_sync_lease(
        self, *, repository_id: int, holder: str, seconds: float, now: datetime
    ) -> bool:
        """Claim the repository's sync lease (a conditional UPDATE: one winner); free when
        never taken, expired, or held by ``holder`` (the same task redelivered)."""
        claimable = (
            Q(sync_lease_until__isnull=True)
            | Q(sync_lease_until__lte=now)
            | Q(sync_lease_holder=holder)
        )
        return bool(
            self.filter(claimable, pk=repository_id).update(
                sync_lease_until=now + timedelta(seconds=seconds), sync_lease_holder=holder
            )
        )

    def release_sync_lease(self, *, repository_id: int, holder: str) -> bool:
        return bool(
            self.filter(pk=repository_id, sync_lease_holder=holder).update(
                sync_lease_until=None, sync_lease_holder=""
            )
        )


class GgufRepository(models.Model):
    """A Hugging Face repository of GGUF files for one of our models."""

    repo_id = models.CharField(
        "Hugging Face repository",
        max_length=200,
        unique=True,
        help_text="owner/name, e.g. unsloth/DeepSeek-R1-GGUF",
    )
    model = models.ForeignKey(
        "calculator.LlmModel", on_delete=models.CASCADE, related_name="gguf_repositories"
    )
    publisher = models.CharField(
        max_length=100, blank=True, help_text="Who quantized it (blank: the repository owner)."
    )
    position = models.PositiveSmallIntegerField(
        default=100,
        help_text="Order on the model page; where two repositories publish the same label, "
        "the lower number is the one the calculator uses.",
    )
    is_active = models.BooleanField(default=True, help_text="Listed on pages and synced.")
    notes = models.TextField(blank=True, help_text="Shown to editors only.")
    last_commit = models.CharField(max_length=40, blank=True, editable=False)
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    sync_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    sync_lease_holder = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GgufRepositoryQuerySet.as_manager()

    class Meta:
        ordering = ["model", "position", "repo_id"]
        verbose_name = "GGUF repository"
        verbose_name_plural = "GGUF repositories"

    def __str__(self) -> str:
        return self.repo_id

    def clean(self) -> None:
        self.repo_id = (self.repo_id or "").strip().strip("/")
        if self.repo_id.startswith(HUB_URL + "/"):
            self.repo_id = self.repo_id[len(HUB_URL) + 1 :]
        if not HF_REPO_ID.match(self.repo_id) or ".." in self.repo_id:
            raise ValidationError({"repo_id": "Use the repository id: owner/name."})
        if not self.publisher:
            self.publisher = self.repo_id.split("/", 1)[0]

    @property
    def owner(self) -> str:
        return self.repo_id.split("/", 1)[0]

    @property
    def url(self) -> str:
        return f"{HUB_URL}/{self.repo_id}"

    @property
    def shown_publisher(self) -> str:
        return self.publisher or self.owner


class GgufFileQuerySet(models.QuerySet):
    def listed(self) -> GgufFileQuerySet:
        """Files still published, in active repositories."""
        return self.filter(gone_at__isnull=True, repository__is_active=True)

    def sized(self) -> GgufFileQuerySet:
        return self.filter(total_bytes__isnull=False)

    def for_model(self, model_id: int) -> GgufFileQuerySet:
        return self.filter(repository__model_id=model_id)

    def missing_from(self, repository_id: int, seen_labels: set[str]) -> GgufFileQuerySet:
        return self.filter(repository_id=repository_id, gone_at__isnull=True).exclude(
            label__in=seen_labels
        )


class GgufFile(models.Model):
    """One download of a repository: a quant label, its first part, its total size."""

    class Precision(models.TextChoices):
        EXACT = "exact", "Exact bytes"
        HF_TREE = "hf_tree", "As the Hub's file browser shows it (3 significant figures)"
        README = "readme_2dp", "Publisher's table (GB to 2 decimals)"
        UNKNOWN = "unknown", "Not known"

    repository = models.ForeignKey(GgufRepository, on_delete=models.CASCADE, related_name="files")
    label = models.CharField(
        "quant label", max_length=40, help_text="As the publisher names it: UD-Q2_K_XL, Q4_K_M."
    )
    path = models.CharField(max_length=500, help_text="Path of the file (its first part).")
    part_count = models.PositiveSmallIntegerField(default=1)
    parts = models.JSONField(
        default=list, blank=True, help_text='Each part: {"path", "bytes", "as_published"}.'
    )
    total_bytes = models.BigIntegerField(
        null=True, blank=True, help_text="All parts together; blank while a part's size is unknown."
    )
    size_precision = models.CharField(
        max_length=12, choices=Precision.choices, default=Precision.EXACT
    )
    commit = models.CharField(max_length=40, blank=True, help_text="Commit the listing showed.")
    source = models.CharField(
        max_length=500, help_text="Where the listing was read (URL or repository citation)."
    )
    standard_mix = models.BooleanField(
        default=True,
        help_text="Clear when a file named after a preset is known to use another tensor "
        "mix (say which in the note): it is then not compared with our prediction.",
    )
    note = models.CharField(max_length=500, blank=True)
    # The tensor summary read from the file's GGUF header (catalog.gguf_header), if read.
    tensor_bytes = models.BigIntegerField(null=True, blank=True, editable=False)
    tensor_params = models.BigIntegerField(null=True, blank=True, editable=False)
    expert_bytes = models.BigIntegerField(null=True, blank=True, editable=False)
    non_expert_bytes = models.BigIntegerField(null=True, blank=True, editable=False)
    embedding_bytes = models.BigIntegerField(null=True, blank=True, editable=False)
    output_bytes = models.BigIntegerField(null=True, blank=True, editable=False)
    bytes_by_type = models.JSONField(default=dict, blank=True, editable=False)
    layer_bytes = models.JSONField(default=list, blank=True, editable=False)
    header_read_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    missed_runs = models.PositiveSmallIntegerField(default=0, editable=False)
    gone_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = GgufFileQuerySet.as_manager()

    class Meta:
        ordering = ["repository", "-total_bytes", "label"]
        verbose_name = "GGUF file"
        constraints = [
            models.UniqueConstraint(fields=["repository", "label"], name="one_file_per_label"),
            models.CheckConstraint(
                condition=Q(total_bytes__isnull=True) | Q(total_bytes__gt=0),
                name="gguffile_positive_size",
            ),
            models.CheckConstraint(condition=Q(part_count__gte=1), name="gguffile_parts"),
        ]

    def __str__(self) -> str:
        return f"{self.repository} {self.label}"

    @property
    def url(self) -> str:
        """The file (its first part) on huggingface.co, at the commit when known."""
        revision = self.commit or "main"
        return f"{HUB_URL}/{self.repository.repo_id}/blob/{revision}/{self.path}"

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def is_exact(self) -> bool:
        return self.size_precision == self.Precision.EXACT

    @property
    def has_tensor_summary(self) -> bool:
        return self.tensor_bytes is not None and self.expert_bytes is not None

    def mark_seen(self, *, now: datetime) -> None:
        self.last_seen = now
        self.missed_runs = 0
        self.gone_at = None


class GgufSyncRunQuerySet(models.QuerySet):
    def for_repository(self, repository_id: int) -> GgufSyncRunQuerySet:
        return self.filter(repository_id=repository_id)

    def finished_ok(self) -> GgufSyncRunQuerySet:
        return self.filter(status__in=GgufSyncRun.COMPLETED)

    def open(self) -> GgufSyncRunQuerySet:
        return self.filter(status=GgufSyncRun.Status.RUNNING)

    def expire(self, *, running_after: timedelta, now: datetime) -> int:
        """Fail runs still "running" past the task's hard limit (their worker died)."""
        return self.filter(
            status=GgufSyncRun.Status.RUNNING, started_at__lt=now - running_after
        ).update(
            status=GgufSyncRun.Status.FAILED,
            finished_at=now,
            reason="The worker stopped without finishing this run; earlier files were kept.",
        )


class GgufSyncRun(models.Model):
    """One listing of one repository through the Hub API, always ended with a reason."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        WARNING = "warning", "Finished with a warning"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused (another run holds the lease)"

    COMPLETED = (Status.SUCCEEDED, Status.WARNING)

    repository = models.ForeignKey(
        GgufRepository, on_delete=models.CASCADE, related_name="sync_runs"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    runner = models.CharField(max_length=12, choices=SyncRun.Runner.choices, default="worker")
    task_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    commit = models.CharField(max_length=40, blank=True)
    entries_seen = models.PositiveIntegerField(default=0, help_text="Paths the listing held.")
    files_seen = models.PositiveIntegerField(default=0, help_text="GGUF downloads found.")
    files_added = models.PositiveIntegerField(default=0)
    files_changed = models.PositiveIntegerField(default=0)
    files_missing = models.PositiveIntegerField(default=0)
    files_gone = models.PositiveIntegerField(default=0)
    headers_read = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=300, blank=True)
    errors = models.JSONField(default=list, blank=True)

    objects = GgufSyncRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["repository", "-started_at"])]
        verbose_name = "GGUF sync run"

    def __str__(self) -> str:
        return f"{self.repository} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    def add_error(self, item: str, message: str) -> None:
        if len(self.errors) < 50:
            self.errors.append({"item": _printable(item)[:120], "error": _printable(message)[:300]})

    def warn(self, reason: str) -> None:
        self.status = self.Status.WARNING
        self.reason = _printable(reason)[:300]

    def finish(self, *, now: datetime | None = None) -> None:
        if self.status == self.Status.RUNNING:
            self.status = self.Status.SUCCEEDED
        self.finished_at = now or timezone.now()
        self.save()

    def fail(self, reason: str, *, now: datetime | None = None) -> None:
        self.status = self.Status.FAILED
        self.reason = _printable(reason)[:300]
        self.finished_at = now or timezone.now()
        self.save()

    def refuse(self, reason: str, *, now: datetime | None = None) -> None:
        self.status = self.Status.REFUSED
        self.reason = _printable(reason)[:300]
        self.finished_at = now or timezone.now()
        self.save()
