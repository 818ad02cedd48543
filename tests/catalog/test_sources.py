"""Price-source classes on their own: the registry, settings schemas, reply schemas,
links. No database, no network."""

from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from catalog.sources import SOURCES, SettingsError, SourceError, kinds_where, source_class
from catalog.sources.amazon import GetItemsReply, parse_get_items
from catalog.sources.base import Deadline, describe_errors, load_json, retry_after_seconds
from catalog.sources.feed import FeedSource, parse_row


def test_every_kind_is_one_class_in_one_table():
    assert set(SOURCES) == {"feed", "amazon_creators", "demo_feed", "manual"}
    assert all(source.kind == kind for kind, source in SOURCES.items())


def test_an_unknown_kind_is_an_error_not_a_default():
    with pytest.raises(SourceError, match="unknown source kind 'ebay'"):
        source_class("ebay")


def test_only_sources_with_something_to_fetch_sync():
    assert kinds_where(lambda s: s.syncs) == ["feed", "amazon_creators", "demo_feed"]


@pytest.mark.parametrize(
    ("kind", "history", "fresh_for", "label"),
    [
        ("feed", True, timedelta(hours=24), ""),
        ("amazon_creators", False, timedelta(hours=24), ""),
        ("demo_feed", True, timedelta(hours=24), "sample price"),
        ("manual", True, timedelta(days=180), "editor's price"),
    ],
)
def test_what_differs_between_retailers_is_class_behaviour(kind, history, fresh_for, label):
    source = source_class(kind)
    assert (source.keeps_price_history, source.fresh_for, source.price_label) == (
        history,
        fresh_for,
        label,
    )


def test_amazon_terms_limit_caching_to_24_hours_and_say_so():
    amazon = source_class("amazon_creators")
    assert amazon.cache_limit == timedelta(hours=24)
    assert "24 hours" in amazon.history_note


# ── Settings schemas ────────────────────────────────────────────────────────────


def test_a_feed_with_empty_settings_is_refused_with_an_example():
    with pytest.raises(SettingsError) as exc:
        FeedSource.parse_settings({})
    message = str(exc.value)
    assert (
        "exactly one of 'url'" in message and '{"url": "https://shop.example/feed.json"}' in message
    )


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"url": "http://shop.example/feed.json"}, "use an https URL"),
        ({"url": "https://a.example/f.json", "path": "f.json"}, "exactly one of"),
        ({"path": "../../etc/passwd"}, "inside the project"),
        ({"url": "https://a.example/f.json", "format": "xml"}, "format"),
        ({"url": "https://a.example/f.json", "colour": "red"}, "colour: Extra inputs"),
        ({"url": "https://a.example/f.json", "timeout_seconds": 0}, "timeout_seconds"),
        ({"url": "https://a.example/f.json", "api_token": "x"}, "looks like a credential"),
        (["url"], "must be a JSON object"),
    ],
)
def test_bad_feed_settings_name_the_problem(settings, fragment):
    with pytest.raises(SettingsError, match=fragment):
        FeedSource.parse_settings(settings)


def test_amazon_settings_need_environment_variable_names():
    amazon = source_class("amazon_creators")
    with pytest.raises(SettingsError, match="client_id_env"):
        amazon.parse_settings({"client_secret_env": "AMAZON_SECRET"})
    with pytest.raises(SettingsError, match="client_id_env"):
        amazon.parse_settings({"client_id_env": "lower case", "client_secret_env": "S_ENV"})
    parsed = amazon.parse_settings({"client_id_env": "A_ID", "client_secret_env": "A_SECRET"})
    assert parsed.marketplace == "www.amazon.com"


def test_manual_prices_take_no_settings():
    manual = source_class("manual")
    manual.parse_settings({})
    with pytest.raises(SettingsError, match="url"):
        manual.parse_settings({"url": "https://a.example/"})


# ── Reply schemas ───────────────────────────────────────────────────────────────


def test_json_nested_200000_deep_is_a_bad_reply_not_a_crash():
    body = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(SourceError, match="nested too deeply"):
        load_json(body, "feed")


def test_a_csv_field_over_the_csv_modules_limit_is_a_bad_feed():
    body = b"id,title,link,price,availability\nA1," + b"x" * 200_000 + b",l,1 USD,in_stock\n"
    with pytest.raises(SourceError, match="CSV feed is malformed: field larger than field limit"):
        FeedSource._rows(body, "csv")


def row(**fields):
    base = {"id": "A1", "title": "Kit", "link": "l", "price": "1 USD", "availability": "in_stock"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (row(link=None, availability=None), "missing fields: link, availability"),
        (row(title=" "), "missing fields: title"),
        (row(title={"x": 1}), "title: Input should be a valid string"),
        (row(id="A\x001"), "id contains control characters"),
        (row(availability="maybe"), "not a Merchant value"),
        ("not an object", "item is not an object"),
    ],
    ids=["missing", "blank", "object-title", "nul-byte", "availability", "not-object"],
)
def test_a_malformed_feed_row_is_rejected_with_its_reason(row, reason):
    assert reason in parse_row(row, "USD").reason


def test_numbers_in_a_json_feed_row_are_read_as_text():
    item = parse_row(
        {"id": 123, "title": "Kit", "link": "l", "price": "9.50 USD", "availability": "in_stock"},
        "USD",
    )
    assert (item.item_id, item.price) == ("123", Decimal("9.50"))


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        ({"itemsResult": [1, 2]}, "itemsResult: Input should be a valid dictionary"),
        ({"errors": 5}, "errors: Input should be a valid list"),
        ({"itemsResult": {"items": "many"}}, "itemsResult.items: Input should be a valid list"),
    ],
)
def test_amazon_reply_with_a_wrong_envelope_fails_validation(reply, fragment):
    with pytest.raises(ValidationError) as exc:
        GetItemsReply.model_validate(reply)
    assert fragment in describe_errors(exc.value)


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ({"asin": "B0X", "offersV2": "nope"}, "offersV2: Input should be a valid dictionary"),
        (
            {"asin": "B0X", "offersV2": {"listings": [{"price": "12.00"}]}},
            "offersV2.listings.0.price: Input should be a valid dictionary",
        ),
        (
            {"asin": "B0X", "offersV2": {"listings": [{"price": {"money": {"amount": "12.00"}}}]}},
            "amount",
        ),
    ],
    ids=["offers-not-object", "price-text", "amount-text"],
)
def test_amazon_item_with_wrong_types_is_rejected_alone(item, fragment):
    reply = GetItemsReply.model_validate({"itemsResult": {"items": [item, {"asin": "B0Y"}]}})
    result = parse_get_items(reply, ["B0X", "B0Y"], "USD")
    [rejected] = result.rejected
    assert rejected.item_id == "B0X" and fragment in rejected.reason
    assert [i.item_id for i in result.items] == ["B0Y"]


# ── Links and timing helpers ────────────────────────────────────────────────────


def test_amazon_links_carry_the_tag_once():
    amazon = source_class("amazon_creators")
    url = amazon.outbound_url("https://www.amazon.com/dp/B0A?tag=old&th=1", tag="ours-20",
                              settings=None)  # fmt: skip
    assert url == "https://www.amazon.com/dp/B0A?th=1&tag=ours-20"


def test_feed_links_carry_the_tag_in_the_parameter_its_settings_name():
    settings = FeedSource.parse_settings({"url": "https://a.example/f", "affiliate_param": "aff"})
    assert FeedSource.outbound_url("https://a.example/p/1", tag="x1", settings=settings) == (
        "https://a.example/p/1?aff=x1"
    )
    plain = FeedSource.parse_settings({"url": "https://a.example/f"})
    assert FeedSource.outbound_url("https://a.example/p/1", tag="x1", settings=plain) == (
        "https://a.example/p/1"
    )


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    assert retry_after_seconds("600") == 600
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert retry_after_seconds("soon") is None


def test_a_deadline_is_the_sooner_of_two():
    run = Deadline(100)
    assert run.sooner(5).seconds == 5 and run.sooner(500) is run
