"""Health endpoints for load balancers and orchestrators.

``/livez``: the process answers (no dependency touched); a liveness probe, and the
floor ``make bench`` compares pages against.

``/healthz``: is this web process able to serve? Checks the database and Redis.

Answers within about a second even when a dependency hangs (each check has a short
timeout), never touches the cache or the session, and is exempt from the HTTPS
redirect so a load balancer can probe the plain-HTTP port. 200 when every check
passes, 503 otherwise; the body says which check failed and how long each took.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger("config.health")
TIMEOUT_S = 0.5


def _database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


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


def _run(name: str, check: Callable[[], None]) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        check()
    except Exception as exc:  # any failure is a failed check, reported, never raised
        log.warning("health check %s failed: %s", name, exc, extra={"check": name})
        result: dict[str, Any] = {"status": "fail", "error": f"{type(exc).__name__}: {exc}"}
    else:
        result = {"status": "ok"}
    result["ms"] = round((time.perf_counter() - start) * 1000, 1)
    return result


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}{parts.path}"


@never_cache
@require_GET
def livez(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _run("database", _database)}
    for name, url in _redis_urls().items():
        checks[name] = _run(name, _ping(url)) | {"target": _where(url)}
    healthy = all(c["status"] == "ok" for c in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": checks},
        status=200 if healthy else 503,
    )
