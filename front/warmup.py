"""What a web process does once, after Django is set up and before it serves anybody
(``config/wsgi.py``): load what every page reads, then freeze the heap.

* **Warm:** the hardware set and preset builds, every published model's parsed
  architecture, and every template of the site, compiled. The first visitor of each
  page no longer pays for them.
* **Freeze** (``gc.freeze``): every object alive then (Django, the modules, the catalog,
  the compiled templates: about 230,000 objects) moves to the cycle collector's
  permanent generation. A full collection then walks only what requests created since;
  before, each one walked everything, about 100 ms on this machine, landing on some
  visitor's request (``make bench``'s cold pages showed them as 100-250 ms outliers).
  Frozen objects are still freed by reference counting when the data they hold is
  replaced.

A database that cannot be read (not migrated yet, down) skips the catalog, not the
start: the pages load it on first use as before, and say what is wrong.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

from django.db import DatabaseError, connections
from django.template import engines
from django.template.loader import get_template

from calculator import selectors, services

log = logging.getLogger(__name__)


def site_templates() -> list[str]:
    """The names of the site's own templates (the project's template folders)."""
    names: list[str] = []
    for engine in engines.all():
        for entry in engine.dirs:
            folder = Path(entry)
            names += sorted(str(p.relative_to(folder)) for p in folder.rglob("*.html"))
    return names


def warm() -> int:
    """Load the catalog's engine values and compile every site template; the number of
    templates compiled. Leaves no database connection open in the calling thread."""
    try:
        services.hardware_set()
        for model in selectors.models():
            services.architecture_of(model)
    except DatabaseError as exc:
        log.warning("warm-up: the catalog is not readable, loaded on first use (%s)", exc)
    finally:
        connections.close_all()
    names = site_templates()
    for name in names:
        get_template(name)
    return len(names)


def prepare_process() -> None:
    """:func:`warm`, then collect once and freeze what is left (see the module's text)."""
    warm()
    gc.collect()
    gc.freeze()
