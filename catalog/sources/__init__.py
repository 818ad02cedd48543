"""Price sources behind one interface: ``get_source(retailer).fetch(item_ids)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .amazon import AmazonCreatorsSource
from .base import (
    FetchResult,
    PriceItem,
    PriceSource,
    Rejected,
    SourceError,
    Throttle,
    TransientSourceError,
)
from .feed import FeedSource

if TYPE_CHECKING:
    from catalog.models import Retailer

__all__ = [
    "FetchResult",
    "PriceItem",
    "PriceSource",
    "Rejected",
    "SourceError",
    "TransientSourceError",
    "get_source",
]


def get_source(retailer: Retailer, *, throttle: Throttle | None = None) -> PriceSource:
    kind = retailer.SourceKind
    if retailer.source_kind == kind.AMAZON_CREATORS:
        return AmazonCreatorsSource(
            settings=retailer.source_settings,
            currency=retailer.currency,
            partner_tag=retailer.affiliate_tag,
            throttle=throttle,
        )
    if retailer.source_kind in (kind.FEED, kind.DEMO_FEED):
        return FeedSource(
            settings=retailer.source_settings, currency=retailer.currency, throttle=throttle
        )
    raise SourceError(f"unknown source kind {retailer.source_kind!r}")
