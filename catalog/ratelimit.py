"""Redis helpers shared by Celery workers: a client, and a token bucket per retailer.

Celery's own ``rate_limit`` is per worker; this bucket lives in Redis, so the limit
holds across every worker and host that syncs the same retailer.
"""

from __future__ import annotations

import time
from functools import lru_cache

import redis
from django.conf import settings

_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
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


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)


def get_redis() -> redis.Redis:
    return _client(settings.CATALOG_REDIS_URL)


def key(*parts: object) -> str:
    return ":".join([settings.CATALOG_REDIS_PREFIX, *map(str, parts)])


class RedisTokenBucket:
    """Blocks until the retailer's shared bucket grants a request (rate per second)."""

    def __init__(self, name: str, rate: float, *, client: redis.Redis | None = None):
        self.client = client or get_redis()
        self.key = key("ratelimit", name)
        self.rate = max(rate, 0.001)
        self.capacity = max(1.0, self.rate)
        self._script = self.client.register_script(_BUCKET)

    def try_acquire(self) -> float:
        """Take a token if one is there; else return how many seconds to wait."""
        return float(self._script(keys=[self.key], args=[self.rate, self.capacity]))

    def __call__(self) -> None:
        while (wait := self.try_acquire()) > 0:
            time.sleep(min(wait, 5.0))
