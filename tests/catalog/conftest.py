"""Fixtures for the catalog: a loopback HTTP server, a test Redis DB, a real Celery worker."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import kombu.pools
import pytest
import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection, connections
from django.db.backends.signals import connection_created

from tests.services import redis_url_for_tests

# The configured Redis's DB 15, or a throwaway server when none answers (tests/services.py).
TEST_REDIS_URL = redis_url_for_tests()
# One queue per test session: Celery caches its queue map, so it must not change per test.
TEST_QUEUE = f"test-catalog-{uuid.uuid4().hex[:8]}-queue"


class Reply:
    """What the loopback server answers. ``delay``: seconds before answering;
    ``trickle``: seconds between single bytes of the body (headers sent at once)."""

    def __init__(
        self,
        status=200,
        body=b"",
        content_type="application/json",
        headers=None,
        delay=0.0,
        trickle=0.0,
    ):
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.content_type = content_type
        self.headers = headers or {}
        self.delay = delay
        self.trickle = trickle


class LoopbackServer:
    """http.server on 127.0.0.1:0; each path answers from a queue of replies (the last
    one repeats) or a callable. Every request is recorded."""

    def __init__(self):
        self.routes: dict[str, list[Reply] | Callable] = {}
        self.requests: list[dict] = []
        self.hits: dict[str, int] = defaultdict(int)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": json.loads(body) if body else None,
                    }
                )
                server.hits[self.path] += 1
                route = server.routes.get(self.path)
                if route is None:
                    reply = Reply(404, {"error": "no route"})
                elif callable(route):
                    reply = route(server.requests[-1])
                else:
                    reply = route.pop(0) if len(route) > 1 else route[0]
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(reply.body)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    if not reply.trickle:
                        self.wfile.write(reply.body)
                    for i in range(len(reply.body) if reply.trickle else 0):
                        self.wfile.write(reply.body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(reply.trickle)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = _serve
            do_POST = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture
def loopback():
    server = LoopbackServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def test_redis(settings):
    """Redis DB 15 with a per-test key prefix; only those keys are deleted afterwards."""
    prefix = f"test-catalog-{uuid.uuid4().hex[:8]}"
    settings.CATALOG_REDIS_URL = TEST_REDIS_URL
    settings.CATALOG_REDIS_PREFIX = prefix
    client = redis.Redis.from_url(TEST_REDIS_URL)
    yield client
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def _close_db(**kwargs):
    connections.close_all()


def _sqlite_reads_take_no_table_locks(sender, connection, **kwargs):
    """The in-memory test database is SQLite in shared-cache mode, where a reader's table
    lock makes a concurrent writer fail at once ("database table is locked"): let the
    test thread and the worker threads read without taking those locks."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA read_uncommitted = 1")


@pytest.fixture
def celery_worker(test_redis, transactional_db):
    """A real Celery worker (threads pool) on Redis DB 15, on a queue of its own."""
    from config.celery import app

    queue = TEST_QUEUE
    names = ("broker_url", "result_backend", "task_default_queue", "broker_transport_options")
    saved = {k: app.conf[k] for k in names}
    app.conf.update(
        broker_url=TEST_REDIS_URL,
        result_backend=TEST_REDIS_URL,
        task_default_queue=queue,
        # The worker blocks on Redis for at most this long between looks at its queue,
        # so it stops within it (kombu's default, 1 s, was a second per test).
        broker_transport_options={**saved["broker_transport_options"], "polling_interval": 0.1},
    )
    _reset_pools(app)
    task_postrun.connect(_close_db, weak=False)
    connection_created.connect(_sqlite_reads_take_no_table_locks, weak=False)
    if connection.connection is not None:
        _sqlite_reads_take_no_table_locks(None, connection)
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=2,
            perform_ping_check=False,
            loglevel="WARNING",
            shutdown_timeout=10,
        ):
            yield app
    finally:
        task_postrun.disconnect(_close_db)
        connection_created.disconnect(_sqlite_reads_take_no_table_locks)
        app.conf.update(saved)
        _reset_pools(app)
        test_redis.delete(queue, f"_kombu.binding.{queue}")


def _reset_pools(app) -> None:
    """Drop cached broker connections so the next publish uses the current broker_url."""
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture(autouse=True)
def _no_retry_after_pause_between_tests():
    """In-process Retry-After pauses are per process: none leaks into the next test."""
    from catalog.ratelimit import LocalThrottle

    LocalThrottle._paused_until.clear()
    yield
    LocalThrottle._paused_until.clear()
