from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import timezone

from catalog.models import MemoryKit, Offer, Retailer

from .factories import MemoryKitFactory, OfferFactory, RetailerFactory, fresh_offer

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
    retailer = RetailerFactory.build(source_settings={"client_secret_env": "AMAZON_SECRET"})
    retailer.full_clean()


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


def test_demo_feed_offers_are_sample_prices():
    offer = OfferFactory(retailer=RetailerFactory(source_kind=Retailer.SourceKind.DEMO_FEED))
    assert offer.is_sample
