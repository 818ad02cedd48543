"""Playwright driving Debian's Chromium (never a downloaded browser) against the live
test server."""

import os
import shutil
from itertools import chain
from pathlib import Path

import pytest
from django.apps import apps
from django.core import serializers
from django.db import connection, transaction

from calculator import services
from catalog import seeding as catalog_seeding

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by
# fixtures after it started are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Browser tests need Debian's chromium: apt-get install chromium (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


LIVE_APPS = ("calculator", "catalog", "faq")  # the apps whose rows the pages show


@pytest.fixture(scope="session")
def _live_catalog_rows(django_db_setup, django_db_blocker):
    """The catalog (models, hardware profiles, the seed kits with the demo feed's sample
    prices) as serialized rows: loaded once per test process, inside a transaction that
    is rolled back, so no other test sees it."""
    with django_db_blocker.unblock(), transaction.atomic():
        services.models_load()
        services.hardware_load()
        catalog_seeding.catalog_seed()
        catalog_seeding.demo_prices_sync()
        models = [m for label in LIVE_APPS for m in apps.get_app_config(label).get_models()]
        rows = serializers.serialize(
            "json", chain.from_iterable(m._base_manager.order_by("pk") for m in models)
        )
        transaction.set_rollback(True)
    return rows


@pytest.fixture
def live_data(_live_catalog_rows, live_server):
    """The catalog, committed where the live server reads it. Browser tests are
    transactional (the server sees only committed rows), so the tables are flushed
    after each: the rows are restored (under a second) rather than loaded again from
    the data files (about three seconds)."""
    connection.creation.deserialize_db_from_string(_live_catalog_rows)


@pytest.fixture
def live_catalog(live_data):
    """The seed memory kits with the demo feed's sample prices (kit pages, kit picks):
    part of the live catalog."""


DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def page(browser, live_server, live_data):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def open_page(browser, live_server):
    """``open_page(viewport)``: a fresh page at that size (closed after the test)."""
    contexts = []

    def opener(viewport=DESKTOP):
        context = browser.new_context(base_url=live_server.url, viewport=viewport)
        contexts.append(context)
        return context.new_page()

    yield opener
    for context in contexts:
        context.close()


@pytest.fixture
def nojs_page(browser, live_server, live_data):
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def output_dir():
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR
