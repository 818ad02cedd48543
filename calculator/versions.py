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

import uuid
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

MODELS = "models"
PRICES = "prices"
NAMES = (MODELS, PRICES)
UNCACHED = "uncached"  # the version when the cache cannot keep one (it is down)


def _key(name: str) -> str:
    return f"data-version:{name}"


def current(*names: str) -> tuple[str, ...]:
    """The current version of each named data set (one cache round trip when warm)."""
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
        known.update(zip(missing, current(*missing), strict=True))
    return tuple(known[name] for name in names)


def bump(name: str) -> None:
    """A new version of ``name``: every cache entry keyed on the old one is unreachable."""
    if name not in NAMES:
        raise KeyError(f"unknown data version '{name}'")
    cache.set(_key(name), uuid.uuid4().hex, None)


def bump_on_change(name: str, models: Iterable[type[Model]]) -> None:
    """Bump ``name`` whenever a row of one of ``models`` is saved or deleted."""

    def receiver(sender: type[Model], **kwargs: Any) -> None:
        bump(name)

    for model in models:
        uid = f"data-version-{name}-{model._meta.label}"
        post_save.connect(receiver, sender=model, weak=False, dispatch_uid=f"{uid}-save")
        post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=f"{uid}-delete")
