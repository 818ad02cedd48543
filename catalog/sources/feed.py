"""Product feeds: an HTTPS URL or a file in the project, JSON or CSV, Google Merchant fields.

Settings: ``{"url": "https://…"}`` or ``{"path": "catalog/data/demo_feed.json"}``
(relative to the project), optional ``"format": "json" | "csv"`` (default: from the
file name or content type) and ``"affiliate_param"`` (the query parameter that
carries the retailer's affiliate tag in product links). Fields per item: ``id``,
``title``, ``link``, ``price`` (``"123.45 USD"``), ``availability`` (``in_stock`` …),
optional ``mpn``.

The reply is parsed whole (JSON or CSV) and every row checked against ``FeedRow``
before anything is yielded: a malformed row is rejected with its reason, a malformed
feed fails the run.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import httpx
import pydantic
from django.conf import settings as django_settings
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .base import (
    AVAILABILITY_VALUES,
    CONTROL_CHARS,
    MAX_RESPONSE_BYTES,
    FetchResult,
    PriceItem,
    PriceSource,
    Rejected,
    SourceError,
    SourceSettings,
    check_url,
    clean_text,
    describe_errors,
    load_json,
    parse_money,
    raise_for_status,
    read_capped,
    validate_price,
)
from .http import SourceClient

REQUIRED = ("id", "title", "link", "price", "availability")


def _project_file(path: str) -> str:
    base = Path(django_settings.BASE_DIR).resolve()
    file = (base / path).resolve()
    if not file.is_relative_to(base):
        raise ValueError("must be a file inside the project (a relative path)")
    return path


class FeedSettings(SourceSettings):
    url: Annotated[str, AfterValidator(check_url)] | None = None
    path: Annotated[str, AfterValidator(_project_file)] | None = None
    format: Literal["json", "csv"] | None = None
    affiliate_param: str = Field("", pattern=r"^[A-Za-z0-9_.-]{0,32}$")

    @model_validator(mode="after")
    def _one_location(self) -> FeedSettings:
        if bool(self.url) == bool(self.path):
            raise ValueError(
                "a feed needs exactly one of 'url' (an https address) or 'path' "
                "(a file in the project)"
            )
        return self


def _text(what: str) -> AfterValidator:
    return AfterValidator(lambda value: clean_text(value, what))


class FeedRow(BaseModel):
    """One feed item. Numbers are accepted as text (ids, prices in CSV are text anyway)."""

    model_config = ConfigDict(
        extra="ignore", coerce_numbers_to_str=True, str_strip_whitespace=True, str_max_length=2000
    )

    id: Annotated[str, _text("id"), Field(min_length=1)]
    title: Annotated[str, _text("title"), Field(min_length=1)]
    link: Annotated[str, _text("link"), Field(min_length=1)]
    price: Annotated[str, _text("price"), Field(min_length=1)]
    availability: Annotated[str, _text("availability"), Field(min_length=1)]
    mpn: Annotated[str, _text("mpn")] | None = None


class FeedSource(PriceSource):
    kind: ClassVar[str] = "feed"
    label: ClassVar[str] = "Product feed (Google Merchant fields, JSON or CSV)"
    Settings: ClassVar[type[SourceSettings]] = FeedSettings
    example_settings: ClassVar[dict[str, Any]] = {"url": "https://shop.example/feed.json"}

    def fetch(self, item_ids: list[str]) -> Iterator[FetchResult]:
        body, fmt = self._load()
        result = FetchResult()
        for row in self._rows(body, fmt):
            item = parse_row(row, self.currency)
            if isinstance(item, Rejected):
                result.rejected.append(item)
            else:
                result.items.append(item)
        yield result

    def _load(self) -> tuple[bytes, str]:
        settings: FeedSettings = self.settings  # type: ignore[assignment]
        if settings.path:
            file = Path(django_settings.BASE_DIR) / settings.path
            if not file.is_file():
                raise SourceError(f"feed file {settings.path} not found")
            if file.stat().st_size > MAX_RESPONSE_BYTES:
                raise SourceError(f"feed file too large (limit {MAX_RESPONSE_BYTES} bytes)")
            return file.read_bytes(), settings.format or (
                "csv" if file.suffix == ".csv" else "json"
            )
        url = settings.url or ""
        if self.throttle:
            self.throttle.wait(self.deadline)

        def read(response: httpx.Response) -> tuple[bytes, str]:
            raise_for_status(response)
            return read_capped(response), response.headers.get("content-type", "").lower()

        with SourceClient(settings, self.deadline) as client:
            body, content_type = client.fetch("GET", url, read=read)
        fmt = settings.format or (
            "csv" if "csv" in content_type or url.endswith(".csv") else "json"
        )
        if fmt == "json" and content_type and "json" not in content_type:
            raise SourceError(f"expected a JSON feed, got {content_type.split(';')[0]}")
        return body, fmt

    @staticmethod
    def _rows(body: bytes, fmt: str) -> list[Any]:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SourceError("feed is not UTF-8") from exc
        if fmt == "csv":
            try:
                return list(csv.DictReader(io.StringIO(text, newline="")))
            except csv.Error as exc:
                raise SourceError(f"CSV feed is malformed: {exc}") from exc
        data = load_json(text.encode(), "feed")
        if isinstance(data, dict):
            data = data.get("items")
        if not isinstance(data, list):
            raise SourceError("JSON feed must be a list of items or {'items': [...]}")
        return data


def parse_row(row: object, currency: str) -> PriceItem | Rejected:
    if not isinstance(row, dict):
        return Rejected("?", "item is not an object")
    raw_id = row.get("id")
    item_id = raw_id.strip()[:64] if isinstance(raw_id, str) else str(raw_id or "")[:64]
    item_id = "?" if CONTROL_CHARS.search(item_id) else item_id
    try:
        parsed = FeedRow.model_validate({k: v for k, v in row.items() if isinstance(k, str)})
    except pydantic.ValidationError as exc:
        missing = [
            str(e["loc"][0])
            for e in exc.errors()
            if e["type"] in ("missing", "string_too_short", "too_short") or e.get("input") is None
        ]
        if missing:
            return Rejected(item_id or "?", f"missing fields: {', '.join(missing)}")
        return Rejected(item_id or "?", describe_errors(exc))
    try:
        amount, item_currency = parse_money(parsed.price)
        price = validate_price(amount, item_currency, currency)
    except ValueError as exc:
        return Rejected(parsed.id[:64], str(exc))
    availability = parsed.availability.lower().replace(" ", "_")
    if availability not in AVAILABILITY_VALUES:
        return Rejected(
            parsed.id[:64], f"availability {parsed.availability[:40]!r} is not a Merchant value"
        )
    return PriceItem(
        item_id=parsed.id[:64],
        price=price,
        currency=item_currency,
        availability=availability,
        url=parsed.link,
        title=parsed.title[:200],
        mpn=(parsed.mpn or "")[:60],
    )
