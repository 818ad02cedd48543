"""Redis and PostgreSQL for the test suite: the configured server when it answers,
otherwise a throwaway one started for the run and stopped afterwards.

    python -m tests.services [--postgres] -- pytest ...     (what `make test` runs)

* **Redis.** ``TEST_REDIS_URL`` (or, when unset, database 15 on ``REDIS_URL``'s server,
  ``redis://127.0.0.1:6379/0`` by default) is used when it answers; the tests touch only
  their own database and key prefixes there. When nothing answers, Debian's
  ``redis-server`` (installed with apt when run as root) is started on a free loopback
  port, with no persistence, in a temporary directory, and ``REDIS_URL`` /
  ``TEST_REDIS_URL`` point at it for the command.
* **PostgreSQL** (``--postgres``): ``DATABASE_URL`` is used when it answers. Otherwise
  ``initdb`` makes a throwaway cluster (trust auth, fsync off) in a temporary directory,
  ``postgres`` serves it on a free loopback port (as the ``postgres`` user when run as
  root, since PostgreSQL refuses root), and ``DATABASE_URL`` points at it. The binaries
  come from Debian's ``postgresql`` package (apt when root).

A throwaway server is this process's child and is told to stop if this process dies
(``PR_SET_PDEATHSIG``), so even a killed run leaves no server behind (its temporary
directory then stays). Tests that need Redis call :func:`redis_url_for_tests` too (the
catalog's conftest, the fault tests), so a plain ``pytest`` gets the same Redis; the
root ``conftest.py`` stops what the session started.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
TEST_REDIS_DB = 15
START_TIMEOUT_S = 30.0
_PR_SET_PDEATHSIG = 1


class ServiceError(RuntimeError):
    """A service the tests need is neither running nor startable here (says what to do)."""


# --- is something there? --------------------------------------------------------------


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_answers(url: str, timeout: float = 0.5) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=None
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def postgres_answers(url: str, timeout: int = 2) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=timeout) as conn:
            conn.execute("SELECT 1")
        return True
    except (psycopg.Error, OSError, ValueError):
        return False


def with_db(url: str, db: int) -> str:
    """The same Redis server, another database index."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


# --- binaries ---------------------------------------------------------------------------


def is_root() -> bool:
    return os.geteuid() == 0


def apt_install(package: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"tests: installing Debian's {package} (apt-get) ...", file=sys.stderr, flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env=env)


def _search(name: str) -> str | None:
    """On PATH, or in Debian's versioned PostgreSQL folder (newest version first)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    candidates.sort(key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return candidates[-1] if candidates else None


def find_binary(name: str, package: str) -> str:
    """The path of ``name``; installs Debian's ``package`` first when missing and root."""
    found = _search(name)
    if found:
        return found
    if not is_root():
        raise ServiceError(
            f"the tests need {name} (Debian's {package}) and nothing answers at the configured "
            f"URL: run as root to install it, or `sudo apt-get install {package}`"
        )
    apt_install(package)
    found = _search(name)
    if not found:
        raise ServiceError(f"apt-get installed {package} but {name} is still not found")
    return found


# --- throwaway servers --------------------------------------------------------------------


def _die_with_parent(sig: int) -> Callable[[], None]:
    def preexec() -> None:
        # Not Linux: no parent-death signal; the atexit/finally stop still runs.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)

    return preexec


@dataclass
class Throwaway:
    """A server this process started: its URL, process and temporary directory."""

    kind: str
    url: str
    process: subprocess.Popen[bytes]
    directory: Path
    stop_signal: int = signal.SIGTERM
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.directory / f"{self.kind}.log"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def wait_until(self, answers: Callable[[str], bool]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not answers(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
                self.stop()
                raise ServiceError(f"the throwaway {self.kind} did not start:\n{tail}")
            time.sleep(0.1)


def start_redis() -> Throwaway:
    binary = find_binary("redis-server", "redis-server")
    directory = Path(tempfile.mkdtemp(prefix="llmram-test-redis-"))
    port = free_port()
    log = directory / "redis.log"
    process = subprocess.Popen(
        [
            binary,
            "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
            "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--logfile", str(log),
        ],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent(signal.SIGTERM),
    )  # fmt: skip
    server = Throwaway("redis", f"redis://127.0.0.1:{port}/0", process, directory)
    server.wait_until(redis_answers)
    return server


def _postgres_user() -> str | None:
    """PostgreSQL refuses to run as root: run it as the package's ``postgres`` user."""
    if not is_root():
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        message = "as root, PostgreSQL needs the `postgres` user (Debian's postgresql)"
        raise ServiceError(message) from exc
    return "postgres"


def start_postgres() -> Throwaway:
    initdb = find_binary("initdb", "postgresql")
    postgres = str(Path(initdb).resolve().with_name("postgres"))
    user = _postgres_user()
    directory = Path(tempfile.mkdtemp(prefix="llmram-test-postgres-"))
    if user:
        entry = pwd.getpwnam(user)
        os.chown(directory, entry.pw_uid, entry.pw_gid)
    data = directory / "data"
    log = directory / "postgres.log"
    with log.open("wb") as out:
        result = subprocess.run(
            [initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
             "--locale=C", "--no-sync"],
            stdout=out, stderr=subprocess.STDOUT, user=user, cwd=directory,
        )  # fmt: skip
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        shutil.rmtree(directory, ignore_errors=True)
        raise ServiceError(f"initdb failed:\n{tail}")
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                postgres, "-D", str(data), "-p", str(port), "-k", str(directory),
                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            ],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, user=user,
            cwd=directory, preexec_fn=_die_with_parent(signal.SIGINT),
        )  # fmt: skip
    # SIGINT is PostgreSQL's "fast shutdown": disconnect clients and stop.
    server = Throwaway(
        "postgres", f"postgres://postgres@127.0.0.1:{port}/postgres", process, directory,
        stop_signal=signal.SIGINT,
    )  # fmt: skip
    server.wait_until(postgres_answers)
    return server


# --- what the tests use -------------------------------------------------------------------

_started: dict[str, Throwaway] = {}


def stop_all() -> None:
    """Stop every throwaway server this process started (idempotent)."""
    while _started:
        _, server = _started.popitem()
        server.stop()


atexit.register(stop_all)


def redis_url_for_tests(environ: MutableMapping[str, str] = os.environ) -> str:
    """The Redis URL the tests use (database 15 unless TEST_REDIS_URL says otherwise).

    Starts a throwaway server when nothing answers, and exports its address in
    ``environ`` (REDIS_URL and TEST_REDIS_URL) so subprocesses and later callers agree.
    """
    configured = environ.get("TEST_REDIS_URL") or with_db(
        environ.get("REDIS_URL") or DEFAULT_REDIS_URL, TEST_REDIS_DB
    )
    if "redis" in _started or redis_answers(configured):
        environ["TEST_REDIS_URL"] = configured
        return configured
    print(f"tests: no Redis at {configured}; starting a throwaway one", file=sys.stderr)
    server = start_redis()
    _started["redis"] = server
    environ["REDIS_URL"] = server.url
    environ["TEST_REDIS_URL"] = with_db(server.url, TEST_REDIS_DB)
    print(f"tests: throwaway Redis at {server.url} ({server.directory})", file=sys.stderr)
    return environ["TEST_REDIS_URL"]


def postgres_url_for_tests(environ: MutableMapping[str, str] = os.environ) -> str:
    """DATABASE_URL when a PostgreSQL answers there, otherwise a throwaway cluster's URL
    (exported in ``environ``)."""
    configured = environ.get("DATABASE_URL", "")
    if "postgres" in _started or (configured and postgres_answers(configured)):
        return configured
    print(f"tests: no PostgreSQL at {configured or '(unset)'}; starting a throwaway cluster",
          file=sys.stderr)  # fmt: skip
    server = start_postgres()
    _started["postgres"] = server
    environ["DATABASE_URL"] = server.url
    print(f"tests: throwaway PostgreSQL at {server.url} ({server.directory})", file=sys.stderr)
    return server.url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.services",
        description="Run a command with a Redis (and with --postgres a PostgreSQL) that answers.",
    )
    parser.add_argument("--postgres", action="store_true", help="also provide DATABASE_URL")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command [args...]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    try:
        redis_url_for_tests()
        if args.postgres:
            postgres_url_for_tests()
        process = subprocess.Popen(command)
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                continue  # the command got the same Ctrl-C: let it clean up and exit
    except ServiceError as exc:
        print(f"tests: {exc}", file=sys.stderr)
        return 2
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
