"""Amazon Creators API GetItems with OffersV2 (PA-API 5's successor; PA-API offers retired 2026).

Transport (lowerCamelCase JSON):

* token: ``POST {auth_endpoint}`` with ``grant_type=client_credentials``,
  ``client_id``, ``client_secret``, ``scope=creatorsapi::default`` →
  ``{access_token, expires_in}``; the endpoint depends on the credential version
  (3.1 US ``https://api.amazon.com/auth/o2/token``, 3.2 EU ``…amazon.co.uk…``,
  3.3 FE ``…amazon.co.jp…``);
* items: ``POST {api_host}/catalog/v1/getItems`` with ``Authorization: Bearer``,
  ``x-marketplace: www.amazon.com`` and ``{itemIds (≤10), itemIdType: "ASIN",
  marketplace, partnerTag, resources}``.

Settings: ``marketplace``, ``api_host``, ``auth_endpoint``, ``client_id_env``,
``client_secret_env``; the partner tag is the retailer's affiliate tag. One call
carries up to 10 ASINs; calls are spaced by the throttle (≈1 request/s).

Replies are checked against strict schemas (``GetItemsReply``, ``Item``): a reply
whose envelope has the wrong shape fails the run before anything is written; an
item with the wrong shape is rejected on its own.

Terms: Amazon content may be cached for 24 hours only, so prices and history older
than that are dropped (``cache_limit``), and product links carry the ``tag``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any, ClassVar

import httpx
import pydantic
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .base import (
    ENV_NAME,
    FetchResult,
    PriceItem,
    PriceSource,
    Rejected,
    SourceError,
    SourceSettings,
    check_url,
    clean_text,
    describe_errors,
    env_credential,
    load_json,
    raise_for_status,
    read_capped,
    validate_price,
)
from .http import SourceClient

BATCH_SIZE = 10
DEFAULT_API_HOST = "https://creatorsapi.amazon"
DEFAULT_AUTH_ENDPOINT = "https://api.amazon.com/auth/o2/token"
RESOURCES = [
    "itemInfo.title",
    "offersV2.listings.price",
    "offersV2.listings.availability",
    "offersV2.listings.isBuyBoxWinner",
    "offersV2.listings.condition",
]
AVAILABILITY = {
    "IN_STOCK": "in_stock",
    "IN_STOCK_SCARCE": "in_stock",
    "OUT_OF_STOCK": "out_of_stock",
    "LEADTIME": "backorder",
    "AVAILABLE_DATE": "preorder",
    "PREORDER": "preorder",
}
AMAZON_DISCLAIMER = (
    "Product prices and availability are accurate as of the date/time indicated and are "
    "subject to change. Any price and availability information displayed on the retailer's "
    "site at the time of purchase will apply to the purchase of this product."
)

Url = Annotated[str, AfterValidator(check_url)]
EnvName = Annotated[str, Field(pattern=ENV_NAME)]


class AmazonSettings(SourceSettings):
    marketplace: str = Field("www.amazon.com", pattern=r"^www\.amazon\.[a-z.]{2,12}$")
    api_host: Url = DEFAULT_API_HOST
    auth_endpoint: Url = DEFAULT_AUTH_ENDPOINT
    client_id_env: EnvName
    client_secret_env: EnvName


# ── Reply schemas (strict: "12.00" is not a number, "nope" is not an object) ───────


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class Money(_Strict):
    amount: float | int | None = None
    currency: str | None = None


class Price(_Strict):
    money: Money | None = None


class ListingAvailability(_Strict):
    type: str | None = None


class Listing(_Strict):
    price: Price | None = None
    availability: ListingAvailability | None = None
    isBuyBoxWinner: bool | None = None


class OffersV2(_Strict):
    listings: list[Listing] | None = None


class Item(_Strict):
    asin: Annotated[str, Field(min_length=1, max_length=20), AfterValidator(clean_text)]
    detailPageURL: Annotated[str, AfterValidator(clean_text)] | None = None
    offersV2: OffersV2 | None = None


class ItemsResult(_Strict):
    items: list[Any] | None = None  # each item is validated on its own (``Item``)


class ApiError(_Strict):
    code: str | None = None
    message: str | None = None


class GetItemsReply(_Strict):
    itemsResult: ItemsResult | None = None
    errors: list[ApiError] | None = None


class TokenReply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: Annotated[str, Field(min_length=1, max_length=4096)]
    expires_in: Annotated[float, Field(ge=0, le=86400 * 7)] = 3600


def batched(ids: list[str], size: int = BATCH_SIZE) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class AmazonCreatorsSource(PriceSource):
    kind: ClassVar[str] = "amazon_creators"
    label: ClassVar[str] = "Amazon Creators API (GetItems, OffersV2)"
    Settings: ClassVar[type[SourceSettings]] = AmazonSettings
    example_settings: ClassVar[dict[str, Any]] = {
        "marketplace": "www.amazon.com",
        "client_id_env": "AMAZON_CREATORS_CLIENT_ID",
        "client_secret_env": "AMAZON_CREATORS_CLIENT_SECRET",
    }
    disclaimer: ClassVar[str] = AMAZON_DISCLAIMER
    keeps_price_history: ClassVar[bool] = False
    history_note: ClassVar[str] = (
        "No price history: Amazon's terms allow keeping its prices for 24 hours only."
    )
    cache_limit: ClassVar[timedelta | None] = timedelta(hours=24)
    affiliate_param: ClassVar[str] = "tag"
    asks_for_items: ClassVar[bool] = True

    _token: str | None = None
    _token_expires: float = 0.0

    @classmethod
    def retailer_problems(cls, *, affiliate_tag: str, is_active: bool) -> dict[str, str]:
        if is_active and not affiliate_tag:
            return {"affiliate_tag": "Amazon needs the affiliate tag (it is the partnerTag)."}
        return {}

    def fetch(self, item_ids: list[str]) -> Iterator[FetchResult]:
        if not self.affiliate_tag:
            raise SourceError("Amazon needs the retailer's affiliate tag (partnerTag)")
        with SourceClient(self.settings, self.deadline) as client:
            for batch in batched(item_ids):
                yield self._get_items(client, batch)

    @property
    def _settings(self) -> AmazonSettings:
        return self.settings  # type: ignore[return-value]

    def _access_token(self, client: SourceClient) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        payload = {
            "grant_type": "client_credentials",
            "client_id": env_credential(self._settings.client_id_env),
            "client_secret": env_credential(self._settings.client_secret_env),
            "scope": "creatorsapi::default",
        }
        data = self._post(client, self._settings.auth_endpoint, payload, headers={})
        try:
            token = TokenReply.model_validate(data)
        except pydantic.ValidationError as exc:
            raise SourceError(
                f"token reply has an unexpected shape: {describe_errors(exc)}"
            ) from exc
        self._token = token.access_token
        self._token_expires = time.monotonic() + max(token.expires_in - 60, 30)
        return token.access_token

    def _get_items(self, client: SourceClient, batch: list[str]) -> FetchResult:
        token = self._access_token(client)
        body = {
            "itemIds": batch,
            "itemIdType": "ASIN",
            "marketplace": self._settings.marketplace,
            "partnerTag": self.affiliate_tag,
            "resources": RESOURCES,
        }
        headers = {"Authorization": f"Bearer {token}", "x-marketplace": self._settings.marketplace}
        url = f"{self._settings.api_host.rstrip('/')}/catalog/v1/getItems"
        data = self._post(client, url, body, headers=headers)
        try:
            reply = GetItemsReply.model_validate(data)
        except pydantic.ValidationError as exc:
            raise SourceError(
                f"GetItems reply has an unexpected shape: {describe_errors(exc)}"
            ) from exc
        return parse_get_items(reply, batch, self.currency)

    def _post(self, client: SourceClient, url: str, payload: dict, *, headers: dict) -> object:
        if self.throttle:
            self.throttle.wait(self.deadline)

        def read(response: httpx.Response) -> object:
            raise_for_status(response)
            body = read_capped(response)
            content_type = response.headers.get("content-type", "").split(";")[0].strip()
            if content_type and "json" not in content_type.lower():
                raise SourceError(f"expected JSON, got {content_type}")
            return load_json(body)

        return client.fetch("POST", url, read=read, json=payload, headers=headers)


def parse_get_items(reply: GetItemsReply, batch: list[str], currency: str) -> FetchResult:
    """Map one GetItems reply to prices; every ASIN asked for is accounted for."""
    result = FetchResult()
    seen: set[str] = set()
    asked = set(batch)
    raw_items = (reply.itemsResult.items if reply.itemsResult else None) or []
    for raw in raw_items:
        asin = raw.get("asin") if isinstance(raw, dict) else None
        if not isinstance(asin, str) or asin not in asked or asin in seen:
            continue  # not an ASIN we asked for: ignore, it is accounted for below
        seen.add(asin)
        try:
            item = Item.model_validate(raw)
        except pydantic.ValidationError as exc:
            result.rejected.append(Rejected(asin, f"unexpected shape: {describe_errors(exc)}"))
            continue
        parsed = parse_item(item, currency)
        if isinstance(parsed, Rejected):
            result.rejected.append(parsed)
        else:
            result.items.append(parsed)
    for error in reply.errors or []:
        message = f"{error.code or 'Error'}: {error.message or ''}".strip()[:200]
        for asin in batch:
            if asin not in seen and asin in (error.message or ""):
                seen.add(asin)
                result.rejected.append(Rejected(asin, message, missing=True))
    for asin in batch:
        if asin not in seen:
            result.rejected.append(Rejected(asin, "not returned by GetItems", missing=True))
    return result


def parse_item(item: Item, currency: str) -> PriceItem | Rejected:
    asin = item.asin
    url = item.detailPageURL or ""
    listings = (item.offersV2.listings if item.offersV2 else None) or []
    if not listings:
        # Listed but no offers at all: no price and not buyable here now.
        return PriceItem(asin, None, currency, "out_of_stock", url)
    listing = next((x for x in listings if x.isBuyBoxWinner), listings[0])
    availability_type = ((listing.availability.type if listing.availability else "") or "").upper()
    availability = AVAILABILITY.get(availability_type, "unknown")
    money = listing.price.money if listing.price else None
    if money is None or money.amount is None:
        # OffersV2 leaves price out when there is no buy-box winner: no price, not an error.
        return PriceItem(asin, None, currency, availability, url)
    try:
        price = validate_price(money.amount, money.currency or "", currency)
    except ValueError as exc:
        return Rejected(asin, str(exc))
    return PriceItem(asin, price, currency, availability, url)
