from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from catalog.models import MemoryKit, Offer, Retailer

from .factories import (
    ComponentFactory,
    MemoryKitFactory,
    OfferFactory,
    RetailerFactory,
    fresh_offer,
)

pytestmark = pytest.mark.django_db


def test_kit_capacity_is_module_count_times_module_size():
    kit = MemoryKitFactory(module_count=8, module_size_gb=64)
    assert kit.capacity_gb == 512


def test_kit_capacity_follows_a_module_size_edit():
    kit = MemoryKitFactory(module_count=2, module_size_gb=32)
    kit.module_size_gb = 48
    kit.save()
    assert MemoryKit.objects.get(pk=kit.pk).capacity_gb == 96


def test_registered_kit_without_ecc_is_invalid():
    kit = MemoryKitFactory.build(form_factor=MemoryKit.FormFactor.RDIMM, ecc=False)
    with pytest.raises(ValidationError, match="always ECC"):
        kit.full_clean()


def test_kit_needs_a_source_for_its_specs():
    kit = MemoryKitFactory.build(source_url="", source_note="")
    with pytest.raises(ValidationError, match="specs were read"):
        kit.full_clean()


def test_offer_url_must_be_https():
    offer = OfferFactory.build(
        retailer=RetailerFactory(), kit=MemoryKitFactory(), url="http://shop.test/p/1"
    )
    with pytest.raises(ValidationError, match="https URL on shop.test"):
        offer.full_clean()


def test_offer_url_must_be_on_the_retailers_domain():
    offer = OfferFactory.build(
        retailer=RetailerFactory(), kit=MemoryKitFactory(), url="https://shop.test.evil.example/p/1"
    )
    with pytest.raises(ValidationError, match="https URL on shop.test"):
        offer.full_clean()


def test_offer_url_on_a_subdomain_of_the_retailer_is_valid():
    offer = OfferFactory.build(
        retailer=RetailerFactory(), kit=MemoryKitFactory(), url="https://www.shop.test/p/1"
    )
    offer.full_clean()


def test_one_offer_per_retailer_item_id():
    offer = OfferFactory()
    with pytest.raises(IntegrityError):
        OfferFactory(retailer=offer.retailer, item_id=offer.item_id)


def test_retailer_settings_refuse_a_stored_credential():
    retailer = RetailerFactory.build(source_settings={"client_secret": "s3cr3t"})
    with pytest.raises(ValidationError, match="environment variables"):
        retailer.full_clean()


def test_retailer_settings_accept_environment_variable_names():
    retailer = RetailerFactory.build(
        source_kind=Retailer.SourceKind.AMAZON_CREATORS,
        domain="amazon.com",
        affiliate_tag="llmram-20",
        source_settings={"client_id_env": "AMAZON_ID", "client_secret_env": "AMAZON_SECRET"},
    )
    retailer.full_clean()


def test_a_feed_retailer_with_empty_settings_is_refused_when_saved():
    retailer = RetailerFactory.build(source_settings={})
    with pytest.raises(ValidationError) as exc:
        retailer.full_clean()
    assert "a feed needs exactly one of 'url'" in exc.value.message_dict["source_settings"][0]


def test_an_active_amazon_retailer_needs_its_affiliate_tag():
    retailer = RetailerFactory.build(
        source_kind=Retailer.SourceKind.AMAZON_CREATORS,
        domain="amazon.com",
        source_settings={"client_id_env": "AMAZON_ID", "client_secret_env": "AMAZON_SECRET"},
    )
    with pytest.raises(ValidationError, match="partnerTag"):
        retailer.full_clean()


def test_only_manual_price_retailers_may_leave_the_domain_blank():
    feed = RetailerFactory.build(domain="", source_settings={"url": "https://a.example/f.json"})
    with pytest.raises(ValidationError, match="Say which domain"):
        feed.full_clean()
    manual = RetailerFactory.build(domain="", source_kind=Retailer.SourceKind.MANUAL)
    manual.full_clean()
    assert manual.accepts_link("https://www.apple.com/mac-studio/")
    assert not manual.accepts_link("http://www.apple.com/mac-studio/")


def test_fresh_offers_exclude_prices_older_than_24_hours():
    fresh = fresh_offer()
    fresh_offer(last_checked=timezone.now() - timedelta(hours=25))
    assert list(Offer.objects.fresh()) == [fresh]


def test_available_kits_need_a_fresh_in_stock_offer():
    in_stock = fresh_offer().kit
    fresh_offer(availability=Offer.Availability.OUT_OF_STOCK)
    fresh_offer(last_checked=timezone.now() - timedelta(days=2))
    assert list(MemoryKit.objects.available()) == [in_stock]


def test_retired_kit_is_not_available():
    offer = fresh_offer()
    offer.kit.retire()
    assert not MemoryKit.objects.available().exists()


def test_amazon_outbound_url_carries_the_affiliate_tag():
    retailer = RetailerFactory(
        source_kind=Retailer.SourceKind.AMAZON_CREATORS,
        domain="amazon.com",
        affiliate_tag="llmram-20",
    )
    offer = OfferFactory(retailer=retailer, url="https://www.amazon.com/dp/B0TEST0001")
    assert offer.outbound_url == "https://www.amazon.com/dp/B0TEST0001?tag=llmram-20"


def test_affiliate_tag_falls_back_to_the_setting_for_the_retailer(settings):
    retailer = RetailerFactory(
        slug="amazon-us", source_kind=Retailer.SourceKind.AMAZON_CREATORS, domain="amazon.com"
    )
    settings.CATALOG_AFFILIATE_TAGS = {"amazon-us": "fromsettings-20"}
    offer = OfferFactory(retailer=retailer, url="https://www.amazon.com/dp/B0TEST0001")
    assert offer.outbound_url.endswith("?tag=fromsettings-20")
    assert offer.link_rel == "sponsored nofollow noopener"


def test_a_feed_link_is_left_alone_without_an_affiliate_parameter():
    offer = OfferFactory(retailer=RetailerFactory(affiliate_tag="t1"))
    assert offer.outbound_url == offer.url


def test_demo_feed_offers_are_sample_prices():
    offer = OfferFactory(retailer=RetailerFactory(source_kind=Retailer.SourceKind.DEMO_FEED))
    assert offer.is_sample and not offer.is_live and offer.price_label == "sample price"


def test_amazon_retailer_has_no_history_and_says_why():
    amazon = RetailerFactory(source_kind=Retailer.SourceKind.AMAZON_CREATORS, domain="amazon.com")
    assert not amazon.keeps_price_history and "24 hours" in amazon.history_note
    assert RetailerFactory().history_note == ""


def test_an_offer_prices_exactly_one_thing():
    retailer = RetailerFactory()
    both = OfferFactory.build(retailer=retailer, kit=MemoryKitFactory(),
                              component=ComponentFactory())  # fmt: skip
    with pytest.raises(ValidationError, match="exactly one thing"):
        both.full_clean()
    neither = OfferFactory.build(retailer=retailer, kit=None)
    with pytest.raises(ValidationError, match="exactly one thing"):
        neither.full_clean()
    with pytest.raises(IntegrityError):
        OfferFactory(retailer=retailer, kit=None)


def test_an_offer_can_price_a_component():
    gpu = ComponentFactory(name="NVIDIA GeForce RTX 4090")
    offer = OfferFactory(kit=None, component=gpu)
    assert offer.item == gpu and offer.price_per_gb is None and str(offer).startswith("NVIDIA")


def test_offer_currency_defaults_from_the_retailer():
    retailer = RetailerFactory(currency="EUR")
    offer = OfferFactory.build(retailer=retailer, kit=MemoryKitFactory(), currency="")
    offer.full_clean()
    assert offer.currency == "EUR"
    offer = OfferFactory(retailer=retailer, currency="")
    assert offer.currency == "EUR"


def test_manual_prices_stay_current_for_months_live_prices_for_a_day():
    manual = RetailerFactory(source_kind=Retailer.SourceKind.MANUAL, domain="")
    week_old = timezone.now() - timedelta(days=7)
    editor = fresh_offer(retailer=manual, last_checked=week_old)
    live = fresh_offer(last_checked=week_old)
    assert editor.is_fresh() and not live.is_fresh()
    assert list(Offer.objects.fresh()) == [editor]
    assert list(Offer.objects.stale()) == [live]


def test_a_delisted_offer_is_not_fresh():
    offer = fresh_offer(delisted_at=timezone.now())
    assert not offer.is_fresh() and not Offer.objects.fresh().exists()


@pytest.mark.parametrize(
    ("rank", "ranks"),
    [("2Rx8", 2), ("1Rx4", 1), ("2S2Rx4", 2), ("QR (quad-rank)", 4), ("8Rx4", 8), ("", None)],
)
def test_ranks_are_read_from_the_rank_label(rank, ranks):
    kit = MemoryKitFactory.build(rank=rank, form_factor="RDIMM", ecc=True)
    kit.full_clean()
    assert kit.ranks == ranks


def test_ranks_that_contradict_the_rank_label_are_refused():
    kit = MemoryKitFactory.build(rank="2Rx8", ranks=1)
    with pytest.raises(ValidationError, match="says 2 ranks"):
        kit.full_clean()


@pytest.mark.parametrize("form_factor", ["CUDIMM", "MRDIMM", "3DS_RDIMM", "SODIMM"])
def test_new_form_factors_are_choices(form_factor):
    ecc = form_factor in ("MRDIMM", "3DS_RDIMM")
    MemoryKitFactory.build(form_factor=form_factor, ecc=ecc).full_clean()


def test_mrdimm_is_registered_and_so_always_ecc():
    kit = MemoryKitFactory.build(form_factor="MRDIMM", ecc=False)
    with pytest.raises(ValidationError, match="always ECC"):
        kit.full_clean()
