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
   The model page, its htmx results partial and the estimate API are each measured
   twice: HOT, the same URL again and again (a whole-response cache hit), and COLD,
   a calculator state nobody asked for before on every request (a wrk Lua script
   writes each request's URL: the next context length in a range no other target
   uses, cycling through quants), so the response cache misses and the page is
   rendered, and its figures computed, from scratch.
4. Prints requests/s, p50 and p99 latency and the ratio to the trivial view, the
   R1 partial's size (raw and gzipped), then runs bench/click_to_swap.py on the same
   server (what a visitor waits for in Chromium from a click in the quant ladder to
   the answer settled, cold and hot), bench/cold_pages.py (each public page's server
   time when nothing is cached) and bench/engine.py.

Exits non-zero when any request failed (a non-2xx/3xx status, a connection, read,
write or timeout error) or the server did not start. The throughput ratios are aims,
reported, not enforced: on a shared 2-core machine they move with other load.
"""

from __future__ import annotations

import argparse
import gzip
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

from config.serve import DEFAULT_THREADS, server_argv

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TRIVIAL = "trivial view"

MODEL_PAGE = "/models/deepseek-r1/?quant=Q4_K_M&context=8192"
API = "/api/v1/estimate?model=deepseek-r1"
GZIP = {"Accept-Encoding": "gzip"}
HTMX = {**GZIP, "HX-Request": "true", "HX-Target": "result"}  # what the page's controls send


@dataclass(frozen=True)
class Target:
    """``cold``: the URL prefix a Lua script completes with ``quant=…&context=N`` (N from
    ``first_context`` up, one new value per request); else ``path`` every time."""

    label: str
    path: str
    headers: dict[str, str]
    aim: float | None  # as a fraction of the trivial view's req/s
    cold: str = ""
    first_context: int = 0


# Every request says what browsers and CDNs say: it accepts gzip. The cold targets'
# context ranges do not overlap (nor their warm-ups'), so no state repeats in a run and
# no target warms the engine's memos for another.
TARGETS: list[Target] = [
    Target(TRIVIAL, "/livez", GZIP, None),
    Target("model page, hot", MODEL_PAGE, GZIP, 0.60),
    Target("model page, cold", "", GZIP, 0.15, "/models/deepseek-r1/?", 1_000),
    Target("results partial (htmx), hot", MODEL_PAGE, HTMX, 0.60),
    Target("results partial (htmx), cold", "", HTMX, 0.15, "/models/deepseek-r1/?", 41_000),
    Target("estimate API, hot", API, GZIP, 0.80),
    Target("estimate API, cold", "", GZIP, 0.30, API + "&", 81_000),
    Target("/healthz (DB + Redis)", "/healthz", GZIP, None),
]
WARMUP_OFFSET = 30_000  # the measured run's contexts start this far past the warm-up's

# Quants the cold targets cycle through (each with a new context length).
COLD_QUANTS = ("Q4_K_M", "Q8_0", "Q3_K_M", "Q5_K_M", "Q6_K", "Q2_K", "IQ4_XS", "Q4_0")

# wrk: one Lua state per thread (we run one), so the counter is global to the run.
COLD_SCRIPT = """
local prefix, context, n = "", 0, 0
local quants = {QUANTS}
init = function(args)
  prefix = args[1]
  context = tonumber(args[2])
end
request = function()
  n = n + 1
  local path = prefix .. "quant=" .. quants[(n % #quants) + 1] .. "&context=" .. (context + n)
  return wrk.format(nil, path)
end
""".replace("QUANTS", ", ".join(f'"{q}"' for q in COLD_QUANTS))

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
            body = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return response.status, body.decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def wrk(
    url: str,
    headers: dict[str, str],
    seconds: int,
    connections: int,
    script: Path,
    script_args: tuple[str, ...] = (),
) -> dict:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    tail = ["--", *script_args] if script_args else []
    out = subprocess.run([*cmd, url, *tail], capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH "))
    return json.loads(line.removeprefix("BENCH "))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per target")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)  # as make serve
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
        # Counted like production (in the response cache's lookup), never refused here.
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
    (tmp / "cold.lua").write_text(COLD_SCRIPT + WRK_SCRIPT)
    try:
        return run(base, server, script, args, tmp, env)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def run(
    base: str, server: subprocess.Popen, script: Path, args, tmp: Path, env: dict[str, str]
) -> int:
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

    for target in TARGETS:
        # A cold target is checked on a state below its range (never measured).
        path = target.path or f"{target.cold}quant=Q4_K_M&context={target.first_context - 1}"
        status, body = fetch(base + path, target.headers)
        page = "<html" in body
        wrong = page if "HX-Request" in target.headers else path.startswith("/models/") and not page
        if status != 200 or wrong:
            print(
                f"{target.label}: {path} answered {status}, not the expected page:\n{body[:400]}",
                file=sys.stderr,
            )
            return 1

    print(
        f"granian (WSGI): {args.workers} workers x {args.threads} threads; wrk: 1 thread, "
        f"{args.connections} connections, {args.duration}s per target after {args.warmup}s warm-up"
    )
    print(f"load average before the run: {load_average()}")
    results: list[Result] = []
    cold_script = tmp / "cold.lua"
    for target in TARGETS:
        warm_args: tuple[str, ...] = ()
        run_args: tuple[str, ...] = ()
        if target.cold:
            url, used = base + target.cold, cold_script
            warm_args = (target.cold, str(target.first_context))
            run_args = (target.cold, str(target.first_context + WARMUP_OFFSET))
        else:
            url, used = base + target.path, script
        wrk(url, target.headers, args.warmup, args.connections, used, warm_args)
        data = wrk(url, target.headers, args.duration, args.connections, used, run_args)
        errors = {k: data[k] for k in ("connect", "read", "write", "status", "timeout") if data[k]}
        results.append(
            Result(
                label=target.label,
                rps=data["requests"] / (data["duration_us"] / 1e6),
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                errors=errors,
            )
        )

    floor = results[0].rps
    width = max(len(r.label) for r in results)
    print(f"\n{'target':<{width}}  {'req/s':>8}  {'p50 ms':>7}  {'p99 ms':>7}  {'ratio':>6}  aim")
    for result, target in zip(results, TARGETS, strict=True):
        ratio = result.rps / floor
        aim = target.aim
        note = "" if aim is None else f">= {aim:.2f} {'ok' if ratio >= aim else 'below aim'}"
        if result.errors:
            note += f"  ERRORS {result.errors}"
        print(
            f"{result.label:<{width}}  {result.rps:>8.0f}  {result.p50_ms:>7.1f}  "
            f"{result.p99_ms:>7.1f}  {ratio:>6.2f}  {note}"
        )
    failed = sum(r.failed for r in results)
    print(f"\nfailed requests: {failed}")
    print(f"load average after the run: {load_average()}")
    print_sizes(base)
    log_text = (tmp / "server.log").read_text()
    if "Traceback" in log_text or "ERROR" in log_text:
        print("the server logged errors:\n" + log_text[-4000:], file=sys.stderr)
        failed += 1

    print()
    swaps = subprocess.run([str(BIN / "python"), str(ROOT / "bench" / "click_to_swap.py"), base],
                           cwd=ROOT)  # fmt: skip
    print()
    pages = subprocess.run([str(BIN / "python"), str(ROOT / "bench" / "cold_pages.py")],
                           cwd=ROOT, env=env)  # fmt: skip
    print()
    engine = subprocess.run([str(BIN / "python"), str(ROOT / "bench" / "engine.py")], cwd=ROOT)
    if failed:
        print("FAILED: some requests failed", file=sys.stderr)
        return 1
    scripts = (engine, pages, swaps)
    return 1 if any(p.returncode for p in scripts) else 0  # aims reported, not enforced


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def print_sizes(base: str) -> None:
    """The R1 results partial and page as sent: raw, and gzipped (what browsers get)."""
    for label, headers in (("results partial (htmx)", HTMX), ("model page", GZIP)):
        raw = fetch_bytes(
            base + MODEL_PAGE, {k: v for k, v in headers.items() if k != "Accept-Encoding"}
        )
        zipped = fetch_bytes(base + MODEL_PAGE, headers)
        print(f"{label}: {len(raw) / 1000:.1f} KB raw, {len(zipped) / 1000:.1f} KB gzipped")


def fetch_bytes(url: str, headers: dict[str, str]) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
        return r.read()


if __name__ == "__main__":
    sys.exit(main())
