"""Writes for the catalog: price sync, offers, snapshots, seeding.

Functions are keyword-only and named ``<entity>_<action>``. Tasks and management
commands are thin wrappers over these.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import (
    FRESHNESS,
    SNAPSHOT_HEARTBEAT,
    MemoryKit,
    Offer,
    PriceSnapshot,
    Retailer,
    SyncRun,
    host_matches_domain,
)
from catalog.sources import PriceItem, SourceError, TransientSourceError, get_source
from catalog.sources.base import Throttle

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_RETAILER_SLUG = "demo-feed"


# ── Offers and snapshots ────────────────────────────────────────────────────────


def offer_create(
    *, retailer: Retailer, kit: MemoryKit, item_id: str, url: str, currency: str
) -> Offer:
    offer = Offer(retailer=retailer, kit=kit, item_id=item_id, url=url, currency=currency)
    offer.full_clean()
    offer.save()
    return offer


def offer_record_observation(
    *,
    offer: Offer,
    price: Decimal | None,
    availability: str,
    url: str | None = None,
    now: datetime,
) -> bool:
    """Store a checked price; write a snapshot on change or once a day. True if changed."""
    changed = offer.record_observation(price=price, availability=availability, url=url, now=now)
    offer.save(
        update_fields=["price", "availability", "url", "last_checked", "last_changed", "last_error"]
    )
    last = offer.snapshots.order_by("-observed_at").values_list("observed_at", flat=True).first()
    if changed or last is None or now - last >= SNAPSHOT_HEARTBEAT:
        PriceSnapshot.objects.create(
            offer=offer,
            price=price,
            currency=offer.currency,
            availability=availability,
            observed_at=now,
        )
    return changed


def amazon_cache_prune(*, now: datetime | None = None) -> int:
    """Amazon content may be cached 24 h: drop older snapshots and expire old prices."""
    now = now or timezone.now()
    cutoff = now - FRESHNESS
    amazon = Q(offer__retailer__source_kind=Retailer.SourceKind.AMAZON_CREATORS)
    deleted, _ = PriceSnapshot.objects.filter(amazon, observed_at__lt=cutoff).delete()
    expired = Offer.objects.filter(
        retailer__source_kind=Retailer.SourceKind.AMAZON_CREATORS,
        price__isnull=False,
        last_checked__lt=cutoff,
    )
    for offer in expired:
        offer.expire_cached_price()
    return deleted


# ── Price sync ──────────────────────────────────────────────────────────────────


def _match_kit(item: PriceItem) -> MemoryKit | None:
    """Attach an unknown feed item to a kit by part number, else by the kit's slug."""
    if item.mpn:
        kits = list(MemoryKit.objects.filter(mpn__iexact=item.mpn)[:2])
        if len(kits) == 1:
            return kits[0]
    return MemoryKit.objects.filter(slug=item.item_id).first()


def _apply_item(
    *, run: SyncRun, retailer: Retailer, offers: dict[str, Offer], item: PriceItem, now: datetime
) -> None:
    offer = offers.get(item.item_id)
    url = item.url if item.url and host_matches_domain(item.url, retailer.domain) else None
    if item.url and url is None and not retailer.is_amazon:
        run.offers_failed += 1
        run.add_error(item.item_id, f"link {item.url!r} is not https on {retailer.domain}")
        return
    if offer is None:
        if retailer.is_amazon:
            return  # Amazon returns only what we asked for; nothing to attach.
        kit = _match_kit(item)
        if kit is None:
            run.add_error(item.item_id, "matches no kit (by mpn or slug); skipped")
            return
        offer = offer_create(
            retailer=retailer, kit=kit, item_id=item.item_id, url=url, currency=retailer.currency
        )
        offers[item.item_id] = offer
    run.offers_checked += 1
    if offer_record_observation(
        offer=offer, price=item.price, availability=item.availability, url=url, now=now
    ):
        run.offers_changed += 1


def price_sync_run(
    *, retailer_id: int, throttle: Throttle | None = None, task_id: str = ""
) -> SyncRun:
    """Fetch the retailer's prices and apply them; every run is recorded in ``SyncRun``.

    One bad item never fails the batch: it is rejected, counted and recorded, and its
    offer keeps its old price. A source failure keeps every old price, records the
    run as failed, and re-raises ``TransientSourceError`` so the caller may retry.
    """
    retailer = Retailer.objects.get(pk=retailer_id)
    run = SyncRun.objects.create(retailer=retailer, task_id=task_id[:64])
    offers = {o.item_id: o for o in Offer.objects.for_retailer(retailer.pk).select_related("kit")}
    item_ids = sorted(offers) if retailer.is_amazon else []
    try:
        source = get_source(retailer, throttle=throttle)
        for batch in source.fetch(item_ids):
            now = timezone.now()
            with transaction.atomic():
                for item in batch.items:
                    _apply_item(run=run, retailer=retailer, offers=offers, item=item, now=now)
                for rejected in batch.rejected:
                    run.offers_failed += 1
                    run.add_error(rejected.item_id, rejected.reason)
                    if offer := offers.get(rejected.item_id):
                        offer.record_failure(rejected.reason)
            run.save()
    except TransientSourceError as exc:
        run.add_error("*", f"transient: {exc}")
        run.finish(SyncRun.Status.FAILED)
        raise
    except SourceError as exc:
        run.add_error("*", str(exc))
        run.finish(SyncRun.Status.FAILED)
        return run
    if retailer.is_amazon:
        amazon_cache_prune()
    run.finish()
    log.info(
        "price sync %s: checked=%s changed=%s failed=%s",
        retailer.slug,
        run.offers_checked,
        run.offers_changed,
        run.offers_failed,
    )
    return run


def sync_run_refused(*, retailer_id: int, task_id: str = "") -> SyncRun:
    """Record that a run was refused because another one holds the retailer's lock."""
    run = SyncRun(retailer_id=retailer_id, task_id=task_id[:64])
    run.add_error("*", "another sync for this retailer is still running")
    run.finish(SyncRun.Status.REFUSED)
    return run


def retailers_due_for_sync(*, now: datetime | None = None) -> list[int]:
    """Active retailers without a successful run in the last half sync interval.

    Half, so a run that started just after the previous beat tick does not make the
    retailer skip this tick.
    """
    now = now or timezone.now()
    cutoff = now - settings.CATALOG_SYNC_INTERVAL / 2
    recent = SyncRun.objects.finished_ok().filter(started_at__gte=cutoff).values("retailer_id")
    return list(
        Retailer.objects.filter(is_active=True)
        .exclude(pk__in=recent)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class EnqueueResult:
    queued: list[str]
    failed: list[str]
    error: str = ""


def price_sync_enqueue(*, retailer_ids: list[int]) -> EnqueueResult:
    """Queue one sync task per retailer; says which could not be queued (broker down)."""
    from kombu.exceptions import OperationalError

    from catalog.tasks import sync_retailer
    from config.celery import app

    names = dict(Retailer.objects.filter(pk__in=retailer_ids).values_list("pk", "name"))
    queued: list[str] = []
    failed: list[str] = []
    error = ""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            for pk in retailer_ids:
                sync_retailer.apply_async(args=[pk], connection=conn, retry=False)
                queued.append(names.get(pk, str(pk)))
    except (OperationalError, OSError, ConnectionError) as exc:
        error = str(exc) or exc.__class__.__name__
        failed = [names.get(pk, str(pk)) for pk in retailer_ids if names.get(pk) not in queued]
        log.warning("could not queue price sync: %s", error)
    return EnqueueResult(queued=queued, failed=failed, error=error)


# ── Seed data ───────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SeedResult:
    kits_created: int
    retailers_created: int


def catalog_seed(*, kits_file: Path | None = None) -> SeedResult:
    """Create missing retailers and kits; never overwrite rows editors changed in admin."""
    kits_file = kits_file or DATA_DIR / "kits.json"
    data = json.loads(kits_file.read_text(encoding="utf-8"))
    kits_created = 0
    retailers_created = 0
    with transaction.atomic():
        for row in data["retailers"]:
            if not Retailer.objects.filter(slug=row["slug"]).exists():
                retailer = Retailer(**row)
                retailer.full_clean()
                retailer.save()
                retailers_created += 1
        for row in data["kits"]:
            if MemoryKit.objects.filter(slug=row["slug"]).exists():
                continue
            fields = dict(row)
            if fields.get("voltage") is not None:
                fields["voltage"] = Decimal(str(fields["voltage"]))
            kit = MemoryKit(**fields)
            kit.full_clean()
            kit.save()
            kits_created += 1
    return SeedResult(kits_created=kits_created, retailers_created=retailers_created)


def demo_prices_sync() -> SyncRun | None:
    """Run the demo feed through the same sync code as every other source."""
    retailer = Retailer.objects.filter(slug=DEMO_RETAILER_SLUG, is_active=True).first()
    if retailer is None:
        return None
    return price_sync_run(retailer_id=retailer.pk)
