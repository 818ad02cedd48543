"""What every price source shares: the class each kind subclasses, errors, results, checks.

A source kind is a ``PriceSource`` subclass registered in ``catalog.sources.SOURCES``.
Its class attributes and class methods say what differs between retailers (settings
schema, disclaimer, price history, freshness, affiliate links); an instance fetches:
``source.fetch(item_ids)`` yields ``FetchResult`` batches of parsed ``PriceItem``s and
``Rejected`` items (with the reason). A source never writes to the database;
``catalog.services.price_sync_run`` applies what it yields.

Every reply is checked against a schema (pydantic) before anything is yielded, so a
wrong shape is a rejected item or a failed run, never a half-applied write.

Errors: ``TransientSourceError`` (timeouts, connection errors, 429/5xx: retry later,
``retry_after`` seconds when the retailer said so) and ``SourceError`` (bad settings,
unusable reply: don't retry).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pydantic
from pydantic import BaseModel, ConfigDict, Field

# Caps applied to every reply: a price list is small; refuse anything huge.
MAX_RESPONSE_BYTES = 2_000_000
# Anything above this per item is a data error, not a price.
MAX_PRICE = Decimal("250000")
# Control characters (NUL included) never belong in ids, titles, links or prices;
# PostgreSQL refuses NUL in text and JSON.
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")

AVAILABILITY_VALUES = ("in_stock", "out_of_stock", "preorder", "backorder", "unknown")
ENV_NAME = r"^[A-Z][A-Z0-9_]{1,63}$"
SECRETISH = ("secret", "password", "token", "api_key", "apikey", "credential")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

GENERIC_DISCLAIMER = "Prices and availability may have changed since the time shown."


class SourceError(Exception):
    """The source cannot be used as configured or returned unusable data."""


class TransientSourceError(SourceError):
    """A retry later may succeed (timeout, connection refused, 429, 5xx)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SettingsError(ValueError):
    """Source settings that cannot work; the message is written for an editor."""


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
    # True when the retailer did not return the item at all (counts towards "gone").
    missing: bool = False


@dataclass
class FetchResult:
    items: list[PriceItem] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


class Deadline:
    """A point in time (monotonic clock) by which some work must be done."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def sooner(self, seconds: float) -> Deadline:
        """This deadline or ``seconds`` from now, whichever comes first."""
        other = Deadline(seconds)
        return self if self.at <= other.at else other


class Throttle(Protocol):
    """Spaces a source's requests; shared by every worker when backed by Redis."""

    def wait(self, deadline: Deadline) -> None:
        """Block until a request may be sent; raise TransientSourceError if that is
        later than ``deadline`` (or than the retailer's Retry-After allows)."""
        ...

    def defer(self, seconds: float) -> None:
        """The retailer asked for no request during the next ``seconds``."""
        ...


class SourceSettings(BaseModel):
    """Settings every source accepts. Subclasses add theirs; unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_seconds: float = Field(
        10.0, gt=0, le=60, description="Longest wait for a connection or for the next bytes."
    )
    deadline_seconds: float = Field(
        60.0, gt=0, le=200, description="Longest time one request may take from start to end."
    )


class PriceSource:
    """One kind of price source. Subclasses set the class attributes that differ."""

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    Settings: ClassVar[type[SourceSettings]] = SourceSettings
    example_settings: ClassVar[dict[str, Any]] = {}
    # Shown next to every price from this source unless the retailer has its own text.
    disclaimer: ClassVar[str] = GENERIC_DISCLAIMER
    # False when the source's terms forbid keeping old prices (no history chart).
    keeps_price_history: ClassVar[bool] = True
    # Why there is no history chart, when the terms forbid one.
    history_note: ClassVar[str] = ""
    # How long a checked price counts as current.
    fresh_for: ClassVar[timedelta] = timedelta(hours=24)
    # Terms that allow caching prices only this long: older prices and history are dropped.
    cache_limit: ClassVar[timedelta | None] = None
    # False for prices that are not a retailer's live offer (demo feed, editors' prices).
    is_live: ClassVar[bool] = True
    is_sample: ClassVar[bool] = False
    # How a non-live price is labelled wherever it is shown.
    price_label: ClassVar[str] = ""
    # Query parameter that carries the affiliate tag in product links ("" = none).
    affiliate_param: ClassVar[str] = ""
    # False for sources with nothing to fetch (an editor types the prices).
    syncs: ClassVar[bool] = True
    # True: fetch() is given the offers' item ids (Amazon answers only what is asked).
    # False: the source lists its whole catalog and unknown items are matched to kits.
    asks_for_items: ClassVar[bool] = False
    # True: an editor types prices on this source's offers (recorded with who and when).
    accepts_manual_prices: ClassVar[bool] = False
    # False: offer links may be on any https host (the retailer's domain may be blank).
    requires_domain: ClassVar[bool] = True
    # False: the source's links are not a retailer's product pages (the demo feed's).
    links_to_product: ClassVar[bool] = True

    def __init__(
        self,
        *,
        settings: SourceSettings,
        currency: str,
        affiliate_tag: str = "",
        throttle: Throttle | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        self.settings = settings
        self.currency = currency
        self.affiliate_tag = affiliate_tag
        self.throttle = throttle
        # The whole run's deadline; each request also has its own (deadline_seconds).
        self.deadline = deadline or Deadline(3600)

    def fetch(self, item_ids: list[str]) -> Iterator[FetchResult]:
        """Yield results batch by batch. ``item_ids`` is empty unless ``asks_for_items``."""
        raise NotImplementedError

    # ── Behaviour that needs no instance ────────────────────────────────────────

    @classmethod
    def parse_settings(cls, raw: object) -> SourceSettings:
        """Validated settings, or ``SettingsError`` with a message for the editor."""
        if not isinstance(raw, dict):
            raise SettingsError("Settings must be a JSON object, e.g. " + cls.example_text())
        for key in raw:
            lowered = str(key).lower()
            if not lowered.endswith("_env") and any(word in lowered for word in SECRETISH):
                raise SettingsError(
                    f"{key} looks like a credential. Store credentials in environment "
                    f"variables and put their names here as {key}_env."
                )
        try:
            return cls.Settings.model_validate(raw)
        except pydantic.ValidationError as exc:
            raise SettingsError(
                f"{describe_errors(exc)}. Example for {cls.label}: {cls.example_text()}"
            ) from exc

    @classmethod
    def example_text(cls) -> str:
        return json.dumps(cls.example_settings)

    @classmethod
    def retailer_problems(cls, *, affiliate_tag: str, is_active: bool) -> dict[str, str]:
        """Field errors for a retailer of this kind (beyond its settings)."""
        return {}

    @classmethod
    def outbound_url(cls, url: str, *, tag: str, settings: SourceSettings | None) -> str:
        """The product link with the affiliate tag in the source's parameter (if any)."""
        param = getattr(settings, "affiliate_param", "") or cls.affiliate_param
        if not (url and tag and param):
            return url
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != param]
        query.append((param, tag))
        return urlunsplit(parts._replace(query=urlencode(query)))


# ── Shared checks ───────────────────────────────────────────────────────────────


def describe_errors(exc: pydantic.ValidationError, limit: int = 3) -> str:
    """Pydantic errors as one short line: ``url: Field required; format: …``."""
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or "value"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def clean_text(value: str, what: str = "text") -> str:
    """Refuse control characters (NUL included) in text that will be stored."""
    if CONTROL_CHARS.search(value):
        raise ValueError(f"{what} contains control characters")
    return value


def env_credential(name: str) -> str:
    """Read a credential from the environment variable ``name``."""
    value = os.environ.get(name, "")
    if not value:
        raise SourceError(f"environment variable {name} is not set")
    return value


def check_url(url: str) -> str:
    """HTTPS only; plain http is allowed for loopback hosts (local tests, dev servers)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url
    raise ValueError(f"use an https URL, not {url!r}")


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        seconds = retry_after_seconds(response.headers.get("retry-after"))
        said = f" (Retry-After: {seconds:.0f} s)" if seconds is not None else ""
        raise TransientSourceError(f"HTTP {status} from {response.url}{said}", retry_after=seconds)
    if status >= 400:
        raise SourceError(f"HTTP {status} from {response.url}")


def read_capped(response: httpx.Response, limit: int = MAX_RESPONSE_BYTES) -> bytes:
    """Read a streamed reply body, aborting once it exceeds ``limit`` bytes."""
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


def load_json(body: bytes, what: str = "response") -> object:
    """Parse JSON; nesting too deep for the parser is a bad reply, not a crash."""
    try:
        return json.loads(body)
    except RecursionError as exc:
        raise SourceError(f"{what} is JSON nested too deeply to read") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{what} is not valid JSON: {str(exc)[:120]}") from exc


_MONEY = re.compile(r"^\s*(-?\d{1,12}(?:\.\d{1,2})?)\s+([A-Za-z]{3})\s*$")


def parse_money(text: str) -> tuple[Decimal, str]:
    """Google Merchant price text, e.g. ``"123.45 USD"``."""
    match = _MONEY.match(text or "")
    if not match:
        raise ValueError(f"price {text[:40]!r} is not like '123.45 USD'")
    return Decimal(match.group(1)), match.group(2).upper()


def validate_price(price: object, currency: str, expected_currency: str) -> Decimal:
    """A positive, plausible amount in the retailer's currency, else ValueError."""
    try:
        amount = Decimal(str(price))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"price {str(price)[:40]!r} is not a number") from exc
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"price {str(price)[:40]!r} is not positive")
    if amount > MAX_PRICE:
        raise ValueError(f"price {str(price)[:40]!r} is implausible (over {MAX_PRICE})")
    if currency.upper() != expected_currency.upper():
        raise ValueError(f"currency {currency[:8]!r} is not the retailer's {expected_currency}")
    return amount.quantize(Decimal("0.01"))
