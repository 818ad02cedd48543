"""`make bench`: load-test the site as production runs it, then the engine alone.

    python bench/run.py [--duration 10] [--connections 8] [--workers N] [--threads 4]

1. Builds a throwaway production-like site in a temp folder: DEBUG=0, a generated
   SECRET_KEY, a SQLite file database migrated and loaded with ``load_data``,
   static files collected for WhiteNoise, Redis as the cache (a unique key prefix,
   so nobody else's keys are touched; the local cache if Redis does not answer).
2. Starts the production server (config/serve.py: granian, as ``make serve``) on a
   free loopback port and checks every target answers 200
   (the htmx partial must be a fragment, not a page).
3. Drives each target with wrk (Debian's package) from a second process, a bounded
   load: a warm-up, then ``--duration`` seconds over ``--connections`` connections.
4. Prints requests/s, p50 and p99 latency and the ratio to the trivial view, then
   runs bench/engine.py.

Exits non-zero when any request failed (a non-2xx/3xx status, a connection, read,
write or timeout error) or the server did not start. The throughput ratios are aims,
reported, not enforced: on a shared 2-core machine they move with other load.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from config.serve import server_argv

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TRIVIAL = "trivial view"

# Per target: label, path, extra headers, aim as a fraction of the trivial view.
# Every request says what browsers and CDNs say: it accepts gzip.
MODEL_PAGE = "/models/deepseek-r1/?quant=Q4_K_M&context=8192"
GZIP = {"Accept-Encoding": "gzip"}
TARGETS: list[tuple[str, str, dict[str, str], float | None]] = [
    (TRIVIAL, "/livez", GZIP, None),
    ("model page", MODEL_PAGE, GZIP, 0.60),
    ("results partial (htmx)", MODEL_PAGE, {**GZIP, "HX-Request": "true"}, 0.60),
    ("estimate API", "/api/v1/estimate?model=deepseek-r1", GZIP, 0.80),
    ("/healthz (DB + Redis)", "/healthz", GZIP, None),
]

# wrk calls done() once at the end; print one JSON line we can parse.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass
class Result:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_answers(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except Exception:
        return False


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def fetch(url: str, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def wrk(url: str, headers: dict[str, str], seconds: int, connections: int, script: Path) -> dict:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    return json.loads(line.removeprefix("BENCH "))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per target")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    if not shutil.which("wrk"):
        print("make bench needs wrk: apt-get install wrk", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="llmram-bench-"))
    cache_url = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/1")
    if not redis_answers(cache_url):
        print(f"note: no Redis at {cache_url}; benchmarking with the local memory cache")
        cache_url = "locmemcache://"
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HTTPS": "0",  # plain http on loopback; everything else as in production
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "CACHE_URL": cache_url,
        "CACHE_KEY_PREFIX": f"bench-{os.getpid()}-{secrets.token_hex(4)}",
        "CACHE_TIMEOUT": "600",
        # Counted like production (one cache round trip a call), never refused here.
        "API_RATE_GET": "100000000/m",
        "API_RATE_POST": "100000000/m",
        "LOG_LEVEL": "WARNING",
    }
    print(f"setting up in {tmp} (migrate, load_data, collectstatic) ...", flush=True)
    manage(env, "migrate", "--noinput")
    manage(env, "load_data")
    manage(env, "collectstatic", "--noinput")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp / "server.log").open("w")
    server = subprocess.Popen(
        server_argv(f"127.0.0.1:{port}", args.workers, args.threads),
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    script = tmp / "report.lua"
    script.write_text(WRK_SCRIPT)
    try:
        return run(base, server, script, args, tmp)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def run(base: str, server: subprocess.Popen, script: Path, args, tmp: Path) -> int:
    deadline = time.monotonic() + 60
    while True:
        try:
            if fetch(base + "/livez", {})[0] == 200:
                break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            print("server did not start:\n" + (tmp / "server.log").read_text(), file=sys.stderr)
            return 1
        time.sleep(0.2)

    for label, path, headers, _ in TARGETS:
        status, body = fetch(base + path, headers)
        page = "<html" in body
        wrong = page if "HX-Request" in headers else path.startswith("/models/") and not page
        if status != 200 or wrong:
            print(
                f"{label}: {path} answered {status}, not the expected page:\n{body[:400]}",
                file=sys.stderr,
            )
            return 1

    print(
        f"granian (WSGI): {args.workers} workers x {args.threads} threads; wrk: 1 thread, "
        f"{args.connections} connections, {args.duration}s per target after {args.warmup}s warm-up"
    )
    results: list[Result] = []
    for label, path, headers, _ in TARGETS:
        wrk(base + path, headers, args.warmup, args.connections, script)
        data = wrk(base + path, headers, args.duration, args.connections, script)
        errors = {k: data[k] for k in ("connect", "read", "write", "status", "timeout") if data[k]}
        results.append(
            Result(
                label=label,
                rps=data["requests"] / (data["duration_us"] / 1e6),
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                errors=errors,
            )
        )

    floor = results[0].rps
    width = max(len(r.label) for r in results)
    print(f"\n{'target':<{width}}  {'req/s':>8}  {'p50 ms':>7}  {'p99 ms':>7}  {'ratio':>6}  aim")
    for result, (_, _, _, aim) in zip(results, TARGETS, strict=True):
        ratio = result.rps / floor
        note = "" if aim is None else f">= {aim:.0%} {'ok' if ratio >= aim else 'below aim'}"
        if result.errors:
            note += f"  ERRORS {result.errors}"
        print(
            f"{result.label:<{width}}  {result.rps:>8.0f}  {result.p50_ms:>7.1f}  "
            f"{result.p99_ms:>7.1f}  {ratio:>6.0%}  {note}"
        )
    failed = sum(r.failed for r in results)
    print(f"\nfailed requests: {failed}")
    log_text = (tmp / "server.log").read_text()
    if "Traceback" in log_text or "ERROR" in log_text:
        print("the server logged errors:\n" + log_text[-4000:], file=sys.stderr)
        failed += 1

    print()
    engine = subprocess.run([str(BIN / "python"), str(ROOT / "bench" / "engine.py")], cwd=ROOT)
    if failed:
        print("FAILED: some requests failed", file=sys.stderr)
        return 1
    return 1 if engine.returncode else 0  # engine aims are reported, not enforced


if __name__ == "__main__":
    sys.exit(main())
