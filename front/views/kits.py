"""Memory kit pages: the list with filters, and one kit with its offers and the models
it runs. Both show prices, so their cached responses key on the "prices" data too."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from calculator import versions
from catalog.models import MemoryKit, Offer
from catalog.selectors import best_offer, kit_offers, kit_platform
from front import seo
from front.caching import cached_page
from front.forms import KitFilterForm
from front.htmx import render_region
from front.http import safe_only
from front.presenters.kits import models_on_kit

PRICED = (versions.MODELS, versions.PRICES)


@safe_only
@cached_page(params=tuple(KitFilterForm.base_fields), data=PRICED)
@vary_on_headers("HX-Request")
def kit_list(request: HttpRequest) -> HttpResponse:
    form = KitFilterForm(request.GET or None)
    kits = MemoryKit.objects.active().with_best_price()
    if form.is_bound and form.is_valid():
        kits = form.filter(kits)
    elif form.is_bound:
        kits = kits.none()
    offers = Prefetch(
        "offers",
        queryset=Offer.objects.select_related("retailer").filter(retailer__is_active=True),
        to_attr="all_offers",
    )
    now = timezone.now()
    rows = []
    for kit in kits.prefetch_related(offers).order_by("capacity_gb", "best_price", "title"):
        offer, fresh = best_offer(kit, now)
        platform = kit_platform(kit)
        rows.append({"kit": kit, "offer": offer, "fresh": fresh, "platform": platform})
    context = {"form": form, "rows": rows}
    return render_region(request, "catalog/kit_list.html", context, "results")


@safe_only
@cached_page(data=PRICED)
def kit_detail(request: HttpRequest, slug: str) -> HttpResponse:
    kit = get_object_or_404(MemoryKit.objects.active(), slug=slug)
    platform = kit_platform(kit)
    offers = kit_offers(kit=kit)
    on_kit = models_on_kit(kit, platform)
    return render(
        request,
        "catalog/kit_detail.html",
        {
            "kit": kit,
            "offers": offers,
            "platform": platform,
            "json_ld": seo.json_ld_script(_product(request, kit, offers)),
            "runs": on_kit.runs,
            "run_options": on_kit.options,
            "run_channels": on_kit.channels,
        },
    )


def _product(request: HttpRequest, kit: MemoryKit, offers: list[dict]) -> dict[str, object]:
    """schema.org Product; only fresh, real prices become Offers (never sample prices)."""
    return seo.product(
        {"name": kit.title, "url": seo.canonical_url(request, kit.get_absolute_url()),
         "brand": kit.brand, "mpn": kit.mpn},
        [
            {"price": row["price"], "currency": row["offer"].currency,
             "url": row["outbound_url"], "seller": row["retailer"].name,
             "availability": row["offer"].availability, "checked_at": row["as_of"]}
            for row in offers
            if row["is_fresh"] and not row["is_sample"]
        ],
    )  # fmt: skip
