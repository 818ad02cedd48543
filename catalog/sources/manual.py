"""Prices an editor types: nothing to fetch; each price is recorded with who and when.

Used for reference prices (CPU + board bundles, GPUs, Macs, mini PCs) and for any
offer without a feed. A manual price is dated and sourced, stays current for
``fresh_for`` (180 days), and is always labelled as an editor's price, never shown as
a retailer's live price. Links may be on any https host: the retailer's domain may
be left blank.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, ClassVar

from .base import FetchResult, PriceSource

MANUAL_DISCLAIMER = (
    "Price recorded by an editor from the source shown, on the date shown; not a live "
    "offer. Check the retailer for the current price."
)


class ManualSource(PriceSource):
    kind: ClassVar[str] = "manual"
    label: ClassVar[str] = "Manual prices (typed by an editor, with date and source)"
    example_settings: ClassVar[dict[str, Any]] = {}
    disclaimer: ClassVar[str] = MANUAL_DISCLAIMER
    fresh_for: ClassVar[timedelta] = timedelta(days=180)
    is_live: ClassVar[bool] = False
    price_label: ClassVar[str] = "editor's price"
    syncs: ClassVar[bool] = False
    accepts_manual_prices: ClassVar[bool] = True
    requires_domain: ClassVar[bool] = False

    def fetch(self, item_ids: list[str]) -> Iterator[FetchResult]:
        return iter(())
