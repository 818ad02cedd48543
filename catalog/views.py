from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from calculator import presenters, seo, services
from calculator import selectors as calculator_selectors
from calculator.forms import DEFAULTS as CALCULATOR_DEFAULTS
from catalog.forms import KitFilterForm
from catalog.models import MemoryKit, Offer
from catalog.selectors import Platform, best_offer, kit_offers, kit_platform


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
    platform = kit_platform(kit)
    offers = kit_offers(kit=kit)
    return render(
        request,
        "catalog/kit_detail.html",
        {
            "kit": kit,
            "offers": offers,
            "platform": platform,
            "json_ld": seo.json_ld_script(_product(request, kit, offers)),
            **models_on_kit(kit, platform),
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


def models_on_kit(kit: MemoryKit, platform: Platform | None) -> dict[str, object]:
    """Every model with the best quant that fits this kit's capacity, and its speed on
    the channels the kit fills at its rated speed (the engine's bandwidth model)."""
    hardware = services.hardware_set()
    if platform is None or "cpu" not in hardware.efficiency_by_kind:
        return {"runs": [], "run_options": CALCULATOR_DEFAULTS}
    channels = min(platform.channels, kit.module_count)
    machine = services.custom_hardware(
        hardware,
        memory_gb=float(kit.capacity_gb),
        bandwidth_gbps=channels * kit.speed_mts * 8 / 1000,
        kind="cpu",
    )
    options = CALCULATOR_DEFAULTS
    runs = presenters.runs_in_budget(calculator_selectors.models(), machine, hardware, options)
    return {"runs": runs, "run_options": options, "run_channels": channels}
