"""Fixtures shared by every test package (add yours; don't remove others')."""

import pytest
from django.core.cache import cache

from calculator import services, versions
from calculator.models import HardwareProfile, LlmModel
from front.api_limits import local_counter
from tests import services as test_services


def pytest_unconfigure(config):
    """Stop the throwaway Redis/PostgreSQL this session started, if any (tests/services.py:
    tests ask for Redis with ``redis_url_for_tests()``, which starts one only when none
    answers at the configured URL)."""
    test_services.stop_all()


def _load_catalog() -> None:
    services.models_load()
    services.hardware_load()


@pytest.fixture(scope="session")
def _site_data_once(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        _load_catalog()


@pytest.fixture
def site_data(_site_data_once, db):
    """All reviewed models and hardware profiles, loaded once per test session.

    A transactional test (live server, Celery worker) flushes the tables when it
    ends; the data is then reloaded inside this test's transaction.
    """
    if not (LlmModel.objects.exists() and HardwareProfile.objects.exists()):
        _load_catalog()


@pytest.fixture
def catalog(site_data):
    """Every model and hardware profile from the reviewed data files (``site_data``)."""


@pytest.fixture
def hardware(site_data):
    return services.hardware_set()


@pytest.fixture
def r1(site_data):
    return services.find_model("deepseek-r1")


@pytest.fixture(autouse=True)
def _fresh_response_cache():
    """Cached pages must not leak between tests (the local-memory cache outlives them),
    nor the data versions this process read from it."""
    cache.clear()
    versions.forget_seen()


@pytest.fixture(autouse=True)
def _fresh_local_rate_counts():
    """The API's per-process fallback rate counts must not leak between tests."""
    local_counter.clear()
