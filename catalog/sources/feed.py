"""Generic product feed: HTTPS URL or a local file, JSON or CSV, Google Merchant fields.

Settings: ``{"url": "https://…"}`` or ``{"path": "catalog/data/demo_feed.json"}``
(relative to the project), optional ``"format": "json" | "csv"`` (default: from the
file name or content type). Fields per item: ``id``, ``title``, ``link``,
``price`` (``"123.45 USD"``), ``availability`` (``in_stock`` …), optional ``mpn``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
from django.conf import settings as django_settings

from .base import (
    AVAILABILITY_VALUES,
    MAX_RESPONSE_BYTES,
    FetchResult,
    PriceItem,
    Rejected,
    SourceError,
    Throttle,
    TransientSourceError,
    check_url,
    parse_money,
    raise_for_status,
    read_capped,
    timeout_from,
    validate_price,
)

REQUIRED = ("id", "title", "link", "price", "availability")


class FeedSource:
    def __init__(self, *, settings: dict, currency: str, throttle: Throttle | None = None):
        self.settings = settings
        self.currency = currency
        self.throttle = throttle

    def fetch(self, item_ids: list[str]) -> Iterator[FetchResult]:
        body, fmt = self._load()
        rows = self._parse(body, fmt)
        result = FetchResult()
        for row in rows:
            item = parse_row(row, self.currency)
            if isinstance(item, Rejected):
                result.rejected.append(item)
            else:
                result.items.append(item)
        yield result

    def _load(self) -> tuple[bytes, str]:
        fmt = self.settings.get("format", "")
        if path := self.settings.get("path"):
            file = Path(path)
            if not file.is_absolute():
                file = Path(django_settings.BASE_DIR) / file
            if not file.is_file():
                raise SourceError(f"feed file {path} not found")
            if file.stat().st_size > MAX_RESPONSE_BYTES:
                raise SourceError(f"feed file too large (limit {MAX_RESPONSE_BYTES} bytes)")
            return file.read_bytes(), fmt or ("csv" if file.suffix == ".csv" else "json")
        url = self.settings.get("url")
        if not url:
            raise SourceError("feed settings need 'url' or 'path'")
        check_url(url)
        if self.throttle:
            self.throttle()
        try:
            with (
                httpx.Client(timeout=timeout_from(self.settings), follow_redirects=False) as client,
                client.stream("GET", url) as response,
            ):
                raise_for_status(response)
                body = read_capped(response)
                content_type = response.headers.get("content-type", "").lower()
        except httpx.TimeoutException as exc:
            raise TransientSourceError(f"timeout fetching feed: {exc}") from exc
        except httpx.TransportError as exc:
            raise TransientSourceError(f"network error fetching feed: {exc}") from exc
        if not fmt:
            fmt = "csv" if "csv" in content_type or url.endswith(".csv") else "json"
        if fmt == "json" and content_type and "json" not in content_type:
            raise SourceError(f"expected a JSON feed, got {content_type.split(';')[0]}")
        return body, fmt

    @staticmethod
    def _parse(body: bytes, fmt: str) -> list:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SourceError("feed is not UTF-8") from exc
        if fmt == "csv":
            return list(csv.DictReader(io.StringIO(text)))
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SourceError(f"feed is not valid JSON: {exc}") from exc
        if isinstance(data, dict):
            data = data.get("items")
        if not isinstance(data, list):
            raise SourceError("JSON feed must be a list of items or {'items': [...]}")
        return data


def parse_row(row, currency: str) -> PriceItem | Rejected:
    if not isinstance(row, dict):
        return Rejected("?", "item is not an object")
    item_id = str(row.get("id") or "").strip()[:64]
    missing = [name for name in REQUIRED if not str(row.get(name) or "").strip()]
    if missing:
        return Rejected(item_id or "?", f"missing fields: {', '.join(missing)}")
    try:
        amount, item_currency = parse_money(str(row["price"]))
        price = validate_price(amount, item_currency, currency)
    except ValueError as exc:
        return Rejected(item_id, str(exc))
    availability = str(row["availability"]).strip().lower().replace(" ", "_")
    if availability not in AVAILABILITY_VALUES:
        return Rejected(item_id, f"availability {row['availability']!r} is not a Merchant value")
    link = str(row["link"]).strip()
    return PriceItem(
        item_id=item_id,
        price=price,
        currency=item_currency,
        availability=availability,
        url=link,
        title=str(row["title"]).strip()[:200],
        mpn=str(row.get("mpn") or "").strip()[:60],
    )
