from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from catalog.forms import KitFilterForm
from catalog.models import MemoryKit, Offer
from catalog.selectors import best_offer, kit_offers, kit_platform


def _wants_fragment(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


@require_GET
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
    template = "catalog/kit_list.html"
    if _wants_fragment(request):
        template += "#results"
    return render(request, template, {"form": form, "rows": rows})


@require_GET
def kit_detail(request: HttpRequest, slug: str) -> HttpResponse:
    kit = get_object_or_404(MemoryKit.objects.active(), slug=slug)
    return render(
        request,
        "catalog/kit_detail.html",
        {"kit": kit, "offers": kit_offers(kit=kit), "platform": kit_platform(kit)},
    )
