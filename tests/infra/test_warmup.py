"""A web process warms up and freezes its heap before it serves (front/warmup.py)."""

from __future__ import annotations

import subprocess
import sys
from collections import OrderedDict

from django.db import DatabaseError

from calculator import selectors, services
from front import warmup
from tests.infra.test_serve import ROOT, production_env


def test_the_wsgi_app_starts_on_a_database_not_migrated_with_its_heap_frozen(tmp_path):
    started = subprocess.run(
        [sys.executable, "-c", "import gc, config.wsgi; print(gc.get_freeze_count())"],
        cwd=ROOT, env=production_env(tmp_path), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert int(started.stdout) > 50_000  # Django, the modules and the templates
    assert "the catalog is not readable, loaded on first use" in started.stderr


def test_every_site_template_compiles_at_warm_up(monkeypatch):
    def unreadable() -> None:
        raise DatabaseError("no such table: calculator_hardwareprofile")

    monkeypatch.setattr(services, "hardware_set", unreadable)
    names = warmup.site_templates()
    assert {"base.html", "calculator/model_detail.html", "catalog/kit_list.html"} <= set(names)
    assert warmup.warm() == len(names)


def test_warm_up_parses_every_published_model(catalog, monkeypatch):
    monkeypatch.setattr(services, "_ARCHITECTURES", OrderedDict())
    # The test's transaction must stay open (a web process's own connection is closed).
    monkeypatch.setattr(warmup.connections, "close_all", lambda: None)
    warmup.warm()
    parsed = {slug for slug, _ in services._ARCHITECTURES}
    assert parsed == {m.slug for m in selectors.models()} != set()
