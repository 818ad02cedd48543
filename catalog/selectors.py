"""Reads for pages: kit picks for a memory target, offers for a kit, price-history charts.

``kit_picks(required_gb=512)`` returns ``list[PlatformPicks]``, one per platform, in
the order desktop, workstation, server. Fields the model pages render:

PlatformPicks
    key            "desktop" | "workstation" | "server"
    label          e.g. "Desktop (UDIMM, dual-channel, up to 4 slots)"
    channels       the platform's memory channels (2, 8, 12)
    picks          list[KitPick], cheapest priced first; may be empty
    note           why the list is empty (e.g. no kit this large fits the platform)

KitPick
    kit            the MemoryKit (title, brand, mpn, modules_label, capacity_gb,
                   ddr_generation, speed_mts, form_factor, get_absolute_url())
    offer          the cheapest fresh in-stock Offer, or None
    price          Decimal | None (None → show "price unavailable — check retailer")
    currency       "USD" …
    price_per_gb   Decimal | None
    retailer       retailer name ("" when no offer)
    as_of          datetime the price was checked (show "price as of <time>")
    is_sample      True for demo-feed prices: label them "sample price"
    price_label    "sample price", "editor's price" or "" (a retailer's live price)
    is_fresh       False when the only offers are older than their source's window
    disclaimer     the retailer's disclaimer to show next to the price
    outbound_url   product link with affiliate tag ("" for sample prices); render it
                   with rel="sponsored nofollow"
    channels       channels this kit fills on the platform: min(platform, modules)
    speed_mts      the kit's MT/s
    bandwidth_gbps channels × MT/s × 8 bytes / 1000 (theoretical GB/s)

Queries are constant: two, whatever the number of kits and offers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone

from catalog.models import MemoryKit, Offer

PICKS_PER_PLATFORM = 3


@dataclass(frozen=True)
class Platform:
    key: str
    label: str
    channels: int


DESKTOP = Platform("desktop", "Desktop (UDIMM, dual-channel, up to 4 slots)", 2)
WORKSTATION = Platform("workstation", "Workstation (RDIMM, 8 slots, 4–8 channels)", 8)
SERVER = Platform("server", "Server (RDIMM, 12+ slots)", 12)
PLATFORMS = (DESKTOP, WORKSTATION, SERVER)


def kit_platform(kit: MemoryKit) -> Platform | None:
    """Which platform a kit fills: unbuffered ≤4 modules → desktop; registered ≤8 →
    workstation; registered 9+ → server. Unbuffered kits of 5+ modules fit none."""
    if not kit.is_registered:
        return DESKTOP if kit.module_count <= 4 else None
    return WORKSTATION if kit.module_count <= 8 else SERVER


@dataclass(frozen=True)
class KitPick:
    kit: MemoryKit
    offer: Offer | None
    price: Decimal | None
    currency: str
    price_per_gb: Decimal | None
    retailer: str
    as_of: datetime | None
    is_sample: bool
    is_fresh: bool
    disclaimer: str
    outbound_url: str
    channels: int
    speed_mts: int
    price_label: str = ""

    @property
    def bandwidth_gbps(self) -> float:
        return round(self.channels * self.speed_mts * 8 / 1000, 1)


@dataclass
class PlatformPicks:
    key: str
    label: str
    channels: int
    picks: list[KitPick] = field(default_factory=list)
    note: str = ""


def _offers_prefetch() -> Prefetch:
    return Prefetch(
        "offers",
        queryset=Offer.objects.select_related("retailer").filter(
            retailer__is_active=True, delisted_at__isnull=True
        ),
        to_attr="all_offers",
    )


def best_offer(kit: MemoryKit, now: datetime) -> tuple[Offer | None, bool]:
    """Cheapest fresh in-stock offer; else the most recently checked one (stale)."""
    offers = getattr(kit, "all_offers", None)
    if offers is None:
        offers = list(
            kit.offers.select_related("retailer").filter(
                retailer__is_active=True, delisted_at__isnull=True
            )
        )
    fresh = [o for o in offers if o.is_fresh(now) and o.availability == Offer.Availability.IN_STOCK]
    if fresh:
        return min(fresh, key=lambda o: (o.price, o.is_sample)), True
    checked = [o for o in offers if o.last_checked]
    if checked:
        return max(checked, key=lambda o: o.last_checked), False
    return None, False


def make_pick(kit: MemoryKit, platform: Platform, now: datetime) -> KitPick:
    offer, fresh = best_offer(kit, now)
    shown = offer if fresh else None
    return KitPick(
        kit=kit,
        offer=shown,
        price=shown.price if shown else None,
        currency=shown.currency if shown else "",
        price_per_gb=shown.price_per_gb if shown else None,
        retailer=offer.retailer.name if offer else "",
        as_of=offer.last_checked if offer else None,
        is_sample=offer.is_sample if offer else False,
        is_fresh=fresh,
        disclaimer=offer.retailer.shown_disclaimer if offer else "",
        outbound_url=offer.outbound_url if offer and not offer.is_sample else "",
        channels=min(platform.channels, kit.module_count),
        speed_mts=kit.speed_mts,
        price_label=offer.price_label if offer else "",
    )


def kit_picks(*, required_gb: int, now: datetime | None = None) -> list[PlatformPicks]:
    """Cheapest in-stock kits of at least ``required_gb``, grouped by platform fit.

    Priced (fresh, in-stock) picks come first, cheapest first; if a platform has
    fewer than three, kits whose prices are stale fill in, smallest first, shown as
    "price unavailable — check retailer".
    """
    now = now or timezone.now()
    kits = (
        MemoryKit.objects.active()
        .with_capacity_at_least(required_gb)
        .prefetch_related(_offers_prefetch())
        .order_by("capacity_gb", "pk")
    )
    grouped: dict[str, list[KitPick]] = {p.key: [] for p in PLATFORMS}
    by_key = {p.key: p for p in PLATFORMS}
    for kit in kits:
        platform = kit_platform(kit)
        if platform is not None:
            grouped[platform.key].append(make_pick(kit, by_key[platform.key], now))
    result = []
    for platform in PLATFORMS:
        picks = grouped[platform.key]
        priced = sorted((p for p in picks if p.price is not None), key=lambda p: p.price)
        unpriced = [p for p in picks if p.price is None]
        chosen = (priced + unpriced)[:PICKS_PER_PLATFORM]
        note = "" if chosen else f"No {platform.key} kit in the catalog holds {required_gb} GB."
        result.append(PlatformPicks(platform.key, platform.label, platform.channels, chosen, note))
    return result


def kit_offers(*, kit: MemoryKit, now: datetime | None = None) -> list[dict]:
    """Each retailer's current offer for a kit: fresh prices shown, stale ones hidden.

    Rows also carry ``price_label`` (label non-live prices), ``link_rel`` (for the
    product link) and ``history_note`` (why a retailer has no history chart)."""
    now = now or timezone.now()
    rows = []
    offers = kit.offers.select_related("retailer").filter(
        retailer__is_active=True, delisted_at__isnull=True
    )
    for offer in offers.order_by("price"):
        fresh = offer.is_fresh(now)
        rows.append(
            {
                "offer": offer,
                "retailer": offer.retailer,
                "is_fresh": fresh,
                "is_sample": offer.is_sample,
                "price": offer.price if fresh else None,
                "price_per_gb": offer.price_per_gb if fresh else None,
                "as_of": offer.last_checked,
                "outbound_url": "" if offer.is_sample else offer.outbound_url,
                "link_rel": offer.link_rel,
                "price_label": offer.price_label,
                "history_note": offer.history_note,
                "history": price_history_chart(offer=offer),
            }
        )
    return rows


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: str  # SVG polyline points
    low: Decimal
    high: Decimal
    first: datetime
    last: datetime
    count: int


def price_history_chart(*, offer: Offer, width: int = 320, height: int = 80) -> Chart | None:
    """Polyline points for an inline SVG, or None when terms forbid history (Amazon)
    or there are fewer than two priced snapshots."""
    if not offer.retailer.keeps_price_history:
        return None
    snaps = list(
        offer.snapshots.filter(price__isnull=False)
        .order_by("observed_at")
        .values_list("observed_at", "price")
    )
    if len(snaps) < 2:
        return None
    t0, t1 = snaps[0][0], snaps[-1][0]
    low = min(p for _, p in snaps)
    high = max(p for _, p in snaps)
    span_t = (t1 - t0).total_seconds() or 1.0
    span_p = float(high - low) or 1.0
    pad = 4
    points = []
    for when, price in snaps:
        x = pad + (when - t0).total_seconds() / span_t * (width - 2 * pad)
        y = height - pad - float(price - low) / span_p * (height - 2 * pad)
        points.append(f"{x:.1f},{y:.1f}")
    return Chart(width, height, " ".join(points), low, high, t0, t1, len(snaps))
