"""The JSON API's limits: request rate, body size and JSON shape.

Applied around each operation before django-ninja reads the body, in this order: the
rate limit (a flood is refused before anything of its body is read), the body size
from Content-Length alone (an oversized POST is refused unread), then the JSON's
nesting depth. Rates come from settings (API_RATE_GET, API_RATE_POST), per client
address, in fixed windows.

Counting: in the default cache, which every web process shares (Redis in production).
When that cache cannot count (Redis down or unreachable), each process counts on its
own (``LocalCounter``), so the limit still holds per process instead of switching off;
with N web processes a client can then get at most N times the rate, until Redis is
back and the shared count resumes.

A cached GET operation (``RateLimit``, ``front.caching.cached_page``'s ``limit``) is
counted by the response cache, in the round trip of its lookup: in Redis, the counter
and the entry are one pipeline, so a cache hit costs one round trip, not two.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse

log = logging.getLogger(__name__)

WARN_EVERY = 60.0  # seconds between "counting locally" warnings, per process


def error_response(field: str, message: str, status: int = 400) -> HttpResponse:
    """The API's one error shape: ``{"error": {"field": ..., "message": ...}}``."""
    return JsonResponse({"error": {"field": field, "message": message}}, status=status)


def _client_address(request: HttpRequest) -> str:
    """The client's address; behind a proxy, the one the proxy appended last."""
    if settings.BEHIND_PROXY:
        forwarded = request.headers.get("X-Forwarded-For", "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded
    return str(request.META.get("REMOTE_ADDR", ""))


# --- rates and counters ----------------------------------------------------------------

_RATE = re.compile(r"(\d+)/(\d*)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    """``120/m``, ``30/5m``, ``1000/h``: at most ``count`` requests per ``seconds``."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = _RATE.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"not a rate: {text!r} (use e.g. 120/m or 30/5m)")
        count, multiplier, unit = match.groups()
        return cls(int(count), int(multiplier or 1) * _UNIT_SECONDS[unit])


class LocalCounter:
    """Fixed-window counters in this process only: the fallback when the shared cache
    cannot count. Bounded: past ``max_keys`` entries, windows that ended are dropped
    (and if every entry is current, all of them: the limit resets, memory does not
    grow). It says when to warn that it counts: at most once per ``WARN_EVERY``."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._warned_at = -WARN_EVERY

    def warning_due(self, now: float) -> bool:
        with self._lock:
            due = now - self._warned_at > WARN_EVERY
            if due:
                self._warned_at = now
            return due

    def incr(self, key: str, window: int) -> int:
        with self._lock:
            if len(self._counts) >= self.max_keys:
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
                if len(self._counts) >= self.max_keys:
                    self._counts.clear()
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
            return count

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._warned_at = -WARN_EVERY


local_counter = LocalCounter()


def _shared_incr(key: str, timeout: int) -> int:
    """Count in the shared cache; raises when it cannot (down, or the key vanished).
    Redis (``config.cache``) counts in one round trip; any other cache in two."""
    count = getattr(cache, "count", None)
    if count is not None:
        return int(count(key, timeout))
    cache.add(key, 0, timeout)
    return int(cache.incr(key))


@dataclass(frozen=True)
class Tally:
    """Where one request is counted: its client's counter for one rate setting, in the
    window the request falls in."""

    key: str  # per rate setting and client (a hash of the address)
    rate: Rate
    text: str  # the setting as written, for the message
    window: int
    time_left: int  # seconds until the window ends

    @property
    def shared_key(self) -> str:
        return f"{self.key}:{self.window}"

    @property
    def timeout(self) -> int:
        return self.rate.seconds + 5


def tally(request: HttpRequest, rate_setting: str, now: float | None = None) -> Tally | None:
    """Where ``request`` counts under ``rate_setting`` (None when limits are off)."""
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return None
    now = time.time() if now is None else now
    text = getattr(settings, rate_setting)
    rate = _parse_rate(text)
    client = hashlib.sha256(_client_address(request).encode()).hexdigest()[:24]
    window = int(now) // rate.seconds
    time_left = max(1, (window + 1) * rate.seconds - int(now))
    return Tally(f"api-rate:{rate_setting}:{client}", rate, text, window, time_left)


@functools.lru_cache(maxsize=16)
def _parse_rate(text: str) -> Rate:
    return Rate.parse(text)


def verdict(counted: Tally, shared_count: int | None) -> HttpResponse | None:
    """The 429 for a request over its rate, else None. ``shared_count``: the request's
    number in the shared cache, None when that could not count (it counts here)."""
    count = shared_count
    if count is None:  # any cache failure: count here rather than not at all
        if local_counter.warning_due(time.monotonic()):
            log.warning("rate limits counted per process: shared cache unavailable")
        count = local_counter.incr(counted.key, counted.window)
    if count <= counted.rate.count:
        return None
    left = counted.time_left
    response = error_response(
        "rate", f"too many requests (limit {counted.text}); retry in {left} s", 429
    )
    response["Retry-After"] = str(left)
    return response


def count_shared(counted: Tally) -> int | None:
    """The request's number in the shared cache (None when it cannot count)."""
    try:
        return _shared_incr(counted.shared_key, counted.timeout)
    except Exception as exc:
        log.debug("shared rate counter failed: %s", exc)
        return None


def get_many_counting(keys: list[str], counted: Tally) -> tuple[dict[str, Any], int | None]:
    """``cache.get_many(keys)`` and the request's shared count: one round trip in Redis
    (``config.cache``), two in any other cache."""
    both = getattr(cache, "get_many_and_count", None)
    if both is not None:
        found, count = both(keys, counted.shared_key, counted.timeout)
        return found, None if count is None else int(count)
    return (cache.get_many(keys) if keys else {}), count_shared(counted)


def too_many(request: HttpRequest, rate_setting: str) -> HttpResponse | None:
    """Count ``request`` and refuse it (429) when it is over ``rate_setting``."""
    counted = tally(request, rate_setting)
    return None if counted is None else verdict(counted, count_shared(counted))


@dataclass(frozen=True)
class RateLimit:
    """A cached operation's rate limit (``front.caching.cached_page``'s ``limit``): the
    response cache counts the request in its lookup's round trip, hit or miss, and asks
    for the verdict."""

    setting: str

    def tally(self, request: HttpRequest) -> Tally | None:
        return tally(request, self.setting)

    def __call__(self, request: HttpRequest) -> HttpResponse | None:
        """Count and judge in a round trip of its own."""
        return too_many(request, self.setting)


# --- body size and shape ------------------------------------------------------------------


def _nesting_field(data: Any, limit: int) -> str | None:
    """The top-level key under which ``data`` nests deeper than ``limit``, if any."""
    stack: list[tuple[Any, int, str]] = [(data, 0, "body")]
    while stack:
        value, depth, top = stack.pop()
        if isinstance(value, dict):
            items: Any = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        if depth >= limit:
            return top
        for key, child in items:
            stack.append((child, depth + 1, str(key) if depth == 0 else top))
    return None


def bad_body(request: HttpRequest) -> HttpResponse | None:
    """413 for a body over API_MAX_BODY_BYTES (unread); 400 for JSON nested too deep."""
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return error_response("body", "Content-Length is not a number")
    limit = settings.API_MAX_BODY_BYTES
    if length > limit:
        return error_response("body", f"request body is too large (limit {limit} bytes)", 413)
    if not length:
        return None
    try:
        data = json.loads(request.body)
    except RecursionError:
        data = None
        field: str | None = "config"
    except ValueError:
        return None  # not JSON: django-ninja answers with its usual 400
    else:
        field = _nesting_field(data, settings.API_MAX_JSON_DEPTH)
    if field is None:
        return None
    return error_response(
        field, f"{field}: nested deeper than {settings.API_MAX_JSON_DEPTH} levels"
    )


def layer_count_over_limit(config: dict[str, Any], prefix: str = "config") -> str | None:
    """The first ``*layers`` count above API_MAX_CONFIG_LAYERS (the engine lists tensors
    per layer, so an absurd count would cost seconds of CPU per request)."""
    for key, value in config.items():
        if isinstance(value, dict):
            found = layer_count_over_limit(value, f"{prefix}.{key}")
            if found:
                return found
        elif (
            str(key).endswith("layers")
            and isinstance(value, int | float)
            and value > settings.API_MAX_CONFIG_LAYERS
        ):
            return f"{prefix}.{key}"
    return None


def guard(rate_setting: str, *, check_body: bool = False) -> Callable[..., Any]:
    def decorator(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(run)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # The rate first: a flood is refused before any of its body is read.
            refused = too_many(request, rate_setting) or (check_body and bad_body(request))
            return refused or run(request, *args, **kwargs)

        return guarded

    return decorator
