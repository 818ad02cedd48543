"""Reads for pages: kit picks for a memory target, offers for a kit, price-history
charts, and what a build costs.

``kit_picks(required_gb=512)`` returns ``list[PlatformPicks]``, one per reviewed CPU
platform (``calculator/data/platforms.json``), in that file's order. A kit is picked for
a platform only when the engine says it fits (:func:`calculator.engine.kits.kit_fit`:
DDR generation, DIMM type, largest DIMM, every channel filled alike) and the kits it
takes hold ``required_gb``. Fields the pages render:

PlatformPicks
    key            the platform's slug (the build picker's ``host=`` value)
    label          the platform's name
    channels       memory channels over all sockets
    platform       the engine's Platform
    picks          list[KitPick], cheapest priced first; may be empty
    note           why the list is empty

KitPick
    kit            the MemoryKit
    fit            the engine's KitFit: kits to buy, DIMMs, the speed they run at
    offer          the cheapest fresh in-stock Offer, or None
    price          Decimal | None for one kit (None: "check price at retailer")
    total_price    price x kits to buy
    currency, price_per_gb, retailer, as_of, is_sample, price_label, is_fresh,
    disclaimer, outbound_url (product link with the affiliate tag, always present
    when the retailer has one; render with rel="sponsored nofollow noopener")
    channels       channels the population fills
    speed_mts      MT/s the population runs at on this platform
    bandwidth_gbps what decode streams from (the engine's MemorySetup)

``build_cost(build)`` prices an engine build from the catalog (:class:`PriceBook`).

Queries are constant: picks and costs read the priced catalog (four queries, whatever
the number of kits and offers) once per version of the PRICES data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch
from django.utils import timezone

from calculator import services as calculator_services
from calculator import versions
from calculator.engine.build import Build
from calculator.engine.kits import KitFit, KitSpec, kit_fit
from calculator.engine.platform import Platform
from catalog.models import Component, MemoryKit, Offer

PICKS_PER_PLATFORM = 3

# The engine's DIMM type for each catalog form factor (one table; calculator.engine.platform).
ENGINE_DIMM_TYPES: dict[str, str] = {
    MemoryKit.FormFactor.UDIMM: "UDIMM",
    MemoryKit.FormFactor.CUDIMM: "CUDIMM",
    MemoryKit.FormFactor.SODIMM: "SODIMM",
    MemoryKit.FormFactor.RDIMM: "RDIMM",
    MemoryKit.FormFactor.LRDIMM: "LRDIMM",
    MemoryKit.FormFactor.RDIMM_3DS: "3DS",
    MemoryKit.FormFactor.MRDIMM: "MRDIMM",
}


def kit_spec(kit: MemoryKit) -> KitSpec:
    """A catalog kit as the engine sees it."""
    return KitSpec(
        ddr=kit.ddr_generation,
        dimm_type=ENGINE_DIMM_TYPES[kit.form_factor],
        count=kit.module_count,
        size_gb=kit.module_size_gb,
        mt_s=kit.speed_mts,
        ranks=kit.ranks,
    )


def platforms() -> list[Platform]:
    """The reviewed CPU platforms, in data-file order."""
    return list(calculator_services.platforms().values())


def kit_fits(kit: MemoryKit, among: Sequence[Platform] | None = None) -> list[KitFit]:
    """Every platform the kit fits (the engine's rule), in data-file order."""
    spec = kit_spec(kit)
    fits = (kit_fit(p, spec) for p in (platforms() if among is None else among))
    return [f for f in fits if f.ok]


@dataclass(frozen=True)
class KitPick:
    kit: MemoryKit
    fit: KitFit
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
    price_label: str = ""

    @property
    def kits(self) -> int:
        return self.fit.kits

    @property
    def capacity_gb(self) -> int:
        return self.fit.capacity_gb

    @property
    def total_price(self) -> Decimal | None:
        return None if self.price is None else self.price * self.fit.kits

    @property
    def channels(self) -> int:
        return self.fit.setup.channels_filled if self.fit.setup else 0

    @property
    def speed_mts(self) -> int:
        return self.fit.mt_s or self.kit.speed_mts

    @property
    def bandwidth_gbps(self) -> float:
        return round(self.fit.setup.effective_gbps, 1) if self.fit.setup else 0.0


@dataclass
class PlatformPicks:
    key: str
    label: str
    channels: int
    platform: Platform
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


def _active_offers(item: MemoryKit | Component) -> list[Offer]:
    offers = getattr(item, "all_offers", None)
    if offers is None:
        offers = list(
            item.offers.select_related("retailer").filter(
                retailer__is_active=True, delisted_at__isnull=True
            )
        )
    return offers


@dataclass(frozen=True)
class PricedCatalog:
    """Every active component and kit with its listed offers (four queries), smallest
    kit first, each kit with its engine spec. Kit picks and build costs read it."""

    components: tuple[Component, ...]
    kit_specs: tuple[tuple[MemoryKit, KitSpec], ...]
    _fitting: dict[Platform, tuple[tuple[MemoryKit, KitFit], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def fitting(self, platform: Platform) -> tuple[tuple[MemoryKit, KitFit], ...]:
        """The kits that fit ``platform`` (the engine's rule), smallest first."""
        known = self._fitting.get(platform)
        if known is None:
            fits = ((kit, kit_fit(platform, spec)) for kit, spec in self.kit_specs)
            known = self._fitting[platform] = tuple((k, f) for k, f in fits if f.ok)
        return known


def _read_priced_catalog(_: None) -> PricedCatalog:
    components = Component.objects.active().prefetch_related(_offers_prefetch())
    kits = MemoryKit.objects.active().order_by("capacity_gb", "pk")
    return PricedCatalog(
        tuple(components),
        tuple((kit, kit_spec(kit)) for kit in kits.prefetch_related(_offers_prefetch())),
    )


# Read once per version of the PRICES data (every saved kit, offer, retailer, snapshot
# or sync run bumps it). Freshness is judged against the clock at each use: an offer
# turns stale with time, not with a save. Shared between requests: nothing may change it.
_priced_now = versions.PerVersion(versions.PRICES, _read_priced_catalog)


def priced_catalog() -> PricedCatalog:
    return _priced_now(None)


def best_offer(kit: MemoryKit, now: datetime) -> tuple[Offer | None, bool]:
    """Cheapest fresh in-stock offer; else the most recently checked one (stale); else
    any listed offer (a product link without a known price)."""
    offers = _active_offers(kit)
    fresh = [o for o in offers if o.is_fresh(now) and o.availability == Offer.Availability.IN_STOCK]
    if fresh:
        return min(fresh, key=lambda o: (o.price, o.is_sample)), True
    checked = [(o.last_checked, o) for o in offers if o.last_checked]
    if checked:
        return max(checked, key=lambda c: c[0])[1], False
    return (offers[0] if offers else None), False


def make_pick(kit: MemoryKit, fit: KitFit, now: datetime) -> KitPick:
    offer, fresh = best_offer(kit, now)
    shown = offer if fresh else None
    return KitPick(
        kit=kit,
        fit=fit,
        offer=shown,
        price=shown.price if shown else None,
        currency=shown.currency if shown else "",
        price_per_gb=shown.price_per_gb if shown else None,
        retailer=offer.retailer.name if offer else "",
        as_of=offer.last_checked if offer else None,
        is_sample=offer.is_sample if offer else False,
        is_fresh=fresh,
        disclaimer=offer.retailer.shown_disclaimer if offer else "",
        outbound_url=offer.product_url if offer else "",
        price_label=offer.price_label if offer else "",
    )


def kit_picks(
    *,
    required_gb: int,
    among: Sequence[Platform] | None = None,
    per_platform: int = PICKS_PER_PLATFORM,
    now: datetime | None = None,
) -> list[PlatformPicks]:
    """Per platform, the cheapest kits that fit it and hold ``required_gb`` (as many
    kits as the channels take). Priced (fresh, in-stock) picks come first, cheapest
    total first; kits without a fresh price fill in, smallest first, with their product
    link and "check price at retailer"."""
    now = now or timezone.now()
    chosen_platforms = platforms() if among is None else list(among)
    catalog = priced_catalog()
    result = []
    for platform in chosen_platforms:
        fitting = catalog.fitting(platform)
        picks = [make_pick(k, f, now) for k, f in fitting if f.capacity_gb >= required_gb]
        priced = sorted(
            (p for p in picks if p.total_price is not None),
            key=lambda p: (p.total_price, p.kits),
        )
        unpriced = [p for p in picks if p.total_price is None]
        shown = (priced + unpriced)[:per_platform]
        note = "" if shown else f"No kit in the catalog fits {platform.name} with {required_gb} GB."
        result.append(PlatformPicks(platform.slug, platform.name, platform.all_channels,
                                    platform, shown, note))  # fmt: skip
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
                "outbound_url": offer.product_url,
                "link_rel": offer.link_rel,
                "price_label": offer.price_label,
                "history_note": offer.history_note,
                "history": price_history_chart(offer=offer),
            }
        )
    return rows


@dataclass(frozen=True)
class PriceChange:
    """A point of the chart where the price changed (the first observation included)."""

    when: datetime
    price: Decimal
    x: str
    y: str


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
    changes: tuple[PriceChange, ...] = ()


def price_history_chart(*, offer: Offer, width: int = 320, height: int = 80) -> Chart | None:
    """Polyline points for an inline SVG, or None when terms forbid history (Amazon)
    or there are fewer than two priced snapshots."""
    if not offer.retailer.keeps_price_history:
        return None
    rows = (
        offer.snapshots.filter(price__isnull=False)
        .order_by("observed_at")
        .values_list("observed_at", "price")
    )
    # The query already leaves out unpriced snapshots; this check tells the type checker.
    snaps = [(when, price) for when, price in rows if price is not None]
    if len(snaps) < 2:
        return None
    t0, t1 = snaps[0][0], snaps[-1][0]
    low = min(p for _, p in snaps)
    high = max(p for _, p in snaps)
    span_t = (t1 - t0).total_seconds() or 1.0
    span_p = float(high - low) or 1.0
    pad = 4
    points = []
    changes = []
    previous: Decimal | None = None
    for when, price in snaps:
        x = f"{pad + (when - t0).total_seconds() / span_t * (width - 2 * pad):.1f}"
        y = f"{height - pad - float(price - low) / span_p * (height - 2 * pad):.1f}"
        points.append(f"{x},{y}")
        if price != previous:
            changes.append(PriceChange(when, price, x, y))
        previous = price
    return Chart(width, height, " ".join(points), low, high, t0, t1, len(snaps), tuple(changes))


# ── What a build costs ──────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class CostLine:
    """One priced part of a build: ``quantity`` x ``unit_price`` of ``name``."""

    name: str
    quantity: int
    unit_price: Decimal
    currency: str
    price_label: str  # "sample price", "editor's price" or "" (a live price)
    as_of: datetime | None
    url: str  # the product link ("" when the source has none)
    is_fresh: bool = True  # False: the last price seen, older than the retailer's window

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class BuildCost:
    """A build's price from the catalog: every part priced, in one currency."""

    lines: tuple[CostLine, ...]
    currency: str

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal(0))

    @property
    def is_sample(self) -> bool:
        return any(line.price_label == "sample price" for line in self.lines)

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels a shown total must carry ("sample price", "editor's price")."""
        return tuple(dict.fromkeys(line.price_label for line in self.lines if line.price_label))

    @property
    def is_fresh(self) -> bool:
        """Every part at a fresh price (else the total is "last known", dated)."""
        return all(line.is_fresh for line in self.lines)

    @property
    def oldest(self) -> datetime | None:
        dates = [line.as_of for line in self.lines if line.as_of]
        return min(dates) if dates else None

    def tokens_per_s_per_1000(self, tokens_per_s: float | None) -> float | None:
        """Decode speed per 1,000 of the currency spent (None without a speed)."""
        if not tokens_per_s or self.total <= 0:
            return None
        return tokens_per_s / float(self.total) * 1000


def _priced(offers: Iterable[Offer], now: datetime, *, last_known: bool) -> Offer | None:
    """The cheapest offer with a fresh price (live before sample at equal price); with
    ``last_known``, when none is fresh, the most recently checked priced offer."""
    offers = list(offers)
    fresh = [o for o in offers if o.is_fresh(now)]
    if fresh or not last_known:
        return min(fresh, key=lambda o: (o.price, o.is_sample), default=None)
    seen = [o for o in offers if o.price is not None and o.last_checked is not None]
    return max(seen, key=lambda o: (o.last_checked, -_price_of(o)), default=None)


def _price_of(offer: Offer) -> Decimal:
    """The price of an offer :func:`_priced` chose or saw (it only takes priced ones)."""
    assert offer.price is not None
    return offer.price


def _line(name: str, quantity: int, offer: Offer, now: datetime) -> CostLine:
    assert offer.price is not None
    return CostLine(
        name=name,
        quantity=quantity,
        unit_price=offer.price,
        currency=offer.currency,
        price_label=offer.price_label,
        as_of=offer.last_checked,
        url=offer.product_url,
        is_fresh=offer.is_fresh(now),
    )


class PriceBook:
    """Every active component and kit with its listed offers, read once (two queries),
    to price any number of builds: ``PriceBook().build_cost(build)``.

    ``last_known``: a part without a fresh price is priced at the last price seen (its
    line and the total say ``is_fresh=False`` and carry the date), so a verdict can say
    "about $X at prices last seen on <date>" rather than nothing."""

    def __init__(self, *, now: datetime | None = None, last_known: bool = False) -> None:
        self.now = now or timezone.now()
        self.last_known = last_known
        rows = priced_catalog()
        self.components = rows.components
        self.kit_specs = rows.kit_specs

    def _component(
        self, kind: str, profile_slug: str, memory_gb: float | None = None
    ) -> tuple[Component, Offer] | None:
        candidates = [
            c
            for c in self.components
            if c.kind == kind
            and c.profile_slug == profile_slug
            and (memory_gb is None or c.memory_gb is None or c.memory_gb == memory_gb)
        ]
        best: tuple[Component, Offer] | None = None
        for component in candidates:
            offer = _priced(_active_offers(component), self.now, last_known=self.last_known)
            if offer is not None and (best is None or _price_of(offer) < _price_of(best[1])):
                best = (component, offer)
        return best

    def _dimms(self, build: Build) -> CostLine | None:
        """The cheapest kits that make up the host's DIMMs (same count, size, type and
        a rating at least the speed they run at)."""
        setup = build.host.setup
        if setup is None:
            return None
        dimms = setup.dimms
        best: tuple[int, MemoryKit, Offer] | None = None
        for kit, spec in self.kit_specs:
            if (
                spec.ddr != setup.platform.ddr
                or spec.dimm_type != setup.dimm_type
                or spec.size_gb != dimms.size_gb
                or spec.mt_s < setup.mt_s
                or dimms.count % spec.count
            ):
                continue
            offer = _priced(_active_offers(kit), self.now, last_known=self.last_known)
            if offer is None:
                continue
            boxes = dimms.count // spec.count
            if best is None or _price_of(offer) * boxes < _price_of(best[2]) * best[0]:
                best = (boxes, kit, offer)
        if best is None:
            return None
        boxes, kit, offer = best
        return _line(kit.title, boxes, offer, self.now)

    def build_cost(self, build: Build) -> BuildCost | None:
        """The build's price: the CPU and board of its platform, its DIMMs, its GPUs, or
        the whole machine for a Mac, Strix Halo or DGX Spark. None when any part has no
        fresh price in the catalog (no price at all, with ``last_known``), or the parts
        are priced in different currencies."""
        lines: list[CostLine] = []
        platform = build.host.platform
        if platform is not None:
            for kind in (Component.Kind.CPU, Component.Kind.BOARD):
                found = self._component(kind, platform.slug)
                if found is None:
                    return None
                quantity = platform.sockets if kind == Component.Kind.CPU else 1
                lines.append(_line(found[0].name, quantity, found[1], self.now))
            dimms = self._dimms(build)
            if dimms is None:
                return None
            lines.append(dimms)
        else:
            host = build.host.profile
            found = self._component(Component.Kind.SYSTEM, host.slug, host.memory_gb)
            if found is None:
                return None
            lines.append(_line(found[0].name, 1, found[1], self.now))
        for group in build.gpus:
            found = self._component(Component.Kind.GPU, group.profile.slug)
            if found is None:
                return None
            lines.append(_line(found[0].name, group.count, found[1], self.now))
        currencies = {line.currency for line in lines}
        if len(currencies) != 1:
            return None
        return BuildCost(tuple(lines), currencies.pop())


def build_cost(build: Build, *, book: PriceBook | None = None) -> BuildCost | None:
    """What ``build`` costs from the catalog's prices (see :meth:`PriceBook.build_cost`)."""
    return (book or PriceBook()).build_cost(build)
