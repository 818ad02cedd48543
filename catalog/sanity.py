"""Price sanity: is a synced price plausible enough to publish without an editor?

Two rules, each a reason to hold the price for an editor (``HeldPrice``):

* **band**: a kit's price per GB outside the ``PriceBand`` for its DDR generation,
  form factor and currency (bands are data: ``catalog/data/price_bands.json``, with
  the dated public source of the typical range each one widens; editors adjust
  them in the admin);
* **jump**: a price more than ``CATALOG_PRICE_JUMP_FACTOR`` times (default 3) above
  or below the last accepted price of the same offer.

Both catch data errors (a lost digit, cents read as dollars, a placeholder price),
not ordinary price moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from catalog.models import Offer, PriceBand

DEFAULT_JUMP_FACTOR = 3.0


def jump_factor() -> Decimal:
    return Decimal(str(getattr(settings, "CATALOG_PRICE_JUMP_FACTOR", DEFAULT_JUMP_FACTOR)))


@dataclass(frozen=True)
class Band:
    low: Decimal
    high: Decimal
    source_url: str


class Bands:
    """All bands, read once per sync run: (DDR generation, form factor, currency) → Band."""

    def __init__(self, bands: dict[tuple[str, str, str], Band]) -> None:
        self._bands = bands

    @classmethod
    def load(cls) -> Bands:
        return cls(
            {
                (b.ddr_generation, b.form_factor, b.currency): Band(
                    b.min_per_gb, b.max_per_gb, b.source_url
                )
                for b in PriceBand.objects.all()
            }
        )

    def for_offer(self, offer: Offer) -> Band | None:
        kit = offer.kit
        if kit is None:
            return None
        return self._bands.get((kit.ddr_generation, kit.form_factor, offer.currency))


def last_accepted_price(offer: Offer) -> Decimal | None:
    """The offer's current price, else the latest price in its history."""
    if offer.price is not None:
        return offer.price
    if offer.pk is None:
        return None
    return (
        offer.snapshots.filter(price__isnull=False)
        .order_by("-observed_at")
        .values_list("price", flat=True)
        .first()
    )


def price_problem(*, offer: Offer, price: Decimal, bands: Bands) -> str:
    """Why ``price`` must wait for an editor, or "" when it may be published."""
    band = bands.for_offer(offer)
    if band is not None and offer.kit is not None:
        per_gb = (price / offer.kit.capacity_gb).quantize(Decimal("0.0001"))
        if not band.low <= per_gb <= band.high:
            return (
                f"{offer.currency} {per_gb.normalize():f}/GB is outside the plausible band "
                f"{band.low}–{band.high}/GB for {offer.kit.ddr_generation} "
                f"{offer.kit.form_factor}"
            )
    last = last_accepted_price(offer)
    factor = jump_factor()
    if last is not None and last > 0:
        ratio = price / last
        if ratio > factor or ratio < 1 / factor:
            return (
                f"{offer.currency} {price} is {ratio:.2f}× the last accepted price "
                f"{last} (limit {factor.normalize():f}×)"
            )
    return ""
