"""The demo feed: sample prices from a file in the repo, run through the feed code.

Its prices are not offers: they are labelled "sample price" everywhere, never become
schema.org Offers, and their links are not shown as product links.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .feed import FeedSource

SAMPLE_DISCLAIMER = (
    "Sample price from a demo feed shipped with this site, not a real offer. "
    "Check retailers for actual prices."
)


class DemoFeedSource(FeedSource):
    kind: ClassVar[str] = "demo_feed"
    label: ClassVar[str] = "Demo feed (sample prices, file in the repo)"
    example_settings: ClassVar[dict[str, Any]] = {"path": "catalog/data/demo_feed.json"}
    disclaimer: ClassVar[str] = SAMPLE_DISCLAIMER
    is_live: ClassVar[bool] = False
    is_sample: ClassVar[bool] = True
    price_label: ClassVar[str] = "sample price"
    links_to_product: ClassVar[bool] = False
