"""A Redis cache backend that never takes a page down with it.

Django's ``RedisCache`` raises when Redis is unreachable, so a stopped Redis would
turn every cached page into a 500. ``FailSoftRedisCache`` turns any Redis error
into a cache miss (reads return the default, writes report failure, ``incr`` raises
``ValueError`` as for a missing key), logs it at most once per ``RETRY_AFTER``
seconds, and stops calling Redis for those seconds so a dead or black-holed server
costs one short timeout, not one per call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

log = logging.getLogger("config.cache")

T = TypeVar("T")
# Refused, timed out, protocol errors, OOM or READONLY answers: all are "no cache".
FAILURES = (RedisError, OSError)
RETRY_AFTER = 5.0  # seconds without calling Redis after a failure


# KEYS[1]: a counter, one more per call, expiring ARGV[1] seconds after its first count;
# KEYS[2..]: read as MGET does. Returns the count, then the values (nil for a missing key).
COUNT_AND_GET = """
local count = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
if #KEYS == 1 then return {count} end
local values = redis.call('MGET', unpack(KEYS, 2))
table.insert(values, 1, count)
return values
"""


class ReusedClient(RedisCacheClient):
    """Django's client builds a new ``redis.Redis`` (about 170 response callbacks) for
    every call; one per connection pool is enough (it is thread-safe: each command takes
    a connection from the pool). A cache hit makes two calls, so this is measurable."""

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        clients: dict[int, Any] = self.__dict__.setdefault("_clients", {})
        client = clients.get(id(pool))
        if client is None:
            client = clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class FailSoftRedisCache(RedisCache):
    _servers: list[str]  # set by RedisCache.__init__ (the stubs leave it out)
    _cache: RedisCacheClient  # RedisCache's client (a cached property the stubs leave out)

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = params.setdefault("OPTIONS", {})
        options.setdefault("socket_connect_timeout", 0.25)
        options.setdefault("socket_timeout", 0.5)
        super().__init__(server, params)
        self._class = ReusedClient
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _call(self, fallback: Callable[[], T], call: Callable[[], T]) -> T:
        if time.monotonic() < self._down_until:
            return fallback()
        try:
            return call()
        except FAILURES as exc:
            with self._lock:
                first = time.monotonic() >= self._down_until
                self._down_until = time.monotonic() + RETRY_AFTER
            if first:
                log.warning(
                    "cache unavailable, serving without it for %ss: %s",
                    RETRY_AFTER,
                    exc,
                    extra={"cache_location": self._servers[0]},
                )
            return fallback()

    @property
    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    # Reads: a miss.
    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._call(
            lambda: default, lambda: super(FailSoftRedisCache, self).get(key, default, version)
        )

    def get_many(self, keys: Any, version: int | None = None) -> dict[str, Any]:
        return self._call(dict, lambda: super(FailSoftRedisCache, self).get_many(keys, version))

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._call(
            lambda: False, lambda: super(FailSoftRedisCache, self).has_key(key, version)
        )

    # Writes: not stored.
    def add(self, key: Any, value: Any, timeout: Any = ..., version: int | None = None) -> bool:
        timeout = self.default_timeout if timeout is ... else timeout
        return self._call(
            lambda: False,
            lambda: super(FailSoftRedisCache, self).add(key, value, timeout, version),
        )

    def set(self, key: Any, value: Any, timeout: Any = ..., version: int | None = None) -> None:
        timeout = self.default_timeout if timeout is ... else timeout
        self._call(
            lambda: None,
            lambda: super(FailSoftRedisCache, self).set(key, value, timeout, version),
        )

    def set_many(self, data: Any, timeout: Any = ..., version: int | None = None) -> list[Any]:
        timeout = self.default_timeout if timeout is ... else timeout
        return self._call(
            lambda: list(data),
            lambda: super(FailSoftRedisCache, self).set_many(data, timeout, version),
        )

    def touch(self, key: Any, timeout: Any = ..., version: int | None = None) -> bool:
        timeout = self.default_timeout if timeout is ... else timeout
        return self._call(
            lambda: False, lambda: super(FailSoftRedisCache, self).touch(key, timeout, version)
        )

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._call(
            lambda: False, lambda: super(FailSoftRedisCache, self).delete(key, version)
        )

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._call(lambda: None, lambda: super(FailSoftRedisCache, self).delete_many(keys, version))

    def clear(self) -> None:
        self._call(lambda: None, lambda: super(FailSoftRedisCache, self).clear())

    # Counters: like a missing key, which callers (django-ratelimit) already handle.
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        def missing() -> int:
            raise ValueError(f"cache unavailable; key {key!r} not incremented")

        return self._call(
            missing, lambda: super(FailSoftRedisCache, self).incr(key, delta, version)
        )

    def get_many_and_count(
        self, keys: list[str], count_key: str, timeout: int
    ) -> tuple[dict[str, Any], int | None]:
        """``get_many(keys)`` and :meth:`count` of ``count_key``, in one command (a cached
        API answer and its rate limit's counter: ``COUNT_AND_GET``, a script Redis keeps;
        a pipeline of three commands cost the client twice as much). The count is None,
        and nothing is found, when Redis cannot answer."""
        names = {self.make_and_validate_key(key): key for key in keys}
        counter = self.make_and_validate_key(count_key)

        def call() -> tuple[dict[str, Any], int | None]:
            client = self._cache.get_client(counter, write=True)
            script = self.__dict__.get("_count_and_get")
            if script is None:  # registered once (redis-py loads it again after a restart)
                script = self.__dict__["_count_and_get"] = client.register_script(COUNT_AND_GET)
            counted, *values = script(keys=[counter, *names], args=[timeout], client=client)
            loads = self._cache._serializer.loads  # type: ignore[attr-defined]  # Django's RedisSerializer
            found = {
                names[k]: loads(v) for k, v in zip(names, values, strict=True) if v is not None
            }
            return found, int(counted)

        return self._call(lambda: ({}, None), call)

    def count(self, key: Any, timeout: int, version: int | None = None) -> int:
        """Add one to a counter that expires ``timeout`` seconds after its first count,
        in one round trip (INCR and EXPIRE NX pipelined: ``add`` then ``incr`` take
        three); raises ``ValueError`` like ``incr`` when Redis cannot count."""
        name = self.make_and_validate_key(key, version=version)

        def missing() -> int:
            raise ValueError(f"cache unavailable; key {key!r} not counted")

        def call() -> int:
            client = self._cache.get_client(name, write=True)
            with client.pipeline(transaction=False) as pipe:
                pipe.incr(name)
                pipe.expire(name, timeout, nx=True)
                counted, _ = pipe.execute()
            return int(counted)

        return self._call(missing, call)
