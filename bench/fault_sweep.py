"""Fault sweep: thousands of varied and junk requests at the production server while
its dependencies fail. Nothing a client sends, and no dependency going away, may give a
500; an unavailable database gives 503 with ``Retry-After``, and the API answers every
error as JSON.

    python bench/fault_sweep.py [--requests 1500] [--seed 13] [--concurrency 8]

Builds a throwaway production-like site in a temp folder (as bench/run.py: DEBUG=0, a
generated SECRET_KEY, SQLite migrated and loaded, static files collected), starts its own
Redis (Debian's ``redis-server`` on a free loopback port, no persistence) as the cache and
the Celery broker, then serves the site with the production server (config/serve.py,
granian) on a free loopback port and runs four phases:

1. **healthy**: ``--requests`` requests.
2. **Redis killed**: the same server; after a tenth of ``--requests`` the Redis process
   is SIGKILLed and the rest are sent without it.
3. **database refused**: the server restarted with ``DATABASE_URL`` naming a PostgreSQL
   port nothing listens on (Redis started again), ``--requests`` requests.
4. **database hung**: ``DATABASE_URL`` names a socket that accepts and never answers
   (``DB_CONNECT_TIMEOUT=1``); ``--requests`` / 10 requests, since each one that needs
   the database waits out the connect timeout.

Requests (seeded, so a run can be repeated): every public page, the API, health probes,
static files, admin pages; slugs and query values that are real, out of range, huge
(10**400, 8 KB), negative, NaN, percent-encoded NUL and control characters, invalid
UTF-8, traversal; raw control bytes in the request line; unknown and tracking
parameters; random ``HX-Target`` values, a foreign ``Host``, junk cookies; GET, HEAD,
POST, PUT, PATCH, DELETE, OPTIONS; API POSTs with real configs mutated (fields at
10**305, negative, wrong types, 100,000 layers), JSON nested 5,000 deep, bodies over
the size limit, truncated JSON, non-UTF-8 bytes. The API's rate limits are raised (as in
bench/run.py) so the requests reach the code behind them.

Prints, per phase: requests, status counts, and the faults: 500s, other 5xx that are not
a 503 with ``Retry-After`` (``/healthz``'s 503 naming a failed check is its answer), API
errors that are not JSON, connections closed without an answer; and the tracebacks the
server logged meanwhile. Exits 1 when any fault was seen or the server did not start.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from config.serve import server_argv

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATA = ROOT / "calculator" / "data"
READ_TIMEOUT_S = 60.0

MODELS = sorted(p.stem for p in (DATA / "models").glob("*.json"))
HARDWARE = [p["slug"] for p in json.loads((DATA / "hardware.json").read_text())["profiles"]]
CONFIGS = [json.loads(p.read_text())["config"] for p in sorted((DATA / "models").glob("*.json"))]

JUNK = [
    "", "%00", "a%00b", "%0d%0aSet-Cookie:%20x=1", "%7f", "%c2%85", "%ff%fe", "%e2%80%ae",
    "..%2f..%2fetc%2fpasswd", "-1", "0", "-0", "1e309", "NaN", "inf", "-inf", "9" * 400,
    "1" + "0" * 305, "0x10", "1_000", "%20%208192%20", "A" * 8000, "[]", "{}", "null",
    "%3Cscript%3Ealert(1)%3C/script%3E", "'%20OR%201=1--", "%E6%A8%A1%E5%9E%8B", "\u2028",
    "1;2", "8192,8192", "%25", "%", "+", "32k", "1m", "99999999999k", "-32k",
]  # fmt: skip
VALUES = {
    "quant": ["Q4_K_M", "q8_0", "MXFP4", "UD-Q2_K_XL", "IQ1_S", "F16", "Q4_0"],
    "context": ["8192", "32k", "131072", "1m", "512"],
    "kv_type": ["f16", "q8_0", "q4_0"],
    "parallel": ["1", "4", "64"],
    "model": MODELS,
    "models": [",".join(random.Random(i).sample(MODELS, 3)) for i in range(5)],
    "hardware": HARDWARE,
    "memory_gb": ["16", "64", "512"],
    "bandwidth_gbps": ["100", "1000"],
    "kind": ["gpu", "apple", "apu", "cpu"],
    "q": ["deepsek", "llama3.1 70b", "R1", "qwen"],
    "budget": ["1000", "5000"],
    "capacity": ["64", "abc"],
    "sort": ["price", "name"],
    "page": ["1", "2", "999999"],
}
TRACKING = ["utm_source", "utm_campaign", "fbclid", "gclid", "ref"]

PAGES = [
    "/", "/models/", "/models/{model}/", "/models/{model}/faq/", "/models/{model}/og.svg",
    "/models/{model}/og.png", "/hardware/", "/hardware/{hardware}/", "/compare/", "/kits/",
    "/kits/{junk}/", "/faq/", "/methodology/", "/sitemap.xml", "/robots.txt", "/favicon.svg",
    "/favicon.ico", "/apple-touch-icon.png", "/api/v1/models", "/api/v1/models/{model}",
    "/api/v1/estimate", "/api/v1/openapi.json", "/api/v1/{junk}", "/healthz", "/livez",
    "/static/css/site.css", "/static/{junk}", "/admin/login/", "/admin/catalog/memorykit/",
    "/{junk}", "/models/{junk}/", "/models/{junk}/faq/", "/hardware/{junk}/",
]  # fmt: skip
HX_TARGETS = ["result", "results", "speed-table", "main", "x" * 300, "%00", "<b>"]


@dataclass
class Outcome:
    method: str
    path: str
    status: int | None  # None: the connection closed without a status line
    content_type: str = ""
    retry_after: bool = False
    malformed: bool = False  # a raw control byte: answered by the HTTP server, not Django

    @property
    def fault(self) -> str | None:
        api = self.path.startswith("/api/")
        if self.status is None:
            return "no answer"
        if self.status == 500:
            return "500"
        if self.status >= 500:
            healthz = self.path.startswith("/healthz") and self.status == 503
            if not (healthz or (self.status == 503 and self.retry_after)):
                return f"{self.status} without Retry-After"
        answered_by_django = self.method != "HEAD" and not self.malformed
        json = self.content_type.startswith("application/json")
        if api and self.status >= 400 and answered_by_django and not json:
            return "API error not JSON"
        return None


@dataclass
class Phase:
    name: str
    outcomes: list[Outcome] = field(default_factory=list)
    tracebacks: int = 0  # in the server's log while this phase ran

    @property
    def statuses(self) -> Counter[str]:
        return Counter(str(o.status) for o in self.outcomes)

    @property
    def faults(self) -> Counter[str]:
        return Counter(f for o in self.outcomes if (f := o.fault))

    def report(self) -> str:
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        fivexx = sum(n for s, n in self.statuses.items() if s.startswith("5"))
        healthz = sum(1 for o in self.outcomes if o.status == 503 and o.path.startswith("/healthz"))
        lines = [
            f"{self.name}: {len(self.outcomes)} requests; {statuses}",
            f"  5xx: {fivexx} (500: {self.statuses.get('500', 0)}; 503 from /healthz: {healthz},"
            f" 503 with Retry-After elsewhere: {self.statuses.get('503', 0) - healthz}); "
            f"faults: {sum(self.faults.values())} {dict(self.faults) or ''}; "
            f"tracebacks logged: {self.tracebacks}",
        ]
        lines += [f"  {o.method} {o.path[:120]} -> {o.status}" for o in self.outcomes if o.fault][
            :10
        ]
        return "\n".join(lines)


# --- requests ---------------------------------------------------------------------------


def value(rng: random.Random, name: str) -> str:
    if name in VALUES and rng.random() < 0.5:
        return quote(rng.choice(VALUES[name]), safe=",")
    return rng.choice(JUNK)


def query(rng: random.Random) -> str:
    names = [*rng.sample(sorted(VALUES), rng.randint(0, 5))]
    if rng.random() < 0.2:
        names.append(rng.choice(TRACKING))
    if rng.random() < 0.1:
        names.append(rng.choice(JUNK) or "x")
    if rng.random() < 0.05:
        names += ["context"] * 3  # repeated parameters
    return "&".join(f"{n}={value(rng, n)}" for n in names)


def path(rng: random.Random) -> str:
    template = rng.choice(PAGES)
    slug = rng.choice(MODELS)
    if rng.random() < 0.2:
        slug = rng.choice([slug + rng.choice(JUNK), rng.choice(JUNK) or "x"])
    result = template.format(model=slug, hardware=rng.choice(HARDWARE), junk=rng.choice(JUNK))
    if rng.random() < 0.7:
        result += "?" + query(rng)
    return result


def mutated_config(rng: random.Random) -> object:
    config = dict(rng.choice(CONFIGS))
    for _ in range(rng.randint(1, 3)):
        key = rng.choice(sorted(config))
        config[key] = rng.choice([
            10**305, -1, 0, 1.5e308, "12", None, [], {}, True, "\x00", 100_000, 2**63,
            list(range(100_000)) if rng.random() < 0.05 else [1, 2],
        ])  # fmt: skip
    if rng.random() < 0.2:
        config.pop(rng.choice(sorted(config)), None)
    return config


def deep(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def api_body(rng: random.Random) -> tuple[bytes, str]:
    roll = rng.random()
    if roll < 0.55:
        body = {"config": mutated_config(rng)}
        for name in ("quant", "context", "kv_type", "parallel", "hardware", "memory_gb"):
            if rng.random() < 0.4:
                body[name] = rng.choice([rng.choice(VALUES[name]), rng.choice(JUNK), 10**400, -5])
        return json.dumps(body).encode(), "application/json"
    return rng.choice([
        (b"not json", "application/json"),
        (b"\xff\xfe\xfd", "application/json"),
        (deep(5000).encode(), "application/json"),
        (b'{"config": {"model_type": "llama"', "application/json"),
        (b"x" * 300_000, "application/json"),
        (json.dumps({"config": "\x00"}).encode(), "application/json"),
        (b"config=1&quant=Q4_K_M", "application/x-www-form-urlencoded"),
        (b"", "application/json"),
        (json.dumps([1, 2, 3]).encode(), "text/plain"),
    ])  # fmt: skip


Request = tuple[str, str, bytes, bool]


def build(rng: random.Random) -> Request:
    """(method, path, raw request bytes, whether the request line is malformed)."""
    roll = rng.random()
    method = "GET" if roll < 0.72 else "HEAD" if roll < 0.8 else "POST" if roll < 0.93 else (
        rng.choice(["PUT", "PATCH", "DELETE", "OPTIONS"]))  # fmt: skip
    target = path(rng)
    body, content_type = b"", ""
    if method == "POST" and rng.random() < 0.6:
        target = "/api/v1/estimate"
        body, content_type = api_body(rng)
    elif method in ("POST", "PUT", "PATCH"):
        body, content_type = b"quant=Q4_K_M&context=8192", "application/x-www-form-urlencoded"
    headers = {"Host": "evil.example" if rng.random() < 0.02 else "127.0.0.1"}
    if rng.random() < 0.3:
        headers["HX-Request"] = "true"
        if rng.random() < 0.7:
            headers["HX-Target"] = rng.choice(HX_TARGETS)
    if rng.random() < 0.5:
        headers["Accept-Encoding"] = rng.choice(["gzip", "br", "gzip, br", "identity", "*;q=x"])
    if rng.random() < 0.05:
        headers["Cookie"] = rng.choice(["sessionid=junk", "csrftoken=" + "a" * 64, "%00=%00"])
    if rng.random() < 0.05:
        headers["X-Forwarded-For"] = rng.choice(["203.0.113.9", "junk", "1.1.1.1, 2.2.2.2"])
    if body or method in ("POST", "PUT", "PATCH"):
        headers["Content-Type"] = content_type
        headers["Content-Length"] = str(len(body))
    headers["Connection"] = "close"
    line = target.encode("latin-1", errors="replace")
    malformed = rng.random() < 0.01  # a raw control byte: the HTTP server must refuse it
    if malformed:
        line = line.replace(b"/", b"/\x00", 1) if rng.random() < 0.5 else line + b"\x01"
    head = b"%s %s HTTP/1.1\r\n" % (method.encode(), line)
    head += b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    return method, target, head + b"\r\n" + body, malformed


def send(port: int, method: str, target: str, raw: bytes, malformed: bool) -> Outcome:
    data = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT_S) as sock:
            sock.sendall(raw)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            while sock.recv(65536):  # read the body to the end (Connection: close)
                pass
    except OSError:
        pass  # judged by what arrived before the error
    if not data.startswith(b"HTTP/"):
        return Outcome(method, target, None, malformed=malformed)
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
    return Outcome(
        method, target, int(head[0].split()[1]),
        fields.get("content-type", ""), "retry-after" in fields, malformed,
    )  # fmt: skip


def sweep(
    phase: Phase, server: Server, count: int, rng: random.Random, concurrency: int,
    after: tuple[int, Callable[[], None]] | None = None,
) -> None:  # fmt: skip
    requests = [build(rng) for _ in range(count)]
    port, start = server.port, server.log_size()
    done, lock, fired = [0], threading.Lock(), threading.Event()

    def one(request: Request) -> Outcome:
        outcome = send(port, *request)
        with lock:
            done[0] += 1
            fire = after is not None and done[0] >= after[0] and not fired.is_set()
            if fire:
                fired.set()
        if fire and after is not None:
            after[1]()
        return outcome

    with ThreadPoolExecutor(concurrency) as pool:
        phase.outcomes.extend(pool.map(one, requests))
    phase.tracebacks = server.tracebacks_since(start)


# --- the site and its dependencies ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start")
        time.sleep(0.2)


def answers(port: int, raw: bytes, expect: bytes) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(raw)
            return sock.recv(64).startswith(expect)
    except OSError:
        return False


class Redis:
    def __init__(self, folder: Path) -> None:
        self.port, self.folder = free_port(), folder
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: answers(self.port, b"PING\r\n", b"+PONG"), "redis-server")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


class Server:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port, self.path = free_port(), log
        self.log = log.open("a")
        self.process = subprocess.Popen(
            server_argv(f"127.0.0.1:{self.port}", 2, 4), cwd=ROOT, env=env,
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        livez = b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        wait_for(lambda: answers(self.port, livez, b"HTTP/1.1 200"), "the server")

    def log_size(self) -> int:
        return self.path.stat().st_size

    def tracebacks_since(self, offset: int) -> int:
        with self.path.open("rb") as log:
            log.seek(offset)
            return log.read().count(b"Traceback (most recent call last)")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class SilentPostgres:
    """Accepts connections (the kernel completes them) and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1500, help="per phase")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (server.log)")
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        print("the fault sweep needs Debian's redis-server: apt-get install redis-server")
        return 2

    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="llmram-faults-"))
    redis = Redis(tmp)
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HTTPS": "0",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "CACHE_URL": redis.url(1),
        "CELERY_BROKER_URL": redis.url(0),
        "CELERY_RESULT_BACKEND": redis.url(0),
        "CATALOG_REDIS_URL": redis.url(0),
        "API_RATE_GET": "100000000/m",
        "API_RATE_POST": "100000000/m",
        "LOG_LEVEL": "WARNING",
    }
    log = tmp / "server.log"
    phases: list[Phase] = []
    server: Server | None = None
    silent = SilentPostgres()
    try:
        print(f"setting up in {tmp} (migrate, load_data, collectstatic) ...", flush=True)
        redis.start()
        for command in (["migrate", "--noinput"], ["load_data"], ["collectstatic", "--noinput"]):
            subprocess.run([str(BIN / "python"), "manage.py", *command], cwd=ROOT, env=env,
                           check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        server = Server(env, log)

        phase = Phase("healthy")
        sweep(phase, server, args.requests, rng, args.concurrency)
        phases.append(phase)

        phase = Phase("Redis killed (SIGKILL after 10%)")
        sweep(phase, server, args.requests, rng, args.concurrency,
              after=(args.requests // 10, redis.kill))  # fmt: skip
        phases.append(phase)
        server.stop()

        redis.start()
        refused = free_port()  # nothing listens there: connections are refused
        server = Server({**env, "DATABASE_URL": f"postgres://nobody@127.0.0.1:{refused}/x"}, log)
        phase = Phase("database refused")
        sweep(phase, server, args.requests, rng, args.concurrency)
        phases.append(phase)
        server.stop()

        hung = f"postgres://nobody@127.0.0.1:{silent.port}/x"
        server = Server({**env, "DATABASE_URL": hung, "DB_CONNECT_TIMEOUT": "1"}, log)
        phase = Phase("database hung (connect timeout 1 s)")
        sweep(phase, server, max(args.requests // 10, 1), rng, args.concurrency)
        phases.append(phase)
    finally:
        if server is not None:
            server.stop()
        redis.kill()
        silent.sock.close()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    for phase in phases:
        print(phase.report())
    total = sum(len(phase.outcomes) for phase in phases)
    faults = sum(sum(phase.faults.values()) for phase in phases)
    errors = sum(phase.statuses.get("500", 0) for phase in phases)
    print(f"{total} requests in {len(phases)} phases; 500s: {errors}; faults: {faults}")
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
