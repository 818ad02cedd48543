"""Price sources: one class per kind, registered in ``SOURCES`` (kind → class).

Everything that differs between retailers is behaviour of the class
(``catalog.sources.base.PriceSource``): settings schema and validation, fetching,
price history, freshness and caching terms, disclaimer, labels, affiliate links.
Callers ask ``source_class(retailer.source_kind)``; nothing else branches on a kind.
"""

from __future__ import annotations

from collections.abc import Callable

from .amazon import AmazonCreatorsSource
from .base import (
    Deadline,
    FetchResult,
    PriceItem,
    PriceSource,
    Rejected,
    SettingsError,
    SourceError,
    SourceSettings,
    Throttle,
    TransientSourceError,
)
from .demo import DemoFeedSource
from .feed import FeedSource
from .manual import ManualSource

SOURCES: dict[str, type[PriceSource]] = {
    source.kind: source
    for source in (FeedSource, AmazonCreatorsSource, DemoFeedSource, ManualSource)
}

__all__ = [
    "SOURCES",
    "Deadline",
    "FetchResult",
    "PriceItem",
    "PriceSource",
    "Rejected",
    "SettingsError",
    "SourceError",
    "SourceSettings",
    "Throttle",
    "TransientSourceError",
    "kinds_where",
    "source_choices",
    "source_class",
]


def source_class(kind: str) -> type[PriceSource]:
    try:
        return SOURCES[kind]
    except KeyError:
        raise SourceError(f"unknown source kind {kind!r}") from None


def source_choices() -> list[tuple[str, str]]:
    """Choices for ``Retailer.source_kind`` (a callable, so migrations never churn)."""
    return [(kind, source.label) for kind, source in SOURCES.items()]


def kinds_where(test: Callable[[type[PriceSource]], bool]) -> list[str]:
    """Kinds whose class passes ``test``, e.g. ``kinds_where(lambda s: s.syncs)``."""
    return [kind for kind, source in SOURCES.items() if test(source)]
