"""Health endpoints for load balancers and orchestrators.

``/livez``: the process answers; no database, cache or broker touched. A liveness
probe, and the floor ``make bench`` compares pages against.

``/healthz``: is this web process able to serve? The database, the Redis cache and
Celery's Redis broker are checked at the same time, each in a worker thread; a check
that has not answered within ``BUDGET_S`` counts as failed, so the endpoint answers in
about a second even when a dependency hangs (the hung check finishes in the background,
bounded by its own connect, statement and socket timeouts). 200 when every check
passes, 503 otherwise, naming the failed check.

Everyone sees the overall status and each check's ``ok``/``fail``. Details (targets,
error text, milliseconds) go only to a loopback client that connected directly (no
``X-Forwarded-For``: nothing relayed by a proxy), or to a request carrying
``Authorization: Bearer <HEALTHZ_TOKEN>``. Never cached, never touches the session, and
exempt from the HTTPS redirect so a load balancer can probe the plain-HTTP port. Both
answer GET and HEAD; any other method gets 405 with ``Allow: GET, HEAD`` (never the CSRF
check's 403: nothing here changes state).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from functools import lru_cache
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

log = logging.getLogger("config.health")
TIMEOUT_S = 0.5  # each Redis check's connect and read timeout
BUDGET_S = 0.8  # the whole /healthz waits at most this long for its checks

# Checks run here, never in the request's thread: a hung one cannot hold the answer.
_executor = ThreadPoolExecutor(max_workers=6, thread_name_prefix="healthz")


def _database() -> None:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connections.close_all()  # this worker thread's connections: never left open


def _database_target() -> str:
    db = settings.DATABASES["default"]
    vendor = db["ENGINE"].rsplit(".", 1)[-1]
    if db.get("HOST"):
        return f"{vendor} {db['HOST']}:{db.get('PORT') or 5432}/{db.get('NAME')}"
    return vendor


@lru_cache(maxsize=8)
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S, retry=None
    )


def _redis_urls() -> dict[str, str]:
    """Each distinct Redis this process depends on: the cache and Celery's broker."""
    urls: dict[str, str] = {}
    cache = settings.CACHES["default"]
    if "redis" in cache["BACKEND"].lower():
        urls["cache"] = str(cache["LOCATION"]).split(",")[0]
    broker = getattr(settings, "CELERY_BROKER_URL", "")
    if broker.startswith(("redis://", "rediss://", "unix://")):
        urls["broker"] = broker
    return urls


def _ping(url: str) -> Callable[[], None]:
    def check() -> None:
        if not _redis_client(url).ping():
            raise RuntimeError("PING did not answer PONG")

    return check


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}{parts.path}"


def _timed(check: Callable[[], None]) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        check()
        return (time.perf_counter() - start) * 1000

    return run


def _result(name: str, future: Future[float], target: str) -> dict[str, Any]:
    if future.cancelled() or not future.done():
        error = f"no answer within {BUDGET_S} s"
    elif future.exception() is not None:
        exc = future.exception()
        error = f"{type(exc).__name__}: {exc}"
    else:
        return {"status": "ok", "ms": round(future.result(), 1), "target": target}
    log.warning("health check %s failed: %s", name, error, extra={"check": name})
    return {"status": "fail", "error": error, "target": target}


def run_checks() -> dict[str, dict[str, Any]]:
    """Every check's result, with details; within about BUDGET_S whatever hangs."""
    checks: dict[str, tuple[Callable[[], None], str]] = {
        "database": (_database, _database_target())
    }
    for name, url in _redis_urls().items():
        checks[name] = (_ping(url), _where(url))
    futures = {name: _executor.submit(_timed(check)) for name, (check, _) in checks.items()}
    wait_for(futures.values(), timeout=BUDGET_S)
    for future in futures.values():
        future.cancel()  # still queued behind hung checks: never run it late
    return {name: _result(name, futures[name], checks[name][1]) for name in checks}


def may_see_details(request: HttpRequest) -> bool:
    token = getattr(settings, "HEALTHZ_TOKEN", "")
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    if "X-Forwarded-For" in request.headers:  # relayed by a proxy: the client is elsewhere
        return False
    try:
        return ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@csrf_exempt  # require_safe refuses every unsafe method before the view: a 405, not a 403
@never_cache
@require_safe
def livez(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@csrf_exempt
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    healthy = all(c["status"] == "ok" for c in checks.values())
    if not may_see_details(request):
        checks = {name: {"status": c["status"]} for name, c in checks.items()}
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": checks},
        status=200 if healthy else 503,
    )
