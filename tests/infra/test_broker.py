"""config.broker.broker_available(): whether a task queued now would reach the broker.

The admin's "Sync prices now" asks it to choose between queueing and running in the
request; `make run` asks it (python -m config.broker) to choose what to start.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from config import broker
from config.celery import app
from tests.services import redis_url_for_tests

ROOT = Path(__file__).resolve().parents[2]
CLOSED = "redis://127.0.0.1:1/0"


@pytest.fixture(autouse=True)
def _forget():
    broker.forget()
    yield
    broker.forget()


@pytest.fixture
def broker_at(monkeypatch):
    """Point the Celery app (what queued tasks use, and so what the check asks) at a URL."""

    def use(url: str) -> None:
        monkeypatch.setitem(app.conf, "broker_url", url)

    return use


@pytest.fixture
def probes(monkeypatch):
    """Count real probes while still running them."""
    calls: list[str] = []
    real = broker.probe

    def counting(url, timeout):
        calls.append(url)
        return real(url, timeout)

    monkeypatch.setattr(broker, "probe", counting)
    return calls


def test_a_redis_that_answers_is_available(broker_at):
    broker_at(redis_url_for_tests())
    assert broker.broker_available() is True


def test_a_closed_port_is_not_available(broker_at):
    broker_at(CLOSED)
    assert broker.broker_available() is False


def test_a_redis_that_accepts_but_never_answers_is_not_available(settings, broker_at):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        broker_at(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        settings.BROKER_PROBE_TIMEOUT = 0.2
        assert broker.broker_available() is False


def test_the_in_process_memory_transport_is_available(broker_at):
    broker_at("memory://")
    assert broker.broker_available() is True


@pytest.mark.parametrize("forced", [True, False])
def test_the_setting_forces_the_answer_without_probing(settings, broker_at, probes, forced):
    broker_at("memory://" if not forced else CLOSED)
    settings.CELERY_BROKER_AVAILABLE = forced
    assert broker.broker_available() is forced
    assert probes == []


def test_the_answer_is_remembered_per_url_until_forgotten(broker_at, probes):
    broker_at(CLOSED)
    assert [broker.broker_available() for _ in range(5)] == [False] * 5
    assert probes == [CLOSED]

    broker_at("memory://")
    assert broker.broker_available() is True
    assert probes == [CLOSED, "memory://"]

    broker.forget()
    broker_at(CLOSED)
    broker.broker_available()
    assert probes == [CLOSED, "memory://", CLOSED]


def command(broker_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    env.update(DEBUG="1", CELERY_BROKER_URL=broker_url, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run(
        [sys.executable, "-m", "config.broker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_reason_names_the_broker_without_its_password(broker_at, settings):
    broker_at("redis://:s3cret@127.0.0.1:1/0")
    assert broker.unavailable_reason() == "no answer from redis://:**@127.0.0.1:1/0"
    settings.CELERY_BROKER_AVAILABLE = False
    assert "CELERY_BROKER_AVAILABLE=0" in broker.unavailable_reason()


def test_the_command_says_in_one_line_that_no_broker_answers_without_the_password():
    result = command("redis://:s3cret@127.0.0.1:1/0")
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert "No Celery broker answers at redis://:**@127.0.0.1:1/0" in lines[0]
    assert "s3cret" not in result.stdout + result.stderr


def test_the_command_is_silent_and_succeeds_when_the_broker_answers():
    result = command(redis_url_for_tests())
    assert (result.returncode, result.stdout) == (0, "")
