"""`make serve` (python -m config.serve): granian serving config.wsgi, not starved by
slow clients.

The slow-client case is issue 13's: connections that send a request line and then one
header line every few seconds. gunicorn's gthread workers gave each of them a thread and
stopped answering; here they cost a socket each and /livez keeps answering.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import serve
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]
SLOW_CLIENTS = 100


@pytest.mark.parametrize(
    ("text", "argv"),
    [
        ("0.0.0.0:8000", ["--host", "0.0.0.0", "--port", "8000"]),
        ("127.0.0.1:9001", ["--host", "127.0.0.1", "--port", "9001"]),
        ("[::]:8000", ["--host", "::", "--port", "8000"]),
        (":8000", ["--host", "0.0.0.0", "--port", "8000"]),
        ("unix:/run/llmram.sock", ["--uds", "/run/llmram.sock"]),
    ],
)
def test_bind_accepts_gunicorns_spellings(text, argv):
    assert serve.Bind.parse(text).argv() == argv


@pytest.mark.parametrize("text", ["8000", "localhost", "host:http"])
def test_a_malformed_bind_is_refused(text):
    with pytest.raises(ValueError, match="BIND"):
        serve.Bind.parse(text)


def test_workers_threads_and_header_timeout_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("BIND", "127.0.0.1:9000")
    monkeypatch.setenv("WEB_WORKERS", "3")
    monkeypatch.setenv("WEB_THREADS", "6")
    monkeypatch.setenv("HTTP_HEADER_TIMEOUT", "7")
    argv = serve.argv_from_environment()
    assert argv[:3] == [sys.executable, "-m", "granian"]
    pairs = dict(zip(argv[3::], argv[4::], strict=False))
    assert pairs["--interface"] == "wsgi"
    assert "config.wsgi:application" in argv
    assert pairs["--workers"] == "3"
    assert pairs["--blocking-threads"] == "6"
    assert pairs["--http1-header-read-timeout"] == "7000"
    assert pairs["--port"] == "9000"


def test_a_bad_worker_count_is_refused_with_its_name(monkeypatch):
    monkeypatch.setenv("WEB_WORKERS", "zero")
    with pytest.raises(SystemExit, match="WEB_WORKERS"):
        serve.argv_from_environment()


# --- a real server ------------------------------------------------------------------------


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_"))}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        HTTPS="0",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CACHE_URL="locmemcache://",
        DJANGO_SETTINGS_MODULE="config.settings",
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def get_livez(port: int, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        return sock.recv(200)


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[int, subprocess.Popen]]:
    """`python -m config.serve` with one worker of two threads: the easiest to starve."""
    port = free_port()
    env = production_env(
        tmp_path,
        BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="1",
        WEB_THREADS="2",
        HTTP_HEADER_TIMEOUT="3",
    )
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "config.serve"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get_livez(port, 1).startswith(b"HTTP/1.1 200"):
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("server did not start:\n" + (tmp_path / "server.log").read_text())
            time.sleep(0.2)
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def open_slow_clients(port: int, count: int) -> list[socket.socket]:
    clients = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never end
        clients.append(sock)
    return clients


def test_livez_answers_while_a_hundred_clients_dribble_their_headers(server):
    port, _ = server
    clients = open_slow_clients(port, SLOW_CLIENTS)
    try:
        answers = []
        for second in range(5):
            if second == 2:
                for sock in clients:  # one more header line each, as a slow client does
                    sock.sendall(b"X-Slow: 1\r\n")
            answers.append(get_livez(port)[:15])
            time.sleep(0.5)
        assert answers == [b"HTTP/1.1 200 OK"] * 5
    finally:
        for sock in clients:
            sock.close()


def test_a_client_that_never_finishes_its_headers_is_dropped(server):
    port, _ = server
    (sock,) = open_slow_clients(port, 1)
    with sock:
        sock.settimeout(15)  # HTTP_HEADER_TIMEOUT is 3 s here
        try:
            reply = sock.recv(200)  # a 408, or the connection closed
        except ConnectionResetError:
            reply = b""
    assert reply == b"" or reply.startswith(b"HTTP/1.1 408")
