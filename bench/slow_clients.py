"""`make bench`, last part: does /livez answer while slow clients hold connections?

    python bench/slow_clients.py [--clients 100] [--seconds 20] [--interval 5]

Starts the production server (config/serve.py, as ``make serve``: granian) on a free
loopback port with production settings, opens ``--clients`` connections that send a
request line and then one header line every ``--interval`` seconds (the headers never
end; a client the server drops is replaced at once, as an attacker would), and probes
``/livez`` twice a second on a fresh connection. Prints how many probes answered and
their latency. The aim is every probe within a second; exits 1 when a probe got no
answer at all, or the server did not start.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from config.serve import server_argv

ROOT = Path(__file__).resolve().parent.parent
AIM_S = 1.0
PROBE_TIMEOUT_S = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def probe(port: int) -> float | None:
    """Seconds for a /livez 200 on a new connection, None without one."""
    start = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT_S) as sock:
            sock.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            if not sock.recv(64).startswith(b"HTTP/1.1 200"):
                return None
    except OSError:
        return None
    return time.perf_counter() - start


class SlowClients:
    """``count`` connections dribbling header lines; dropped ones are replaced."""

    def __init__(self, port: int, count: int, interval: float) -> None:
        self.port, self.interval = port, interval
        self.sockets = [self._open() for _ in range(count)]
        self.replaced = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._dribble, daemon=True)

    def _open(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        sock.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        return sock

    def _dribble(self) -> None:
        line = 0
        while not self._stop.wait(self.interval):
            line += 1
            for i, sock in enumerate(self.sockets):
                try:
                    sock.sendall(f"X-Slow-{line}: 1\r\n".encode())
                except OSError:
                    sock.close()
                    self.sockets[i] = self._open()
                    self.replaced += 1

    def __enter__(self) -> SlowClients:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.sockets:
            sock.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="llmram-slow-"))
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "HTTPS": "0",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "CACHE_URL": "locmemcache://",
        "LOG_LEVEL": "WARNING",
    }
    port = free_port()
    log = (tmp / "server.log").open("w")
    server = subprocess.Popen(
        server_argv(f"127.0.0.1:{port}", args.workers, args.threads),
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while probe(port) is None:
            if server.poll() is not None or time.monotonic() > deadline:
                print("server did not start:\n" + (tmp / "server.log").read_text(), file=sys.stderr)
                return 1
            time.sleep(0.2)
        latencies: list[float | None] = []
        with SlowClients(port, args.clients, args.interval) as slow:
            end = time.monotonic() + args.seconds
            while time.monotonic() < end:
                latencies.append(probe(port))
                time.sleep(0.5)
        return report(args, latencies, slow.replaced)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def report(args: argparse.Namespace, latencies: list[float | None], replaced: int) -> int:
    answered = sorted(x for x in latencies if x is not None)
    print(
        f"\n/livez under {args.clients} slow clients (one header line every {args.interval:g} s, "
        f"{args.seconds} s; granian {args.workers} workers x {args.threads} threads):"
    )
    print(f"  probes answered: {len(answered)}/{len(latencies)}")
    if answered:
        p50 = statistics.median(answered) * 1000
        print(f"  latency: p50 {p50:.1f} ms, max {answered[-1] * 1000:.1f} ms")
        met = len(answered) == len(latencies) and answered[-1] <= AIM_S
        print(f"  aim: every probe within {AIM_S:g} s: {'met' if met else 'NOT met'}")
    print(f"  slow clients dropped by the header timeout (and replaced): {replaced}")
    if len(answered) < len(latencies):
        print("FAILED: some /livez probes got no answer", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
