"""Seed the catalog from the reviewed data files in ``catalog/data/``.

Idempotent and respectful of editors: rows are created when missing (by slug, or by
retailer + item id for offers, or by type for price bands) and never overwritten,
so a second run changes nothing and an edit made in the admin stays.

* ``kits.json``: retailers, memory kits (with their source) and product links
  (offers without prices);
* ``components.json``: build-cost items (platform CPUs and boards, GPUs, systems);
* ``reference_prices.json``: editors' reference prices, each dated and sourced,
  recorded as manual prices of the "Editor's reference prices" retailer;
* ``price_bands.json``: plausible price per GB by memory type (price sanity).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction

from catalog import services
from catalog.models import Component, MemoryKit, Offer, PriceBand, Retailer, SyncRun

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_RETAILER_SLUG = "demo-feed"


@dataclass(frozen=True)
class SeedResult:
    kits_created: int
    retailers_created: int
    components_created: int = 0
    offers_created: int = 0
    prices_recorded: int = 0
    bands_created: int = 0

    def summary(self) -> str:
        return (
            f"Seeded {self.kits_created} new kits, {self.retailers_created} new retailers, "
            f"{self.components_created} new components, {self.offers_created} new product "
            f"links, {self.prices_recorded} reference prices and {self.bands_created} price bands."
        )


def _read(name: str, data_dir: Path) -> dict[str, Any]:
    return json.loads((data_dir / name).read_text(encoding="utf-8"))


def _retailer_get_or_create(row: dict[str, Any]) -> tuple[Retailer, bool]:
    existing = Retailer.objects.filter(slug=row["slug"]).first()
    if existing is not None:
        return existing, False
    retailer = Retailer(**row)
    retailer.full_clean()
    retailer.save()
    return retailer, True


def _offer_create_missing(*, retailer: Retailer, row: dict[str, Any], **item: Any) -> Offer | None:
    if Offer.objects.filter(retailer=retailer, item_id=row["item_id"]).exists():
        return None
    offer = services.offer_create(retailer=retailer, item_id=row["item_id"], url=row["url"], **item)
    changed = []
    for name in ("title", "condition"):
        if row.get(name):
            setattr(offer, name, row[name])
            changed.append(name)
    if changed:
        offer.full_clean()
        offer.save(update_fields=changed)
    return offer


def _kits(data: dict[str, Any]) -> tuple[int, int, int]:
    retailers_created = kits_created = offers_created = 0
    retailers = {}
    for row in data["retailers"]:
        retailer, created = _retailer_get_or_create(row)
        retailers[retailer.slug] = retailer
        retailers_created += created
    for row in data["kits"]:
        fields = {k: v for k, v in row.items() if k != "offers"}
        kit = MemoryKit.objects.filter(slug=fields["slug"]).first()
        if kit is None:
            if fields.get("voltage") is not None:
                fields["voltage"] = Decimal(str(fields["voltage"]))
            kit = MemoryKit(**fields)
            kit.full_clean()
            kit.save()
            kits_created += 1
        for offer in row.get("offers", []):
            retailer = retailers.get(offer["retailer"]) or Retailer.objects.get(
                slug=offer["retailer"]
            )
            offers_created += (
                _offer_create_missing(retailer=retailer, row=offer, kit=kit) is not None
            )
    return retailers_created, kits_created, offers_created


def _components(data: dict[str, Any]) -> int:
    created = 0
    for row in data["components"]:
        if Component.objects.filter(slug=row["slug"]).exists():
            continue
        component = Component(**row)
        component.full_clean()
        component.save()
        created += 1
    return created


def _reference_prices(data: dict[str, Any]) -> tuple[int, int, int]:
    """Each price becomes an offer of the manual retailer with one dated snapshot (only
    when the offer is new: a reloaded file never adds a second snapshot)."""
    retailer, retailer_created = _retailer_get_or_create(data["retailer"])
    offers = prices = 0
    for row in data["prices"]:
        item: dict[str, Any] = {}
        if slug := row.get("component"):
            item["component"] = Component.objects.get(slug=slug)
        else:
            item["kit"] = MemoryKit.objects.get(slug=row["kit"])
        offer = _offer_create_missing(
            retailer=retailer, row={**row, "url": row["source_url"]}, **item
        )
        if offer is None:
            continue
        offers += 1
        observed = datetime.combine(date.fromisoformat(row["observed_on"]), datetime.min.time())
        services.offer_record_manual_price(
            offer=offer,
            price=Decimal(row["price"]),
            recorded_by=None,
            observed_at=observed.replace(tzinfo=UTC),
            source_url=row["source_url"],
            note=f"as published ({row['date_as_published']}): {row['price_as_published']}. "
            + row["note"],
        )
        prices += 1
    return retailer_created, offers, prices


def _bands(data: dict[str, Any]) -> int:
    created = 0
    for row in data["bands"]:
        for form_factor in row["form_factors"]:
            key = {
                "ddr_generation": row["ddr_generation"],
                "form_factor": form_factor,
                "currency": row["currency"],
            }
            if PriceBand.objects.filter(**key).exists():
                continue
            band = PriceBand(
                **key,
                min_per_gb=Decimal(row["min_per_gb"]),
                max_per_gb=Decimal(row["max_per_gb"]),
                source_url=row["source_url"],
                source_date=date.fromisoformat(row["source_date"]),
                note=row["note"],
            )
            band.full_clean()
            band.save()
            created += 1
    return created


def catalog_seed(*, data_dir: Path = DATA_DIR) -> SeedResult:
    """Create what is missing from the data files; never overwrite editors' changes."""
    with transaction.atomic():
        bands = _bands(_read("price_bands.json", data_dir))
        retailers, kits, links = _kits(_read("kits.json", data_dir))
        components = _components(_read("components.json", data_dir))
        manual_retailer, reference_offers, prices = _reference_prices(
            _read("reference_prices.json", data_dir)
        )
    return SeedResult(
        kits_created=kits,
        retailers_created=retailers + manual_retailer,
        components_created=components,
        offers_created=links + reference_offers,
        prices_recorded=prices,
        bands_created=bands,
    )


def demo_prices_sync() -> SyncRun | None:
    """Run the demo feed through the same sync code as every other source."""
    retailer = Retailer.objects.filter(slug=DEMO_RETAILER_SLUG, is_active=True).first()
    if retailer is None:
        return None
    return services.price_sync_run(retailer_id=retailer.pk, runner=SyncRun.Runner.COMMAND).run
