import factory
from django.utils import timezone

from catalog.models import Component, MemoryKit, Offer, Retailer


class RetailerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Retailer

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    domain = "shop.test"
    country = "US"
    currency = "USD"
    source_kind = Retailer.SourceKind.FEED
    source_settings = factory.LazyFunction(dict)
    requests_per_second = 50.0


class MemoryKitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MemoryKit

    slug = factory.Sequence(lambda n: f"kit-{n}")
    brand = "Crucial"
    title = factory.Sequence(lambda n: f"Kit {n}")
    mpn = factory.Sequence(lambda n: f"MPN-{n}")
    ddr_generation = "DDR5"
    speed_mts = 5600
    module_count = 2
    module_size_gb = 32
    ecc = False
    form_factor = MemoryKit.FormFactor.UDIMM
    source_url = "https://www.crucial.com/memory/ddr5/cp2k48g56c46u5"


class ComponentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Component

    kind = Component.Kind.GPU
    slug = factory.Sequence(lambda n: f"component-{n}")
    name = factory.Sequence(lambda n: f"GPU {n}")
    profile_slug = "rtx-4090"
    memory_gb = 24
    source_url = "https://www.nvidia.com/en-us/geforce/graphics-cards/40-series/rtx-4090/"


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    kit = factory.SubFactory(MemoryKitFactory)
    retailer = factory.SubFactory(RetailerFactory)
    item_id = factory.Sequence(lambda n: f"ITEM{n:06d}")
    url = factory.LazyAttribute(lambda o: f"https://{o.retailer.domain}/p/{o.item_id}")
    currency = "USD"
    price = None
    availability = Offer.Availability.UNKNOWN


def fresh_offer(**kwargs) -> Offer:
    kwargs.setdefault("price", "500.00")
    kwargs.setdefault("availability", Offer.Availability.IN_STOCK)
    kwargs.setdefault("last_checked", timezone.now())
    return OfferFactory(**kwargs)
