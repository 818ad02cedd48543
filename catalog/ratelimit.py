"""Request spacing per retailer: a Redis token bucket shared by every worker, and a
process-local twin for syncs that run without Redis.

Celery's own ``rate_limit`` is per worker; this bucket lives in Redis, so the limit
holds across every worker and host that syncs the same retailer. It also remembers
a retailer's ``Retry-After``: ``defer(600)`` makes every worker's next ``wait()`` see
the pause, and a wait longer than the caller can afford raises
``TransientSourceError(retry_after=…)`` at once (the task is retried after the pause)
instead of calling the retailer again.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache

import redis
from django.conf import settings

from catalog.sources import Deadline, TransientSourceError

# Longest a request waits in line for its turn before giving up the run (seconds).
MAX_BLOCK = 10.0

_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return tostring(paused - now) end
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1]) or capacity
local ts = tonumber(data[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 10)
return tostring(wait)
"""

_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local untl = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > current then
  redis.call('SET', KEYS[1], tostring(untl), 'EX', math.ceil(tonumber(ARGV[1])) + 5)
end
return tostring(math.max(untl, current) - now)
"""


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)


def get_redis() -> redis.Redis:
    return _client(settings.CATALOG_REDIS_URL)


def key(*parts: object) -> str:
    return ":".join([settings.CATALOG_REDIS_PREFIX, *map(str, parts)])


def _too_long(wait: float) -> TransientSourceError:
    return TransientSourceError(
        f"no request to this retailer allowed for another {wait:.0f} s (its Retry-After "
        "or rate limit); retrying after that",
        retry_after=wait,
    )


class RedisTokenBucket:
    """Grants requests at ``rate`` per second for every worker that shares ``name``."""

    def __init__(self, name: str, rate: float, *, client: redis.Redis | None = None):
        self.client = client or get_redis()
        self.key = key("ratelimit", name)
        self.pause_key = key("ratelimit", name, "paused-until")
        self.rate = max(rate, 0.001)
        self.capacity = max(1.0, self.rate)
        self._script = self.client.register_script(_BUCKET)
        self._pause = self.client.register_script(_PAUSE)

    def try_acquire(self) -> float:
        """Take a token if one is there; else return how many seconds to wait."""
        keys = [self.key, self.pause_key]
        return float(self._script(keys=keys, args=[self.rate, self.capacity]))

    def paused_for(self) -> float:
        """Seconds left of a Retry-After pause (0 when none)."""
        raw = self.client.get(self.pause_key)
        if raw is None:
            return 0.0
        now = self.client.time()
        return max(0.0, float(raw) - (now[0] + now[1] / 1_000_000))

    def wait(self, deadline: Deadline) -> None:
        try:
            while (wait := self.try_acquire()) > 0:
                if wait > min(MAX_BLOCK, deadline.remaining()):
                    raise _too_long(wait)
                time.sleep(min(wait, 5.0))
        except redis.RedisError as exc:
            raise TransientSourceError(f"the shared rate limiter is unreachable: {exc}") from exc

    def defer(self, seconds: float) -> None:
        if seconds > 0:
            self._pause(keys=[self.pause_key], args=[seconds])


class LocalThrottle:
    """The same contract inside one process (syncs run without Redis or a worker)."""

    _paused_until: dict[str, float] = {}
    _lock = threading.Lock()

    def __init__(self, name: str, rate: float) -> None:
        self.name = name
        self.interval = 1.0 / max(rate, 0.001)
        self._next = 0.0

    def wait(self, deadline: Deadline) -> None:
        now = time.monotonic()
        with self._lock:
            paused = self._paused_until.get(self.name, 0.0) - now
        wait = max(paused, self._next - now, 0.0)
        if wait > min(MAX_BLOCK, deadline.remaining()):
            raise _too_long(wait)
        if wait:
            time.sleep(wait)
        self._next = time.monotonic() + self.interval

    def defer(self, seconds: float) -> None:
        with self._lock:
            until = time.monotonic() + seconds
            self._paused_until[self.name] = max(until, self._paused_until.get(self.name, 0.0))
