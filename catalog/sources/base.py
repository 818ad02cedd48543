"""The one small interface every price source implements, plus shared validation.

A source turns a retailer's settings into ``FetchResult`` batches: parsed
``PriceItem``s and ``Rejected`` items (with the reason). A source never writes to
the database; ``catalog.services.price_sync_run`` applies what it yields.

Errors: ``TransientSourceError`` (timeouts, connection errors, 429/5xx: retry
later) and ``SourceError`` (bad credentials, unusable response: don't retry).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Protocol
from urllib.parse import urlsplit

import httpx

# Caps applied to every response: a price list is small; refuse anything huge.
MAX_RESPONSE_BYTES = 2_000_000
TIMEOUT_SECONDS = 10.0
# Anything above this per kit is a data error, not a price.
MAX_PRICE = Decimal("250000")

Throttle = Callable[[], None]

AVAILABILITY_VALUES = {"in_stock", "out_of_stock", "preorder", "backorder", "unknown"}


class SourceError(Exception):
    """The source cannot be used as configured or returned unusable data."""


class TransientSourceError(SourceError):
    """A retry later may succeed (timeout, connection refused, 429, 5xx)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class PriceItem:
    item_id: str
    price: Decimal | None  # None: listed, but no price (e.g. no Amazon buy-box winner)
    currency: str
    availability: str
    url: str = ""
    title: str = ""
    mpn: str = ""


@dataclass(frozen=True)
class Rejected:
    item_id: str
    reason: str


@dataclass
class FetchResult:
    items: list[PriceItem] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


class PriceSource(Protocol):
    def fetch(self, item_ids: list[str]) -> Iterator[FetchResult]:
        """Yield results batch by batch. ``item_ids`` is empty for feeds (they list all)."""
        ...


def timeout_from(settings: dict) -> httpx.Timeout:
    """Explicit HTTP timeouts; ``timeout_seconds`` in the source settings overrides."""
    seconds = float(settings.get("timeout_seconds", TIMEOUT_SECONDS))
    return httpx.Timeout(seconds, connect=min(seconds, 5.0))


def env_credential(settings: dict, key: str) -> str:
    """Read a credential from the environment variable named by ``settings[key]``."""
    name = settings.get(key)
    if not name:
        raise SourceError(f"source settings need {key} (the environment variable's name)")
    value = os.environ.get(name, "")
    if not value:
        raise SourceError(f"environment variable {name} is not set")
    return value


def check_url(url: str) -> str:
    """HTTPS only; plain http is allowed for loopback hosts (local tests, dev servers)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost", "::1"}:
        return url
    raise SourceError(f"refusing non-https URL {url!r}")


def read_capped(response: httpx.Response, limit: int = MAX_RESPONSE_BYTES) -> bytes:
    """Read a streamed response body, aborting once it exceeds ``limit`` bytes."""
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise SourceError(f"response too large ({declared} bytes, limit {limit})")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise SourceError(f"response too large (over {limit} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        retry_after = response.headers.get("retry-after")
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
        raise TransientSourceError(f"HTTP {status} from {response.url}", retry_after=seconds)
    if status >= 400:
        raise SourceError(f"HTTP {status} from {response.url}")


def require_json(response: httpx.Response, body: bytes):
    import json

    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and "json" not in content_type:
        raise SourceError(f"expected JSON, got {content_type or 'no content type'}")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"response is not valid JSON: {exc}") from exc


_MONEY = re.compile(r"^\s*(-?\d+(?:\.\d{1,2})?)\s+([A-Za-z]{3})\s*$")


def parse_money(text: str) -> tuple[Decimal, str]:
    """Google Merchant price text, e.g. ``"123.45 USD"``."""
    match = _MONEY.match(text or "")
    if not match:
        raise ValueError(f"price {text!r} is not like '123.45 USD'")
    return Decimal(match.group(1)), match.group(2).upper()


def validate_price(price, currency: str, expected_currency: str) -> Decimal:
    """A positive, plausible amount in the retailer's currency, else ValueError."""
    try:
        amount = Decimal(str(price))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"price {price!r} is not a number") from exc
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"price {price!r} is not positive")
    if amount > MAX_PRICE:
        raise ValueError(f"price {price!r} is implausible (over {MAX_PRICE})")
    if currency.upper() != expected_currency.upper():
        raise ValueError(f"currency {currency!r} is not the retailer's {expected_currency}")
    return amount.quantize(Decimal("0.01"))
