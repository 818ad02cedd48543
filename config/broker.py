"""Does Celery's broker answer? One short, remembered probe for code that queues tasks.

``broker_available()`` is the one broker check: the admin's "Sync prices now" asks it
before queueing (``catalog.services.price_sync_request``); when it says no, the sync
runs in the request instead (``make run`` without Redis). It asks about the broker the
Celery app publishes to (``app.conf.broker_url``, from ``CELERY_BROKER_URL``).

* ``settings.CELERY_BROKER_AVAILABLE`` (env ``CELERY_BROKER_AVAILABLE=1``/``0``) forces
  the answer; ``make run`` sets ``0`` when it starts without Redis. Unset: probe.
* A Redis broker (``redis://``, ``rediss://``, ``unix://``) gets one ``PING`` with
  ``BROKER_PROBE_TIMEOUT`` seconds to connect and to answer, no retries. In-process
  transports (``memory://``) always answer; any other broker gets one kombu
  connection attempt with the same timeout.
* The answer is remembered for ``REMEMBER_S`` seconds per broker URL, so a page that
  asks costs at most one probe per few seconds, even with the broker down.

``python -m config.broker`` exits 0 when the broker answers, else prints one line
saying so and exits 1 (``make run`` uses it to choose what to start).
"""

from __future__ import annotations

import os
import sys
import threading
import time

import redis
from django.conf import settings
from kombu import Connection
from kombu.exceptions import OperationalError
from kombu.utils.url import maybe_sanitize_url

from config.celery import app

REMEMBER_S = 5.0
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
IN_PROCESS_SCHEMES = ("memory://",)
# What publishing to an unreachable broker raises (kombu wraps most socket errors).
BROKER_ERRORS = (OperationalError, OSError, ConnectionError)

_lock = threading.Lock()
_remembered: dict[str, tuple[float, bool]] = {}  # url -> (expires at, answer)


def broker_url() -> str:
    """Where queued tasks go: the Celery app's broker."""
    return str(app.conf.broker_url)


def probe_timeout() -> float:
    return float(getattr(settings, "BROKER_PROBE_TIMEOUT", 0.5))


def _redis_answers(url: str, timeout: float) -> bool:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=None
    )
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def _kombu_answers(url: str, timeout: float) -> bool:
    try:
        with Connection(url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
        return True
    except Exception:  # any failure to connect means "no"
        return False


def probe(url: str, timeout: float) -> bool:
    """Ask the broker at ``url`` now (no memory)."""
    if url.startswith(IN_PROCESS_SCHEMES):
        return True
    if url.startswith(REDIS_SCHEMES):
        return _redis_answers(url, timeout)
    return _kombu_answers(url, timeout)


def broker_available() -> bool:
    """True when tasks queued now would reach the broker (see the module docstring)."""
    forced = getattr(settings, "CELERY_BROKER_AVAILABLE", None)
    if forced is not None:
        return bool(forced)
    url = broker_url()
    now = time.monotonic()
    with _lock:
        remembered = _remembered.get(url)
    if remembered and remembered[0] > now:
        return remembered[1]
    answer = probe(url, probe_timeout())
    with _lock:
        _remembered[url] = (time.monotonic() + REMEMBER_S, answer)
    return answer


def unavailable_reason() -> str:
    """Why ``broker_available()`` said no, for an editor (no password in it)."""
    if getattr(settings, "CELERY_BROKER_AVAILABLE", None) is not None:
        return "switched off by CELERY_BROKER_AVAILABLE=0"
    return f"no answer from {maybe_sanitize_url(broker_url())}"


def forget() -> None:
    """Drop remembered answers (tests, or after changing the broker)."""
    with _lock:
        _remembered.clear()


def main() -> int:
    if broker_available():
        return 0
    where = maybe_sanitize_url(broker_url())  # never print a password
    print(
        f"No Celery broker answers at {where}: starting the web server only "
        "(the admin's syncs run in the request; start Redis for the worker and beat)."
    )
    return 1


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.exit(main())
