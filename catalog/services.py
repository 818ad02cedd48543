"""Writes for the catalog: offers and prices, held prices, price sync, sync requests.

Functions are keyword-only and named ``<entity>_<action>``. Tasks, management
commands and the admin are thin wrappers over these.

Every sync ends: ``price_sync_run`` records each run in ``SyncRun`` and, whatever goes
wrong (a bad reply, a deadline, an unexpected exception, the time limit), marks it
failed with a short reason and keeps every earlier price. Runs nobody will finish
(no worker took them, or the worker died) are closed by ``sync_runs_expire``.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from catalog import sanity
from catalog.models import (
    SNAPSHOT_HEARTBEAT,
    Component,
    HeldPrice,
    MemoryKit,
    Offer,
    PriceSnapshot,
    Retailer,
    SyncRun,
)
from catalog.ratelimit import LocalThrottle
from catalog.sources import (
    SOURCES,
    Deadline,
    PriceItem,
    SettingsError,
    SourceError,
    Throttle,
    TransientSourceError,
)
from catalog.sources.base import MAX_PRICE
from config.broker import BROKER_ERRORS, broker_available, unavailable_reason
from config.celery import app

log = logging.getLogger(__name__)

SYNC_TASK = "catalog.tasks.sync_retailer"
# The sync task's Celery limits. A run's own deadline ends well before the soft limit,
# and the retailer's sync lease expires with the hard limit (a dead holder loses it).
SYNC_SOFT_TIME_LIMIT = 240
SYNC_TIME_LIMIT = 300
SYNC_RUN_DEADLINE = SYNC_SOFT_TIME_LIMIT - 30
LEASE_SECONDS = SYNC_TIME_LIMIT
# Retry delays stay below Redis's visibility timeout (1 h), or a waiting task is
# delivered twice.
MAX_RETRY_DELAY = 1800
MAX_BACKOFF = 600


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def gone_after_runs() -> int:
    """Completed syncs in a row that must miss an item before its offer is delisted."""
    return int(_setting("CATALOG_GONE_AFTER_RUNS", 3))


def shrink_ratio() -> float:
    """A feed listing fewer than this share of the last run's items is a warning."""
    return float(_setting("CATALOG_SHRINK_RATIO", 0.5))


# ── Offers and prices ───────────────────────────────────────────────────────────


def offer_create(
    *,
    retailer: Retailer,
    item_id: str,
    url: str,
    kit: MemoryKit | None = None,
    component: Component | None = None,
    currency: str = "",
    title: str = "",
) -> Offer:
    offer = Offer(
        retailer=retailer,
        kit=kit,
        component=component,
        item_id=item_id,
        title=title[:200],
        url=url,
        currency=currency or retailer.currency,
    )
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
    recorded_by: Any = None,
    source_url: str = "",
    note: str = "",
) -> bool:
    """Store a checked price; write a snapshot on change, once a day, or whenever an
    editor records one (who and when are kept). True if price or availability changed."""
    changed = offer.record_observation(price=price, availability=availability, url=url, now=now)
    offer.save(
        update_fields=[
            "price",
            "availability",
            "url",
            "last_checked",
            "last_changed",
            "last_error",
            "missed_runs",
            "delisted_at",
        ]
    )
    last = offer.snapshots.order_by("-observed_at").values_list("observed_at", flat=True).first()
    if changed or recorded_by is not None or last is None or now - last >= SNAPSHOT_HEARTBEAT:
        PriceSnapshot.objects.create(
            offer=offer,
            price=price,
            currency=offer.currency,
            availability=availability,
            observed_at=now,
            recorded_by=recorded_by,
            source_url=source_url[:500],
            note=note[:300],
        )
    return changed


def offer_record_manual_price(
    *,
    offer: Offer,
    price: Decimal,
    recorded_by: Any,
    availability: str = Offer.Availability.UNKNOWN,
    observed_at: datetime | None = None,
    source_url: str = "",
    note: str = "",
) -> Offer:
    """An editor's price: only on a retailer whose source takes manual prices."""
    if not offer.retailer.source.accepts_manual_prices:
        raise ValidationError(
            {
                "price": f"Prices for {offer.retailer} come from its sync. Type prices only "
                "on offers of a retailer whose source is manual prices."
            }
        )
    if not (Decimal("0") < price <= MAX_PRICE):
        raise ValidationError({"price": f"Use a price above 0 and at most {MAX_PRICE}."})
    when = observed_at or timezone.now()
    if when > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"price": "The price date cannot be in the future."})
    offer_record_observation(
        offer=offer,
        price=price.quantize(Decimal("0.01")),
        availability=availability,
        now=when,
        recorded_by=recorded_by,
        source_url=source_url,
        note=note,
    )
    return offer


def held_price_hold(
    *, offer: Offer, item: PriceItem, reason: str, run: SyncRun, now: datetime
) -> HeldPrice:
    """Keep a suspicious price away from the site until an editor decides (one per offer)."""
    assert item.price is not None
    held = offer.held_prices.pending().first()
    if held is not None:
        held.see_again(
            price=item.price,
            availability=item.availability,
            url=item.url,
            reason=reason,
            run_id=run.pk,
            now=now,
        )
        return held
    return HeldPrice.objects.create(
        offer=offer,
        price=item.price,
        currency=offer.currency,
        availability=item.availability,
        url=item.url[:500],
        observed_at=now,
        reason=reason[:300],
        run=run,
    )


def held_price_approve(*, held: HeldPrice, user: Any, now: datetime | None = None) -> bool:
    """Publish a held price. True when it became the offer's current price; False when a
    newer price was accepted meanwhile (the held one is then kept as history only)."""
    now = now or timezone.now()
    with transaction.atomic():
        offer = Offer.objects.select_for_update().get(pk=held.offer_id)
        held.decide(approved=True, user=user, now=now)
        note = f"approved by an editor after a hold: {held.reason}"
        if offer.last_checked is not None and offer.last_checked > held.observed_at:
            PriceSnapshot.objects.create(
                offer=offer,
                price=held.price,
                currency=held.currency,
                availability=held.availability,
                observed_at=held.observed_at,
                recorded_by=user,
                note=note[:300],
            )
            return False
        url = held.url if held.url and offer.retailer.accepts_link(held.url) else None
        offer_record_observation(
            offer=offer,
            price=held.price,
            availability=held.availability,
            url=url,
            now=held.observed_at,
            recorded_by=user,
            note=note,
        )
    return True


def held_price_reject(*, held: HeldPrice, user: Any, now: datetime | None = None) -> None:
    held.decide(approved=False, user=user, now=now or timezone.now())


def cached_prices_prune(*, now: datetime | None = None) -> int:
    """Sources whose terms limit caching (Amazon: 24 h): drop older snapshots and
    held prices, and expire older current prices. Returns snapshots deleted."""
    now = now or timezone.now()
    deleted = 0
    for kind, source in SOURCES.items():
        if source.cache_limit is None:
            continue
        cutoff = now - source.cache_limit
        deleted += PriceSnapshot.objects.filter(
            offer__retailer__source_kind=kind, observed_at__lt=cutoff
        ).delete()[0]
        HeldPrice.objects.filter(offer__retailer__source_kind=kind, observed_at__lt=cutoff).delete()
        expired = Offer.objects.filter(
            retailer__source_kind=kind, price__isnull=False, last_checked__lt=cutoff
        )
        for offer in expired:
            offer.expire_cached_price()
    return deleted


# ── Price sync ──────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SyncOutcome:
    """A finished run, and whether the caller should try again later (and when)."""

    run: SyncRun
    retry: bool = False
    retry_after: float | None = None


class _Target(TypedDict, total=False):
    kit: MemoryKit
    component: Component


def _match(item: PriceItem) -> _Target | None:
    """Attach an unknown feed item by part number (kit, then component), else by slug."""
    if item.mpn:
        kits = list(MemoryKit.objects.filter(mpn__iexact=item.mpn)[:2])
        if len(kits) == 1:
            return {"kit": kits[0]}
        components = list(Component.objects.filter(mpn__iexact=item.mpn)[:2])
        if len(components) == 1:
            return {"component": components[0]}
    if kit := MemoryKit.objects.filter(slug=item.item_id).first():
        return {"kit": kit}
    if component := Component.objects.filter(slug=item.item_id).first():
        return {"component": component}
    return None


@dataclass
class _Sync:
    run: SyncRun
    retailer: Retailer
    offers: dict[str, Offer]
    bands: sanity.Bands
    seen: set[str] = field(default_factory=set)

    def apply(self, item: PriceItem, now: datetime) -> None:
        run, retailer = self.run, self.retailer
        self.seen.add(item.item_id)
        if item.url and not retailer.accepts_link(item.url):
            run.offers_failed += 1
            run.add_error(item.item_id, f"link {item.url[:100]!r} is not {retailer.link_rule()}")
            return
        offer = self.offers.get(item.item_id)
        if offer is None:
            if retailer.source.asks_for_items:
                return  # the source answers only what was asked; nothing to attach
            target = _match(item)
            if target is None:
                run.add_error(item.item_id, "matches no kit or component (part number or slug)")
                return
            offer = offer_create(
                retailer=retailer, item_id=item.item_id, url=item.url, title=item.title, **target
            )
            self.offers[item.item_id] = offer
        run.offers_checked += 1
        if item.price is not None:
            problem = sanity.price_problem(offer=offer, price=item.price, bands=self.bands)
            if problem:
                held_price_hold(offer=offer, item=item, reason=problem, run=run, now=now)
                run.offers_held += 1
                run.add_error(item.item_id, f"held for an editor: {problem}")
                return
        if offer_record_observation(
            offer=offer,
            price=item.price,
            availability=item.availability,
            url=item.url or None,
            now=now,
        ):
            run.offers_changed += 1

    def after_fetch(self, now: datetime) -> None:
        """The source answered in full: count misses, flag an empty or shrunken feed."""
        run, retailer = self.run, self.retailer
        missing = set(self.offers) - self.seen
        if missing:
            absent = Offer.objects.for_retailer(retailer.pk).filter(item_id__in=missing)
            absent.count_missed_run()
            absent.delist_missing(runs=gone_after_runs(), now=now)
        previous = (
            SyncRun.objects.for_retailer(retailer.pk)
            .finished_ok()
            .exclude(pk=run.pk)
            .order_by("-started_at")
            .first()
        )
        keep = f"missing items keep their prices until {gone_after_runs()} runs agree"
        if not retailer.source.syncs:
            run.warn("prices here are typed by editors: nothing to sync")
        elif retailer.source.asks_for_items and not self.offers:
            run.warn("no offers to check: add this retailer's item ids (ASINs) as offers")
        elif run.items_seen == 0:
            run.warn(f"the source listed no items; earlier prices were kept ({keep})")
        elif previous and run.items_seen < previous.items_seen * shrink_ratio():
            run.warn(
                f"the source listed {run.items_seen} items, under {shrink_ratio():.0%} of the "
                f"{previous.items_seen} in the last run; {keep}"
            )
        if retailer.source.cache_limit is not None:
            cached_prices_prune(now=now)


def _counters(run: SyncRun) -> tuple[int, int, int, int, int, int]:
    return (
        run.items_seen,
        run.offers_checked,
        run.offers_changed,
        run.offers_failed,
        run.offers_held,
        len(run.errors),
    )


def _restore(run: SyncRun, counters: tuple[int, int, int, int, int, int]) -> None:
    (
        run.items_seen,
        run.offers_checked,
        run.offers_changed,
        run.offers_failed,
        run.offers_held,
        n_errors,
    ) = counters
    del run.errors[n_errors:]


def _fetch_and_apply(
    run: SyncRun, retailer: Retailer, throttle: Throttle | None, deadline: Deadline
) -> None:
    source_cls = retailer.source
    try:
        parsed = retailer.settings_parsed
    except SettingsError as exc:
        raise SourceError(f"source settings: {exc}") from exc
    source = source_cls(
        settings=parsed,
        currency=retailer.currency,
        affiliate_tag=retailer.affiliate_tag_in_use,
        throttle=throttle,
        deadline=deadline,
    )
    offers = {
        o.item_id: o
        for o in Offer.objects.for_retailer(retailer.pk).select_related(
            "kit", "component", "retailer"
        )
    }
    sync = _Sync(run=run, retailer=retailer, offers=offers, bands=sanity.Bands.load())
    item_ids = sorted(offers) if source_cls.asks_for_items else []
    for batch in source.fetch(item_ids):
        if deadline.expired():
            raise TransientSourceError(f"the run's deadline of {deadline.seconds:g} s passed")
        now = timezone.now()
        before = _counters(run)
        try:
            with transaction.atomic():
                for item in batch.items:
                    sync.apply(item, now)
                for rejected in batch.rejected:
                    run.offers_failed += 1
                    run.add_error(rejected.item_id, rejected.reason)
                    if not rejected.missing:
                        sync.seen.add(rejected.item_id)
                    if offer := offers.get(rejected.item_id):
                        offer.record_failure(rejected.reason)
        except BaseException:
            _restore(run, before)  # the batch was rolled back: so are its counts
            raise
        run.items_seen += len(batch.items) + sum(not r.missing for r in batch.rejected)
        run.save()
    sync.after_fetch(timezone.now())


def _start_run(
    *,
    retailer: Retailer,
    run_id: int | None,
    task_id: str,
    runner: str,
    requested_by: Any,
    now: datetime,
) -> SyncRun:
    if task_id:
        # A run still "running" under this task id is an earlier attempt whose worker
        # died (SIGKILL, out of memory): the task was redelivered and is being redone.
        SyncRun.objects.filter(task_id=task_id[:64], status=SyncRun.Status.RUNNING).update(
            status=SyncRun.Status.FAILED,
            finished_at=now,
            reason="The worker running this sync was lost (killed); the task was redone.",
        )
    if run_id and SyncRun.objects.claim(run_id=run_id, task_id=task_id, runner=runner, now=now):
        return SyncRun.objects.get(pk=run_id)
    return SyncRun.objects.create(
        retailer=retailer,
        task_id=task_id[:64],
        runner=runner,
        requested_by=requested_by,
        requested_at=now,
        started_at=now,
    )


def _close(run: SyncRun, reason: str) -> None:
    try:
        run.fail(reason)
    except DatabaseError:
        log.exception("could not record the failure of sync run %s", run.pk)


def price_sync_run(
    *,
    retailer_id: int,
    run_id: int | None = None,
    throttle: Throttle | None = None,
    task_id: str = "",
    runner: str = SyncRun.Runner.WORKER,
    deadline: Deadline | None = None,
    requested_by: Any = None,
) -> SyncOutcome:
    """Fetch the retailer's prices and apply them; every run ends recorded in ``SyncRun``.

    One bad item never fails the batch: it is rejected (or held for an editor),
    counted and recorded, and its offer keeps its old price. Anything that stops the
    run keeps every old price and fails the run with a short reason; transient
    failures (timeouts, 429/5xx) say so in ``SyncOutcome.retry`` (with the
    retailer's Retry-After), and the pause is shared through ``throttle.defer``.
    """
    now = timezone.now()
    retailer = Retailer.objects.get(pk=retailer_id)
    run = _start_run(
        retailer=retailer,
        run_id=run_id,
        task_id=task_id,
        runner=runner,
        requested_by=requested_by,
        now=now,
    )
    holder = task_id[:64] or f"{runner}-{uuid.uuid4().hex[:12]}"
    if not Retailer.objects.acquire_sync_lease(
        retailer_id=retailer.pk, holder=holder, seconds=LEASE_SECONDS, now=now
    ):
        run.refuse("another sync for this retailer is still running")
        return SyncOutcome(run)
    deadline = deadline or Deadline(SYNC_RUN_DEADLINE)
    throttle = throttle or LocalThrottle(f"retailer:{retailer.pk}", retailer.requests_per_second)
    try:
        _fetch_and_apply(run, retailer, throttle, deadline)
    except TransientSourceError as exc:
        if exc.retry_after:
            try:
                throttle.defer(exc.retry_after)
            except Exception:  # the pause is advice; never let it hide the failure
                log.exception("could not share the Retry-After pause of %s", retailer.slug)
        _close(run, f"transient: {exc}")
        return SyncOutcome(run, retry=True, retry_after=exc.retry_after)
    except SourceError as exc:
        _close(run, str(exc))
        return SyncOutcome(run)
    except Exception as exc:  # every run ends, whatever the cause (incl. the soft limit)
        log.exception("price sync of %s failed", retailer.slug)
        _close(run, f"{exc.__class__.__name__}: {exc}")
        return SyncOutcome(run)
    finally:
        try:
            Retailer.objects.release_sync_lease(retailer_id=retailer.pk, holder=holder)
        except DatabaseError:
            log.exception("could not release the sync lease of %s", retailer.slug)
    run.finish()
    log.info(
        "price sync %s: %s checked=%s changed=%s failed=%s held=%s",
        retailer.slug,
        run.status,
        run.offers_checked,
        run.offers_changed,
        run.offers_failed,
        run.offers_held,
    )
    return SyncOutcome(run)


def retry_delay(*, attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, never sooner than the retailer's
    Retry-After, never past ``MAX_RETRY_DELAY``."""
    backoff = random.uniform(0, min(MAX_BACKOFF, 2**attempt))
    return min(MAX_RETRY_DELAY, max(backoff, retry_after or 0.0))


def sync_runs_expire(*, now: datetime | None = None) -> int:
    """Close runs that will never finish (no worker took them; their worker died)."""
    minutes = float(_setting("CATALOG_PENDING_STALE_MINUTES", 10))
    return SyncRun.objects.expire(
        pending_after=timedelta(minutes=minutes),
        running_after=timedelta(seconds=SYNC_TIME_LIMIT + 60),
        now=now or timezone.now(),
    )


def retailers_due_for_sync(*, now: datetime | None = None) -> list[int]:
    """Active syncing retailers without a completed run in the last half interval and
    without a run still pending or running.

    Half, so a run that started just after the previous beat tick does not make the
    retailer skip this tick.
    """
    now = now or timezone.now()
    cutoff = now - settings.CATALOG_SYNC_INTERVAL / 2
    recent = SyncRun.objects.finished_ok().filter(started_at__gte=cutoff).values("retailer_id")
    busy = SyncRun.objects.open().values("retailer_id")
    return list(
        Retailer.objects.active()
        .syncing()
        .exclude(pk__in=recent)
        .exclude(pk__in=busy)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# ── Sync requests: queue for a worker, or run here when no broker answers ───────


@dataclass(frozen=True)
class EnqueueResult:
    queued: list[str]
    failed: list[str]
    error: str = ""
    runs: list[SyncRun] = field(default_factory=list)


def price_sync_enqueue(*, retailer_ids: list[int], requested_by: Any = None) -> EnqueueResult:
    """Create a pending run per retailer and queue its task. A run that could not be
    queued (broker down) is failed at once with the reason, never left pending."""
    retailers = list(Retailer.objects.filter(pk__in=retailer_ids).order_by("name"))
    runs = [
        SyncRun.objects.create(retailer=r, status=SyncRun.Status.PENDING, requested_by=requested_by)
        for r in retailers
    ]
    queued: list[SyncRun] = []
    error = ""
    try:
        with app.connection_for_write(connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            for run in runs:
                task_id = str(uuid.uuid4())
                SyncRun.objects.filter(pk=run.pk).update(task_id=task_id)
                app.send_task(
                    SYNC_TASK,
                    args=[run.retailer_id, run.pk],
                    task_id=task_id,
                    connection=conn,
                    retry=False,
                )
                queued.append(run)
    except BROKER_ERRORS as exc:
        error = str(exc) or exc.__class__.__name__
        log.warning("could not queue price sync: %s", error)
    failed = [run for run in runs if run not in queued]
    for run in failed:
        _close(run, f"could not queue: the task broker is unreachable ({error})")
    return EnqueueResult(
        queued=[r.retailer.name for r in queued],
        failed=[r.retailer.name for r in failed],
        error=error,
        runs=queued,
    )


def price_sync_in_process(*, retailer_ids: list[int], requested_by: Any = None) -> list[SyncRun]:
    """Run syncs here and now (no worker to take them), bounded in time: each run has
    ``CATALOG_INPROCESS_SECONDS`` and all together ``CATALOG_INPROCESS_BUDGET``."""
    per_run = float(_setting("CATALOG_INPROCESS_SECONDS", 15))
    budget = Deadline(float(_setting("CATALOG_INPROCESS_BUDGET", 25)))
    runs = []
    for retailer in Retailer.objects.filter(pk__in=retailer_ids).order_by("name"):
        if budget.remaining() < 1:
            run = SyncRun.objects.create(
                retailer=retailer, runner=SyncRun.Runner.IN_PROCESS, requested_by=requested_by
            )
            run.fail(
                f"not run: this request's {budget.seconds:g} s for in-process syncs was used "
                "up; start a worker (make worker) or sync this retailer on its own"
            )
            runs.append(run)
            continue
        outcome = price_sync_run(
            retailer_id=retailer.pk,
            runner=SyncRun.Runner.IN_PROCESS,
            deadline=budget.sooner(per_run),
            requested_by=requested_by,
        )
        runs.append(outcome.run)
    return runs


@dataclass(frozen=True)
class SyncRequestResult:
    queued: list[SyncRun]
    ran_here: list[SyncRun]
    not_syncing: list[str]
    broker_error: str = ""


def price_sync_request(*, retailer_ids: list[int], requested_by: Any = None) -> SyncRequestResult:
    """ "Sync prices now": a pending run per retailer, queued for a worker; when no
    broker answers, the syncs run in this process instead (bounded in time)."""
    retailers = list(Retailer.objects.filter(pk__in=retailer_ids).order_by("name"))
    syncing = [r.pk for r in retailers if r.source.syncs]
    not_syncing = [r.name for r in retailers if not r.source.syncs]
    error = unavailable_reason() if syncing and not broker_available() else ""
    queued: list[SyncRun] = []
    here = syncing
    if syncing and not error:
        result = price_sync_enqueue(retailer_ids=syncing, requested_by=requested_by)
        queued, error = result.runs, result.error
        here = [pk for pk in syncing if pk not in {r.retailer_id for r in queued}]
    ran = price_sync_in_process(retailer_ids=here, requested_by=requested_by) if here else []
    return SyncRequestResult(
        queued=queued, ran_here=ran, not_syncing=not_syncing, broker_error=error
    )
