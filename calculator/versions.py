"""Named versions of the site's data, so a cache can say which data a response shows.

* ``MODELS``: models, hardware profiles, efficiency classes, slug redirects and FAQ
  wording (what every calculator page shows);
* ``PRICES``: retailers, memory kits, offers, price snapshots and sync runs (what the
  kit pages and a model page's kit picks show).

Each app connects its own rows in its ``apps.py`` (``bump_on_change``), so a price sync
invalidates only the pages that show prices and no app needs to import the web layer.
The versions live in the shared cache (Redis in production), so every web machine
sees a change at once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Generic, TypeVar

from django.core.cache import cache
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

MODELS = "models"
PRICES = "prices"
NAMES = (MODELS, PRICES)
UNCACHED = "uncached"  # the version when the cache cannot keep one (it is down)


def _key(name: str) -> str:
    return f"data-version:{name}"


# The versions the request being answered has read (its response cache key's), while
# :func:`pinned` holds them: every memo the request asks then agrees with its key, and
# asks the cache nothing more.
_PINNED: ContextVar[dict[str, str] | None] = ContextVar("data_versions", default=None)


@contextmanager
def pinned(request: Any) -> Iterator[None]:
    """Within: :func:`current` answers with the versions ``request`` read (each set read
    once, when first asked); a :func:`bump` in the request reads that set afresh."""
    token = _PINNED.set(request.__dict__.setdefault("_data_versions", {}))
    try:
        yield
    finally:
        _PINNED.reset(token)


def current(*names: str) -> tuple[str, ...]:
    """The current version of each named data set (one cache round trip when warm; none
    for a set the request being answered has read already, see :func:`pinned`)."""
    held = _PINNED.get()
    if held is None:
        return _read(names)
    if not all(name in held for name in names):
        read = _read(names)
        if UNCACHED in read:
            return read
        held.update(zip(names, read, strict=True))
    return tuple(held[name] for name in names)


def _read(names: tuple[str, ...]) -> tuple[str, ...]:
    keys = [_key(name) for name in names]
    found = cache.get_many(keys)
    versions = []
    for key in keys:
        value = found.get(key)
        if value is None:
            cache.add(key, uuid.uuid4().hex, None)
            value = cache.get(key) or UNCACHED
        versions.append(str(value))
    return tuple(versions)


def current_for(request: Any, *names: str) -> tuple[str, ...]:
    """:func:`current`, asked of the cache once per request (the response cache's key
    and a page's defaults both need the versions: one round trip, not two). Kept on the
    request object, so nothing outlives the request."""
    known: dict[str, str] = request.__dict__.setdefault("_data_versions", {})
    missing = [name for name in names if name not in known]
    if missing:
        read = _read(tuple(missing))
        known.update(zip(missing, read, strict=True))
        if UNCACHED not in read and tuple(missing) == names:
            _SEEN[names] = read
    return tuple(known[name] for name in names)


# The versions this process read last, per set of names: a response cache lookup guesses
# them, keys its entry on the guess and reads the true versions in the same round trip
# as the entry (:func:`read_with`); a wrong guess (the data changed) costs a second one.
_SEEN: dict[tuple[str, ...], tuple[str, ...]] = {}


def guess_for(request: Any, *names: str) -> tuple[str, ...] | None:
    """The versions this process last read for ``names``, taken by the request as if read
    (None when there are none yet: read them with :func:`current_for`). Confirm them
    with :func:`read_with` before anything is served or stored under them."""
    seen = _SEEN.get(names)
    if seen is not None:
        request.__dict__.setdefault("_data_versions", {}).update(zip(names, seen, strict=True))
    return seen


def forget_seen() -> None:
    """Forget the versions this process read (after the cache was emptied under it)."""
    _SEEN.clear()


def read_with(
    request: Any,
    names: tuple[str, ...],
    key: str,
    fetch: Callable[[list[str]], dict[str, Any]] | None = None,
) -> tuple[tuple[str, ...], Any]:
    """The current versions of ``names`` and the cached value of ``key`` ("" for none),
    in one round trip (``fetch``: the cache's ``get_many``, or a caller's that does more
    in the same trip); the request takes the versions read."""
    keys = [_key(name) for name in names]
    found = (fetch or cache.get_many)([*keys, key] if key else keys)
    # A version not set yet, or the cache down: read (and set) them as usual.
    now = tuple(str(found[k]) for k in keys) if all(k in found for k in keys) else _read(names)
    request.__dict__.setdefault("_data_versions", {}).update(zip(names, now, strict=True))
    if UNCACHED not in now:
        _SEEN[names] = now
    return now, found.get(key) if key else None


def bump(name: str) -> None:
    """A new version of ``name``: every cache entry keyed on the old one is unreachable."""
    if name not in NAMES:
        raise KeyError(f"unknown data version '{name}'")
    cache.set(_key(name), uuid.uuid4().hex, None)
    held = _PINNED.get()
    if held is not None:
        held.pop(name, None)


def bump_on_change(name: str, models: Iterable[type[Model]]) -> None:
    """Bump ``name`` whenever a row of one of ``models`` is saved or deleted."""

    def receiver(sender: type[Model], **kwargs: Any) -> None:
        bump(name)

    for model in models:
        uid = f"data-version-{name}-{model._meta.label}"
        post_save.connect(receiver, sender=model, weak=False, dispatch_uid=f"{uid}-save")
        post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=f"{uid}-delete")


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class PerVersion(Generic[K, V]):
    """``read(key)`` done once per version of one data set and key, then shared: a cold
    page finds its rows (the published models, the hardware set, a model's files, the
    priced catalog) without a query. Rows and the engine values made from them, never a
    computed answer (those are the engine's memos and the response cache's). Any saved
    row of the set bumps its version (:func:`bump_on_change`), and the version lives in
    the shared cache, so every process reads afresh at once; when the cache is down
    ("uncached") nothing is kept.

    ``max_age``: seconds a value is kept even when the version stands, for values that
    age with the clock (a price is fresh for so long after its check). The values are
    shared between requests and threads: nothing may change them."""

    def __init__(
        self,
        name: str,
        read: Callable[[K], V],
        *,
        max_age: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if name not in NAMES:
            raise KeyError(f"unknown data version '{name}'")
        self.name = name
        self._read = read
        self._max_age = max_age
        self._clock = clock
        self._version = ""
        self._values: dict[K, tuple[V, float]] = {}
        self._lock = threading.Lock()

    def __call__(self, key: K) -> V:
        version = current(self.name)[0]
        now = self._clock()
        with self._lock:
            kept = self._values.get(key) if version == self._version else None
        if kept is not None and (self._max_age is None or 0 <= now - kept[1] < self._max_age):
            return kept[0]
        value = self._read(key)
        if version != UNCACHED:
            with self._lock:
                if version != self._version:
                    self._version, self._values = version, {}
                self._values[key] = (value, now)
        return value
