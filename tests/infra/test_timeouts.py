"""Timeouts everywhere: database connect and statement, cache and broker sockets, and a
deadline for each web request. Settings are read once per process, so each
environment is tried in a subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.test import Client

from config import deadline
from tests.services import postgres_answers

ROOT = Path(__file__).resolve().parents[2]
LOCAL_PG = "postgres://postgres@127.0.0.1:5432/test"


def python_in(env_extra: dict[str, str], code: str) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DB_")) and k not in ("DATABASE_URL", "CACHE_URL")
    }
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="1", **env_extra)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def settings_in(env_extra: dict[str, str], *names: str) -> dict:
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}))"
    )
    return python_in(env_extra, code)


def postgres_url() -> str:
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith("postgres") and postgres_answers(configured):
        return configured
    if postgres_answers(LOCAL_PG):
        return LOCAL_PG
    pytest.skip("no PostgreSQL answers (make test-postgres provides one)")


# --- settings ---------------------------------------------------------------------------


def test_postgres_gets_connect_and_statement_timeouts_from_the_environment():
    url = "postgres://u@db.internal:5432/llmram"
    db = settings_in({"DATABASE_URL": url}, "DATABASES")["DATABASES"]["default"]
    assert db["OPTIONS"] == {"connect_timeout": 5, "options": "-c statement_timeout=10000"}

    env = {"DATABASE_URL": url, "DB_CONNECT_TIMEOUT": "3", "DB_STATEMENT_TIMEOUT": "0.25"}
    db = settings_in(env, "DATABASES")["DATABASES"]["default"]
    assert db["OPTIONS"] == {"connect_timeout": 3, "options": "-c statement_timeout=250"}


def test_options_in_the_database_url_win():
    url = "postgres://u@db.internal/llmram?connect_timeout=7&options=-c%20statement_timeout%3D99"
    db = settings_in({"DATABASE_URL": url}, "DATABASES")["DATABASES"]["default"]
    assert db["OPTIONS"]["connect_timeout"] == 7
    # PostgreSQL applies -c options in order: the URL's comes last.
    assert db["OPTIONS"]["options"] == "-c statement_timeout=10000 -c statement_timeout=99"


def test_sqlite_gets_no_postgres_options():
    db = settings_in({}, "DATABASES")["DATABASES"]["default"]
    assert "statement_timeout" not in json.dumps(db.get("OPTIONS", {}))


def test_redis_cache_and_celery_have_socket_timeouts():
    env = {
        "CACHE_URL": "redis://cache.internal:6379/1",
        "CACHE_CONNECT_TIMEOUT": "0.3",
        "CACHE_SOCKET_TIMEOUT": "0.7",
        "BROKER_CONNECT_TIMEOUT": "1.5",
        "BROKER_SOCKET_TIMEOUT": "8",
    }
    got = settings_in(
        env,
        "CACHES",
        "CELERY_BROKER_CONNECTION_TIMEOUT",
        "CELERY_BROKER_TRANSPORT_OPTIONS",
        "CELERY_REDIS_SOCKET_CONNECT_TIMEOUT",
        "CELERY_REDIS_SOCKET_TIMEOUT",
    )
    assert got["CACHES"]["default"]["OPTIONS"] == {
        "socket_connect_timeout": 0.3,
        "socket_timeout": 0.7,
    }
    assert got["CELERY_BROKER_CONNECTION_TIMEOUT"] == 1.5
    assert got["CELERY_BROKER_TRANSPORT_OPTIONS"] == {
        "socket_connect_timeout": 1.5,
        "socket_timeout": 8.0,
    }
    assert got["CELERY_REDIS_SOCKET_CONNECT_TIMEOUT"] == 1.5
    assert got["CELERY_REDIS_SOCKET_TIMEOUT"] == 8.0


# --- the timeouts act -------------------------------------------------------------------

CONNECT = """
import json, time, django
django.setup()
from django.db import connection, OperationalError
start = time.monotonic()
try:
    connection.ensure_connection()
    error = None
except OperationalError as exc:
    error = str(exc)
print(json.dumps({"error": error, "seconds": time.monotonic() - start}))
"""


def test_a_database_that_never_answers_fails_the_connection_after_the_connect_timeout():
    with socket.socket() as silent:  # accepts (the kernel does), never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"postgres://nobody@127.0.0.1:{silent.getsockname()[1]}/hung"
        out = python_in({"DATABASE_URL": url, "DB_CONNECT_TIMEOUT": "2"}, CONNECT)
    assert out["error"] and "timeout" in out["error"].lower()
    assert out["seconds"] < 15  # without the timeout: forever


STATEMENT = """
import json, time, django
django.setup()
from django.db import connection, OperationalError
start = time.monotonic()
with connection.cursor() as cursor:
    try:
        cursor.execute("SELECT pg_sleep(30)")
        error = None
    except OperationalError as exc:
        error = str(exc)
print(json.dumps({"error": error, "seconds": time.monotonic() - start}))
"""


def test_postgres_cancels_a_statement_after_the_statement_timeout():
    out = python_in({"DATABASE_URL": postgres_url(), "DB_STATEMENT_TIMEOUT": "0.2"}, STATEMENT)
    assert out["error"] and "statement timeout" in out["error"]
    assert out["seconds"] < 15  # pg_sleep(30) would take 30


# --- the request deadline ----------------------------------------------------------------


@pytest.fixture
def past_deadline(settings):
    settings.REQUEST_DEADLINE = 1e-9  # every request is late by its first query


def test_a_request_past_its_deadline_stops_at_its_next_query_with_a_503(
    client, site_data, past_deadline
):
    response = client.get("/models/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(deadline.RETRY_AFTER_S)
    assert "took too long" in response.content.decode()


def test_a_request_that_needs_no_query_is_not_stopped(client, db, past_deadline):
    assert client.get("/livez").status_code == 200


def test_queries_outside_a_request_have_no_deadline(client, site_data, past_deadline):
    client.get("/models/")
    assert deadline.remaining() is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def test_pages_answer_normally_within_the_deadline(client, site_data, settings):
    settings.REQUEST_DEADLINE = 60
    assert client.get("/models/").status_code == 200


def test_the_deadline_check_stays_first_so_other_wrappers_pop_their_own(client, db, past_deadline):
    seen = []

    def spy(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        client.get("/livez")  # installs the deadline check on this thread's connection
        assert connection.execute_wrappers == [deadline.check_deadline, spy]
    assert connection.execute_wrappers == [deadline.check_deadline]


def test_the_api_answers_a_late_request_as_json(rf, past_deadline):
    response = deadline.deadline_response(rf.get("/api/v1/models"))
    assert response.status_code == 503
    assert json.loads(response.content)["error"]["field"] == "request"


def test_work_an_editor_asked_for_can_lift_the_deadline(client, site_data, past_deadline):
    token = deadline._deadline.set(0.0)  # as inside a late request
    try:
        with pytest.raises(deadline.DeadlineExceeded):
            deadline.check_deadline(lambda *a: "ran", "SELECT 1", None, False, None)
        with deadline.lifted():
            assert deadline.check_deadline(lambda *a: "ran", "SELECT 1", None, False, None) == "ran"
        assert deadline.remaining() is not None
    finally:
        deadline._deadline.reset(token)


def test_the_api_answers_a_late_request_with_a_json_503(client, site_data, past_deadline):
    response = client.get("/api/v1/models")
    assert response.status_code == 503
    assert response["Retry-After"] == str(deadline.RETRY_AFTER_S)
    assert response.json()["error"] == {"field": "request", "message": deadline.MESSAGE}


# --- the database refuses --------------------------------------------------------------


def refuse(execute, sql, params, many, context):
    raise OperationalError("connection refused")


@pytest.mark.parametrize(
    "path", ["/api/v1/models", "/api/v1/estimate?model=deepseek-r1", "/api/v1/models/deepseek-r1"]
)
def test_the_api_answers_json_503_when_the_database_fails(client, site_data, path):
    with connection.execute_wrapper(refuse):
        response = client.get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == str(deadline.RETRY_AFTER_S)
    assert response.json()["error"] == {"field": "server", "message": deadline.DATABASE_MESSAGE}


def test_a_page_answers_503_when_the_database_fails(client, site_data):
    with connection.execute_wrapper(refuse):
        response = client.get("/models/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(deadline.RETRY_AFTER_S)
    assert "database is unavailable" in response.content.decode()


REFUSED = """
import json, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="localhost")
out = {}
for path in ("/api/v1/models", "/models/", "/livez"):
    response = client.get(path)
    out[path] = [response.status_code, response["Content-Type"], response.get("Retry-After")]
print(json.dumps(out))
"""


def test_with_postgres_refusing_connections_the_api_and_pages_answer_503():
    with socket.socket() as sock:  # a free port, closed again: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        "DATABASE_URL": f"postgres://nobody@127.0.0.1:{port}/gone",
        "CACHE_URL": "locmemcache://",
    }
    out = python_in(env, REFUSED)
    assert out["/api/v1/models"] == [503, "application/json", "5"]
    assert out["/models/"] == [503, "text/plain; charset=utf-8", "5"]
    assert out["/livez"][0] == 200


@pytest.mark.parametrize("path", ["/models/no-such-model/", "/static/missing.css", "/nowhere"])
def test_a_404_whose_page_needs_the_database_answers_503_when_it_fails(site_data, path):
    # The 404 page looks for similar models; Django renders it outside every middleware's
    # process_exception, so handler500 is what turns the failure into a 503.
    with connection.execute_wrapper(refuse):
        response = Client(raise_request_exception=False).get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == str(deadline.RETRY_AFTER_S)


def test_any_other_uncaught_error_is_still_the_500_page(rf):
    try:
        raise ValueError("a bug")
    except ValueError:
        response = deadline.server_error(rf.get("/models/"))
    assert response.status_code == 500
