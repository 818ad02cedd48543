"""Memory kit pages: the list with filters, and one kit with its offers and the models
it runs. Both show prices, so their cached responses key on the "prices" data too."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from calculator import versions
from catalog.models import MemoryKit, Offer
from catalog.selectors import best_offer, kit_fits, kit_offers
from catalog.selectors import platforms as platforms_of
from front import seo
from front.caching import cached_page
from front.forms import KIT_SORTS, KitFilterForm
from front.htmx import render_region
from front.http import safe_only
from front.presenters.kits import models_on_kit

PRICED = (versions.MODELS, versions.PRICES)
# The build picker names a platform ``host=``; /kits/ reads it as ``platform=``.
HOST_PARAM = "host"

# Sort keys for the kit list: (key on a row, rows without the value last).
SORTS = {
    "price": lambda row: row["offer"].price if row["fresh"] else None,
    "per_gb": lambda row: row["offer"].price_per_gb if row["fresh"] else None,
    "speed": lambda row: row["kit"].speed_mts,
}


def _sorted(rows: list[dict], sort: str) -> list[dict]:
    key = SORTS.get(sort.lstrip("-"))
    if key is None:
        return rows
    known = [r for r in rows if key(r) is not None]
    unknown = [r for r in rows if key(r) is None]
    return sorted(known, key=key, reverse=sort.startswith("-")) + unknown


def _filter_data(request: HttpRequest) -> QueryDict | None:
    if not request.GET:
        return None
    data = request.GET.copy()
    host = data.get(HOST_PARAM)
    if host and not data.get("platform"):
        data["platform"] = host
    return data


@safe_only
@cached_page(params=(*KitFilterForm.base_fields, HOST_PARAM), data=PRICED)
@vary_on_headers("HX-Request")
def kit_list(request: HttpRequest) -> HttpResponse:
    form = KitFilterForm(_filter_data(request))
    kits = MemoryKit.objects.active().with_best_price()
    if form.is_bound and form.is_valid():
        kits = form.filter(kits)
    elif form.is_bound:
        kits = kits.none()
    valid = form.is_bound and form.is_valid()
    platform_slug = form.cleaned_data.get("platform") if valid else ""
    offers = Prefetch(
        "offers",
        queryset=Offer.objects.select_related("retailer").filter(
            retailer__is_active=True, delisted_at__isnull=True
        ),
        to_attr="all_offers",
    )
    now = timezone.now()
    platforms = platforms_of()
    rows = []
    for kit in kits.prefetch_related(offers).order_by("capacity_gb", "best_price", "title"):
        fits = kit_fits(kit, platforms)
        if platform_slug and not any(f.platform.slug == platform_slug for f in fits):
            continue
        offer, fresh = best_offer(kit, now)
        rows.append({"kit": kit, "offer": offer, "fresh": fresh, "fits": fits})
    sort = form.cleaned_data.get("sort", "") if valid else ""
    rows = _sorted(rows, sort)
    context = {
        "form": form,
        "rows": rows,
        "sort_label": dict(KIT_SORTS).get(sort, "") if sort else "",
        # each column header sorts ascending, or descending when already ascending
        "sort_price": "-price" if sort == "price" else "price",
        "sort_per_gb": "-per_gb" if sort == "per_gb" else "per_gb",
        "sort_speed": "speed" if sort == "-speed" else "-speed",
    }
    return render_region(request, "catalog/kit_list.html", context, "results")


@safe_only
@cached_page(data=PRICED)
def kit_detail(request: HttpRequest, slug: str) -> HttpResponse:
    kit = get_object_or_404(MemoryKit.objects.active(), slug=slug)
    offers = kit_offers(kit=kit)
    on_kit = models_on_kit(kit)
    return render(
        request,
        "catalog/kit_detail.html",
        {
            "kit": kit,
            "offers": offers,
            "fits": on_kit.fits,
            "json_ld": seo.json_ld_script(_product(request, kit, offers)),
            "runs": on_kit.runs,
            "run_options": on_kit.options,
            "run_fit": on_kit.fit,
        },
    )


def _product(request: HttpRequest, kit: MemoryKit, offers: list[dict]) -> dict[str, object]:
    """schema.org Product; only fresh live prices become Offers (never sample or editor's
    prices)."""
    return seo.product(
        {"name": kit.title, "url": seo.canonical_url(request, kit.get_absolute_url()),
         "brand": kit.brand, "mpn": kit.mpn},
        [
            {"price": row["price"], "currency": row["offer"].currency,
             "url": row["outbound_url"], "seller": row["retailer"].name,
             "availability": row["offer"].availability, "checked_at": row["as_of"]}
            for row in offers
            if row["is_fresh"] and row["offer"].is_live
        ],
    )  # fmt: skip
