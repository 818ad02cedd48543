"""Writes for GGUF repositories: the Hub sync of one repository, due repositories, headers.

Same pattern as the price sync (``catalog.services``): keyword-only functions; a run
record (``GgufSyncRun``) for every attempt that always ends with a status and a reason;
a per-repository lease so two workers never sync the same repository; a shared pause
when the Hub answers 429 with ``Retry-After`` (``throttle.defer``), and a retry with
backoff that is never sooner than that pause (``catalog.tasks``).

Files are upserted on their natural key (repository, quant label), so a run is
idempotent and a renamed folder moves its file instead of adding one. Nothing is lost on
junk: a failed listing (404, 429, 5xx, malformed or oversized JSON, a deadline) changes
no file; a listing without any GGUF file keeps every earlier file and warns; a file
missing from a listing is marked gone only after ``GGUF_GONE_AFTER_RUNS`` completed runs
in a row miss it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from calculator import versions
from calculator.engine.quant import file_breakdown
from calculator.engine.types import EngineError
from catalog import gguf_header, hub
from catalog.gguf_names import Download, group_downloads
from catalog.models import HUB_URL, GgufFile, GgufRepository, GgufSyncRun, SyncRun
from catalog.ratelimit import LocalThrottle
from catalog.sources import Deadline, SourceError, Throttle, TransientSourceError

log = logging.getLogger(__name__)

GGUF_SYNC_TASK = "catalog.tasks.sync_gguf_repository"
GGUF_SOFT_TIME_LIMIT = 180
GGUF_TIME_LIMIT = 240
GGUF_RUN_DEADLINE = GGUF_SOFT_TIME_LIMIT - 30
HUB_THROTTLE = "huggingface-hub"
HUB_REQUESTS_PER_SECOND = 2.0
HEADERS_PER_RUN = 4  # ranged header reads per run (each a few MB at most)


def gone_after_runs() -> int:
    return int(getattr(settings, "GGUF_GONE_AFTER_RUNS", 3))


def sync_interval() -> timedelta:
    return timedelta(hours=float(getattr(settings, "GGUF_SYNC_INTERVAL_HOURS", 24)))


@dataclass(frozen=True)
class GgufSyncOutcome:
    run: GgufSyncRun
    retry: bool = False
    retry_after: float | None = None


# ── Applying a listing ──────────────────────────────────────────────────────────


def _values(download: Download, listing: hub.Listing) -> dict[str, Any]:
    total = download.total_bytes
    return {
        "path": download.path,
        "part_count": download.part_count,
        "parts": [{"path": p.path, "bytes": p.size, "as_published": ""} for p in download.parts],
        "total_bytes": total,
        "size_precision": GgufFile.Precision.EXACT if total else GgufFile.Precision.UNKNOWN,
        "commit": listing.commit,
        "source": f"{HUB_URL}/{listing.repo_id}/tree/{listing.commit}",
        "note": "; ".join(download.problems)[:500],
    }


_SUMMARY_FIELDS = (
    "tensor_bytes", "tensor_params", "expert_bytes", "non_expert_bytes", "embedding_bytes",
    "output_bytes", "header_read_at",
)  # fmt: skip
_COMPARED = ("path", "part_count", "total_bytes", "size_precision")


def gguf_file_upsert(
    *, repository: GgufRepository, download: Download, listing: hub.Listing, now: datetime
) -> str:
    """Create or update one file from a listing: "added", "changed" or "same"."""
    values = _values(download, listing)
    gguf = GgufFile.objects.filter(repository=repository, label=download.label).first()
    if gguf is None:
        gguf = GgufFile(repository=repository, label=download.label, first_seen=now, **values)
        gguf.mark_seen(now=now)
        gguf.full_clean()
        gguf.save()
        return "added"
    changed = any(getattr(gguf, k) != values[k] for k in _COMPARED)
    if changed and (gguf.path != values["path"] or gguf.total_bytes != values["total_bytes"]):
        for name in _SUMMARY_FIELDS:  # another file now: its header is read again
            setattr(gguf, name, None)
        gguf.bytes_by_type, gguf.layer_bytes = {}, []
    for key, value in values.items():
        if key == "note" and not changed and not value:
            continue  # keep an editor's or the snapshot's note while nothing changed
        setattr(gguf, key, value)
    gguf.mark_seen(now=now)
    if changed:
        gguf.full_clean()
        gguf.save()
        return "changed"
    # Seen again, unchanged: no save signal, no page cache bump.
    GgufFile.objects.filter(pk=gguf.pk).update(
        last_seen=now, missed_runs=0, gone_at=None, commit=listing.commit,
        source=values["source"],
    )  # fmt: skip
    return "same"


def _apply(run: GgufSyncRun, repository: GgufRepository, listing: hub.Listing) -> bool:
    """Write the listing; True when anything a page shows changed."""
    now = timezone.now()
    downloads, skipped = group_downloads(listing.entries)
    run.commit = listing.commit
    run.entries_seen = len(listing.entries)
    run.files_seen = len(downloads)
    for problem in skipped:
        run.add_error(problem.split(":", 1)[0], problem)
    visible = False
    with transaction.atomic():
        for download in downloads:
            outcome = gguf_file_upsert(
                repository=repository, download=download, listing=listing, now=now
            )
            run.files_added += outcome == "added"
            run.files_changed += outcome == "changed"
            visible |= outcome != "same"
        if downloads:
            missing = GgufFile.objects.missing_from(repository.pk, {d.label for d in downloads})
            run.files_missing = missing.count()
            for gguf in missing:
                gguf.missed_runs += 1
                if gguf.missed_runs >= gone_after_runs():
                    gguf.gone_at = now
                    run.files_gone += 1
                    visible = True
                GgufFile.objects.filter(pk=gguf.pk).update(
                    missed_runs=gguf.missed_runs, gone_at=gguf.gone_at
                )
        GgufRepository.objects.filter(pk=repository.pk).update(
            last_commit=listing.commit, last_synced_at=now
        )
    if not downloads:
        run.warn(
            f"the listing ({len(listing.entries)} paths) has no GGUF download; earlier files "
            "were kept"
        )
    elif run.files_missing:
        keep = f"missing files stay listed until {gone_after_runs()} runs agree"
        run.warn(f"{run.files_missing} earlier file(s) not in this listing; {keep}")
    return visible


# ── GGUF headers (ranged reads) ─────────────────────────────────────────────────


def gguf_header_read(*, gguf: GgufFile, deadline: Deadline) -> GgufFile:
    """Read every part's GGUF header with ranged requests and store the tensor summary."""
    repository = gguf.repository
    tensors: list[gguf_header.TensorInfo] = []
    for part in gguf.parts or [{"path": gguf.path}]:
        path = str(part["path"])

        def fetch(n: int, path: str = path) -> bytes:
            return hub.read_prefix(
                repository.repo_id, path, commit=gguf.commit, size=n, deadline=deadline
            )

        tensors += gguf_header.read_tensor_infos(fetch)
    try:
        breakdown = file_breakdown(gguf.label, tensors)
    except EngineError as exc:
        raise gguf_header.NotGguf(str(exc)) from exc
    if gguf.total_bytes is not None and breakdown.total_bytes > gguf.total_bytes:
        raise gguf_header.NotGguf("its tensors are larger than the file")
    gguf.tensor_bytes = breakdown.total_bytes
    gguf.tensor_params = breakdown.n_params
    gguf.expert_bytes = breakdown.expert_bytes
    gguf.non_expert_bytes = breakdown.non_expert_bytes
    gguf.embedding_bytes = breakdown.token_embd_bytes
    gguf.output_bytes = breakdown.output_bytes
    gguf.bytes_by_type = breakdown.by_type
    gguf.layer_bytes = list(breakdown.layer_bytes)
    gguf.header_read_at = timezone.now()
    gguf.save(
        update_fields=[
            "tensor_bytes", "tensor_params", "expert_bytes", "non_expert_bytes",
            "embedding_bytes", "output_bytes", "bytes_by_type", "layer_bytes", "header_read_at",
        ]
    )  # fmt: skip
    return gguf


def _read_headers(run: GgufSyncRun, repository: GgufRepository, deadline: Deadline) -> bool:
    pending = (
        GgufFile.objects.filter(repository=repository, gone_at__isnull=True, header_read_at=None)
        .exclude(total_bytes=None)
        .order_by("total_bytes")[:HEADERS_PER_RUN]
    )
    read = False
    for gguf in pending:
        if deadline.remaining() < 10:
            break
        try:
            gguf_header_read(gguf=gguf, deadline=deadline)
        except TransientSourceError:
            raise
        except SourceError as exc:  # one unreadable header never fails the run
            run.add_error(gguf.path, f"header not read: {exc}")
            continue
        run.headers_read += 1
        read = True
    return read


# ── A run ───────────────────────────────────────────────────────────────────────


def _start_run(
    *, repository: GgufRepository, task_id: str, runner: str, now: datetime
) -> GgufSyncRun:
    if task_id:  # an earlier attempt of this task whose worker died
        GgufSyncRun.objects.filter(task_id=task_id[:64], status=GgufSyncRun.Status.RUNNING).update(
            status=GgufSyncRun.Status.FAILED,
            finished_at=now,
            reason="The worker running this sync was lost (killed); the task was redone.",
        )
    return GgufSyncRun.objects.create(
        repository=repository, task_id=task_id[:64], runner=runner, started_at=now
    )


def _close(run: GgufSyncRun, reason: str) -> None:
    try:
        run.fail(reason)
    except DatabaseError:
        log.exception("could not record the failure of GGUF sync run %s", run.pk)


def gguf_sync_run(
    *,
    repository_id: int,
    task_id: str = "",
    runner: str = SyncRun.Runner.WORKER,
    deadline: Deadline | None = None,
    throttle: Throttle | None = None,
    read_headers: bool = True,
) -> GgufSyncOutcome:
    """List one repository through the Hub API and upsert its files; every run ends
    recorded in ``GgufSyncRun``. Transient failures (429, 5xx, timeouts) say so in the
    outcome, with the Hub's Retry-After, which is also shared through ``throttle``."""
    now = timezone.now()
    repository = GgufRepository.objects.get(pk=repository_id)
    run = _start_run(repository=repository, task_id=task_id, runner=runner, now=now)
    holder = task_id[:64] or f"{runner}-{uuid.uuid4().hex[:12]}"
    if not GgufRepository.objects.acquire_sync_lease(
        repository_id=repository.pk, holder=holder, seconds=GGUF_TIME_LIMIT, now=now
    ):
        run.refuse("another sync of this repository is still running")
        return GgufSyncOutcome(run)
    deadline = deadline or Deadline(GGUF_RUN_DEADLINE)
    throttle = throttle or LocalThrottle(HUB_THROTTLE, HUB_REQUESTS_PER_SECOND)
    visible = False
    try:
        throttle.wait(deadline)
        listing = hub.list_repository(repository.repo_id, deadline=deadline)
        visible = _apply(run, repository, listing)
        run.save()
        if read_headers:
            visible |= _read_headers(run, repository, deadline)
    except TransientSourceError as exc:
        if exc.retry_after:
            try:
                throttle.defer(exc.retry_after)
            except Exception:  # the pause is advice; never let it hide the failure
                log.exception("could not share the Hub's Retry-After pause")
        _close(run, f"transient: {exc}")
        return GgufSyncOutcome(run, retry=True, retry_after=exc.retry_after)
    except SourceError as exc:
        _close(run, str(exc))
        return GgufSyncOutcome(run)
    except Exception as exc:  # every run ends, whatever the cause (incl. the soft limit)
        log.exception("GGUF sync of %s failed", repository.repo_id)
        _close(run, f"{exc.__class__.__name__}: {exc}")
        return GgufSyncOutcome(run)
    finally:
        if visible:
            versions.bump(versions.MODELS)
        try:
            GgufRepository.objects.release_sync_lease(repository_id=repository.pk, holder=holder)
        except DatabaseError:
            log.exception("could not release the sync lease of %s", repository.repo_id)
    run.finish()
    log.info(
        "GGUF sync %s: %s files=%s added=%s changed=%s missing=%s gone=%s",
        repository.repo_id, run.status, run.files_seen, run.files_added, run.files_changed,
        run.files_missing, run.files_gone,
    )  # fmt: skip
    return GgufSyncOutcome(run)


def gguf_runs_expire(*, now: datetime | None = None) -> int:
    return GgufSyncRun.objects.expire(
        running_after=timedelta(seconds=GGUF_TIME_LIMIT + 60), now=now or timezone.now()
    )


def gguf_repositories_due(*, now: datetime | None = None) -> list[int]:
    """Active repositories without a completed run in the last half interval and without
    a run still going."""
    now = now or timezone.now()
    recent = (
        GgufSyncRun.objects.finished_ok()
        .filter(started_at__gte=now - sync_interval() / 2)
        .values("repository_id")
    )
    busy = GgufSyncRun.objects.open().values("repository_id")
    return list(
        GgufRepository.objects.active()
        .exclude(pk__in=recent)
        .exclude(pk__in=busy)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
