"""tests/services.py: the suite finds a Redis and a PostgreSQL, or starts throwaway ones.

Every server here is one the test itself starts (never the machine's): a configured
server that answers is used as it is, a closed port gets a throwaway server on a free
port under a temporary directory, and stopping removes both process and directory.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import redis

from tests import services

ROOT = Path(__file__).resolve().parents[2]
CLOSED_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
CLOSED_POSTGRES = "postgres://postgres@127.0.0.1:1/test"


@pytest.fixture
def own_registry(monkeypatch):
    """A fresh record of started servers, so the session's own Redis is never stopped."""
    registry: dict[str, services.Throwaway] = {}
    monkeypatch.setattr(services, "_started", registry)
    yield registry
    services.stop_all()


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_a_free_port_has_nothing_listening():
    port = services.free_port()
    assert not services.redis_answers(f"redis://127.0.0.1:{port}/0")


def test_nothing_answering_starts_a_throwaway_redis_and_stop_removes_it(own_registry):
    env = {"REDIS_URL": CLOSED_REDIS}
    url = services.redis_url_for_tests(env)

    server = own_registry["redis"]
    assert url == env["TEST_REDIS_URL"] == re.sub(r"/0$", "/15", server.url)
    assert env["REDIS_URL"] == server.url
    assert services.redis_answers(url)
    assert server.directory.is_dir()
    assert services.redis_url_for_tests(env) == url  # asked again: the same server
    assert list(own_registry) == ["redis"]

    services.stop_all()
    assert server.process.poll() is not None
    assert not services.redis_answers(url)
    assert not server.directory.exists()


def test_a_redis_that_answers_is_used_on_database_15_and_nothing_is_started(own_registry):
    running = services.start_redis()  # stands in for the machine's Redis
    try:
        client = redis.Redis.from_url(running.url)
        client.set("someone-elses-key", "kept")
        env = {"REDIS_URL": running.url}

        url = services.redis_url_for_tests(env)

        assert url == services.with_db(running.url, 15) == env["TEST_REDIS_URL"]
        assert env["REDIS_URL"] == running.url
        assert own_registry == {}
        assert client.get("someone-elses-key") == b"kept"
    finally:
        running.stop()


def test_test_redis_url_wins_when_it_answers(own_registry):
    running = services.start_redis()
    try:
        explicit = services.with_db(running.url, 3)
        env = {"TEST_REDIS_URL": explicit, "REDIS_URL": CLOSED_REDIS}
        assert services.redis_url_for_tests(env) == explicit
        assert own_registry == {}
    finally:
        running.stop()


def test_a_throwaway_postgres_cluster_serves_and_is_removed(own_registry):
    env = {"DATABASE_URL": CLOSED_POSTGRES}
    url = services.postgres_url_for_tests(env)

    server = own_registry["postgres"]
    assert env["DATABASE_URL"] == url == server.url
    with psycopg.connect(url, connect_timeout=5) as conn:
        assert conn.execute("SHOW fsync").fetchone() == ("off",)
        conn.execute("CREATE TABLE t (x int)")  # a real, writable cluster
    assert services.postgres_url_for_tests(env) == url  # kept: it answers

    services.stop_all()
    assert not services.postgres_answers(url)
    assert not server.directory.exists()


def test_a_missing_binary_is_installed_with_apt_when_root(monkeypatch):
    installed: list[str] = []
    monkeypatch.setattr(services, "_search", lambda name: "/usr/bin/x" if installed else None)
    monkeypatch.setattr(services, "is_root", lambda: True)
    monkeypatch.setattr(services, "apt_install", installed.append)

    assert services.find_binary("redis-server", "redis-server") == "/usr/bin/x"
    assert installed == ["redis-server"]


def test_a_missing_binary_without_root_says_what_to_install(monkeypatch):
    monkeypatch.setattr(services, "_search", lambda name: None)
    monkeypatch.setattr(services, "is_root", lambda: False)
    monkeypatch.setattr(services, "apt_install", lambda package: pytest.fail("no apt as user"))

    with pytest.raises(services.ServiceError, match="sudo apt-get install postgresql"):
        services.find_binary("initdb", "postgresql")


def run_wrapper(env_extra: dict[str, str], *args: str, code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_REDIS_URL", "DATABASE_URL")}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "tests.services", *args, "--", sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_wrapper_gives_the_command_a_redis_and_postgres_then_stops_them():
    code = (
        "import os, sys, psycopg, redis; "
        "assert redis.Redis.from_url(os.environ['TEST_REDIS_URL']).ping(); "
        "psycopg.connect(os.environ['DATABASE_URL']).close(); "
        "print(os.environ['TEST_REDIS_URL'], os.environ['DATABASE_URL']); sys.exit(3)"
    )
    result = run_wrapper(
        {"REDIS_URL": CLOSED_REDIS, "DATABASE_URL": CLOSED_POSTGRES}, "--postgres", code=code
    )

    assert result.returncode == 3, result.stderr  # the command's own exit status
    redis_url, database_url = result.stdout.split()
    assert not services.redis_answers(redis_url)
    assert not services.postgres_answers(database_url)
    for directory in re.findall(r"\((/\S+)\)", result.stderr):
        assert not Path(directory).exists()


def test_servers_die_with_the_wrapper_even_when_it_is_killed():
    code = (
        "import os, time; print(os.getpid(), os.environ['TEST_REDIS_URL'], flush=True); "
        "time.sleep(60)"
    )
    env = {k: v for k, v in os.environ.items() if k != "TEST_REDIS_URL"}
    env["REDIS_URL"] = CLOSED_REDIS
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "tests.services", "--", sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    child_pid, url = wrapper.stdout.readline().split()
    try:
        assert services.redis_answers(url)
        wrapper.send_signal(signal.SIGKILL)  # no finally, no atexit: only the death signal
        wrapper.wait()
        assert wait_until(lambda: not services.redis_answers(url))
    finally:
        os.kill(int(child_pid), signal.SIGKILL)
        # SIGKILL skipped the clean-up of the temporary directory: remove it here.
        for directory in re.findall(r"\((/\S+)\)", wrapper.stderr.read()):
            shutil.rmtree(directory, ignore_errors=True)
