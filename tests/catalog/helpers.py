"""Shapes served by the loopback server: Google Merchant feeds and Creators API GetItems."""

from catalog.models import PriceBand, Retailer, SyncRun

from .conftest import Reply
from .factories import RetailerFactory


def feed_item(item_id, price="499.99 USD", availability="in_stock", **extra):
    item = {
        "id": item_id,
        "title": f"Kit {item_id}",
        "link": f"https://shop.test/p/{item_id}",
        "price": price,
        "availability": availability,
    }
    item.update(extra)
    return item


def feed_reply(*items, status=200):
    return Reply(status, {"items": list(items)})


def feed_retailer(loopback, path="/feed.json", **kwargs):
    settings = {"url": loopback.url(path), "timeout_seconds": 2}
    settings.update(kwargs.pop("source_settings", {}))
    return RetailerFactory(source_kind=Retailer.SourceKind.FEED, source_settings=settings, **kwargs)


def amazon_retailer(loopback, monkeypatch, **kwargs):
    monkeypatch.setenv("TEST_AMAZON_ID", "client-id")
    monkeypatch.setenv("TEST_AMAZON_SECRET", "client-secret")
    return RetailerFactory(
        source_kind=Retailer.SourceKind.AMAZON_CREATORS,
        domain="amazon.com",
        affiliate_tag="llmram-20",
        source_settings={
            "marketplace": "www.amazon.com",
            "api_host": loopback.base_url,
            "auth_endpoint": loopback.url("/auth/o2/token"),
            "client_id_env": "TEST_AMAZON_ID",
            "client_secret_env": "TEST_AMAZON_SECRET",
            "timeout_seconds": 2,
        },
        **kwargs,
    )


def token_reply():
    return Reply(200, {"access_token": "tok-123", "token_type": "bearer", "expires_in": 3600})


def amazon_listing(amount=None, currency="USD", availability="IN_STOCK", buy_box=True):
    listing = {"availability": {"type": availability}, "isBuyBoxWinner": buy_box}
    if amount is not None:
        listing["price"] = {
            "money": {"amount": amount, "currency": currency, "displayAmount": f"${amount}"}
        }
    return listing


def amazon_item(asin, *listings):
    return {
        "asin": asin,
        "detailPageURL": f"https://www.amazon.com/dp/{asin}",
        "offersV2": {"listings": list(listings)},
    }


def get_items_handler(prices: dict):
    """Answer GetItems for the ASINs asked for, from ``prices`` (asin → listing)."""

    def handle(request):
        items = [amazon_item(a, prices[a]) for a in request["body"]["itemIds"] if a in prices]
        return Reply(200, {"itemsResult": {"items": items}})

    return handle


def ddr5_udimm_band(low="0.50", high="60.00"):
    return PriceBand.objects.create(
        ddr_generation="DDR5",
        form_factor="UDIMM",
        currency="USD",
        min_per_gb=low,
        max_per_gb=high,
        source_url="https://example.org/ddr5-prices",
        source_date="2025-12-03",
    )


def runs(retailer):
    return list(
        SyncRun.objects.filter(retailer=retailer)
        .order_by("requested_at", "pk")
        .values_list("status", flat=True)
    )
