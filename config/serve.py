"""The production web server: granian serving ``config.wsgi`` (what ``make serve`` runs).

Granian's HTTP front is Rust (hyper on tokio): it reads requests without a Python
thread, and only a complete request takes one of ``WEB_THREADS`` blocking threads in
each of ``WEB_WORKERS`` processes. Slow clients (a header line every few seconds) so
cost a socket, never a worker thread, which is how they starved gunicorn's gthread
workers; a client that has not sent its headers after ``HTTP_HEADER_TIMEOUT`` seconds
is dropped.

Environment: ``BIND`` (``host:port``, ``[v6]:port`` or ``unix:/path``; default
``0.0.0.0:8000``), ``WEB_WORKERS`` (processes, default one per core), ``WEB_THREADS``
(Python threads per process, default 4), ``HTTP_HEADER_TIMEOUT`` (default 10).
``SIGHUP`` respawns the workers gracefully (after a deploy); ``SIGTERM`` stops.

    python -m config.serve            # exec granian with the environment's settings
    server_argv(bind, workers, threads)  # the same command, for bench/run.py and tests
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

DEFAULT_BIND = "0.0.0.0:8000"
DEFAULT_THREADS = 4
DEFAULT_HEADER_TIMEOUT_S = 10
GRACEFUL_STOP_S = 30


@dataclass(frozen=True)
class Bind:
    host: str = ""
    port: int = 0
    unix_socket: str = ""

    @classmethod
    def parse(cls, text: str) -> Bind:
        """``host:port``, ``[::]:port`` or ``unix:/path`` (gunicorn's spellings)."""
        if text.startswith("unix:"):
            return cls(unix_socket=text.removeprefix("unix:"))
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"BIND must be host:port or unix:/path, not {text!r}")
        return cls(host=host.strip("[]") or "0.0.0.0", port=int(port))

    def argv(self) -> list[str]:
        if self.unix_socket:
            return ["--uds", self.unix_socket]
        return ["--host", self.host, "--port", str(self.port)]


def server_argv(
    bind: str, workers: int, threads: int, *, header_timeout_s: int = DEFAULT_HEADER_TIMEOUT_S
) -> list[str]:
    return [
        sys.executable, "-m", "granian",
        "--interface", "wsgi", "config.wsgi:application",
        *Bind.parse(bind).argv(),
        "--workers", str(workers),
        "--blocking-threads", str(threads),
        "--http1-header-read-timeout", str(header_timeout_s * 1000),
        "--no-ws",
        "--respawn-failed-workers",
        "--workers-kill-timeout", str(GRACEFUL_STOP_S),
    ]  # fmt: skip


def _positive_int(name: str, default: int) -> int:
    value = os.environ.get(name) or str(default)
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)


def argv_from_environment() -> list[str]:
    return server_argv(
        os.environ.get("BIND") or DEFAULT_BIND,
        _positive_int("WEB_WORKERS", os.cpu_count() or 1),
        _positive_int("WEB_THREADS", DEFAULT_THREADS),
        header_timeout_s=_positive_int("HTTP_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT_S),
    )


def main() -> None:
    try:
        argv = argv_from_environment()
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
