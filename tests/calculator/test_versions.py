"""Data versions and what is kept per version (``calculator.versions``)."""

from types import SimpleNamespace

import pytest
from django.core.cache import cache

from calculator import versions


class Reads:
    """A reader that counts its calls and answers with the call number."""

    def __init__(self):
        self.calls = []

    def __call__(self, key):
        self.calls.append(key)
        return (key, len(self.calls))


def test_a_value_is_read_once_per_version_and_key():
    reads = Reads()
    memo = versions.PerVersion(versions.MODELS, reads)
    assert memo("a") == memo("a") == ("a", 1)
    assert memo("b") == ("b", 2)
    versions.bump(versions.MODELS)
    assert memo("a") == ("a", 3)
    assert reads.calls == ["a", "b", "a"]


def test_a_version_of_another_data_set_keeps_the_values():
    reads = Reads()
    memo = versions.PerVersion(versions.PRICES, reads)
    memo(None)
    versions.bump(versions.MODELS)
    memo(None)
    assert reads.calls == [None]


def test_a_value_past_its_age_is_read_again_even_when_the_version_stands():
    now = [1000.0]
    reads = Reads()
    memo = versions.PerVersion(versions.PRICES, reads, max_age=60, clock=lambda: now[0])
    memo(None)
    now[0] += 59
    memo(None)
    now[0] += 2
    memo(None)
    now[0] -= 3600  # a clock set back: not trusted either
    memo(None)
    assert len(reads.calls) == 3


def test_with_the_cache_down_nothing_is_kept(monkeypatch):
    reads = Reads()
    memo = versions.PerVersion(versions.MODELS, reads)
    monkeypatch.setattr(cache, "get_many", lambda keys: {})
    monkeypatch.setattr(cache, "add", lambda *args: False)
    monkeypatch.setattr(cache, "get", lambda key: None)
    assert versions.current(versions.MODELS) == (versions.UNCACHED,)
    memo(None)
    memo(None)
    assert len(reads.calls) == 2


def test_an_unknown_data_set_is_refused():
    with pytest.raises(KeyError):
        versions.PerVersion("weather", Reads())


def test_a_request_reads_each_version_once_and_sees_its_own_bump(monkeypatch):
    request = SimpleNamespace()
    models = versions.current(versions.MODELS)
    with versions.pinned(request):
        assert versions.current(versions.MODELS) == models
        monkeypatch.setattr(cache, "get_many", lambda keys: pytest.fail("read twice"))
        assert versions.current(versions.MODELS) == models
        monkeypatch.undo()
        versions.bump(versions.MODELS)  # a save within the request
        after = versions.current(versions.MODELS)
        assert after != models
    assert versions.current(versions.MODELS) == after  # outside: read from the cache
