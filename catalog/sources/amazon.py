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
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx

from .base import (
    FetchResult,
    PriceItem,
    Rejected,
    SourceError,
    Throttle,
    TransientSourceError,
    check_url,
    env_credential,
    raise_for_status,
    read_capped,
    require_json,
    timeout_from,
    validate_price,
)

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


def batched(ids: list[str], size: int = BATCH_SIZE) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class AmazonCreatorsSource:
    def __init__(
        self,
        *,
        settings: dict,
        currency: str,
        partner_tag: str,
        throttle: Throttle | None = None,
    ):
        self.settings = settings
        self.currency = currency
        self.partner_tag = partner_tag
        self.throttle = throttle
        self.marketplace = settings.get("marketplace", "www.amazon.com")
        self.api_url = check_url(settings.get("api_host", DEFAULT_API_HOST)).rstrip("/")
        self.auth_url = check_url(settings.get("auth_endpoint", DEFAULT_AUTH_ENDPOINT))
        self._token: str | None = None
        self._token_expires = 0.0

    def fetch(self, item_ids: list[str]) -> Iterator[FetchResult]:
        if not self.partner_tag:
            raise SourceError("Amazon needs the retailer's affiliate tag (partnerTag)")
        with httpx.Client(timeout=timeout_from(self.settings), follow_redirects=False) as client:
            for batch in batched(item_ids):
                yield self._get_items(client, batch)

    def _access_token(self, client: httpx.Client) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        payload = {
            "grant_type": "client_credentials",
            "client_id": env_credential(self.settings, "client_id_env"),
            "client_secret": env_credential(self.settings, "client_secret_env"),
            "scope": "creatorsapi::default",
        }
        data = self._post(client, self.auth_url, payload, headers={})
        token = data.get("access_token") if isinstance(data, dict) else None
        if not token:
            raise SourceError("token response has no access_token")
        expires_in = data.get("expires_in", 3600)
        ttl = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        self._token = token
        self._token_expires = time.monotonic() + max(ttl - 60, 30)
        return token

    def _get_items(self, client: httpx.Client, batch: list[str]) -> FetchResult:
        token = self._access_token(client)
        body = {
            "itemIds": batch,
            "itemIdType": "ASIN",
            "marketplace": self.marketplace,
            "partnerTag": self.partner_tag,
            "resources": RESOURCES,
        }
        headers = {"Authorization": f"Bearer {token}", "x-marketplace": self.marketplace}
        data = self._post(client, f"{self.api_url}/catalog/v1/getItems", body, headers=headers)
        if not isinstance(data, dict):
            raise SourceError("GetItems response is not a JSON object")
        return parse_get_items(data, batch, self.currency)

    def _post(self, client: httpx.Client, url: str, payload: dict, *, headers: dict):
        if self.throttle:
            self.throttle()
        try:
            with client.stream("POST", url, json=payload, headers=headers) as response:
                raise_for_status(response)
                body = read_capped(response)
                return require_json(response, body)
        except httpx.TimeoutException as exc:
            raise TransientSourceError(f"timeout calling {url}: {exc}") from exc
        except httpx.TransportError as exc:
            raise TransientSourceError(f"network error calling {url}: {exc}") from exc


def parse_get_items(data: dict, batch: list[str], currency: str) -> FetchResult:
    """Map one GetItems response to prices; every ASIN asked for is accounted for."""
    result = FetchResult()
    seen: set[str] = set()
    items = (data.get("itemsResult") or {}).get("items") or []
    for raw in items if isinstance(items, list) else []:
        if not isinstance(raw, dict) or not raw.get("asin"):
            continue
        asin = str(raw["asin"])
        seen.add(asin)
        parsed = parse_item(raw, currency)
        (result.rejected if isinstance(parsed, Rejected) else result.items).append(parsed)
    for error in data.get("errors") or []:
        if isinstance(error, dict):
            message = f"{error.get('code', 'Error')}: {error.get('message', '')}".strip()
            for asin in batch:
                if asin not in seen and asin in str(error.get("message", "")):
                    seen.add(asin)
                    result.rejected.append(Rejected(asin, message))
    for asin in batch:
        if asin not in seen:
            result.rejected.append(Rejected(asin, "not returned by GetItems"))
    return result


def parse_item(raw: dict, currency: str) -> PriceItem | Rejected:
    asin = str(raw["asin"])
    listings = ((raw.get("offersV2") or {}).get("listings")) or []
    if not isinstance(listings, list) or not listings:
        # Listed but no offers at all: no price and not buyable here now.
        return PriceItem(asin, None, currency, "out_of_stock", raw.get("detailPageURL") or "")
    listing = next((x for x in listings if x.get("isBuyBoxWinner")), listings[0])
    availability_type = str((listing.get("availability") or {}).get("type") or "").upper()
    availability = AVAILABILITY.get(availability_type, "unknown")
    money = ((listing.get("price") or {}).get("money")) or {}
    url = raw.get("detailPageURL") or ""
    if money.get("amount") is None:
        # OffersV2 leaves price out when there is no buy-box winner: no price, not an error.
        return PriceItem(asin, None, currency, availability, url)
    try:
        price = validate_price(money["amount"], str(money.get("currency") or ""), currency)
    except ValueError as exc:
        return Rejected(asin, str(exc))
    return PriceItem(asin, price, currency, availability, url)
