"""/healthz and /livez: who sees what, and answers within about a second when the
database hangs.

A hung database is a loopback socket that accepts connections and never says a word,
named by DATABASE_URL in a subprocess (settings are read once per process).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.test import Client

from config import health
from tests.services import redis_url_for_tests

ROOT = Path(__file__).resolve().parents[2]
DETAILS = {"target", "error", "ms"}


@pytest.fixture
def healthy(settings):
    settings.CELERY_BROKER_URL = redis_url_for_tests()
    settings.HEALTHZ_TOKEN = "t0ken-for-tests"


def detail_keys(response) -> set[str]:
    return {key for check in response.json()["checks"].values() for key in check} & DETAILS


def test_a_remote_client_sees_status_only(db, healthy):
    response = Client(REMOTE_ADDR="203.0.113.9").get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"status": "ok"}, "broker": {"status": "ok"}},
    }


def test_a_remote_client_sees_which_check_failed_but_not_why(db, healthy, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = Client(REMOTE_ADDR="203.0.113.9").get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": {"status": "ok"}, "broker": {"status": "fail"}}
    assert "127.0.0.1" not in response.content.decode()


def test_a_direct_loopback_client_sees_targets_errors_and_timings(db, healthy, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = Client(REMOTE_ADDR="127.0.0.1").get("/healthz")
    checks = response.json()["checks"]
    assert checks["broker"]["target"] == "127.0.0.1:1/0"
    assert "Error" in checks["broker"]["error"]
    assert checks["database"]["target"] and "ms" in checks["database"]


def test_a_loopback_peer_relaying_for_someone_else_gets_no_details(db, healthy):
    proxy = Client(REMOTE_ADDR="127.0.0.1", headers={"x-forwarded-for": "203.0.113.9"})
    assert detail_keys(proxy.get("/healthz")) == set()


def test_the_token_from_the_environment_unlocks_details_from_anywhere(db, healthy):
    remote = Client(REMOTE_ADDR="203.0.113.9")
    assert detail_keys(remote.get("/healthz", HTTP_AUTHORIZATION="Bearer t0ken-for-tests")) == {
        "target",
        "ms",
    }
    assert detail_keys(remote.get("/healthz", HTTP_AUTHORIZATION="Bearer wrong")) == set()


def test_without_a_configured_token_no_bearer_header_unlocks_details(db, healthy, settings):
    settings.HEALTHZ_TOKEN = ""
    remote = Client(REMOTE_ADDR="203.0.113.9")
    assert detail_keys(remote.get("/healthz", HTTP_AUTHORIZATION="Bearer ")) == set()


@contextmanager
def silent_server() -> Iterator[int]:
    """Accepts TCP connections (the kernel completes them) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


PROBE = """
import json, time, django
django.setup()
from django.test import Client
client = Client(REMOTE_ADDR="127.0.0.1", HTTP_HOST="localhost")
out = {}
for path in ("/livez", "/healthz"):
    start = time.monotonic()
    response = client.get(path)
    out[path] = {"status": response.status_code, "seconds": time.monotonic() - start,
                 "body": response.json()}
print(json.dumps(out), flush=True)
# The hung check's thread is still waiting on the 30 s connect: don't wait for it.
import os; os._exit(0)
"""


def test_with_the_database_hung_healthz_answers_in_about_a_second_naming_only_it():
    with silent_server() as port:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DEBUG="1",
            DATABASE_URL=f"postgres://nobody@127.0.0.1:{port}/hung",
            DB_CONNECT_TIMEOUT="30",  # without the health budget, /healthz would wait 30 s
            CACHE_URL="locmemcache://",
            CELERY_BROKER_URL=redis_url_for_tests(),
        )
        result = subprocess.run(
            [sys.executable, "-c", PROBE],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])

    assert out["/livez"]["status"] == 200
    health = out["/healthz"]
    assert health["status"] == 503
    assert health["seconds"] < 3
    checks = health["body"]["checks"]
    assert checks["database"]["status"] == "fail"
    assert "no answer within" in checks["database"]["error"]
    assert checks["broker"]["status"] == "ok"


def test_checks_still_queued_when_the_budget_runs_out_are_never_run_late(db, healthy, monkeypatch):
    ran = []
    release = threading.Event()

    def hung() -> None:
        release.wait(10)

    monkeypatch.setattr(health, "BUDGET_S", 0.2)
    monkeypatch.setattr(health, "_executor", health.ThreadPoolExecutor(max_workers=1))
    monkeypatch.setattr(health, "_database", hung)
    monkeypatch.setattr(health, "_ping", lambda url: lambda: ran.append(url))
    try:
        checks = health.run_checks()
    finally:
        release.set()
        health._executor.shutdown(wait=True)
    assert checks["database"]["status"] == "fail"
    assert checks["broker"] == {
        "status": "fail",
        "error": "no answer within 0.2 s",
        "target": checks["broker"]["target"],
    }
    assert ran == []


@pytest.mark.parametrize("path", ["/healthz", "/livez"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_probes_answer_other_methods_with_405_not_a_csrf_403(db, healthy, path, method):
    # enforce_csrf_checks: the CSRF middleware acts as it does for a real client.
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.9")
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", ["/healthz", "/livez"])
def test_the_probes_answer_head(db, healthy, path):
    assert Client().head(path).status_code == 200
